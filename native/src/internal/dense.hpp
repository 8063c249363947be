#pragma once
// The dense kernels shared by the operators and solvers (products, Gram updates, orthonormalisation):
// BLAS when OpenBLAS was loaded at run time (internal/blas.hpp), else Eigen. All matrices are
// column-major with explicit leading dimensions.
#include <cstdint>

namespace paramscope {

namespace dense {
// C = alpha·op(A)·op(B) + beta·C with C m×n and inner dimension k.
void gemm(bool trans_a, bool trans_b, uint64_t m, uint64_t n, uint64_t k, double alpha, const double* a, uint64_t lda,
          const double* b, uint64_t ldb, double beta, double* c, uint64_t ldc);
// Lower triangle of C = alpha·op(A)·op(A)ᵀ + beta·C, C n×n, op(A) n×k (trans: A is k×n).
void syrk_lower(bool trans, uint64_t n, uint64_t k, double alpha, const double* a, uint64_t lda, double beta, double* c,
                uint64_t ldc);
// The same in single precision (ResidentF32Op's products).
void sgemm(bool trans_a, bool trans_b, uint64_t m, uint64_t n, uint64_t k, const float* a, uint64_t lda, const float* b,
           uint64_t ldb, float* c, uint64_t ldc);
// gemm and sgemm split products of at least ~10 MFLOP by rows of C over this many threads, each calling
// BLAS single-threaded (engine.hpp says why). Per calling thread; 1 (the default) leaves threading to BLAS.
void set_split_threads(int threads);
// Overwrites the m×n matrix A (m ≥ n) with the n orthonormal columns of its thin QR factor Q. With
// `well_conditioned_is_enough` (the intermediate blocks of a power iteration, where only the span
// matters), one CholeskyQR step may leave the columns orthonormal only to about u·cond(A)².
void orthonormalize_columns(uint64_t m, uint64_t n, double* a, uint64_t lda, bool well_conditioned_is_enough = false);
}  // namespace dense

}  // namespace paramscope

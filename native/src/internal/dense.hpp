#pragma once
// The dense kernels as the operators and solvers call them: each forwards to the calling thread's
// backend (paramscope/backend.hpp; the CPU's unless an engine lane installed another). All matrices are
// column-major with explicit leading dimensions.
#include <cstdint>

#include "paramscope/backend.hpp"

namespace paramscope::dense {

// C = alpha·op(A)·op(B) + beta·C with C m×n and inner dimension k.
inline void gemm(bool trans_a, bool trans_b, uint64_t m, uint64_t n, uint64_t k, double alpha, const double* a, uint64_t lda,
                 const double* b, uint64_t ldb, double beta, double* c, uint64_t ldc) {
  current_backend().gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
// Lower triangle of C = alpha·op(A)·op(A)ᵀ + beta·C, C n×n, op(A) n×k (trans: A is k×n).
inline void syrk_lower(bool trans, uint64_t n, uint64_t k, double alpha, const double* a, uint64_t lda, double beta, double* c,
                       uint64_t ldc) {
  current_backend().syrk_lower(trans, n, k, alpha, a, lda, beta, c, ldc);
}
// C = op(A)·op(B) in single precision (ResidentF32Op's products).
inline void sgemm(bool trans_a, bool trans_b, uint64_t m, uint64_t n, uint64_t k, const float* a, uint64_t lda, const float* b,
                  uint64_t ldb, float* c, uint64_t ldc) {
  current_backend().sgemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
}
// The thin QR factor Q of the m×n matrix A (m ≥ n), in place (Backend::orthonormalize_columns).
inline void orthonormalize_columns(uint64_t m, uint64_t n, double* a, uint64_t lda, bool well_conditioned_is_enough = false) {
  current_backend().orthonormalize_columns(m, n, a, lda, well_conditioned_is_enough);
}

// The CPU backend splits gemm and sgemm products of at least ~10 MFLOP by rows of C over this many
// threads, each calling BLAS single-threaded (engine.hpp says why). Per calling thread; 1 (the default)
// leaves threading to BLAS.
void set_split_threads(int threads);

}  // namespace paramscope::dense

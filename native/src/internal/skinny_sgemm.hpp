#pragma once
// The randomized solver's products of a large resident f32 matrix with a thin block (at most
// kSkinnyMaxColumns columns), A·X and Aᵀ·Q, without a BLAS's packing of the large operand. The matrix is
// row-major, so a column-major BLAS call sees A·X as Aᵀ·X (the "TN" kernel: a tile of 4 of the matrix's
// rows × all of X's columns) and Aᵀ·Q as A·Q (the "NN" kernel: a tile of 64 entries of one of the
// matrix's rows × 6 of Q's columns, so the matrix is read along its rows, not down its columns).
//
// Why our own kernels here and a BLAS everywhere else: a BLAS copies ("packs") every element of A into
// its blocked layout on each call, and with ~74 columns that copy is amortised over very few flops: on
// the 7B pair OpenBLAS spent a third of its product time packing (perf: sgemm_incopy + sgemm_itcopy
// 26 % of all samples, the kernel 52 %). These kernels read A where it lies, from memory once per call
// (the NN kernel re-reads a 64 KiB depth block from L2 for each column group), and pack only the thin
// block; docs/backends.md has the rates. No BLAS offers "A stays, many thin products" (MKL's packed GEMM
// does, and is not a dependency we can ship).
#include <cstdint>

namespace paramscope::cpu {

constexpr uint64_t kSkinnyMaxColumns = 80;

// Whether this CPU runs the kernel (AVX-512F; not with PARAMSCOPE_SIMD=off), for doctor.
bool skinny_sgemm_available() noexcept;

// C (m×n, column-major, ldc) = op(A)·B with op(A) = Aᵀ (A k×m) or A (A m×k), B k×n, all column-major
// (lda, ldb): sgemm's arguments. Returns false, C untouched, when the CPU or the call (B transposed,
// n > kSkinnyMaxColumns, small m or k) is not one it handles; the caller then uses its BLAS. Each entry's
// sum runs in one fixed order whatever the row split, so results are reproducible.
bool skinny_sgemm(bool trans_a, bool trans_b, uint64_t m, uint64_t n, uint64_t k, const float* a, uint64_t lda, const float* b,
                  uint64_t ldb, float* c, uint64_t ldc);

}  // namespace paramscope::cpu

#pragma once
// The randomized solver's product of a large resident f32 matrix with a thin block, A·X (X at most
// kSkinnyMaxColumns columns; A row-major, so a column-major BLAS call sees Aᵀ·X), without a BLAS's
// packing of the large operand. (The other product, Aᵀ·Q, walks down A's columns; a kernel for it was
// no faster than OpenBLAS, so it stays the BLAS's.)
//
// Why our own kernel here and a BLAS everywhere else: a BLAS copies ("packs") every element of A into
// its blocked layout on each call, and with ~74 columns that copy is amortised over very few flops: on
// the 7B pair OpenBLAS spent a third of its product time packing (perf: sgemm_incopy + sgemm_itcopy
// 26 % of all samples, the kernel 52 %). This kernel reads A where it lies, each element once per call,
// and packs only the thin block. No BLAS offers "A stays, many thin products" (MKL's packed GEMM does,
// and is not a dependency we can ship).
#include <cstdint>

namespace paramscope::cpu {

constexpr uint64_t kSkinnyMaxColumns = 80;

// Whether this CPU runs the kernel (AVX-512F; not with PARAMSCOPE_SIMD=off), for doctor.
bool skinny_sgemm_available() noexcept;

// C (m×n, column-major, ldc) = Aᵀ·B with A k×m and B k×n column-major (lda, ldb): sgemm's arguments.
// Returns false, C untouched, when the CPU or the call (A not transposed, B transposed,
// n > kSkinnyMaxColumns, small m or k) is not one it handles; the caller then uses its BLAS. The sums
// run in one fixed order whatever the row split, so results are reproducible.
bool skinny_sgemm(bool trans_a, bool trans_b, uint64_t m, uint64_t n, uint64_t k, const float* a, uint64_t lda, const float* b,
                  uint64_t ldb, float* c, uint64_t ldc);

}  // namespace paramscope::cpu

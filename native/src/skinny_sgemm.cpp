#include "internal/skinny_sgemm.hpp"

#include <algorithm>

#include "internal/workspace.hpp"
#include "paramscope/dtype.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define PARAMSCOPE_X86 1
#endif

namespace paramscope::cpu {

#ifdef PARAMSCOPE_X86
namespace {

constexpr uint64_t kWidth = kSkinnyMaxColumns;  // B's columns, zero-padded: 5 vectors of 16
// Inner-dimension block: the packed B (depth × 80 floats) stays in L2 while every row of A passes it.
constexpr uint64_t kDepth = 512;

// packed[κ·80 + j] = B[k0 + κ, j] for j < n, 0 beyond: one row of B per κ, ready for vector loads.
void pack_b(const float* b, uint64_t ldb, uint64_t n, uint64_t k0, uint64_t depth, float* packed) {
  for (uint64_t j = 0; j < kWidth; ++j) {
    const float* column = b + j * ldb + k0;
    for (uint64_t kk = 0; kk < depth; ++kk) packed[kk * kWidth + j] = j < n ? column[kk] : 0.0f;
  }
}

// C = Aᵀ·B, A k×m column-major: output row i is the dot of A's column i (contiguous) with B. A tile is
// R output rows × all 80 columns in 20 registers; each κ broadcasts one value of each of the R columns
// of A, so every element of A is read once per call. `rows` accumulates R×80, row-major.
template <int R>
__attribute__((target("avx512f"))) void tn_tile(const float* a, uint64_t lda, uint64_t depth, const float* packed, float* rows) {
  __m512 acc[R][5];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 5
    for (int v = 0; v < 5; ++v) acc[r][v] = _mm512_loadu_ps(rows + r * kWidth + 16 * v);
  for (uint64_t kk = 0; kk < depth; ++kk) {
    const float* bk = packed + kk * kWidth;
    const __m512 b0 = _mm512_load_ps(bk), b1 = _mm512_load_ps(bk + 16), b2 = _mm512_load_ps(bk + 32), b3 = _mm512_load_ps(bk + 48),
                 b4 = _mm512_load_ps(bk + 64);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(a[r * lda + kk]);
      acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
      acc[r][2] = _mm512_fmadd_ps(x, b2, acc[r][2]);
      acc[r][3] = _mm512_fmadd_ps(x, b3, acc[r][3]);
      acc[r][4] = _mm512_fmadd_ps(x, b4, acc[r][4]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 5
    for (int v = 0; v < 5; ++v) _mm512_storeu_ps(rows + r * kWidth + 16 * v, acc[r][v]);
}

__attribute__((target("avx512f"))) void tn_remainder(int r, const float* a, uint64_t lda, uint64_t depth, const float* packed, float* rows) {
  switch (r) {
    case 3: return tn_tile<3>(a, lda, depth, packed, rows);
    case 2: return tn_tile<2>(a, lda, depth, packed, rows);
    default: return tn_tile<1>(a, lda, depth, packed, rows);
  }
}

__attribute__((target("avx512f"))) void sgemm_tn(uint64_t m, uint64_t n, uint64_t k, const float* a, uint64_t lda, const float* b, uint64_t ldb,
                                                  float* c, uint64_t ldc) {
  constexpr uint64_t kRows = 4;
  Buffer<float> packed(kDepth * kWidth), rows(m * kWidth);
  std::fill(rows.data(), rows.data() + m * kWidth, 0.0f);
  for (uint64_t k0 = 0; k0 < k; k0 += kDepth) {
    const uint64_t depth = std::min(kDepth, k - k0);
    pack_b(b, ldb, n, k0, depth, packed.data());
    uint64_t i = 0;
    for (; i + kRows <= m; i += kRows) tn_tile<kRows>(a + i * lda + k0, lda, depth, packed.data(), rows.data() + i * kWidth);
    if (i < m) tn_remainder(int(m - i), a + i * lda + k0, lda, depth, packed.data(), rows.data() + i * kWidth);
  }
  for (uint64_t j = 0; j < n; ++j)
    for (uint64_t i = 0; i < m; ++i) c[i + j * ldc] = rows[i * kWidth + j];
}

}  // namespace
#endif

bool skinny_sgemm_available() noexcept {
#ifdef PARAMSCOPE_X86
  return cpu_features().avx512f;
#else
  return false;
#endif
}

bool skinny_sgemm(bool trans_a, bool trans_b, uint64_t m, uint64_t n, uint64_t k, const float* a, uint64_t lda, const float* b,
                  uint64_t ldb, float* c, uint64_t ldc) {
#ifdef PARAMSCOPE_X86
  // Below these sizes a BLAS call is cheap anyway, and the tiles would mostly be padding.
  constexpr uint64_t kMinRows = 64, kMinDepth = 64;
  if (!trans_a || trans_b || n == 0 || n > kSkinnyMaxColumns || m < kMinRows || k < kMinDepth || !skinny_sgemm_available()) return false;
  sgemm_tn(m, n, k, a, lda, b, ldb, c, ldc);
  return true;
#else
  (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)a, (void)lda, (void)b, (void)ldb, (void)c, (void)ldc;
  return false;
#endif
}

}  // namespace paramscope::cpu

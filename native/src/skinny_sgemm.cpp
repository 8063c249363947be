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

// C = A·B, A m×k column-major (the row-major matrix's Aᵀ·Q: A's columns are the matrix's rows, read
// contiguously). Output entries lie along A's columns, so a tile is 16·V rows of C (V vectors of one
// column of A) × kGroup columns of B, in 4·6 = 24 registers at most; each κ loads V vectors of A's column
// κ and broadcasts kGroup values of B's row κ. A depth block of A (64 × 256 floats) stays in L2 while
// the ⌈n/6⌉ column groups pass it. `mask` limits the last vector of a strip to the rows of C that exist
// (masked loads do not touch the rest).
constexpr uint64_t kGroup = 6, kStrip = 64, kNnDepth = 256;
constexpr uint64_t kNnWidth = (kWidth + kGroup - 1) / kGroup * kGroup;  // 84: whole groups

template <int V, bool Masked>
__attribute__((target("avx512f"))) void nn_tile(const float* a, uint64_t lda, uint64_t depth, const float* packed, __mmask16 mask, float* w,
                                                 uint64_t ldw) {
  __m512 acc[V][kGroup];
#pragma GCC unroll 4
  for (int v = 0; v < V; ++v)
#pragma GCC unroll 6
    for (uint64_t j = 0; j < kGroup; ++j) acc[v][j] = _mm512_load_ps(w + j * ldw + 16 * v);
  for (uint64_t kk = 0; kk < depth; ++kk) {
    const float* column = a + kk * lda;
    const float* bk = packed + kk * kNnWidth;
    __m512 x[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) x[v] = !Masked || v + 1 < V ? _mm512_loadu_ps(column + 16 * v) : _mm512_maskz_loadu_ps(mask, column + 16 * v);
#pragma GCC unroll 6
    for (uint64_t j = 0; j < kGroup; ++j) {
      const __m512 y = _mm512_set1_ps(bk[j]);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[v][j] = _mm512_fmadd_ps(x[v], y, acc[v][j]);
    }
  }
#pragma GCC unroll 4
  for (int v = 0; v < V; ++v)
#pragma GCC unroll 6
    for (uint64_t j = 0; j < kGroup; ++j) _mm512_store_ps(w + j * ldw + 16 * v, acc[v][j]);
}

__attribute__((target("avx512f"))) void nn_strip(uint64_t rows, const float* a, uint64_t lda, uint64_t depth, const float* packed,
                                                  float* w, uint64_t ldw) {
  const uint64_t vectors = (rows + 15) / 16;
  const __mmask16 mask = static_cast<__mmask16>(rows % 16 ? (1u << (rows % 16)) - 1 : 0xFFFFu);
  switch (vectors) {
    case 4: return rows == kStrip ? nn_tile<4, false>(a, lda, depth, packed, mask, w, ldw) : nn_tile<4, true>(a, lda, depth, packed, mask, w, ldw);
    case 3: return nn_tile<3, true>(a, lda, depth, packed, mask, w, ldw);
    case 2: return nn_tile<2, true>(a, lda, depth, packed, mask, w, ldw);
    default: return nn_tile<1, true>(a, lda, depth, packed, mask, w, ldw);
  }
}

__attribute__((target("avx512f"))) void sgemm_nn(uint64_t m, uint64_t n, uint64_t k, const float* a, uint64_t lda, const float* b, uint64_t ldb,
                                                  float* c, uint64_t ldc) {
  // w: C with its rows padded to whole vectors and its columns to whole groups, column-major.
  const uint64_t ldw = (m + 15) / 16 * 16, groups = (n + kGroup - 1) / kGroup;
  Buffer<float> packed(kNnDepth * kNnWidth), w(ldw * groups * kGroup);
  std::fill(w.data(), w.data() + ldw * groups * kGroup, 0.0f);
  for (uint64_t k0 = 0; k0 < k; k0 += kNnDepth) {
    const uint64_t depth = std::min(kNnDepth, k - k0);
    for (uint64_t j = 0; j < kNnWidth; ++j)
      for (uint64_t kk = 0; kk < depth; ++kk) packed[kk * kNnWidth + j] = j < n ? b[j * ldb + k0 + kk] : 0.0f;
    for (uint64_t i0 = 0; i0 < m; i0 += kStrip)
      for (uint64_t g = 0; g < groups; ++g)
        nn_strip(std::min(kStrip, m - i0), a + k0 * lda + i0, lda, depth, packed.data() + g * kGroup, w.data() + g * kGroup * ldw + i0, ldw);
  }
  for (uint64_t j = 0; j < n; ++j) std::copy(w.data() + j * ldw, w.data() + j * ldw + m, c + j * ldc);
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
  if (trans_b || n == 0 || n > kSkinnyMaxColumns || m < kMinRows || k < kMinDepth || !skinny_sgemm_available()) return false;
  if (trans_a) sgemm_tn(m, n, k, a, lda, b, ldb, c, ldc);
  else sgemm_nn(m, n, k, a, lda, b, ldb, c, ldc);
  return true;
#else
  (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)a, (void)lda, (void)b, (void)ldb, (void)c, (void)ldc;
  return false;
#endif
}

}  // namespace paramscope::cpu

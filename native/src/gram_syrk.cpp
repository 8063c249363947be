// The Gram product C = A·Aᵀ on AVX-512F (internal/gram_syrk.hpp says why it is ours).
//
// Layout: every depth block of kDepth columns of A is packed once, shared by all threads, as groups of
// 8 rows (one vector of doubles per depth step: packed[group][κ][r] = A(8·group + r, k0 + κ), zero past
// n). A tile is 24 rows of C (3 groups, 3 vectors) × 8 columns (1 group, broadcast), 24 accumulators;
// each κ loads 3 vectors and broadcasts 8 values. A tile's 3 groups (24 KiB) stay in L1 while the
// column groups (8 KiB each) stream past them from L2 and L3. Threads take C's rows in blocks of 96, the
// blocks with the most of the lower triangle first. Every entry of C is updated by one tile per depth block,
// in depth order, so its sum runs in the same order whatever the thread count.
#include "internal/gram_syrk.hpp"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <system_error>
#include <thread>
#include <vector>

#include "internal/blas.hpp"
#include "internal/workspace.hpp"
#include "paramscope/dtype.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define PARAMSCOPE_X86 1
#endif

namespace paramscope::cpu {

#ifdef PARAMSCOPE_X86
namespace {

constexpr uint64_t kLanes = 8;          // doubles per vector, rows per packed group
constexpr uint64_t kTileGroups = 3;     // 24 rows of C per tile
constexpr uint64_t kBlockGroups = 12;   // 96 rows of C per block
constexpr uint64_t kDepth = 128;        // depth block: a packed group is 8 KiB
constexpr uint64_t kGroupStride = kDepth * kLanes;

// The mask of rows i0 .. i0+7 of C's column j that exist (i < n) and lie in the lower triangle (i ≥ j).
inline __mmask8 lower_mask(uint64_t i0, uint64_t j, uint64_t n) {
  unsigned mask = 0;
  for (uint64_t r = 0; r < kLanes; ++r) mask |= unsigned(i0 + r < n && i0 + r >= j) << r;
  return static_cast<__mmask8>(mask);
}

// C[i0 .. i0+8V, j0 .. j0+8) += the depth block's products of packed groups `rows` (V of them) and
// `cols`. Masked: a tile that crosses the diagonal or the end of C.
template <int V, bool Masked>
__attribute__((target("avx512f"))) void tile(const double* rows, const double* cols, uint64_t depth, double* c, uint64_t ldc, uint64_t i0,
                                             uint64_t j0, uint64_t n) {
  __m512d acc[V][kLanes];
  __mmask8 mask[V][kLanes];
#pragma GCC unroll 3
  for (int v = 0; v < V; ++v)
#pragma GCC unroll 8
    for (uint64_t jj = 0; jj < kLanes; ++jj) {
      double* cij = c + (j0 + jj) * ldc + i0 + kLanes * v;
      if constexpr (Masked) {
        mask[v][jj] = j0 + jj < n ? lower_mask(i0 + kLanes * v, j0 + jj, n) : 0;
        acc[v][jj] = _mm512_maskz_loadu_pd(mask[v][jj], cij);
      } else {
        acc[v][jj] = _mm512_loadu_pd(cij);
      }
    }
  for (uint64_t kk = 0; kk < depth; ++kk) {
    __m512d x[V];
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v) x[v] = _mm512_load_pd(rows + v * kGroupStride + kk * kLanes);
    const double* y = cols + kk * kLanes;
#pragma GCC unroll 8
    for (uint64_t jj = 0; jj < kLanes; ++jj) {
      const __m512d b = _mm512_set1_pd(y[jj]);
#pragma GCC unroll 3
      for (int v = 0; v < V; ++v) acc[v][jj] = _mm512_fmadd_pd(x[v], b, acc[v][jj]);
    }
  }
#pragma GCC unroll 3
  for (int v = 0; v < V; ++v)
#pragma GCC unroll 8
    for (uint64_t jj = 0; jj < kLanes; ++jj) {
      double* cij = c + (j0 + jj) * ldc + i0 + kLanes * v;
      if constexpr (Masked) _mm512_mask_storeu_pd(cij, mask[v][jj], acc[v][jj]);
      else _mm512_storeu_pd(cij, acc[v][jj]);
    }
}

template <int V>
__attribute__((target("avx512f"))) void tile_at(const double* rows, const double* cols, uint64_t depth, double* c, uint64_t ldc, uint64_t i0,
                                                uint64_t j0, uint64_t n) {
  // Interior: every row of the tile exists and lies at or below every column's diagonal.
  if (i0 + kLanes * V <= n && j0 + kLanes <= n && i0 >= j0 + kLanes - 1) tile<V, false>(rows, cols, depth, c, ldc, i0, j0, n);
  else tile<V, true>(rows, cols, depth, c, ldc, i0, j0, n);
}

struct Problem {
  bool trans;
  uint64_t n, k;
  const double* a;
  uint64_t lda;
  double* c;
  uint64_t ldc;
  uint64_t groups, blocks;
  double* packed;
};

// Groups [g0, g1) of the depth block at k0.
void pack(const Problem& p, uint64_t k0, uint64_t depth, uint64_t g0, uint64_t g1) {
  for (uint64_t g = g0; g < g1; ++g) {
    double* out = p.packed + g * kGroupStride;
    const uint64_t rows = std::min(kLanes, p.n - g * kLanes);
    if (rows < kLanes) std::fill(out, out + kGroupStride, 0.0);
    for (uint64_t r = 0; p.trans && r < rows; ++r) {
      const double* row = p.a + (g * kLanes + r) * p.lda + k0;  // A k×n: C's row i is A's column i
      for (uint64_t kk = 0; kk < depth; ++kk) out[kk * kLanes + r] = row[kk];
    }
    for (uint64_t kk = 0; !p.trans && kk < depth; ++kk) std::copy_n(p.a + g * kLanes + (k0 + kk) * p.lda, rows, out + kk * kLanes);
  }
}

// The tiles of block b (C's rows 96·b .. 96·b + 95) for one depth block.
__attribute__((target("avx512f"))) void compute_block(const Problem& p, uint64_t depth, uint64_t b) {
  const uint64_t g0 = b * kBlockGroups, g1 = std::min(p.groups, g0 + kBlockGroups);
  for (uint64_t gs = g0; gs < g1; gs += kTileGroups) {
    const uint64_t v = std::min(kTileGroups, g1 - gs);
    const double* rows = p.packed + gs * kGroupStride;
    const uint64_t i0 = gs * kLanes;
    for (uint64_t q = 0; q < gs + v; ++q) {  // the column groups the tile reaches below the diagonal
      const double* cols = p.packed + q * kGroupStride;
      const uint64_t j0 = q * kLanes;
      if (v == 3) tile_at<3>(rows, cols, depth, p.c, p.ldc, i0, j0, p.n);
      else if (v == 2) tile_at<2>(rows, cols, depth, p.c, p.ldc, i0, j0, p.n);
      else tile_at<1>(rows, cols, depth, p.c, p.ldc, i0, j0, p.n);
    }
  }
}

// Each depth block in two phases, with a barrier after each: the threads pack the groups, then take
// blocks of C (the largest, the last, first). Both are handed out by counters, so any number of threads
// that arrive covers all the work.
void run(const Problem& p, int threads) {
  constexpr uint64_t kPackChunk = 4;
  const uint64_t workers = std::clamp<uint64_t>(uint64_t(std::max(1, threads)), 1, p.blocks);
  std::atomic<uint64_t> next_group{0}, next_block{0};
  uint64_t k0 = 0;
  auto phase_done = [&]() noexcept {
    if (next_block.load() < p.blocks) return;  // packing ended: the blocks come next
    k0 += kDepth;
    next_group.store(0);
    next_block.store(0);
  };
  std::barrier sync(std::ptrdiff_t(workers), phase_done);
  auto work = [&] {
    while (k0 < p.k) {
      const uint64_t depth = std::min(kDepth, p.k - k0);
      for (uint64_t g; (g = next_group.fetch_add(kPackChunk)) < p.groups;) pack(p, k0, depth, g, std::min(p.groups, g + kPackChunk));
      sync.arrive_and_wait();
      for (uint64_t taken; (taken = next_block.fetch_add(1)) < p.blocks;) compute_block(p, depth, p.blocks - 1 - taken);
      sync.arrive_and_wait();
    }
  };
  std::vector<std::thread> helpers;
  uint64_t started = 1;
  try {
    for (; started < workers; ++started) helpers.emplace_back(work);
  } catch (const std::system_error&) {
    for (uint64_t i = started; i < workers; ++i) sync.arrive_and_drop();  // no more threads: fewer take the work
  }
  work();
  for (auto& h : helpers) h.join();
}

}  // namespace
#endif

bool gram_syrk_available() noexcept {
#ifdef PARAMSCOPE_X86
  return cpu_features().avx512f;
#else
  return false;
#endif
}

bool gram_syrk_preferred() {
  static const bool preferred = gram_syrk_available() && !blas::backend().avx512_kernels;
  return preferred;
}

bool gram_syrk(bool trans, uint64_t n, uint64_t k, double alpha, const double* a, uint64_t lda, double beta, double* c, uint64_t ldc,
               int threads) {
#ifdef PARAMSCOPE_X86
  // The exact route's Grams are at least hundreds of rows; smaller ones (the truncated solver's CholeskyQR
  // of ≤ 80 columns) are cheap and stay the BLAS's.
  constexpr uint64_t kMinRows = 256, kMinDepth = 16;
  if (alpha != 1.0 || (beta != 0.0 && beta != 1.0) || n < kMinRows || k < kMinDepth || !gram_syrk_available()) return false;
  const uint64_t groups = (n + kLanes - 1) / kLanes;
  Buffer<double> packed(groups * kGroupStride);
  if (beta == 0.0)
    for (uint64_t j = 0; j < n; ++j) std::fill(c + j * ldc + j, c + j * ldc + n, 0.0);
  const Problem p{trans, n, k, a, lda, c, ldc, groups, (groups + kBlockGroups - 1) / kBlockGroups, packed.data()};
  run(p, threads);
  return true;
#else
  (void)trans, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)beta, (void)c, (void)ldc, (void)threads;
  return false;
#endif
}

}  // namespace paramscope::cpu

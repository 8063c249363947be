#include "internal/band_tridiagonal.hpp"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <system_error>
#include <thread>
#include <vector>

#include "paramscope/dtype.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PARAMSCOPE_BAND_X86 1
#endif

namespace paramscope {

namespace {

// The working copy holds the band and the fill that the chase leaves behind it (at most 2·kd − 1 below
// the diagonal), in lower band storage with ldw = 2·kd + 1. Its trick (dsytrd_sb2st's): element (i, j)
// of the band sits at w[(i − j) + j·ldw] = w[i + j·(ldw − 1)], so any block inside the stored band is
// an ordinary column-major matrix with leading dimension ldw − 1, and the kernels below are dense ones.
struct Work {
  double* w;
  uint64_t ld;  // ldw − 1 = 2·kd
  double* at(uint64_t i, uint64_t j) const { return w + i + j * ld; }
};

#define BAND_INLINE [[gnu::always_inline]] inline

// Sums of products in eight interleaved partial sums, added in a fixed order at the end: the compiler
// vectorises these (a single running sum it may not reorder), and the result does not depend on the
// instruction set. fused_axpy_dot also does y += alpha·x on the way.
constexpr uint64_t kLanes = 8;

BAND_INLINE double add_lanes(const double* acc, double tail) {
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

BAND_INLINE double dot(const double* __restrict x, const double* __restrict y, uint64_t n) {
  double acc[kLanes] = {};
  uint64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (uint64_t k = 0; k < kLanes; ++k) acc[k] += x[i + k] * y[i + k];
  double tail = 0;
  for (; i < n; ++i) tail += x[i] * y[i];
  return add_lanes(acc, tail);
}

BAND_INLINE double fused_axpy_dot(const double* __restrict x, double alpha, double* __restrict y, const double* __restrict v, uint64_t n) {
  double acc[kLanes] = {};
  uint64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (uint64_t k = 0; k < kLanes; ++k) {
      y[i + k] += x[i + k] * alpha;
      acc[k] += x[i + k] * v[i + k];
    }
  double tail = 0;
  for (; i < n; ++i) {
    y[i] += x[i] * alpha;
    tail += x[i] * v[i];
  }
  return add_lanes(acc, tail);
}

// H = I − τ·v·vᵀ with v[0] = 1 that maps (alpha, x[0..len)) to (β, 0, …, 0) (LAPACK's dlarfg): v[1..]
// gets x / (alpha − β), x is zeroed and alpha becomes β. τ = 0 (H = I) when x is already zero.
BAND_INLINE double make_reflector(double* alpha, double* __restrict x, uint64_t len, double* __restrict v) {
  v[0] = 1;
  double squares = dot(x, x, len);
  if (squares == 0) {
    for (uint64_t i = 0; i < len; ++i) v[i + 1] = 0;
    return 0;
  }
  double a = *alpha, scale = 1;
  // Far from 1 the squares would overflow or lose digits to underflow: redo them on x / max|·|.
  // v is scale-free (x / (alpha − β) is), so only β needs the scale back.
  if (!(squares > 1e-280 && squares < 1e280)) {
    scale = std::fabs(a);
    for (uint64_t i = 0; i < len; ++i) scale = std::max(scale, std::fabs(x[i]));
    if (!std::isfinite(scale)) scale = 1;  // Inf or NaN: let it propagate; the eigenvalue solver reports it
    squares = 0;
    for (uint64_t i = 0; i < len; ++i) squares += (x[i] / scale) * (x[i] / scale);
    a /= scale;
  }
  // √(a² + squares) without std::hypot, whose glibc 2.35 symbol version the prebuilds may not require
  // (README: glibc 2.34); scaled by the larger part, so neither square leaves the double range.
  const double root = std::sqrt(squares), larger = std::max(std::fabs(a), root);
  const double norm = larger == 0 ? 0.0 : larger * std::sqrt((a / larger) * (a / larger) + (root / larger) * (root / larger));
  const double beta = -std::copysign(norm, a);
  const double tau = (beta - a) / beta, inverse = 1 / ((a - beta) * scale);
  for (uint64_t i = 0; i < len; ++i) {
    v[i + 1] = x[i] * inverse;
    x[i] = 0;
  }
  *alpha = beta * scale;
  return tau;
}

// A ← H·A·H on a symmetric len × len block whose lower triangle is stored (dlarfy): w = τ·A·v,
// w −= (τ/2)(wᵀv)·v, A −= v·wᵀ + w·vᵀ.
BAND_INLINE void apply_two_sided(double* a, uint64_t ld, uint64_t len, const double* __restrict v, double tau, double* __restrict w) {
  if (tau == 0) return;
  for (uint64_t i = 0; i < len; ++i) w[i] = 0;
  for (uint64_t j = 0; j < len; ++j) {
    const double* __restrict col = a + j * ld;
    const double vj = v[j];
    w[j] += col[j] * vj + fused_axpy_dot(col + j + 1, vj, w + j + 1, v + j + 1, len - j - 1);
  }
  for (uint64_t i = 0; i < len; ++i) w[i] *= tau;
  const double wv = dot(w, v, len);
  const double alpha = -0.5 * tau * wv;
  for (uint64_t i = 0; i < len; ++i) w[i] += alpha * v[i];
  for (uint64_t j = 0; j < len; ++j) {
    double* __restrict col = a + j * ld;
    const double vj = v[j], wj = w[j];
    for (uint64_t i = j; i < len; ++i) col[i] -= v[i] * wj + w[i] * vj;
  }
}

// B ← B·H on rows × cols: y = B·v, B −= τ·y·vᵀ.
BAND_INLINE void apply_right(double* b, uint64_t ld, uint64_t rows, uint64_t cols, const double* __restrict v, double tau,
                             double* __restrict y) {
  if (tau == 0) return;
  for (uint64_t i = 0; i < rows; ++i) y[i] = 0;
  for (uint64_t j = 0; j < cols; ++j) {
    const double* __restrict col = b + j * ld;
    const double vj = v[j];
    for (uint64_t i = 0; i < rows; ++i) y[i] += col[i] * vj;
  }
  for (uint64_t j = 0; j < cols; ++j) {
    double* __restrict col = b + j * ld;
    const double s = tau * v[j];
    for (uint64_t i = 0; i < rows; ++i) col[i] -= y[i] * s;
  }
}

// C ← H·C on rows × cols, a column at a time: C[:, j] −= τ·(vᵀC[:, j])·v.
BAND_INLINE void apply_left(double* c, uint64_t ld, uint64_t rows, uint64_t cols, const double* __restrict v, double tau) {
  if (tau == 0) return;
  for (uint64_t j = 0; j < cols; ++j) {
    double* __restrict col = c + j * ld;
    const double s = tau * dot(v, col, rows);
    for (uint64_t i = 0; i < rows; ++i) col[i] -= s * v[i];
  }
}

// Sweeps per group (chase_group): as many as keep the group's window of the band within about
// kWindowBytes (half the L2 of the Xeon measured, 4096² with band 64: 13 sweeps), at most kMaxGroup.
constexpr uint64_t kWindowBytes = 1 << 20, kMaxGroup = 32;

// Sweep s's task t may start once sweep s − 1 has finished its task t + 2 (the block after next); the
// tasks of consecutive sweeps then touch disjoint blocks (dsytrd_sb2st's task dependencies, SHIFT = 3).
// Threads take groups of consecutive sweeps in order; only a group's first sweep waits here, on the last
// sweep of the group before it (the rest are ordered within the group: chase_group).
class Pipeline {
 public:
  Pipeline(uint64_t sweeps, uint64_t group) : done_(sweeps), group_(group) {
    for (auto& d : done_) d.store(0, std::memory_order_relaxed);
  }
  uint64_t take() { return next_.fetch_add(group_, std::memory_order_relaxed); }
  uint64_t group() const { return group_; }
  void wait(uint64_t sweep, int task) const {
    if (sweep == 0) return;
    const std::atomic<int>& ahead = done_[sweep - 1];
    for (int spins = 0; ahead.load(std::memory_order_acquire) < task + 2; ++spins) {
      if (spins < 4096) {
#ifdef PARAMSCOPE_BAND_X86
        _mm_pause();
#endif
      } else {
        std::this_thread::yield();
      }
    }
  }
  void finished(uint64_t sweep, int task) { done_[sweep].store(task, std::memory_order_release); }

 private:
  std::vector<std::atomic<int>> done_;
  const uint64_t group_;
  std::atomic<uint64_t> next_{0};
};

// Sweep s: the reflector that zeroes column s below its subdiagonal, applied on both sides of the
// diagonal block it touches; that creates a bulge in the block below, whose first column the next
// reflector zeroes, and so on down to the last row. Tasks: 1, then 2k (right, new reflector, left)
// and 2k + 1 (both sides of the next diagonal block). step() runs the next task.
class Sweep {
 public:
  Sweep() = default;
  Sweep(uint64_t s, double* buffers, uint64_t kd) : s_(s), v_(buffers), u_(buffers + kd + 1), scratch_(buffers + 2 * kd + 2) {}
  bool done() const { return task_ == kDone; }
  int next_task() const { return task_ + 1; }

  BAND_INLINE void step(const Work& a, uint64_t n, uint64_t kd, Pipeline& pipeline) {
    ++task_;
    if (task_ == 1) {
      st_ = s_ + 1;
      ed_ = std::min(s_ + kd, n - 1);
      tau_ = make_reflector(a.at(st_, s_), a.at(st_ + 1, s_), ed_ - st_, v_);
      apply_two_sided(a.at(st_, st_), a.ld, ed_ - st_ + 1, v_, tau_, scratch_);
    } else if (task_ % 2 == 0) {
      const uint64_t j1 = ed_ + 1, j2 = std::min(ed_ + kd, n - 1), rows = j2 - j1 + 1, cols = ed_ - st_ + 1;
      apply_right(a.at(j1, st_), a.ld, rows, cols, v_, tau_, scratch_);
      tau_ = make_reflector(a.at(j1, st_), a.at(j1 + 1, st_), rows - 1, u_);
      apply_left(a.at(j1, st_ + 1), a.ld, rows, cols - 1, u_, tau_);
      std::swap(v_, u_);
      st_ = j1;
      ed_ = j2;
    } else {
      apply_two_sided(a.at(st_, st_), a.ld, ed_ - st_ + 1, v_, tau_, scratch_);
    }
    if (task_ % 2 == 1 && ed_ == n - 1) task_ = kDone;
    pipeline.finished(s_, task_);
  }

 private:
  static constexpr int kDone = INT_MAX;
  uint64_t s_ = 0, st_ = 0, ed_ = 0;
  double tau_ = 0;
  double *v_ = nullptr, *u_ = nullptr, *scratch_ = nullptr;
  int task_ = 0;
};

// A group of consecutive sweeps chased together as a wavefront, sweep g two tasks (one block) behind
// sweep g − 1: each round moves every sweep of the group one task on, inside a window of about
// (group + 2)·kd columns that stays in the cache, where sweep after sweep would stream the whole band
// through it once each. (Sweep g − 1 has done task t + 2 before sweep g's task t in the same round.)
BAND_INLINE void chase_group(const Work& a, uint64_t n, uint64_t kd, uint64_t first, Pipeline& pipeline, double* buffers) {
  const uint64_t count = std::min(pipeline.group(), n - 1 - first);
  Sweep sweeps[kMaxGroup];
  for (uint64_t g = 0; g < count; ++g) sweeps[g] = Sweep(first + g, buffers + g * (3 * kd + 3), kd);
  for (uint64_t round = 0, running = count; running > 0; ++round) {
    running = 0;
    for (uint64_t g = 0; g < count && 2 * g <= round; ++g) {
      Sweep& sweep = sweeps[g];
      if (sweep.done()) continue;
      if (g == 0) pipeline.wait(first, sweep.next_task());
      sweep.step(a, n, kd, pipeline);
      running += !sweep.done();
    }
    running += 2 * count > round + 2;  // sweeps not started yet
  }
}

// A thread's loop: it takes the next group of sweeps not yet taken, so groups start in order (the one
// before is always under way when a group waits on it), however many threads there are.
BAND_INLINE void chase_sweeps(const Work& a, uint64_t n, uint64_t kd, Pipeline& pipeline) {
  std::vector<double> buffers(pipeline.group() * (3 * kd + 3));
  for (uint64_t first; (first = pipeline.take()) + 1 < n;) chase_group(a, n, kd, first, pipeline, buffers.data());
}

void chase_sweeps_portable(const Work& a, uint64_t n, uint64_t kd, Pipeline& pipeline) { chase_sweeps(a, n, kd, pipeline); }

#ifdef PARAMSCOPE_BAND_X86
// The same code compiled for AVX2 + FMA and for AVX-512 (the kernels are inlined into each).
__attribute__((target("avx2,fma"))) void chase_sweeps_avx2(const Work& a, uint64_t n, uint64_t kd, Pipeline& pipeline) {
  chase_sweeps(a, n, kd, pipeline);
}
__attribute__((target("avx512f,avx512vl,fma"))) void chase_sweeps_avx512(const Work& a, uint64_t n, uint64_t kd, Pipeline& pipeline) {
  chase_sweeps(a, n, kd, pipeline);
}
#endif

using SweepsFn = void (*)(const Work&, uint64_t, uint64_t, Pipeline&);

SweepsFn pick_sweeps() {
#ifdef PARAMSCOPE_BAND_X86
  const CpuFeatures& cpu = cpu_features();
  if (cpu.avx512f) return chase_sweeps_avx512;
  if (cpu.avx2 && cpu.fma) return chase_sweeps_avx2;
#endif
  return chase_sweeps_portable;
}

}  // namespace

void band_to_tridiagonal(uint64_t n, uint64_t kd, const double* band, uint64_t ldab, double* d, double* e, int threads) {
  if (n == 0) return;
  kd = std::min(kd, n - 1);
  const uint64_t ldw = 2 * kd + 1;
  std::vector<double> storage(ldw * n, 0.0);
  for (uint64_t j = 0; j < n; ++j) std::copy(band + j * ldab, band + j * ldab + std::min(kd, n - 1 - j) + 1, storage.begin() + j * ldw);
  const Work a{storage.data(), ldw - 1};

  if (kd > 1) {
    const SweepsFn sweeps = pick_sweeps();
    // More threads than about n / (2·kd) sweeps in flight would only wait on each other.
    const uint64_t wanted = std::min<uint64_t>(uint64_t(std::max(1, threads)), std::max<uint64_t>(1, n / (2 * kd)));
    const uint64_t window_columns = kWindowBytes / (ldw * sizeof(double));
    const uint64_t group = std::clamp<uint64_t>(window_columns / kd, 3, kMaxGroup + 2) - 2;
    Pipeline pipeline(n, group);
    std::vector<std::thread> helpers;
    try {
      while (helpers.size() + 1 < wanted) helpers.emplace_back([&] { sweeps(a, n, kd, pipeline); });
    } catch (const std::system_error&) {
      // No more threads to be had: the ones that started (and this one) take every sweep.
    }
    sweeps(a, n, kd, pipeline);
    for (auto& helper : helpers) helper.join();
  }
  for (uint64_t i = 0; i < n; ++i) d[i] = storage[i * ldw];
  for (uint64_t i = 0; i + 1 < n; ++i) e[i] = kd == 0 ? 0.0 : storage[1 + i * ldw];
}

}  // namespace paramscope

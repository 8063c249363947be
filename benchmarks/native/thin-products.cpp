// The truncated solver's thin products with a resident f32 matrix, A·X and Aᵀ·Q (74 columns: rank 64
// plus oversampling), on one core: the core's AVX-512 kernels (native/src/skinny_sgemm.cpp) beside the
// BLAS the core loads (OpenBLAS when present), in GFLOP/s, with the largest difference between the two.
// Builds against the CMake build of the core:
//
//   cmake -S . -B build-cmake && cmake --build build-cmake -j2 --target paramscope_core
//   g++ -O3 -std=c++20 -Inative/src -Inative/include benchmarks/native/thin-products.cpp \
//       build-cmake/libparamscope_core.a -ldl -lpthread -o benchmarks/data/thin-products
//   benchmarks/data/thin-products [ROWS COLS]...     (default: the 7B pair's 4096², 4096 × 11008, 11008 × 4096)
//
// Not part of `npm run bench` (it needs a compiler and is about the kernels); the numbers it printed are
// in docs/backends.md.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <utility>
#include <vector>

#include "internal/blas.hpp"
#include "internal/skinny_sgemm.hpp"

using namespace paramscope;

namespace {

template <typename F>
double best_seconds(const F& f) {
  double best = 1e30;
  for (int r = 0; r < 3; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

double largest_difference(const std::vector<float>& x, const std::vector<float>& y) {
  double d = 0;
  for (size_t i = 0; i < x.size(); ++i) d = std::max(d, double(std::fabs(x[i] - y[i])));
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::pair<uint64_t, uint64_t>> shapes;
  for (int i = 1; i + 1 < argc; i += 2) shapes.emplace_back(std::strtoull(argv[i], nullptr, 10), std::strtoull(argv[i + 1], nullptr, 10));
  if (shapes.empty()) shapes = {{4096, 4096}, {4096, 11008}, {11008, 4096}};
  const blas::Backend& blas = blas::backend();
  if (!blas.fn.sgemm || !cpu::skinny_sgemm_available()) {
    std::fprintf(stderr, "needs a BLAS with sgemm and an AVX-512F CPU (PARAMSCOPE_SIMD unset)\n");
    return 2;
  }
  if (blas.fn.set_num_threads) blas.fn.set_num_threads(1);
  std::printf("BLAS: %s (%s)\n%-13s %-5s %12s %12s %10s\n", blas.config.c_str(), blas.corename.c_str(), "shape", "product", "BLAS GF/s",
              "ours GF/s", "max diff");
  const int n = 74;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uniform(-1, 1);
  for (const auto& [rows, cols] : shapes) {
    // The matrix row-major (rows × cols): column-major, that is Aᵀ with lda = cols.
    std::vector<float> a(rows * cols), x(cols * n), q(rows * n);
    for (float& v : a) v = uniform(rng);
    for (float& v : x) v = uniform(rng);
    for (float& v : q) v = uniform(rng);
    const double flops = 2.0 * double(rows) * double(cols) * n;
    std::vector<float> theirs(rows * n), ours(rows * n);
    const double ax_blas = best_seconds([&] {
      blas.fn.sgemm(blas::ColMajor, blas::Trans, blas::NoTrans, int(rows), n, int(cols), 1.0f, a.data(), int(cols), x.data(), int(cols), 0.0f,
                    theirs.data(), int(rows));
    });
    const double ax_ours = best_seconds([&] { cpu::skinny_sgemm(true, false, rows, n, cols, a.data(), cols, x.data(), cols, ours.data(), rows); });
    std::printf("%5llux%-7llu %-7s %12.1f %12.1f %10.2g\n", (unsigned long long)rows, (unsigned long long)cols, "A X", flops / ax_blas / 1e9,
                flops / ax_ours / 1e9, largest_difference(theirs, ours));
    theirs.assign(cols * n, 0), ours.assign(cols * n, 0);
    const double atq_blas = best_seconds([&] {
      blas.fn.sgemm(blas::ColMajor, blas::NoTrans, blas::NoTrans, int(cols), n, int(rows), 1.0f, a.data(), int(cols), q.data(), int(rows), 0.0f,
                    theirs.data(), int(cols));
    });
    const double atq_ours = best_seconds([&] { cpu::skinny_sgemm(false, false, cols, n, rows, a.data(), cols, q.data(), rows, ours.data(), cols); });
    std::printf("%5llux%-7llu %-7s %12.1f %12.1f %10.2g\n", (unsigned long long)rows, (unsigned long long)cols, "A^T Q", flops / atq_blas / 1e9,
                flops / atq_ours / 1e9, largest_difference(theirs, ours));
  }
  return 0;
}

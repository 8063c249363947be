// The exact route's band → tridiagonal stage (internal/band_tridiagonal.hpp): the tridiagonal matrix it
// returns has the eigenvalues of the band matrix, against Eigen's dense symmetric eigensolver of the same
// matrix (an independent reference) within a backward-stable bound, over band widths from 0 to beyond
// n, sizes that end in partial blocks and several sweep groups; the same bits whatever the thread
// count; and matrices spanning 1e±150 (the reflectors' rescaled path).
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "internal/band_tridiagonal.hpp"
#include "test_support.hpp"

using namespace paramscope;

namespace {

struct Band {
  uint64_t n, kd, ldab;
  std::vector<double> values;  // lower band storage
  double at(uint64_t i, uint64_t j) const { return i - j <= kd ? values[(i - j) + j * ldab] : 0.0; }
};

Band random_band(uint64_t n, uint64_t kd, uint32_t seed, double scale = 1) {
  Band b{n, kd, kd + 1, std::vector<double>((kd + 1) * n, 0.0)};
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  for (uint64_t j = 0; j < n; ++j)
    for (uint64_t r = 0; r <= kd && j + r < n; ++r) b.values[r + j * b.ldab] = normal(rng) * scale;
  return b;
}

std::vector<double> sorted_tridiagonal_eigenvalues(const std::vector<double>& d, const std::vector<double>& e) {
  const uint64_t n = d.size();
  Eigen::MatrixXd t = Eigen::MatrixXd::Zero(n, n);
  for (uint64_t i = 0; i < n; ++i) t(i, i) = d[i];
  for (uint64_t i = 0; i + 1 < n; ++i) t(i + 1, i) = t(i, i + 1) = e[i];
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(t, Eigen::EigenvaluesOnly);
  return std::vector<double>(solver.eigenvalues().data(), solver.eigenvalues().data() + n);
}

// Largest |λ_ours − λ_reference| over ‖A‖_F (both sorted): Householder reduction is backward stable, so
// this is a modest multiple of n·u.
double eigenvalue_error(const Band& b, int threads) {
  const uint64_t n = b.n;
  Eigen::MatrixXd dense(n, n);
  for (uint64_t j = 0; j < n; ++j)
    for (uint64_t i = 0; i < n; ++i) dense(i, j) = i >= j ? b.at(i, j) : b.at(j, i);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> reference(dense, Eigen::EigenvaluesOnly);
  std::vector<double> d(n), e(n);
  band_to_tridiagonal(n, b.kd, b.values.data(), b.ldab, d.data(), e.data(), threads);
  const std::vector<double> ours = sorted_tridiagonal_eigenvalues(d, e);
  double worst = 0;
  for (uint64_t i = 0; i < n; ++i) worst = std::max(worst, std::fabs(ours[i] - reference.eigenvalues()[i]));
  return worst / dense.stableNorm();
}

}  // namespace

TEST_CASE(band_to_tridiagonal_keeps_the_eigenvalues) {
  const uint64_t shapes[][2] = {{1, 0}, {2, 1}, {5, 0}, {5, 1}, {5, 2}, {7, 6}, {7, 20}, {50, 3}, {129, 64}, {200, 16}, {301, 7}, {520, 64}, {700, 33}};
  for (const auto& shape : shapes) {
    const Band b = random_band(shape[0], shape[1], uint32_t(shape[0] * 31 + shape[1]));
    const double error = eigenvalue_error(b, 2);
    const double bound = 64 * double(shape[0]) * 1.1e-16;
    if (!(error <= bound)) std::printf("  n=%llu kd=%llu: error %.3g > %.3g\n", (unsigned long long)shape[0], (unsigned long long)shape[1], error, bound);
    CHECK(error <= bound);
  }
}

TEST_CASE(band_to_tridiagonal_gives_the_same_bits_on_any_number_of_threads) {
  // 1100 × 48: many sweep groups, so threads take turns; 5 threads is more than it uses.
  const Band b = random_band(1100, 48, 7);
  std::vector<double> d1(b.n), e1(b.n);
  band_to_tridiagonal(b.n, b.kd, b.values.data(), b.ldab, d1.data(), e1.data(), 1);
  for (int threads : {2, 3, 5}) {
    std::vector<double> d(b.n), e(b.n);
    band_to_tridiagonal(b.n, b.kd, b.values.data(), b.ldab, d.data(), e.data(), threads);
    CHECK(d == d1);
    CHECK(std::equal(e.begin(), e.end() - 1, e1.begin()));
  }
}

TEST_CASE(band_to_tridiagonal_handles_extreme_scales) {
  // Entries of 1e±150: their squares leave the double range, which the reflectors must survive.
  for (double scale : {1e150, 1e-150}) {
    const Band b = random_band(150, 9, 11, scale);
    const double error = eigenvalue_error(b, 2);
    CHECK(std::isfinite(error));
    CHECK(error <= 64 * 150 * 1.1e-16);
  }
}

TEST_CASE(band_to_tridiagonal_leaves_its_input_alone) {
  const Band b = random_band(90, 12, 3);
  const std::vector<double> before = b.values;
  std::vector<double> d(b.n), e(b.n);
  band_to_tridiagonal(b.n, b.kd, b.values.data(), b.ldab, d.data(), e.data(), 2);
  CHECK(b.values == before);
}

TEST_MAIN()

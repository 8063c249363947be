// Metrics on spectra computed by hand, truncated-mode intervals against the exact values they must
// contain, the power-law fit on samples of a known exponent, and the storage-noise helper.
#include <cmath>
#include <string>
#include <vector>

#include "paramscope/metrics.hpp"
#include "paramscope/spectrum.hpp"
#include "test_support.hpp"

using namespace paramscope;

namespace {

Spectrum complete_spectrum(uint64_t rows, uint64_t cols, std::vector<double> values) {
  Spectrum s;
  s.rows = rows;
  s.cols = cols;
  s.complete = true;
  for (double v : values) s.frobenius_squared += v * v;
  s.values = std::move(values);
  return s;
}

// The top k of an exact spectrum, as truncated mode would report it.
Spectrum top_of(const Spectrum& exact, uint64_t k) {
  Spectrum s = exact;
  s.complete = false;
  s.values.resize(k);
  return s;
}

bool contains(Interval outer, double value) {
  const double slack = 1e-9 * (std::abs(value) + 1);
  return outer.lo <= value + slack && value - slack <= outer.hi;
}

void check_contains(Interval interval, Interval exact, const char* what, uint64_t k) {
  CHECK(exact.exact());
  if (!contains(interval, exact.lo))
    std::printf("  %s with k=%llu: [%.9g, %.9g] misses %.9g\n", what, (unsigned long long)k, interval.lo, interval.hi, exact.lo);
  CHECK(contains(interval, exact.lo));
}

}  // namespace

TEST_CASE(metrics_of_a_hand_computed_spectrum) {
  // σ = (2, 1, 1, 0) of a 4×6 matrix: ‖A‖_F² = 6.
  MetricsOptions options;
  options.top_k = 2;
  options.noise_sigma = 0.1;
  SpectralMetrics m = compute_metrics(complete_spectrum(4, 6, {2, 1, 1, 0}), options);
  CHECK(m.complete && m.min_dim == 4);
  CHECK_NEAR(m.frobenius_norm, std::sqrt(6.0), 1e-15);
  CHECK_NEAR(m.spectral_norm, 2, 0);
  CHECK_NEAR(m.stable_rank, 1.5, 1e-15);
  // p = (1/2, 1/4, 1/4): H = 1.5·ln 2, erank = 2^1.5.
  CHECK(m.effective_rank.exact());
  CHECK_NEAR(m.effective_rank.lo, std::pow(2.0, 1.5), 1e-12);
  CHECK_NEAR(m.effective_rank_ratio.lo, std::pow(2.0, 1.5) / 4, 1e-12);
  // Energies (4/6, 1/6, 1/6).
  const double energy_entropy = -(2.0 / 3 * std::log(2.0 / 3) + 2 * (1.0 / 6) * std::log(1.0 / 6));
  CHECK_NEAR(m.energy_effective_rank.lo, std::exp(energy_entropy), 1e-12);
  CHECK_NEAR(m.participation_ratio.lo, 36.0 / 18.0, 1e-12);
  CHECK(m.energy_rank[0].lo == 1);  // 4/6 ≥ 50 %
  CHECK(m.energy_rank[1].lo == 3);  // 5/6 < 90 % ≤ 6/6
  CHECK(m.energy_rank[3].lo == 3);
  CHECK_NEAR(m.top_k_energy_share.lo, 5.0 / 6, 1e-15);
  CHECK_NEAR(m.numerical_rank_tolerance, 6 * 0x1.0p-23 * 2, 1e-20);
  CHECK(m.numerical_rank.lo == 3 && m.numerical_rank.exact());
  CHECK(m.condition_number && std::isinf(*m.condition_number));
  CHECK(m.mp_edge && std::abs(*m.mp_edge - 0.1 * (2 + std::sqrt(6.0))) < 1e-15);
  CHECK(m.above_mp_edge && m.above_mp_edge->lo == 3);
  CHECK(!m.power_law.valid);  // three positive eigenvalues are too few to fit
}

TEST_CASE(condition_number_and_explicit_rank_tolerance) {
  MetricsOptions options;
  options.rank_tolerance = 1.5;
  SpectralMetrics m = compute_metrics(complete_spectrum(3, 3, {4, 2, 0.5}), options);
  CHECK(m.condition_number && *m.condition_number == 8);
  CHECK(m.numerical_rank.lo == 2);
  CHECK(!m.mp_edge && !m.above_mp_edge);
}

TEST_CASE(zero_matrix_metrics_are_zero_not_nan) {
  SpectralMetrics m = compute_metrics(complete_spectrum(5, 3, {0, 0, 0}));
  CHECK(m.stable_rank == 0 && m.effective_rank.lo == 0 && m.energy_effective_rank.lo == 0);
  CHECK(m.participation_ratio.lo == 0 && m.numerical_rank.lo == 0 && m.energy_rank[2].lo == 0);
  CHECK(m.top_k_energy_share.lo == 0);
  CHECK(!m.condition_number);
  Spectrum truncated = top_of(complete_spectrum(5, 3, {0, 0, 0}), 1);
  SpectralMetrics t = compute_metrics(truncated);
  CHECK(t.effective_rank.lo == 0 && t.energy_effective_rank.hi == 0 && t.participation_ratio.hi == 0);
}

TEST_CASE(truncated_intervals_contain_the_exact_metrics) {
  // Spectra of different shapes: power law, flat, a few spikes over a bulk, rank-deficient.
  std::vector<std::vector<double>> spectra;
  const int g = 200;
  std::vector<double> power(g), flat(g), spiked(g), deficient(g);
  for (int i = 0; i < g; ++i) {
    power[i] = std::pow(i + 1.0, -0.8);
    flat[i] = 1.0 - 0.001 * i;
    spiked[i] = i < 5 ? 20.0 - i : 1.0 - 0.002 * i;
    deficient[i] = i < 50 ? 3.0 - 0.05 * i : 0.0;
  }
  spectra = {power, flat, spiked, deficient};
  MetricsOptions options;
  options.top_k = 30;
  options.noise_sigma = 0.05;
  for (const auto& values : spectra) {
    Spectrum exact_s = complete_spectrum(300, g, values);
    SpectralMetrics exact = compute_metrics(exact_s, options);
    for (uint64_t k : {1, 5, 20, 60, 199}) {
      options.rank_tolerance = exact.numerical_rank_tolerance;  // the default depends on σ₁ only
      SpectralMetrics t = compute_metrics(top_of(exact_s, k), options);
      options.rank_tolerance = 0;
      CHECK(!t.complete && t.known_values == k);
      CHECK_NEAR(t.stable_rank, exact.stable_rank, 1e-12 * exact.stable_rank);
      check_contains(t.effective_rank, exact.effective_rank, "effective rank", k);
      check_contains(t.effective_rank_ratio, exact.effective_rank_ratio, "effective rank ratio", k);
      check_contains(t.energy_effective_rank, exact.energy_effective_rank, "energy effective rank", k);
      check_contains(t.participation_ratio, exact.participation_ratio, "participation ratio", k);
      check_contains(t.numerical_rank, exact.numerical_rank, "numerical rank", k);
      for (size_t i = 0; i < kEnergyRankFractions.size(); ++i) check_contains(t.energy_rank[i], exact.energy_rank[i], "energy rank", k);
      check_contains(t.top_k_energy_share, exact.top_k_energy_share, "top-k share", k);
      check_contains(*t.above_mp_edge, *exact.above_mp_edge, "above MP edge", k);
      CHECK(!t.condition_number);
      CHECK(t.effective_rank.lo <= t.effective_rank.hi && t.participation_ratio.lo <= t.participation_ratio.hi);
    }
  }
}

TEST_CASE(intervals_narrow_as_more_values_are_known) {
  std::vector<double> values(100);
  for (int i = 0; i < 100; ++i) values[i] = std::pow(i + 1.0, -1.0);
  Spectrum exact = complete_spectrum(100, 100, values);
  double previous_width = INFINITY;
  for (uint64_t k : {5, 20, 50, 90}) {
    SpectralMetrics t = compute_metrics(top_of(exact, k));
    const double width = t.effective_rank.hi - t.effective_rank.lo;
    CHECK(width <= previous_width);
    previous_width = width;
  }
}

TEST_CASE(power_law_fit_recovers_a_known_exponent) {
  // Eigenvalues sampled from a Pareto density ∝ λ^(−3) above 1, deterministic quantiles.
  const int n = 2000;
  const double alpha = 3.0;
  std::vector<double> sigma(n);
  for (int i = 0; i < n; ++i) {
    const double u = (i + 0.5) / n;
    sigma[i] = std::sqrt(std::pow(1 - u, -1 / (alpha - 1)));
  }
  std::sort(sigma.rbegin(), sigma.rend());
  MetricsOptions options;
  SpectralMetrics m = compute_metrics(complete_spectrum(n, n, sigma), options);
  CHECK(m.power_law.valid);
  CHECK_NEAR(m.power_law.alpha, alpha, 0.1);
  CHECK(m.power_law.tail_count >= 10 && m.power_law.xmin >= 1.0 - 1e-12);
  CHECK_NEAR(m.power_law.xmax, sigma[0] * sigma[0], 1e-9 * sigma[0] * sigma[0]);
  CHECK(!m.power_law.xmin_search_restricted);
  SpectralMetrics truncated = compute_metrics(top_of(complete_spectrum(n, n, sigma), 500), options);
  CHECK(truncated.power_law.valid && truncated.power_law.xmin_search_restricted);
  CHECK_NEAR(truncated.power_law.alpha, alpha, 0.3);
}

TEST_CASE(metrics_from_solver_spectra_agree_between_modes) {
  // A 120×90 matrix with a decaying spectrum: truncated intervals contain the exact metrics.
  const int m = 120, n = 90;
  std::vector<float> values(m * n);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double sum = 0;
      for (int r = 1; r <= 30; ++r) sum += std::pow(r, -1.0) * std::sin(0.1 * r * (i + 1)) * std::cos(0.07 * r * (j + 2) + r);
      values[i * n + j] = float(sum);
    }
  DenseOp op(m, n, values.data());
  SpectralMetrics exact = compute_metrics(exact_spectrum(op));
  TruncatedOptions options;
  options.rank = 15;
  options.tolerance = 1e-10;
  Spectrum truncated_s = truncated_spectrum(op, options);
  CHECK(truncated_s.converged);
  SpectralMetrics t = compute_metrics(truncated_s);
  CHECK_NEAR(t.stable_rank, exact.stable_rank, 1e-8 * exact.stable_rank);
  CHECK_NEAR(t.frobenius_norm, exact.frobenius_norm, 1e-10 * exact.frobenius_norm);
  auto widened = [](Interval v) { return Interval{v.lo * (1 - 1e-6), v.hi * (1 + 1e-6)}; };
  CHECK(contains(widened(t.effective_rank), exact.effective_rank.lo));
  CHECK(contains(widened(t.energy_effective_rank), exact.energy_effective_rank.lo));
  CHECK(contains(widened(t.participation_ratio), exact.participation_ratio.lo));
  for (size_t i = 0; i < kEnergyRankFractions.size(); ++i) CHECK(contains(t.energy_rank[i], exact.energy_rank[i].lo));
}

TEST_CASE(rounding_noise_of_stored_dtypes) {
  CHECK(rounding_noise_sigma(DType::BF16, 1.0) == 0x1.0p-9);
  CHECK(rounding_noise_sigma(DType::F16, 2.0) == 0x1.0p-11);
  CHECK(rounding_noise_sigma(DType::F32, 1.0) == 0x1.0p-25);
  CHECK(rounding_noise_sigma(DType::I32, 1.0) == 0.0);
}

TEST_MAIN()

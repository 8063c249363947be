#include "paramscope/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace paramscope {

namespace {

// What truncated mode knows about the unknown part of the spectrum: `count` values, each in [0, cap],
// whose squares sum to `energy`. In exact mode count == 0.
struct Tail {
  uint64_t count = 0;
  double energy = 0;
  double cap = 0;

  // The most concentrated tail: `full` values at the cap and one holding the remaining energy. It
  // majorises every feasible tail (in energies), so it extremises every Schur-convex/concave function.
  uint64_t full_at_cap() const {
    if (cap <= 0) return 0;
    return std::min<uint64_t>(count, static_cast<uint64_t>(std::floor(energy / (cap * cap))));
  }
  double remainder_energy() const { return std::max(0.0, energy - double(full_at_cap()) * cap * cap); }
  double min_sum() const { return double(full_at_cap()) * cap + std::sqrt(remainder_energy()); }
  double max_sum() const { return std::sqrt(double(count) * energy); }  // equal values (Cauchy–Schwarz)
  double max_fourth_power_sum() const {
    const double r = remainder_energy();
    return double(full_at_cap()) * cap * cap * cap * cap + r * r;
  }
  double min_fourth_power_sum() const { return count ? energy * energy / double(count) : 0.0; }
};

double x_log_x(double x) { return x > 0 ? x * std::log(x) : 0.0; }

// Shannon entropy of the weights `head` plus `tail_items` equal weights summing to `tail_sum`.
double entropy_with_uniform_tail(const std::vector<double>& head, double tail_sum, uint64_t tail_items) {
  double total = tail_sum, weighted_logs = 0;
  for (double w : head) {
    total += w;
    weighted_logs += x_log_x(w);
  }
  if (total <= 0) return 0;
  if (tail_sum > 0 && tail_items > 0) weighted_logs += tail_sum * std::log(tail_sum / double(tail_items));
  return std::log(total) - weighted_logs / total;
}

Interval exact_interval(double value) { return {value, value}; }

// Roy & Vetterli's effective rank. Upper bound: spreading the tail evenly at its largest possible sum
// maximises the entropy (the entropy grows with the mass of items lighter than every head item).
// Lower bound: the larger of the collision entropy −ln Σpᵢ² = ln(S²/‖A‖_F²) at the smallest tail sum
// and the grouping inequality H ≥ H(head, tail as one item), which is unimodal in the tail sum and so
// minimal at an end of its range.
Interval effective_rank(const std::vector<double>& values, const Tail& tail, double total_energy) {
  if (tail.count == 0 || tail.energy <= 0) return exact_interval(std::exp(entropy_with_uniform_tail(values, 0, 0)));
  double head_sum = 0;
  for (double s : values) head_sum += s;
  const double s_min = tail.min_sum(), s_max = tail.max_sum();
  const double upper = entropy_with_uniform_tail(values, s_max, tail.count);
  const double collision = 2 * std::log(head_sum + s_min) - std::log(total_energy);
  const double grouped = std::min(entropy_with_uniform_tail(values, s_min, 1), entropy_with_uniform_tail(values, s_max, 1));
  return {std::exp(std::min(std::max(collision, grouped), upper)), std::exp(upper)};
}

// Entropy of σᵢ²/E. The tail's share P = T/E is fixed, so H = H_head + P·ln(1/P) + P·H(q) for the tail's
// own distribution q, which lies between the concentrated tail's entropy and ln t.
Interval energy_effective_rank(const std::vector<double>& values, const Tail& tail, double total_energy) {
  if (total_energy <= 0) return exact_interval(0);
  double head = 0;
  for (double s : values) head -= x_log_x(s * s / total_energy);
  if (tail.count == 0 || tail.energy <= 0) return exact_interval(std::exp(head));
  const double share = tail.energy / total_energy;
  const double c2 = tail.cap * tail.cap / tail.energy, r = tail.remainder_energy() / tail.energy;
  const double concentrated = -double(tail.full_at_cap()) * x_log_x(c2) - x_log_x(r);
  const double base = head - x_log_x(share);
  return {std::exp(base + share * concentrated), std::exp(base + share * std::log(double(tail.count)))};
}

Interval participation_ratio(const std::vector<double>& values, const Tail& tail, double total_energy) {
  if (total_energy <= 0) return exact_interval(0);
  double fourth = 0;
  for (double s : values) fourth += s * s * s * s;
  const double squared = total_energy * total_energy;
  return {squared / (fourth + tail.max_fourth_power_sum()), squared / (fourth + tail.min_fourth_power_sum())};
}

// Smallest k with cumulative energy ≥ fraction·E. In the tail: each value adds at most cap², and the j
// largest tail values hold at least j/t of its energy.
Interval energy_rank(const std::vector<double>& values, const Tail& tail, double total_energy, double fraction) {
  if (total_energy <= 0) return exact_interval(0);
  const double target = fraction * total_energy;
  double cumulative = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    cumulative += values[i] * values[i];
    if (cumulative >= target) return exact_interval(double(i + 1));
  }
  const double deficit = target - cumulative, k = double(values.size()), t = double(tail.count);
  if (tail.count == 0 || tail.energy <= 0) return exact_interval(k);  // rounding left the target unmet
  const double lo = tail.cap > 0 ? std::ceil(deficit / (tail.cap * tail.cap)) : t;
  const double hi = std::ceil(deficit / (tail.energy / t));
  return {k + std::min(t, std::max(1.0, lo)), k + std::min(t, std::max(1.0, hi))};
}

Interval top_energy_share(const std::vector<double>& values, const Tail& tail, double total_energy, uint64_t top_k) {
  if (total_energy <= 0) return exact_interval(0);
  double head = 0;
  for (size_t i = 0; i < values.size() && i < top_k; ++i) head += values[i] * values[i];
  if (top_k <= values.size() || tail.count == 0) return exact_interval(head / total_energy);
  const double extra = double(top_k - values.size()), t = double(tail.count);
  const double lo = std::max(extra * tail.energy / t, tail.energy - (t - extra) * tail.cap * tail.cap);
  const double hi = std::min(extra * tail.cap * tail.cap, tail.energy);
  return {(head + std::max(0.0, lo)) / total_energy, (head + hi) / total_energy};
}

// #{i : σᵢ > threshold}. In the tail: values above the threshold each hold more than threshold² energy
// (at most T/threshold² of them) and the others at most threshold², so at least (T − t·threshold²) /
// (cap² − threshold²) of them must be above it.
Interval count_above(const std::vector<double>& values, const Tail& tail, double threshold) {
  uint64_t head = 0;
  for (double s : values) head += s > threshold ? 1 : 0;
  if (head < values.size() || tail.count == 0 || tail.energy <= 0 || tail.cap <= threshold) return exact_interval(double(head));
  const double t = double(tail.count), excess = tail.energy - t * threshold * threshold;
  const double lo = excess > 0 ? std::ceil(excess / (tail.cap * tail.cap - threshold * threshold)) : 0.0;
  const double hi = threshold > 0 ? std::floor(tail.energy / (threshold * threshold)) : t;
  return {double(head) + std::min(t, lo), double(head) + std::min(t, hi)};
}

// Clauset, Shalizi & Newman (2009): for each candidate xmin the continuous MLE α = 1 + n / Σ ln(λᵢ/xmin)
// over the n eigenvalues ≥ xmin, and the xmin whose fit has the smallest Kolmogorov–Smirnov distance.
PowerLawFit fit_power_law(const std::vector<double>& values, bool complete, uint64_t min_tail) {
  PowerLawFit fit;
  fit.xmin_search_restricted = !complete;
  std::vector<double> log_eigen;
  for (auto it = values.rbegin(); it != values.rend(); ++it)
    if (*it > 0) log_eigen.push_back(2 * std::log(*it));  // ascending ln λ
  const uint64_t n = log_eigen.size();
  if (n < std::max<uint64_t>(min_tail, 2)) return fit;
  std::vector<double> suffix_log_sum(n + 1, 0.0);
  for (uint64_t i = n; i-- > 0;) suffix_log_sum[i] = suffix_log_sum[i + 1] + log_eigen[i];

  double best_distance = std::numeric_limits<double>::infinity();
  for (uint64_t i = 0; i + std::max<uint64_t>(min_tail, 2) <= n; ++i) {
    if (i > 0 && log_eigen[i] == log_eigen[i - 1]) continue;  // the same xmin as the previous candidate
    const uint64_t tail = n - i;
    const double log_ratio_sum = suffix_log_sum[i] - double(tail) * log_eigen[i];
    if (log_ratio_sum <= 0) continue;
    const double alpha = 1 + double(tail) / log_ratio_sum;
    double distance = 0;
    for (uint64_t j = 0; j < tail; ++j) {
      const double model_cdf = 1 - std::exp((1 - alpha) * (log_eigen[i + j] - log_eigen[i]));
      distance = std::max({distance, std::abs(double(j + 1) / double(tail) - model_cdf), std::abs(double(j) / double(tail) - model_cdf)});
    }
    if (distance < best_distance) {
      best_distance = distance;
      fit.valid = true;
      fit.alpha = alpha;
      fit.xmin = std::exp(log_eigen[i]);
      fit.xmax = std::exp(log_eigen[n - 1]);
      fit.tail_count = tail;
      fit.ks_distance = distance;
    }
  }
  return fit;
}

}  // namespace

SpectralMetrics compute_metrics(const Spectrum& spectrum, const MetricsOptions& options) {
  SpectralMetrics out;
  out.rows = spectrum.rows;
  out.cols = spectrum.cols;
  out.min_dim = std::min(spectrum.rows, spectrum.cols);
  const std::vector<double>& values = spectrum.values;
  out.known_values = values.size();
  out.complete = spectrum.complete || values.size() >= out.min_dim;

  double head_energy = 0;
  for (double s : values) head_energy += s * s;
  // With the full spectrum Σσᵢ² is the total energy (consistent with the values to the last bit); with
  // part of it the streamed ‖A‖_F² is, and the difference is the tail's.
  const double total_energy = out.complete ? head_energy : std::max(spectrum.frobenius_squared, head_energy);
  Tail tail;
  if (!out.complete) {
    tail.count = out.min_dim - values.size();
    tail.energy = total_energy - head_energy;
    tail.cap = values.empty() ? std::sqrt(tail.energy) : values.back();
    // Rounding can leave T a hair above t·cap², which no tail can hold; clamp to the feasible set.
    tail.energy = std::min(tail.energy, double(tail.count) * tail.cap * tail.cap);
  }

  const double sigma1 = values.empty() ? 0.0 : values.front();
  out.frobenius_norm = std::sqrt(std::max(0.0, spectrum.frobenius_squared));
  out.spectral_norm = sigma1;
  out.stable_rank = sigma1 > 0 ? spectrum.frobenius_squared / (sigma1 * sigma1) : 0.0;

  const double dim = out.min_dim ? double(out.min_dim) : 1.0;
  auto ratio = [dim](Interval v) { return Interval{v.lo / dim, v.hi / dim}; };
  out.effective_rank = sigma1 > 0 ? effective_rank(values, tail, total_energy) : exact_interval(0);
  out.effective_rank_ratio = ratio(out.effective_rank);
  out.energy_effective_rank = energy_effective_rank(values, tail, total_energy);
  out.energy_effective_rank_ratio = ratio(out.energy_effective_rank);

  out.numerical_rank_tolerance = options.rank_tolerance > 0
                                     ? options.rank_tolerance
                                     : double(std::max(spectrum.rows, spectrum.cols)) * options.dtype_epsilon * sigma1;
  out.numerical_rank = count_above(values, tail, out.numerical_rank_tolerance);
  for (size_t i = 0; i < kEnergyRankFractions.size(); ++i)
    out.energy_rank[i] = energy_rank(values, tail, total_energy, kEnergyRankFractions[i]);
  out.top_k = std::min(options.top_k, out.min_dim);
  out.top_k_energy_share = top_energy_share(values, tail, total_energy, out.top_k);
  out.participation_ratio = participation_ratio(values, tail, total_energy);
  if (out.complete && sigma1 > 0) {
    const double smallest = values.back();
    out.condition_number = smallest > 0 ? sigma1 / smallest : std::numeric_limits<double>::infinity();
  }
  out.power_law = fit_power_law(values, out.complete, options.power_law_min_tail);
  if (options.noise_sigma > 0) {
    out.mp_edge = options.noise_sigma * (std::sqrt(double(spectrum.rows)) + std::sqrt(double(spectrum.cols)));
    out.above_mp_edge = count_above(values, tail, *out.mp_edge);
  }
  return out;
}

double rounding_noise_sigma(DType dtype, double rms) {
  const int precision = dtype_info(dtype).precision;
  return precision > 0 ? std::ldexp(rms, -precision - 1) : 0.0;
}

}  // namespace paramscope

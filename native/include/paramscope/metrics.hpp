#pragma once
// Spectral metrics of one matrix from its singular values and its exact Frobenius norm. With the full
// spectrum every metric is exact (lo == hi). With only the top k values (truncated mode) the rest of the
// spectrum is known only through two facts: its energy T = ‖A‖_F² − Σ_{i≤k} σᵢ² and that each of its
// t = min(m,n) − k values lies in [0, σ_k]; every metric that depends on it is then the interval of
// values it can take over all such tails (or a proven enclosure of it), never a guess.
// Definitions, formulas and references: docs/metrics.md.
#include <array>
#include <cstdint>
#include <optional>

#include "paramscope/dtype.hpp"
#include "paramscope/spectrum.hpp"

namespace paramscope {

// A metric's value, or the interval it is known to lie in. lo == hi when it is exact.
struct Interval {
  double lo = 0, hi = 0;
  bool exact() const noexcept { return lo == hi; }
};

// Upper-tail power law fitted to the eigenvalues λ = σ² of AᵀA (the empirical spectral density).
struct PowerLawFit {
  bool valid = false;        // false when fewer than min_tail positive eigenvalues are available
  double alpha = 0;          // density p(λ) ∝ λ^(−alpha) for λ ≥ xmin (Clauset et al. continuous MLE)
  double xmin = 0, xmax = 0; // the fit range, in eigenvalue units (σ²)
  uint64_t tail_count = 0;   // eigenvalues in [xmin, xmax]
  double ks_distance = 0;    // Kolmogorov–Smirnov distance of the fit on its range (the xmin criterion)
  bool xmin_search_restricted = false;  // truncated mode: xmin was searched among the top k only
};

struct MetricsOptions {
  // Numerical rank threshold; ≤ 0 selects max(m, n)·dtype_epsilon·σ₁ (the LAPACK/NumPy convention).
  double rank_tolerance = 0;
  // Machine epsilon of the arithmetic the matrix was stored in (2⁻²³ for f32, 2⁻⁷ for bf16).
  double dtype_epsilon = 0x1.0p-23;
  // K of the top-K energy share.
  uint64_t top_k = 10;
  // Per-entry noise standard deviation for the Marchenko–Pastur edge; ≤ 0 skips that metric.
  double noise_sigma = 0;
  // Fewest eigenvalues a power-law tail fit may use.
  uint64_t power_law_min_tail = 10;
};

inline constexpr std::array<double, 4> kEnergyRankFractions = {0.50, 0.90, 0.95, 0.99};

struct SpectralMetrics {
  uint64_t rows = 0, cols = 0;
  uint64_t min_dim = 0;      // min(m, n): the number of singular values
  uint64_t known_values = 0; // how many singular values the metrics were computed from
  bool complete = false;     // known_values == min_dim: every metric is exact

  // ‖A‖_F = √(Σ σᵢ²), from the exact streamed sum of squares.
  double frobenius_norm = 0;
  // ‖A‖₂ = σ₁.
  double spectral_norm = 0;
  // ‖A‖_F² / σ₁²: in [1, rank]; exact in both modes (0 for a zero matrix).
  double stable_rank = 0;
  // Roy & Vetterli (2007): exp(−Σ pᵢ ln pᵢ) with pᵢ = σᵢ / Σⱼ σⱼ; and divided by min(m, n).
  Interval effective_rank, effective_rank_ratio;
  // The same with energy weights pᵢ = σᵢ² / ‖A‖_F²; and divided by min(m, n).
  Interval energy_effective_rank, energy_effective_rank_ratio;
  // #{i : σᵢ > tolerance} and the tolerance used.
  Interval numerical_rank;
  double numerical_rank_tolerance = 0;
  // Smallest k with Σ_{i≤k} σᵢ² ≥ f·‖A‖_F², for f in kEnergyRankFractions.
  std::array<Interval, kEnergyRankFractions.size()> energy_rank{};
  // Σ_{i≤K} σᵢ² / ‖A‖_F² with K = top_k (clamped to min(m, n)).
  uint64_t top_k = 0;
  Interval top_k_energy_share;
  // (Σ σᵢ²)² / Σ σᵢ⁴: the number of equally strong directions with the same energy spread.
  Interval participation_ratio;
  // σ₁ / σ_min (infinite for a rank-deficient matrix); only with the full spectrum, unset otherwise and
  // for a zero matrix.
  std::optional<double> condition_number;
  // Upper-tail power-law exponent of the eigenvalue density (WeightWatcher's alpha).
  PowerLawFit power_law;
  // Marchenko–Pastur edge noise_sigma·(√m + √n) (the largest singular value of an m×n matrix of i.i.d.
  // noise of that standard deviation) and #{i : σᵢ > edge}; unset when noise_sigma ≤ 0.
  std::optional<double> mp_edge;
  std::optional<Interval> above_mp_edge;
};

// Metrics of a spectrum from exact_spectrum (exact) or truncated_spectrum (intervals). Values are taken
// as given; their own error bounds are in the Spectrum.
SpectralMetrics compute_metrics(const Spectrum& spectrum, const MetricsOptions& options = {});

// Standard deviation of the rounding error that storing values of root-mean-square `rms` in `dtype`
// leaves in each entry: round-to-nearest at precision p (significand bits, implicit bit included) errs
// uniformly within ±ulp/2, whose RMS relative to the value, averaged over a binade, is ≈ 2^(−p−1.3); we
// use 2^(−p−1): BF16 (p = 8) 2⁻⁹, F16 (p = 11) 2⁻¹², F32 (p = 24) 2⁻²⁵, F8 E4M3 2⁻⁵, F8 E5M2 2⁻⁴.
// 0 for integer and other exact formats. For a difference T − B of two stored tensors combine the two:
// √(σ_T² + σ_B²).
double rounding_noise_sigma(DType dtype, double rms);

}  // namespace paramscope

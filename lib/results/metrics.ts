/**
 * Spectral metrics of one matrix A (m × n, singular values σ₁ ≥ σ₂ ≥ … ≥ 0), computed natively from its
 * spectrum and its exact Frobenius norm. In exact mode every metric is a number. In truncated mode only
 * the top k values are known, and the tail is known only through its energy ‖A‖_F² − Σ_{i≤k} σᵢ² and the
 * fact that each tail value is ≤ σ_k: metrics that depend on the tail are then reported as the interval
 * {lo, hi} they are proven to lie in, never as a guess. Full definitions: docs/metrics.md.
 */

/** A metric known exactly (a number) or only within bounds. */
export type Bounded = number | { lo: number; hi: number };

export interface PowerLawFit {
  valid: boolean;
  /** Exponent of the eigenvalue density p(λ) ∝ λ^(−alpha), λ = σ², for λ ≥ xmin (comparable to WeightWatcher's alpha). */
  alpha?: number;
  /** The fit range in eigenvalue units (σ²). */
  xmin?: number;
  xmax?: number;
  tailCount?: number;
  /** Kolmogorov–Smirnov distance of the fit over its range. */
  ksDistance?: number;
  /** Truncated mode: xmin was searched among the top k eigenvalues only. */
  xminSearchRestricted?: boolean;
}

export interface SpectrumMetrics {
  /** min(m, n): how many singular values A has. */
  minDim: number;
  /** How many singular values the metrics were computed from (min(m, n) when complete). */
  knownValues: number;
  complete: boolean;
  /** ‖A‖_F = √(Σ σᵢ²), exact (streamed). */
  frobeniusNorm: number;
  /** ‖A‖₂ = σ₁. */
  spectralNorm: number;
  /** ‖A‖_F² / σ₁², in [1, rank]; exact in both modes. */
  stableRank: number;
  /** Roy & Vetterli effective rank: exp(−Σ pᵢ ln pᵢ), pᵢ = σᵢ / Σⱼ σⱼ. */
  effectiveRank: Bounded;
  /** effectiveRank / min(m, n). */
  effectiveRankRatio: Bounded;
  /** The same entropy on energies pᵢ = σᵢ² / ‖A‖_F². */
  energyEffectiveRank: Bounded;
  energyEffectiveRankRatio: Bounded;
  /** #{σᵢ > numericalRankTolerance}; the tolerance defaults to max(m, n)·ε(dtype)·σ₁. */
  numericalRank: Bounded;
  numericalRankTolerance: number;
  /** Smallest k with Σ_{i≤k} σᵢ² ≥ p·‖A‖_F², for p = 50, 90, 95, 99 %. */
  energyRank: { '50': Bounded; '90': Bounded; '95': Bounded; '99': Bounded };
  /** K of the top-K energy share. */
  topK: number;
  /** Σ_{i≤K} σᵢ² / ‖A‖_F². */
  topKEnergyShare: Bounded;
  /** (Σ σᵢ²)² / Σ σᵢ⁴: the number of equally strong directions with the same energy spread. */
  participationRatio: Bounded;
  /** σ₁ / σ_min (exact mode only; Infinity when rank-deficient; null otherwise). */
  conditionNumber: number | null;
  powerLaw: PowerLawFit;
  /** Marchenko–Pastur edge σ_noise·(√m + √n) of the storage rounding noise (null when not applicable). */
  noiseEdge: number | null;
  /** #{σᵢ > noiseEdge}: directions that stand out of the storage-noise floor. */
  aboveNoiseEdge: Bounded | null;
}

/** The midpoint of a bounded metric (the value itself when exact). */
export function midpoint(value: Bounded): number {
  return typeof value === 'number' ? value : (value.lo + value.hi) / 2;
}

/** Lower and upper ends of a bounded metric. */
export function bounds(value: Bounded): [number, number] {
  return typeof value === 'number' ? [value, value] : [value.lo, value.hi];
}

/** "12.3" or "[11.0, 14.2]" for tables. */
export function formatBounded(value: Bounded | null | undefined, digits = 3): string {
  if (value === null || value === undefined) return '-';
  const f = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 1000 ? x.toFixed(0) : x.toPrecision(digits)) : String(x));
  return typeof value === 'number' ? f(value) : `[${f(value.lo)}, ${f(value.hi)}]`;
}

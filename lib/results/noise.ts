/**
 * The storage-noise floor of a difference ΔW of two float checkpoints: rounding both to their storage
 * dtypes alone leaves a flat, full-rank ΔW of known size. What of ΔW rises above it is the update.
 */
import type { SpectrumResult } from '../engine/types';
import type { Bounded } from './metrics';

export interface NoiseFloor {
  /** Per-entry standard deviation of the storage rounding of both checkpoints. */
  sigma: number;
  /** Marchenko–Pastur edge of that noise: singular values below it are indistinguishable from rounding. */
  edge: number;
  /** Share of ‖ΔW‖_F² in singular values above the edge. */
  energyShareAbove: Bounded;
  /** Singular values above the edge. */
  directionsAbove: Bounded;
  /**
   * Expected energy of the storage rounding in ΔW: Σ ulp²/12 over the stored values of both checkpoints
   * (absent when a dtype has no rounding grid). What ‖ΔW‖_F² would be if the update were rounding only.
   */
  roundingEnergy?: number;
  /**
   * Share of ‖ΔW‖_F² below the edge that rounding cannot account for (below-edge energy minus
   * ROUNDING_MARGIN × the rounding energy): update energy spread over directions too weak to resolve
   * one by one. 0 when there is none, when the rounding energy is unknown, or when the truncated tail is
   * unknown.
   */
  hiddenShare?: number;
}

/**
 * Allowance for the rounding model. Σ ulp²/12 per side is the energy of rounding values that sit at
 * random positions on the grid, independently on both sides; it overstates what two roundings of nearby
 * values leave in ΔW when the update is far below one ulp (they mostly round alike: the peers' 1B
 * "coverage" pair has ‖ΔW‖² = 0.25 × the model), and can understate it by a little where values are not
 * spread evenly within their binade. Only below-edge energy beyond 1.25 × the model counts as hidden
 * update, so what is called hidden update is not rounding.
 */
export const ROUNDING_MARGIN = 1.25;

/** Energy share of ΔW above the noise edge, with the unknown tail (truncated mode) as bounds. */
export function noiseFloor(r: SpectrumResult): NoiseFloor | undefined {
  const edge = r.metrics.noiseEdge;
  if (edge === null) return undefined;
  const m = Math.min(r.rows, r.cols);
  const sigma = edge / (Math.sqrt(r.rows) + Math.sqrt(r.cols));
  let above = 0, known = 0;
  for (const v of r.values) {
    known += v * v;
    if (v > edge) above += v * v;
  }
  const total = r.frobeniusSquared;
  const rounding = r.roundingEnergy === undefined ? {} : { roundingEnergy: r.roundingEnergy };
  if (total <= 0) return { sigma, edge, energyShareAbove: 0, directionsAbove: 0, ...rounding, ...(r.roundingEnergy === undefined ? {} : { hiddenShare: 0 }) };
  const last = r.values.length ? (r.values[r.values.length - 1] as number) : 0;
  const tail = Math.max(0, total - known);
  const tailCouldBeSignal = !r.complete && r.values.length < m && last > edge && tail > 0;
  const lo = Math.min(1, above / total);
  const energyShareAbove: Bounded = tailCouldBeSignal ? { lo, hi: Math.min(1, (above + tail) / total) } : lo;
  if (r.roundingEnergy === undefined) return { sigma, edge, energyShareAbove, directionsAbove: r.metrics.aboveNoiseEdge ?? 0 };
  const hiddenShare = tailCouldBeSignal ? 0 : Math.max(0, (total - above - ROUNDING_MARGIN * r.roundingEnergy) / total);
  return { sigma, edge, energyShareAbove, directionsAbove: r.metrics.aboveNoiseEdge ?? 0, ...rounding, hiddenShare };
}

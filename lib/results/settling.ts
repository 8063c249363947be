/**
 * Where an update's directions settle during training: the overlap of the top singular subspaces of
 * ΔW_base→k with those of ΔW_base→(k−1), per matrix, on both sides — left (outputs, U) and right
 * (inputs, V) — with the subspace similarity ‖U_kᵀU_{k−1}‖²_F / k and the principal angles of
 * directions.ts. Only signal directions are compared: k is at most the number of singular values
 * provably (error bound included) above the storage-noise edge and the numerical-rank tolerance at both
 * steps, so the arbitrary directions of a noise floor, or of a rank smaller than k, never enter.
 */
import type { SpectrumResult } from '../engine/types';
import { compareSubspaces, type SubspaceComparison } from './directions';

/** The top signal directions of one update, column-major (rows × k and cols × k). */
export interface UpdateDirections {
  rows: number;
  cols: number;
  /** Signal directions kept (≤ the overlap rank). */
  k: number;
  u: Float64Array;
  v: Float64Array;
  /** ‖ΔW‖_F². */
  energy: number;
}

export interface Settling {
  k: number;
  left: SubspaceComparison;
  right: SubspaceComparison;
}

/** Singular values at or below this are not signal: the storage-noise edge, or the numerical-rank tolerance. */
function signalThreshold(r: SpectrumResult): number {
  return Math.max(r.metrics.noiseEdge ?? 0, r.metrics.numericalRankTolerance);
}

/** The top (at most `rank`) signal directions of a result computed with vectors; null when it has none. */
export function updateDirections(r: SpectrumResult, rank: number): UpdateDirections | null {
  const available = Math.min(rank, r.vectorCount ?? 0);
  if (!r.u || !r.v || available === 0) return null;
  // A direction is signal when its singular value is provably above the threshold (its error bound
  // included: a truncated spectrum's tail can be rounding dressed up as values).
  const threshold = signalThreshold(r);
  let k = 0;
  while (k < available && (r.values[k] as number) - (r.errorBounds[k] ?? 0) > threshold) k++;
  if (k === 0) return null;
  return { rows: r.rows, cols: r.cols, k, u: r.u.slice(0, r.rows * k), v: r.v.slice(0, r.cols * k), energy: r.frobeniusSquared };
}

/** How the directions of `current` overlap those of `previous` (same matrix shape); null when either has none. */
export function settling(previous: UpdateDirections | null | undefined, current: UpdateDirections | null | undefined): Settling | null {
  if (!previous || !current || previous.rows !== current.rows || previous.cols !== current.cols) return null;
  const k = Math.min(previous.k, current.k);
  const take = (block: Float64Array, n: number) => block.subarray(0, n * k);
  return {
    k,
    left: compareSubspaces(take(current.u, current.rows), take(previous.u, previous.rows), current.rows, k),
    right: compareSubspaces(take(current.v, current.cols), take(previous.v, previous.cols), current.cols, k),
  };
}

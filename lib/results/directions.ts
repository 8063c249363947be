/**
 * Do the directions a fine-tune changed line up with the base weight's own dominant directions?
 *
 * - Subspace similarity of two k-dimensional subspaces with orthonormal bases P, Q (n × k):
 *   ‖PᵀQ‖_F² / k ∈ [0, 1] (1: the same subspace). Two random k-subspaces of Rⁿ score k/n on average,
 *   which is reported beside it as the baseline.
 * - Principal angles θᵢ = arccos σᵢ(PᵀQ), smallest first.
 * - Intruder dimensions (Shuttleworth et al., 2024, "LoRA vs full fine-tuning: an illusion of
 *   equivalence"): top singular vectors of W_tuned whose largest |cosine| with any of W_base's top
 *   singular vectors is below a threshold — directions the fine-tune introduced rather than reweighted.
 *   The random-matrix baseline is the probability that a uniformly random unit vector of the same
 *   dimension is an intruder against k orthonormal vectors, times k.
 */
import { seededGaussian } from './random';
import { smallSingularValues, transposeTimes } from './small-linalg';

/** How many top directions are compared, and the |cosine| below which a tuned direction is an intruder. */
export const DIRECTION_DEFAULTS = Object.freeze({ rank: 16, intruderThreshold: 0.5 });

export interface SubspaceComparison {
  k: number;
  similarity: number;
  /** E[similarity] for random subspaces of the same dimensions: k / n. */
  randomBaseline: number;
  /** Principal angles in degrees, ascending. */
  principalAnglesDeg: number[];
}

/** Compares the column spans of two column-major n × k orthonormal blocks. */
export function compareSubspaces(p: ArrayLike<number>, q: ArrayLike<number>, n: number, k: number): SubspaceComparison {
  const cross = transposeTimes(p, q, n, k, k);
  let frob = 0;
  for (const v of cross) frob += v * v;
  const cosines = smallSingularValues(cross, k, k).map((c) => Math.min(1, c));
  return {
    k,
    similarity: frob / k,
    randomBaseline: Math.min(1, k / n),
    principalAnglesDeg: cosines.map((c) => (Math.acos(c) * 180) / Math.PI).sort((a, b) => a - b),
  };
}

export interface IntruderAnalysis {
  k: number;
  threshold: number;
  /** Indices (0-based, by singular value) of the tuned vectors that are intruders. */
  intruders: number[];
  /** Best |cosine| of each tuned vector with the base vectors. */
  bestCosines: number[];
  /** Expected intruder count if the tuned directions were random: k · P(random vector is an intruder). */
  randomBaseline: number;
}

/** erf(x), Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7). */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

/**
 * P(max_j |⟨u, b_j⟩| < threshold) for u uniform on the unit sphere of Rⁿ and k orthonormal b_j. By
 * rotation invariance the b_j may be the first k coordinate axes. For n ≥ 64 the coordinates of u are
 * nearly independent N(0, 1/n), giving erf(threshold·√(n/2))^k; smaller n is sampled (seeded).
 */
export function randomIntruderProbability(n: number, k: number, threshold: number, samples = 2000, seed = 7): number {
  if (n >= 64) return erf(threshold * Math.sqrt(n / 2)) ** Math.min(k, n);
  const next = seededGaussian(seed);
  const u = new Float64Array(n);
  let below = 0;
  for (let s = 0; s < samples; s++) {
    let norm = 0;
    for (let i = 0; i < n; i++) {
      u[i] = next();
      norm += (u[i] as number) ** 2;
    }
    let best = 0;
    for (let j = 0; j < Math.min(k, n); j++) best = Math.max(best, Math.abs(u[j] as number));
    if (best / Math.sqrt(norm) < threshold) below++;
  }
  return below / samples;
}

/** Intruder dimensions of tuned vs base singular vectors (column-major n × k each). */
export function intruderDimensions(tuned: ArrayLike<number>, base: ArrayLike<number>, n: number, k: number, threshold: number = DIRECTION_DEFAULTS.intruderThreshold): IntruderAnalysis {
  const cross = transposeTimes(tuned, base, n, k, k); // (i, j) = ⟨tuned_i, base_j⟩
  const bestCosines = Array.from({ length: k }, (_, i) => {
    let best = 0;
    for (let j = 0; j < k; j++) best = Math.max(best, Math.abs(cross[j * k + i] as number));
    return best;
  });
  const intruders = bestCosines.flatMap((c, i) => (c < threshold ? [i] : []));
  return { k, threshold, intruders, bestCosines, randomBaseline: k * randomIntruderProbability(n, k, threshold) };
}

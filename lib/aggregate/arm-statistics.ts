/**
 * The summary numbers a comparison puts side by side, computed from an arm's matrices by the same code as
 * its single report, so a bootstrap can recompute them on any resample of those matrices:
 *  - an update (diff or LoRA arm): the verdict score and its components D, L, C (aggregate/regime.ts's
 *    regimeScore on each matrix's regimeTerm), and the relative update √(Σ‖ΔW‖²/Σ‖W‖²)
 *    (model-summary.ts's pooledRelativeUpdate);
 *  - weights (an analyze arm): medians over matrices of the energy effective-rank ratio, the stable-rank
 *    ratio and the power-law alpha (tensors.ts's summaryMetrics, groups.ts's median).
 * A "unit" is what one matrix contributes; the per-matrix work (spectral entropy, signal ranks) is done
 * once per matrix, never per resample.
 */
import type { PairResult, TensorAnalysis } from '../report/model';
import { median } from './groups';
import { pooledRelativeUpdate } from './model-summary';
import { regimeInputs } from './pairs';
import { type RegimeTerm, regimeScore, regimeTerm } from './regime';
import { summaryMetrics } from './tensors';

export type ArmKind = 'diff' | 'lora' | 'weights';

export interface StatisticInfo {
  key: string;
  /** Short name for tables and plots. */
  name: string;
  description: string;
  /** The range the statistic lives in, for plot axes: [0, 1], or positive (drawn on a log scale). */
  range: 'unit' | 'positive';
}

/** The statistics of an update arm, in the order `updateStatistics` returns them. */
export const UPDATE_STATISTICS: readonly StatisticInfo[] = [
  { key: 'score', name: 'score', description: 'regime score 0.75·D + 0.15·L + 0.10·C (0 concentrated … 1 dispersed; midpoint of its range)', range: 'unit' },
  { key: 'directionalSpread', name: 'D', description: 'directional spread: energy-weighted mean over matrices of √(r/R) (midpoint of its range)', range: 'unit' },
  { key: 'layerSpread', name: 'L', description: 'layer/module spread: normalised entropy of the matrices\' shares of the update energy', range: 'unit' },
  { key: 'coverage', name: 'C', description: 'coverage: fraction of matrices changed by more than storage rounding', range: 'unit' },
  { key: 'relativeUpdate', name: '‖ΔW‖/‖W‖', description: 'relative update √(Σ‖ΔW‖_F² / Σ‖W_base‖_F²) over the matrices (undefined without a base)', range: 'positive' },
];

/** The statistics of a weights arm, in the order `weightStatistics` returns them. */
export const WEIGHT_STATISTICS: readonly StatisticInfo[] = [
  { key: 'energyEffectiveRankRatio', name: 'eff. rank ratio', description: 'median over matrices of the energy effective rank of W divided by min(m, n)', range: 'unit' },
  { key: 'stableRankRatio', name: 'stable rank ratio', description: 'median over matrices of the stable rank ‖W‖_F²/σ₁² divided by min(m, n)', range: 'unit' },
  { key: 'alpha', name: 'alpha', description: 'median over matrices of the power-law exponent of the eigenvalue density (matrices with a valid fit)', range: 'positive' },
];

/** What one matrix of an update contributes to the statistics. */
export interface UpdateUnit {
  name: string;
  shape: string;
  term: RegimeTerm;
  /** ‖ΔW‖_F² and ‖W_base‖_F². */
  updateEnergy: number;
  baseEnergy: number;
}

/** What one weight matrix contributes to the statistics. */
export interface WeightUnit {
  name: string;
  shape: string;
  energyEffectiveRankRatio: number | undefined;
  stableRankRatio: number | undefined;
  alpha: number | undefined;
}

export type ArmUnit = UpdateUnit | WeightUnit;

/** The matrices of an update that its report aggregates (those with a spectrum and metrics), as units. */
export function updateUnits(pairs: readonly PairResult[]): UpdateUnit[] {
  const ok = pairs.filter((p) => p.spectrum && p.metrics);
  const inputs = regimeInputs(ok);
  return ok.map((p, i) => ({
    name: p.name,
    shape: `${p.rows}x${p.cols}`,
    term: regimeTerm(inputs[i] as (typeof inputs)[number]),
    updateEnergy: p.spectrum?.frobeniusSquared ?? 0,
    baseEnergy: (p.baseNorm ?? 0) ** 2,
  }));
}

/** [score, D, L, C, relative update] of a sample of update units. */
export function updateStatistics(units: readonly UpdateUnit[]): number[] {
  const s = regimeScore(units.map((u) => u.term));
  let update = 0, base = 0;
  for (const u of units) {
    update += u.updateEnergy;
    base += u.baseEnergy;
  }
  return [s.score, (s.directionalSpread[0] + s.directionalSpread[1]) / 2, s.layerSpread, s.coverage, pooledRelativeUpdate(update, base)];
}

/** The analysed matrices of a checkpoint (failed ones left out), as units. */
export function weightUnits(tensors: readonly TensorAnalysis[]): WeightUnit[] {
  return tensors.filter((t) => t.metrics).map((t) => {
    const m = summaryMetrics(t);
    return { name: t.name, shape: `${t.rows}x${t.cols}`, energyEffectiveRankRatio: m.energyEffectiveRankRatio, stableRankRatio: m.stableRankRatio, alpha: m.alpha };
  });
}

function medianOf(units: readonly WeightUnit[], key: 'energyEffectiveRankRatio' | 'stableRankRatio' | 'alpha'): number {
  const values: number[] = [];
  for (const u of units) {
    const v = u[key];
    if (v !== undefined && Number.isFinite(v)) values.push(v);
  }
  return median(values);
}

/** [energy eff. rank ratio, stable-rank ratio, alpha] medians of a sample of weight units. */
export function weightStatistics(units: readonly WeightUnit[]): number[] {
  return [medianOf(units, 'energyEffectiveRankRatio'), medianOf(units, 'stableRankRatio'), medianOf(units, 'alpha')];
}

/** The summaries of `analyze`: per layer and per module type, over the numeric metrics of each matrix. */
import type { TensorAnalysis } from '../report/model';
import { midpoint } from '../results/metrics';
import { componentLayerKey, type GroupSummary, summarizeGroups } from './groups';

/** The numeric metrics that group summaries average (bounded ones by their midpoint). */
export function summaryMetrics(t: TensorAnalysis): Record<string, number | undefined> {
  const m = t.metrics;
  if (!m) return {};
  return {
    stableRank: m.stableRank,
    stableRankRatio: m.stableRank / m.minDim,
    effectiveRankRatio: midpoint(m.effectiveRankRatio),
    energyEffectiveRankRatio: midpoint(m.energyEffectiveRankRatio),
    topKEnergyShare: midpoint(m.topKEnergyShare),
    spectralNorm: m.spectralNorm,
    alpha: m.powerLaw.valid ? m.powerLaw.alpha : undefined,
  };
}

/** Per-layer (per component when there are several: `vision/3`) and per-module-type summaries of the analysed matrices (failed ones are left out). */
export function summarizeTensors(tensors: readonly TensorAnalysis[]): { byLayer: GroupSummary[]; byModule: GroupSummary[] } {
  const items = tensors
    .filter((t) => t.metrics)
    .map((t) => ({ ...t, energy: t.spectrum?.frobeniusSquared ?? 0, metrics: summaryMetrics(t), module: t.module }));
  return {
    byLayer: summarizeGroups(items, componentLayerKey(items)),
    byModule: summarizeGroups(items, (t) => t.module.group),
  };
}

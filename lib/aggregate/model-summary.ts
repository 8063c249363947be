/** The model-level summary of an update: how much changed, how evenly over layers and modules, typical ranks. */
import type { ModelSummary, PairResult } from '../report/model';
import { midpoint, type SpectrumMetrics } from '../results/metrics';
import { failedMatrices, failureCounts } from './failures';
import { gini, type GroupSummary, median, normalizedEntropy } from './groups';

/** √(Σ‖ΔW‖_F² / Σ‖W_base‖_F²): the update relative to the weights it changed, over all its matrices (NaN without base norms). */
export function pooledRelativeUpdate(updateEnergy: number, baseEnergy: number): number {
  return baseEnergy > 0 ? Math.sqrt(updateEnergy / baseEnergy) : NaN;
}

export function modelSummary(pairs: PairResult[], byLayer: GroupSummary[], byModule: GroupSummary[]): ModelSummary {
  const ok = pairs.filter((p) => p.metrics && p.spectrum);
  const update = ok.reduce((s, p) => s + (p.spectrum?.frobeniusSquared ?? 0), 0);
  const base = ok.reduce((s, p) => s + (p.baseNorm ?? 0) ** 2, 0);
  const above = ok.reduce((s, p) => s + (p.noise ? midpoint(p.noise.energyShareAbove) : 1) * (p.spectrum?.frobeniusSquared ?? 0), 0);
  const hidden = ok.reduce((s, p) => s + (p.noise?.hiddenShare ?? 0) * (p.spectrum?.frobeniusSquared ?? 0), 0);
  const changed = ok.filter((p) => !p.noise || midpoint(p.noise.directionsAbove) > 0);
  return {
    matrices: ok.length,
    matricesWithSignal: changed.length,
    relativeUpdate: pooledRelativeUpdate(update, base),
    layerEnergyEntropy: normalizedEntropy(byLayer.map((g) => g.energy)),
    layerEnergyGini: gini(byLayer.map((g) => g.energy)),
    moduleEnergyEntropy: normalizedEntropy(byModule.map((g) => g.energy)),
    moduleEnergyGini: gini(byModule.map((g) => g.energy)),
    medianEnergyEffectiveRankRatio: median(changed.map((p) => midpoint((p.metrics as SpectrumMetrics).energyEffectiveRankRatio))),
    medianStableRank: median(changed.map((p) => (p.metrics as SpectrumMetrics).stableRank)),
    medianTopKEnergyShare: median(changed.map((p) => midpoint((p.metrics as SpectrumMetrics).topKEnergyShare))),
    energyShareAboveNoise: update > 0 ? above / update : 0,
    signalShare: update > 0 ? Math.min(1, (above + hidden) / update) : 0,
    failed: failureCounts(failedMatrices(pairs)),
  };
}

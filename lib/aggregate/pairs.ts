/**
 * The aggregates and the verdict of a set of pair results (`diff` and the LoRA route): summaries per
 * layer, module type, depth bucket and component, the model summary, and the regime verdict's inputs.
 */
import { relativeDepth } from '../plan/modules';
import type { DiffReport, PairResult, SpectrumSummary } from '../report/model';
import { midpoint, type SpectrumMetrics } from '../results/metrics';
import { layerKey, summarizeGroups } from './groups';
import { modelSummary } from './model-summary';
import { type RegimeMatrix, regimeVerdict, type RegimeVerdict } from './regime';

/** The per-pair metrics that group summaries average (bounded ones by their midpoint). */
function summaryItems(pairs: PairResult[]) {
  return pairs
    .filter((p) => p.metrics && p.spectrum)
    .map((p) => {
      const m = p.metrics as SpectrumMetrics;
      return {
        ...p,
        energy: p.spectrum?.frobeniusSquared ?? 0,
        metrics: {
          relativeUpdate: p.relativeUpdate,
          stableRank: m.stableRank,
          energyEffectiveRankRatio: midpoint(m.energyEffectiveRankRatio),
          effectiveRankRatio: midpoint(m.effectiveRankRatio),
          topKEnergyShare: midpoint(m.topKEnergyShare),
          energyShareAboveNoise: p.noise ? midpoint(p.noise.energyShareAbove) : undefined,
          directionsAboveNoise: p.noise ? midpoint(p.noise.directionsAbove) : undefined,
        } as Record<string, number | undefined>,
      };
    });
}

/** The verdict's per-matrix input: update energy above the noise floor, relative to the base weight. */
export function regimeInputs(pairs: PairResult[]): RegimeMatrix[] {
  return pairs
    .filter((p) => p.spectrum && p.metrics)
    .map((p) => {
      const spectrum = p.spectrum as SpectrumSummary;
      const edge = p.noise?.edge ?? 0;
      let signal = 0;
      for (const v of spectrum.values) if (v > edge) signal += v * v;
      const hidden = (p.noise?.hiddenShare ?? 0) * spectrum.frobeniusSquared;
      const baseSquared = (p.baseNorm ?? 0) ** 2;
      return {
        name: p.name,
        layer: p.module.layer,
        moduleType: p.module.group,
        rankCap: p.rankCap ?? Math.min(p.rows, p.cols),
        energy: baseSquared > 0 ? (signal + hidden) / baseSquared : signal + hidden,
        values: spectrum.values,
        frobeniusSquared: spectrum.frobeniusSquared,
        noiseEdge: edge,
        hiddenEnergy: hidden,
      };
    });
}

/** Five buckets of relative depth ("00-20%" … "80-100%"); null outside the blocks. */
function depthBucket(p: { module: { layer: number | null } }, layerCount: number): string | null {
  if (p.module.layer === null) return null;
  const d = relativeDepth(p.module.layer, layerCount);
  const bucket = Math.min(4, Math.floor(d * 5));
  return `${(bucket * 20).toString().padStart(2, '0')}-${bucket * 20 + 20}%`;
}

/** Builds the aggregates and verdict of a set of pair results (shared by diff and the LoRA route). */
export function aggregatePairs(pairs: PairResult[]): DiffReport['aggregates'] & { verdict: RegimeVerdict } {
  const items = summaryItems(pairs);
  const layerCount = Math.max(0, ...pairs.map((p) => (p.module.layer ?? -1) + 1));
  const byLayer = summarizeGroups(items, layerKey);
  const byModule = summarizeGroups(items, (p) => p.module.group);
  const model = modelSummary(pairs, byLayer, byModule);
  return {
    byLayer,
    byModule,
    byDepth: summarizeGroups(items, (p) => depthBucket(p, layerCount)),
    byComponent: summarizeGroups(items, (p) => (p.module.expert !== null ? `${p.module.component}/experts` : p.module.component)),
    model,
    verdict: regimeVerdict(regimeInputs(pairs), model.signalShare),
  };
}

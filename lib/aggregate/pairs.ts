/**
 * The aggregates and the verdict of a set of pair results (`diff` and the LoRA route): summaries per
 * layer, module type, depth bucket and component, the model summary, and the regime verdict's inputs.
 */
import { relativeDepth } from '../plan/modules';
import type { DiffReport, PairResult, SpectrumSummary } from '../report/model';
import { midpoint, type SpectrumMetrics } from '../results/metrics';
import { totalSparsity } from '../results/sparsity';
import { componentLayerKey, layerCounts, layersSpanComponents, summarizeGroups } from './groups';
import { failedMatrices } from './failures';
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
          identicalShare: p.sparsity?.identicalShare,
          belowSpacingShare: p.sparsity?.belowSpacingShare,
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
        component: p.module.component,
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

/**
 * Five buckets of relative depth ("00-20%" … "80-100%") within the layer's component (prefixed
 * "vision/00-20%" when the matrices span several components); null outside the blocks.
 */
function depthBucket(p: { module: { layer: number | null; component: string } }, counts: ReadonlyMap<string, number>, prefixed: boolean): string | null {
  if (p.module.layer === null) return null;
  const d = relativeDepth(p.module.layer, counts.get(p.module.component) ?? p.module.layer + 1);
  const bucket = Math.min(4, Math.floor(d * 5));
  const key = `${(bucket * 20).toString().padStart(2, '0')}-${bucket * 20 + 20}%`;
  return prefixed ? `${p.module.component}/${key}` : key;
}

/** Routed experts, shared experts, routers, and the rest of an MoE model. */
function moeRole(p: { module: { moe?: string } }): string {
  return p.module.moe === 'routed' ? 'routed-experts' : p.module.moe === 'shared' ? 'shared-experts' : p.module.moe === 'router' ? 'router' : 'non-expert';
}

/** Builds the aggregates and verdict of a set of pair results (shared by diff and the LoRA route). */
export function aggregatePairs(pairs: PairResult[]): DiffReport['aggregates'] & { verdict: RegimeVerdict } {
  const items = summaryItems(pairs);
  const counts = layerCounts(pairs);
  const prefixed = layersSpanComponents(pairs);
  const byLayer = summarizeGroups(items, componentLayerKey(pairs));
  const byModule = summarizeGroups(items, (p) => p.module.group);
  const sparsity = totalSparsity(pairs.filter((p) => p.metrics && p.spectrum).map((p) => p.sparsity));
  const model = { ...modelSummary(pairs, byLayer, byModule), ...(sparsity ? { sparsity } : {}) };
  const moe = items.some((p) => p.module.expert !== null);
  return {
    byLayer,
    byModule,
    byDepth: summarizeGroups(items, (p) => depthBucket(p, counts, prefixed)),
    byComponent: summarizeGroups(items, (p) => (p.module.expert !== null ? `${p.module.component}/experts` : p.module.component)),
    ...(moe
      ? {
          byExpert: summarizeGroups(items, (p) => (p.module.expert === null ? null : String(p.module.expert))).sort((a, b) => Number(a.key) - Number(b.key)),
          byMoe: summarizeGroups(items, moeRole),
        }
      : {}),
    model,
    verdict: regimeVerdict(regimeInputs(pairs), model.signalShare, failedMatrices(pairs)),
  };
}

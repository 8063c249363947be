/** CSV of an analysis (`analyze --csv`, and each checkpoint's `<name>.tensors.csv` beside a weights comparison): one row per matrix. */
import { summaryMetrics } from '../aggregate/tensors';
import { formatBounded } from '../results/metrics';
import { toCsv } from './csv';
import type { AnalysisReport } from './model';

export function analysisToCsv(report: AnalysisReport): string {
  const header = ['name', 'dtype', 'rows', 'cols', 'layer', 'module', 'error', 'spectral_norm', 'frobenius_norm', 'stable_rank',
    'effective_rank_ratio', 'energy_effective_rank_ratio', 'top_k_energy_share', 'alpha', 'above_noise_edge', 'converged', 'method',
    'layout', 'component', 'expert'];
  return toCsv(header, report.tensors.map((t) => {
    const m = summaryMetrics(t);
    return [t.name, t.dtype, t.rows, t.cols, t.module.layer, t.module.group, t.error?.code, t.metrics?.spectralNorm, t.metrics?.frobeniusNorm,
      m.stableRank, m.effectiveRankRatio, m.energyEffectiveRankRatio, m.topKEnergyShare, m.alpha,
      t.metrics?.aboveNoiseEdge === null || t.metrics?.aboveNoiseEdge === undefined ? undefined : formatBounded(t.metrics.aboveNoiseEdge),
      t.spectrum?.converged, t.spectrum?.method, t.layout, t.module.component, t.module.expert];
  })).trimEnd();
}

/**
 * CSV of a diff report: one row per matrix pair (report.pairs), RFC 4180 (lib/report/csv.ts).
 *
 * A bounded metric (exact in exact mode, an interval {lo, hi} in truncated mode) takes three columns:
 * `<metric>` (the value, or the interval's midpoint), `<metric>_lo` and `<metric>_hi` (equal to the
 * value when exact). Empty cells: not applicable or not computed (e.g. no noise floor for an adapter
 * without base, no direction analysis, a failed matrix). Non-finite numbers are written as NaN /
 * Infinity. The columns are documented in docs/schema.md.
 */
import type { DiffReport, PairResult } from './model';
import { type Bounded, bounds, midpoint } from '../results/metrics';
import { toCsv } from './csv';

type Cell = string | number | boolean | null | undefined;

interface CsvColumn {
  header: string;
  value: (p: PairResult, ctx: { totalEnergy: number }) => Cell;
}

function boundedColumns(header: string, get: (p: PairResult) => Bounded | null | undefined): CsvColumn[] {
  const at = (p: PairResult, i: 0 | 1 | 2): Cell => {
    const v = get(p);
    if (v === null || v === undefined) return undefined;
    return i === 0 ? midpoint(v) : bounds(v)[i - 1];
  };
  return [
    { header, value: (p) => at(p, 0) },
    { header: `${header}_lo`, value: (p) => at(p, 1) },
    { header: `${header}_hi`, value: (p) => at(p, 2) },
  ];
}

export const DIFF_CSV_COLUMNS: readonly CsvColumn[] = [
  { header: 'name', value: (p) => p.name },
  { header: 'layer', value: (p) => p.module.layer },
  { header: 'module', value: (p) => p.module.group },
  { header: 'component', value: (p) => p.module.component },
  { header: 'expert', value: (p) => p.module.expert },
  { header: 'fate', value: (p) => p.fate },
  { header: 'rows', value: (p) => p.rows },
  { header: 'cols', value: (p) => p.cols },
  { header: 'rank_cap', value: (p) => p.rankCap ?? Math.min(p.rows, p.cols) },
  { header: 'base_dtype', value: (p) => p.baseDtype },
  { header: 'tuned_dtype', value: (p) => p.tunedDtype },
  { header: 'update_norm', value: (p) => p.updateNorm },
  { header: 'base_norm', value: (p) => p.baseNorm },
  { header: 'relative_update', value: (p) => p.relativeUpdate },
  { header: 'update_energy_share', value: (p, { totalEnergy }) => (p.spectrum && totalEnergy > 0 ? p.spectrum.frobeniusSquared / totalEnergy : undefined) },
  { header: 'stable_rank', value: (p) => p.metrics?.stableRank },
  ...boundedColumns('energy_eff_rank_ratio', (p) => p.metrics?.energyEffectiveRankRatio),
  ...boundedColumns('energy_rank_90', (p) => p.metrics?.energyRank['90']),
  { header: 'top_k', value: (p) => p.metrics?.topK },
  ...boundedColumns('top_k_energy_share', (p) => p.metrics?.topKEnergyShare),
  { header: 'noise_edge', value: (p) => p.noise?.edge },
  ...boundedColumns('noise_floor_share', (p) => p.noise?.energyShareAbove),
  ...boundedColumns('directions_above_noise', (p) => p.noise?.directionsAbove),
  { header: 'subspace_similarity_inputs', value: (p) => p.directions?.updateVsBaseInputs.similarity },
  { header: 'subspace_similarity_outputs', value: (p) => p.directions?.updateVsBaseOutputs.similarity },
  { header: 'subspace_random_baseline', value: (p) => p.directions?.updateVsBaseInputs.randomBaseline },
  { header: 'intruders', value: (p) => p.directions?.intruders?.intruders.length },
  { header: 'intruders_random_baseline', value: (p) => p.directions?.intruders?.randomBaseline },
  { header: 'singular_values_known', value: (p) => p.spectrum?.values.length },
  { header: 'method', value: (p) => p.spectrum?.method },
  { header: 'error_code', value: (p) => p.error?.code },
  // Added with the quantized layouts and the update sparsity (appended: earlier columns keep their places).
  { header: 'base_layout', value: (p) => p.baseLayout },
  { header: 'tuned_layout', value: (p) => p.tunedLayout },
  { header: 'quantization_error', value: (p) => p.quantizationError },
  { header: 'moe', value: (p) => p.module.moe },
  { header: 'identical_share', value: (p) => p.sparsity?.identicalShare },
  { header: 'below_spacing_share', value: (p) => p.sparsity?.belowSpacingShare },
];

/** The per-pair CSV of a diff report (header + one row per pair). */
export function diffToCsv(report: DiffReport): string {
  const totalEnergy = report.pairs.reduce((s, p) => s + (p.spectrum?.frobeniusSquared ?? 0), 0);
  const ctx = { totalEnergy };
  return toCsv(DIFF_CSV_COLUMNS.map((c) => c.header), report.pairs.map((p) => DIFF_CSV_COLUMNS.map((c) => c.value(p, ctx))));
}

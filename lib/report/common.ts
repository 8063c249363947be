/** Shared pieces of the human-readable reports (Markdown, HTML): number formats, orderings, grids. */
import { codesText } from '../aggregate/failures';
import type { GroupSummary } from '../aggregate/groups';
import type { DiffReport, ModelSummary, PairResult } from './model';
import { type Bounded, bounds, formatBounded, midpoint } from '../results/metrics';

/**
 * The largest of `values` (or `floor` when larger or when there are none), in a loop: `Math.max(...v)`
 * passes every value as an argument and throws a RangeError beyond about 10⁵ of them.
 */
export function maxOf(values: Iterable<number>, floor = -Infinity): number {
  let best = floor;
  for (const v of values) if (v > best) best = v;
  return best;
}

/** Appends `items` to `target` one by one (`push(...items)` has the same argument limit as Math.max). */
export function appendAll<T>(target: T[], items: Iterable<T>): void {
  for (const item of items) target.push(item);
}

export const DIAGNOSTIC_SENTENCE = 'This is a diagnostic of the update\'s shape, not a benchmark score.';

/** Canonical order of module groups in tables and plots: attention, MLP, then the rest alphabetically. */
const MODULE_ORDER = ['embedding', 'q', 'k', 'v', 'qkv', 'o', 'gate', 'up', 'gate_up', 'down', 'router', 'norm', 'lm_head'];

export function moduleRank(group: string): number {
  const i = MODULE_ORDER.indexOf(group);
  return i >= 0 ? i : MODULE_ORDER.length;
}

export function compareModules(a: string, b: string): number {
  return moduleRank(a) - moduleRank(b) || a.localeCompare(b);
}

/** Group summaries ordered for display: layers numerically, modules canonically, others by key. */
export function orderedGroups(groups: readonly GroupSummary[], kind: 'layer' | 'module' | 'other'): GroupSummary[] {
  const copy = [...groups];
  if (kind === 'layer') {
    // "3", or "vision/3" when layers are counted per component: by component, then numerically.
    const split = (k: string) => {
      const i = k.lastIndexOf('/');
      return i < 0 ? ['', Number(k)] as const : [k.slice(0, i), Number(k.slice(i + 1))] as const;
    };
    return copy.sort((a, b) => {
      const [ca, la] = split(a.key), [cb, lb] = split(b.key);
      return ca.localeCompare(cb) || la - lb;
    });
  }
  if (kind === 'module') return copy.sort((a, b) => compareModules(a.key, b.key));
  return copy.sort((a, b) => a.key.localeCompare(b.key));
}

/** A number for humans: 3 significant digits, plain for moderate magnitudes, exponent otherwise. */
export function fmt(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined) return '–';
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? '∞' : '−∞';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return Number(x.toPrecision(digits)).toExponential();
  if (Number.isInteger(x) && a < 1e5) return String(x);
  return x.toPrecision(digits).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}

export function pct(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return `${(100 * x).toFixed(digits)}%`;
}

/** A bounded value: "0.123" when exact, "0.101–0.145" when an interval. */
export function fmtBounded(v: Bounded | null | undefined, digits = 3): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return fmt(v, digits);
  const [lo, hi] = bounds(v);
  return Math.abs(hi - lo) <= 1e-12 * Math.max(1, Math.abs(hi)) ? fmt(lo, digits) : `${fmt(lo, digits)}–${fmt(hi, digits)}`;
}

export function fmtBoundedPct(v: Bounded | null | undefined): string {
  if (v === null || v === undefined) return '–';
  const [lo, hi] = bounds(v);
  return Math.abs(hi - lo) < 5e-4 ? pct(lo) : `${pct(lo)}–${pct(hi)}`;
}

export function fmtRange(range: readonly [number, number], digits = 3): string {
  return Math.abs(range[1] - range[0]) < 5 * 10 ** -(digits + 1) ? range[0].toFixed(digits) : `${range[0].toFixed(digits)}–${range[1].toFixed(digits)}`;
}

export { formatBounded, midpoint };

/** Σ‖ΔW‖_F² over the analysed pairs. */
export function totalUpdateEnergy(report: DiffReport): number {
  return report.pairs.reduce((s, p) => s + (p.spectrum?.frobeniusSquared ?? 0), 0);
}

export function updateEnergy(p: PairResult): number {
  return p.spectrum?.frobeniusSquared ?? 0;
}

/** Pairs ordered by update energy, largest first (failed pairs last). */
export function byUpdateEnergy(pairs: readonly PairResult[]): PairResult[] {
  return [...pairs].sort((a, b) => updateEnergy(b) - updateEnergy(a));
}

/** True when the pair's update has at least one singular value above the storage-noise edge (or no floor is known). */
export function hasSignal(p: PairResult): boolean {
  if (!p.spectrum || p.spectrum.frobeniusSquared <= 0) return false;
  if (!p.noise) return true;
  return bounds(p.noise.directionsAbove)[1] > 0;
}

export interface GridCell {
  layer: number;
  module: string;
  pairs: PairResult[];
  /** Σ‖ΔW‖_F² of the cell's matrices. */
  energy: number;
  energyShare: number;
  /** Energy-weighted mean of the matrices' energy effective-rank ratio, lo and hi. */
  effRankRatio: [number, number] | null;
  signal: boolean;
}

export interface LayerModuleGrid {
  /** The component the grid is for, when the model has layers in several (a vision tower and a language model). */
  component?: string;
  layers: number[];
  modules: string[];
  cells: Map<string, GridCell>;
  /** Pairs outside the blocks (no layer index): embeddings, lm_head, … */
  outside: PairResult[];
}

export const gridKey = (layer: number, module: string) => `${layer}\u0000${module}`;

/** The components whose matrices have layer indices, in order of appearance. */
export function layeredComponents(report: DiffReport): string[] {
  const order = ['language', 'vision', 'projector', 'audio', 'other'];
  return [...new Set(report.pairs.filter((p) => p.module.layer !== null).map((p) => p.module.component))].sort((a, b) => order.indexOf(a) - order.indexOf(b));
}

/**
 * Matrices arranged by layer × module group (several matrices per cell for experts); with `component`,
 * only that component's matrices (layers are counted per component). Shares are of the whole update.
 */
export function layerModuleGrid(report: DiffReport, component?: string): LayerModuleGrid {
  const total = totalUpdateEnergy(report);
  const cells = new Map<string, GridCell>();
  const outside: PairResult[] = [];
  const layers = new Set<number>();
  const modules = new Set<string>();
  const layered = component === undefined ? [] : layeredComponents(report);
  for (const p of report.pairs) {
    if (component !== undefined && p.module.component !== component) {
      // Matrices of a component without layers are listed once, beside the first grid.
      if (!layered.includes(p.module.component) && component === layered[0]) outside.push(p);
      continue;
    }
    if (p.module.layer === null) {
      outside.push(p);
      continue;
    }
    layers.add(p.module.layer);
    modules.add(p.module.group);
    const key = gridKey(p.module.layer, p.module.group);
    const cell = cells.get(key) ?? { layer: p.module.layer, module: p.module.group, pairs: [], energy: 0, energyShare: 0, effRankRatio: null, signal: false };
    cell.pairs.push(p);
    cells.set(key, cell);
  }
  for (const cell of cells.values()) {
    cell.energy = cell.pairs.reduce((s, p) => s + updateEnergy(p), 0);
    cell.energyShare = total > 0 ? cell.energy / total : 0;
    cell.signal = cell.pairs.some(hasSignal);
    const withMetrics = cell.pairs.filter((p) => p.metrics);
    if (withMetrics.length) {
      // Weighted by energy; plain mean when the cell has no energy at all.
      const weights = withMetrics.map((p) => (cell.energy > 0 ? updateEnergy(p) / cell.energy : 1 / withMetrics.length));
      const lo = withMetrics.reduce((s, p, i) => s + bounds(p.metrics!.energyEffectiveRankRatio)[0] * (weights[i] as number), 0);
      const hi = withMetrics.reduce((s, p, i) => s + bounds(p.metrics!.energyEffectiveRankRatio)[1] * (weights[i] as number), 0);
      cell.effRankRatio = [lo, hi];
    }
  }
  return {
    ...(component === undefined ? {} : { component }),
    layers: [...layers].sort((a, b) => a - b),
    modules: [...modules].sort(compareModules),
    cells,
    outside,
  };
}

/** "exact" or "truncated (top 64)". */
export function modeText(report: DiffReport): string {
  return report.options.mode === 'exact' ? 'exact (all singular values)' : `truncated (top ${report.options.rank ?? '?'} singular values; tail-dependent metrics are bounds)`;
}

/** The model-level summary as label/value rows, shared by the Markdown and HTML reports. */
export function modelSummaryRows(m: ModelSummary): Array<[string, string]> {
  return [
    ['matrices analysed', String(m.matrices)],
    ...(m.failed.matrices
      ? [['matrices that could not be analysed (not in the verdict)', `${m.failed.matrices}: ${codesText(m.failed)}`] as [string, string]]
      : []),
    ['matrices with an update above storage noise', `${m.matricesWithSignal} (${pct(m.matrices ? m.matricesWithSignal / m.matrices : NaN)})`],
    ['relative update ‖ΔW‖_F / ‖W_base‖_F (all matrices)', fmt(m.relativeUpdate)],
    ['update energy above the noise floor', pct(m.energyShareAboveNoise)],
    ['update energy beyond storage rounding (signal)', pct(m.signalShare)],
    ['layer energy entropy (1 = even) / Gini (0 = even)', `${fmt(m.layerEnergyEntropy)} / ${fmt(m.layerEnergyGini)}`],
    ['module energy entropy / Gini', `${fmt(m.moduleEnergyEntropy)} / ${fmt(m.moduleEnergyGini)}`],
    ['median energy eff. rank ratio', fmt(m.medianEnergyEffectiveRankRatio)],
    ['median stable rank', fmt(m.medianStableRank)],
    ['median top-k energy share', fmt(m.medianTopKEnergyShare)],
    ...(m.sparsity
      ? [
          ['entries bit-identical in both checkpoints', pct(m.sparsity.identicalShare)] as [string, string],
          ...(m.sparsity.belowSpacingShare === undefined ? [] : [['entries changed by less than one storage step', pct(m.sparsity.belowSpacingShare)] as [string, string]]),
        ]
      : []),
  ];
}

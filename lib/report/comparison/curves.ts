/**
 * The curves a comparison overlays, arm against arm: per-depth profiles (energy effective-rank ratio and
 * energy share of each layer, per component and module type) and each module type's typical normalised
 * spectrum σ_k/σ₁ and cumulative energy E_k against k/r, as medians over its matrices on one grid of k/r
 * shared by every arm (so the curves of arms with different shapes or LoRA ranks line up).
 */
import { layerCounts } from '../../aggregate/groups';
import { relativeDepth, type ModuleInfo } from '../../plan/modules';
import { bounds, midpoint } from '../../results/metrics';
import { compareModules, hasSignal } from '../common';
import type { AnalysisReport, DiffReport } from '../model';
import type { ComparisonArm, DepthCurve, DepthPoint, SpectrumCurve } from './model';

/** One matrix of either kind of arm, reduced to what the curves need. */
export interface CurveMatrix {
  name: string;
  module: ModuleInfo;
  rows: number;
  cols: number;
  /** The largest rank the matrix can have: min(m, n), or the LoRA rank. */
  rankCap: number;
  values: ArrayLike<number>;
  frobeniusSquared: number;
  /** Midpoint of the energy effective-rank ratio; null without metrics. */
  effRankRatio: number | null;
  signal: boolean;
}

export function curveMatrices(arm: ComparisonArm): CurveMatrix[] {
  if (arm.kind === 'weights') {
    return (arm.report as AnalysisReport).tensors.filter((t) => t.spectrum && t.metrics).map((t) => ({
      name: t.name, module: t.module, rows: t.rows, cols: t.cols, rankCap: Math.min(t.rows, t.cols),
      values: t.spectrum!.values, frobeniusSquared: t.spectrum!.frobeniusSquared,
      effRankRatio: midpoint(t.metrics!.energyEffectiveRankRatio), signal: true,
    }));
  }
  return (arm.report as DiffReport).pairs.filter((p) => p.spectrum && p.metrics).map((p) => ({
    name: p.name, module: p.module, rows: p.rows, cols: p.cols, rankCap: p.rankCap ?? Math.min(p.rows, p.cols),
    values: p.spectrum!.values, frobeniusSquared: p.spectrum!.frobeniusSquared,
    effRankRatio: (bounds(p.metrics!.energyEffectiveRankRatio)[0] + bounds(p.metrics!.energyEffectiveRankRatio)[1]) / 2,
    signal: hasSignal(p),
  }));
}

/** Per component and module type, one point per layer: the cell's energy share and energy-weighted effective-rank ratio. */
export function depthCurves(label: string, matrices: readonly CurveMatrix[]): DepthCurve[] {
  const counts = layerCounts(matrices);
  const total = matrices.reduce((s, m) => s + m.frobeniusSquared, 0);
  const cells = new Map<string, { component: string; module: string; layer: number; list: CurveMatrix[] }>();
  for (const m of matrices) {
    if (m.module.layer === null) continue;
    const key = `${m.module.component}\u0000${m.module.group}\u0000${m.module.layer}`;
    const cell = cells.get(key) ?? { component: m.module.component, module: m.module.group, layer: m.module.layer, list: [] };
    cell.list.push(m);
    cells.set(key, cell);
  }
  const curves = new Map<string, DepthCurve>();
  for (const cell of cells.values()) {
    const energy = cell.list.reduce((s, m) => s + m.frobeniusSquared, 0);
    const withRatio = cell.list.filter((m) => m.effRankRatio !== null);
    // Weighted by energy like the single report's grid; a plain mean when the cell has none.
    const effRankRatio = withRatio.length === 0 ? null
      : withRatio.reduce((s, m) => s + (m.effRankRatio as number) * (energy > 0 ? m.frobeniusSquared / energy : 1 / withRatio.length), 0);
    const point: DepthPoint = {
      layer: cell.layer, depth: relativeDepth(cell.layer, counts.get(cell.component) ?? cell.layer + 1),
      effRankRatio, energyShare: total > 0 ? energy / total : 0, signal: cell.list.some((m) => m.signal),
    };
    const key = `${cell.component}\u0000${cell.module}`;
    const curve = curves.get(key) ?? { arm: label, component: cell.component, module: cell.module, points: [] };
    curve.points.push(point);
    curves.set(key, curve);
  }
  for (const c of curves.values()) c.points.sort((p, q) => p.layer - q.layer);
  return [...curves.values()].sort((a, b) => a.component.localeCompare(b.component) || compareModules(a.module, b.module));
}

/** Points of the k/r grid: log-spaced from the smallest 1/r of any matrix to 1. */
const GRID_POINTS = 48;

export function spectrumGrid(arms: ReadonlyArray<readonly CurveMatrix[]>): number[] {
  let largest = 1;
  for (const list of arms) for (const m of list) largest = Math.max(largest, m.rankCap);
  const lo = Math.log10(1 / largest);
  return Array.from({ length: GRID_POINTS }, (_, i) => 10 ** (lo + (i / (GRID_POINTS - 1)) * -lo));
}

/** σ_k/σ₁ and E_k of one matrix at x = k/r (k = ⌈x·r⌉); null where k is below 1 or beyond the known values. */
function matrixCurve(m: CurveMatrix, grid: readonly number[]): Array<[number | null, number | null]> {
  const n = Math.min(m.values.length, m.rankCap);
  const first = m.values[0] as number;
  const cumulative = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) cumulative[i] = acc += (m.values[i] as number) ** 2;
  return grid.map((x) => {
    const k = Math.ceil(x * m.rankCap - 1e-9);
    if (k < 1 || k > n) return [null, null];
    return [first > 0 ? (m.values[k - 1] as number) / first : null, m.frobeniusSquared > 0 ? Math.min(1, (cumulative[k - 1] as number) / m.frobeniusSquared) : null];
  });
}

function medianOrNull(values: number[], of: number): number | null {
  // A point most matrices cannot speak for (their spectrum is truncated before it) is left out.
  if (values.length === 0 || values.length < of / 2) return null;
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 ? (values[mid] as number) : ((values[mid - 1] as number) + (values[mid] as number)) / 2;
}

/** Per module type: the median normalised spectrum and cumulative energy over its non-zero matrices. */
export function spectrumCurves(label: string, matrices: readonly CurveMatrix[], grid: readonly number[]): SpectrumCurve[] {
  const groups = new Map<string, CurveMatrix[]>();
  for (const m of matrices) if (m.values.length > 0 && (m.values[0] as number) > 0) groups.set(m.module.group, [...(groups.get(m.module.group) ?? []), m]);
  return [...groups.keys()].sort(compareModules).map((module) => {
    const list = groups.get(module) as CurveMatrix[];
    const curves = list.map((m) => matrixCurve(m, grid));
    const points = grid.map((x, j) => {
      const sigma: number[] = [], energy: number[] = [];
      for (const c of curves) {
        const [s, e] = c[j] as [number | null, number | null];
        if (s !== null) sigma.push(s);
        if (e !== null) energy.push(e);
      }
      return { x, sigma: medianOrNull(sigma, list.length), energy: medianOrNull(energy, list.length) };
    });
    const crossing = points.find((p) => p.energy !== null && p.energy >= 0.9);
    return { arm: label, module, matrices: list.length, points, energy90: crossing ? crossing.x : null };
  });
}

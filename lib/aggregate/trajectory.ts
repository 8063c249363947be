/**
 * The trajectory report from its parts: per step the diff reports against the base and against the
 * previous step (their verdicts and model summaries, as `diff` computes them), and the settling of the
 * update's directions; then series over the steps per layer, per module type and per matrix.
 */
import type { TrajectoryCheckpoint } from '../plan/trajectory-steps';
import type { DiffReport, PairResult } from '../report/model';
import type {
  SettlingSide, StepFootprint, StepSettling, TrajectoryGroupSeries, TrajectoryMatrixSeries, TrajectoryReport, TrajectoryStep,
} from '../report/trajectory-model';
import { midpoint } from '../results/metrics';
import type { Settling } from '../results/settling';
import { componentLayerKey, median } from './groups';

export interface StepParts {
  checkpoint: TrajectoryCheckpoint;
  vsBase: DiffReport;
  /** Null for the first step. */
  vsPrevious: DiffReport | null;
  /** Per matrix name: its directions against the previous step's (null for the first step). */
  settling: ReadonlyMap<string, Settling> | null;
}

export interface TrajectoryParts {
  kind: TrajectoryReport['kind'];
  base: string | null;
  options: TrajectoryReport['options'];
  steps: StepParts[];
  notes: string[];
}

const finite = (x: number | undefined | null): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const analysed = (pairs: readonly PairResult[]) => pairs.filter((p) => p.spectrum && p.metrics);
const energyOf = (p: PairResult) => p.spectrum?.frobeniusSquared ?? 0;
const totalEnergy = (report: DiffReport) => analysed(report.pairs).reduce((s, p) => s + energyOf(p), 0);

function footprint(report: DiffReport, from: string | null, previous?: DiffReport): StepFootprint {
  const updateEnergy = totalEnergy(report);
  const out: StepFootprint = { from, verdict: report.verdict, model: report.aggregates.model, updateEnergy };
  if (previous) {
    const before = totalEnergy(previous);
    out.relativeToPreviousUpdate = before > 0 ? Math.sqrt(updateEnergy / before) : null;
  }
  return out;
}

function side(entries: ReadonlyArray<{ similarity: number; energy: number }>): SettlingSide {
  const energy = entries.reduce((s, e) => s + e.energy, 0);
  return {
    median: entries.length ? median(entries.map((e) => e.similarity)) : null,
    energyWeighted: energy > 0 ? entries.reduce((s, e) => s + e.similarity * e.energy, 0) / energy : null,
    matrices: entries.length,
  };
}

function stepSettling(parts: StepParts, k: number): StepSettling | null {
  if (!parts.settling) return null;
  const energy = new Map(analysed(parts.vsBase.pairs).map((p) => [p.name, energyOf(p)]));
  const entries = [...parts.settling].map(([name, s]) => ({ s, energy: energy.get(name) ?? 0 }));
  return {
    k,
    left: side(entries.map((e) => ({ similarity: e.s.left.similarity, energy: e.energy }))),
    right: side(entries.map((e) => ({ similarity: e.s.right.similarity, energy: e.energy }))),
  };
}

/** Series per group (`key` of each pair) over the steps' updates against the base. */
function groupSeries(steps: readonly StepParts[], keyOf: (p: PairResult) => string | null): TrajectoryGroupSeries[] {
  const series = new Map<string, TrajectoryGroupSeries>();
  const n = steps.length;
  const get = (key: string) => {
    let s = series.get(key);
    if (!s) {
      s = { key, energy: Array(n).fill(null), energyShare: Array(n).fill(null), relativeUpdate: Array(n).fill(null), medianEnergyEffectiveRankRatio: Array(n).fill(null) };
      series.set(key, s);
    }
    return s;
  };
  steps.forEach((parts, i) => {
    const pairs = analysed(parts.vsBase.pairs);
    const total = pairs.reduce((s, p) => s + energyOf(p), 0);
    const groups = new Map<string, PairResult[]>();
    for (const p of pairs) {
      const key = keyOf(p);
      if (key !== null) groups.set(key, [...(groups.get(key) ?? []), p]);
    }
    for (const [key, list] of groups) {
      const s = get(key);
      const energy = list.reduce((t, p) => t + energyOf(p), 0);
      const base = list.reduce((t, p) => t + (p.baseNorm ?? NaN) ** 2, 0);
      s.energy[i] = energy;
      s.energyShare[i] = total > 0 ? energy / total : null;
      s.relativeUpdate[i] = finite(base > 0 ? Math.sqrt(energy / base) : NaN);
      s.medianEnergyEffectiveRankRatio[i] = finite(median(list.map((p) => midpoint(p.metrics?.energyEffectiveRankRatio ?? NaN)).filter(Number.isFinite)));
    }
  });
  return [...series.values()];
}

function matrixSeries(steps: readonly StepParts[]): TrajectoryMatrixSeries[] {
  const n = steps.length;
  const series = new Map<string, TrajectoryMatrixSeries>();
  const nulls = <T>() => Array<T | null>(n).fill(null);
  steps.forEach((parts, i) => {
    const previous = i > 0 ? new Map((steps[i - 1] as StepParts).vsBase.pairs.map((p) => [p.name, p])) : null;
    const stepPairs = new Map((parts.vsPrevious?.pairs ?? []).map((p) => [p.name, p]));
    for (const p of parts.vsBase.pairs) {
      let s = series.get(p.name);
      if (!s) {
        s = {
          name: p.name, layer: p.module.layer, module: p.module.group, rows: p.rows, cols: p.cols,
          relativeUpdate: nulls(), updateEnergy: nulls(), energyEffectiveRank: nulls(), energyEffectiveRankRatio: nulls(), stepUpdate: nulls(),
          overlapK: nulls(), leftOverlap: nulls(), rightOverlap: nulls(), leftAnglesDeg: nulls(), rightAnglesDeg: nulls(),
        };
        series.set(p.name, s);
      }
      if (!p.spectrum || !p.metrics) continue;
      s.relativeUpdate[i] = finite(p.relativeUpdate);
      s.updateEnergy[i] = energyOf(p);
      s.energyEffectiveRank[i] = finite(midpoint(p.metrics.energyEffectiveRank));
      s.energyEffectiveRankRatio[i] = finite(midpoint(p.metrics.energyEffectiveRankRatio));
      const before = previous?.get(p.name)?.updateNorm;
      const step = stepPairs.get(p.name)?.updateNorm;
      s.stepUpdate[i] = step === undefined || before === undefined ? null : finite(before > 0 ? step / before : NaN);
      const settled = parts.settling?.get(p.name);
      if (settled) {
        s.overlapK[i] = settled.k;
        s.leftOverlap[i] = settled.left.similarity;
        s.rightOverlap[i] = settled.right.similarity;
        s.leftAnglesDeg[i] = settled.left.principalAnglesDeg;
        s.rightAnglesDeg[i] = settled.right.principalAnglesDeg;
      }
    }
  });
  return [...series.values()];
}

/** The trajectory report's body (its header, report/header.ts, is the verb's). */
export type TrajectoryBody = Omit<TrajectoryReport, 'schema' | 'schemaVersion' | 'tool' | 'createdAt'>;

export function trajectoryBody(parts: TrajectoryParts): TrajectoryBody {
  const { steps } = parts;
  const stepsOut: TrajectoryStep[] = steps.map((s, i) => {
    const previous = i > 0 ? (steps[i - 1] as StepParts) : undefined;
    return {
      step: s.checkpoint.step,
      name: s.checkpoint.name,
      path: s.checkpoint.path,
      stepSource: s.checkpoint.stepSource,
      vsBase: footprint(s.vsBase, parts.base),
      vsPrevious: s.vsPrevious && previous ? footprint(s.vsPrevious, previous.checkpoint.path, previous.vsBase) : null,
      settling: stepSettling(s, parts.options.overlapRank),
    };
  });
  const allPairs = steps.flatMap((s) => s.vsBase.pairs);
  const layerKey = componentLayerKey(allPairs);
  return {
    kind: parts.kind,
    base: parts.base,
    options: parts.options,
    steps: stepsOut,
    byLayer: groupSeries(steps, layerKey),
    byModule: groupSeries(steps, (p) => p.module.group),
    matrices: matrixSeries(steps),
    notes: parts.notes,
  };
}

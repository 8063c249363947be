/**
 * Builds the comparison document from arms that each carry their single report: per arm the statistics
 * with bootstrap intervals over its matrices (aggregate/arm-statistics.ts, aggregate/bootstrap.ts), per
 * pair of arms the interval of their difference and whether it excludes 0, the per-depth and spectrum
 * curves, and the layer × module heatmap of two chosen arms. Async: the bootstrap yields to the event
 * loop and honours the AbortSignal. Every renderer (HTML, Markdown, CSV, JSON) draws from the document.
 *
 * @example
 * const doc = await buildComparison({ arms: result.arms.map((a) => ({ label: a.name, kind: 'diff', report: a.report })) }, { seed: 7 });
 * for (const arm of doc.arms) console.log(arm.label, arm.statistics.score);
 */
import {
  type ArmUnit, type StatisticInfo, UPDATE_STATISTICS, type UpdateUnit, updateStatistics, updateUnits,
  WEIGHT_STATISTICS, type WeightUnit, weightStatistics, weightUnits,
} from '../../aggregate/arm-statistics';
import { bootstrap, type BootstrapInterval, type BootstrapOptions, bootstrapSettings, excludesZero, independentBootstrap, pairedBootstrap } from '../../aggregate/bootstrap';
import { invalidArgument } from '../../errors';
import { COMPARISON_SCHEMA_VERSION, reportHeader } from '../header';
import type { AnalysisReport, DiffReport } from '../model';
import { curveMatrices, depthCurves, spectrumCurves, spectrumGrid } from './curves';
import type { ArmDifference, ComparisonArm, ComparisonArmSummary, ComparisonDocument, ComparisonHeatmap, ComparisonInput, DepthCurve, Interval } from './model';

export interface ComparisonOptions extends Omit<BootstrapOptions, 'key'> {
  /** The two arms of the difference heatmap (labels; default the first two). */
  heatmapArms?: readonly [string, string];
}

/** Beyond this many arms only neighbours (in the order given, or in step order) are differenced: all pairs would grow as n². */
export const ALL_PAIRS_LIMIT = 16;

const intervalOf = (b: BootstrapInterval): Interval => ({ estimate: b.estimate, lo: b.lo, hi: b.hi });

function unitsOf(arm: ComparisonArm): ArmUnit[] {
  return arm.kind === 'weights' ? weightUnits((arm.report as AnalysisReport).tensors) : updateUnits((arm.report as DiffReport).pairs);
}

/** The statistics function of a family (both arms of a difference are of one family). */
function statisticOf(family: ComparisonDocument['family']): (units: readonly ArmUnit[]) => number[] {
  return family === 'weights' ? (u) => weightStatistics(u as WeightUnit[]) : (u) => updateStatistics(u as UpdateUnit[]);
}

function checkInput(input: ComparisonInput): ComparisonDocument['family'] {
  if (!input || !Array.isArray(input.arms) || input.arms.length === 0) invalidArgument('comparison arms', 'at least one arm', input?.arms);
  const labels = new Set<string>();
  for (const arm of input.arms) {
    if (typeof arm.label !== 'string' || arm.label.length === 0) invalidArgument('comparison arm label', 'a non-empty string', arm.label);
    if (labels.has(arm.label)) invalidArgument('comparison arm labels', 'unique labels', arm.label);
    labels.add(arm.label);
    if (!['diff', 'lora', 'weights'].includes(arm.kind)) invalidArgument(`comparison arm ${arm.label}: kind`, "'diff', 'lora' or 'weights'", arm.kind);
    if (input.axis && !Number.isFinite(arm.step)) invalidArgument(`comparison arm ${arm.label}: step`, `a number (the axis is ${input.axis.name})`, arm.step);
  }
  const weights = input.arms.filter((a) => a.kind === 'weights').length;
  if (weights > 0 && weights < input.arms.length) invalidArgument('comparison arms', 'all updates (diff, lora) or all weights', 'a mix');
  return weights > 0 ? 'weights' : 'updates';
}

function armSummary(arm: ComparisonArm, units: number, intervals: BootstrapInterval[], statistics: readonly StatisticInfo[]): ComparisonArmSummary {
  const values = Object.fromEntries(statistics.map((s, i) => [s.key, intervalOf(intervals[i] as BootstrapInterval)]));
  if (arm.kind === 'weights') {
    const r = arm.report as AnalysisReport;
    return { label: arm.label, kind: arm.kind, path: r.path, base: null, ...(arm.step === undefined ? {} : { step: arm.step }), mode: r.mode, matrices: units, statistics: values };
  }
  const r = arm.report as DiffReport;
  return {
    label: arm.label, kind: arm.kind, path: r.tuned.path, base: r.base?.path ?? null, ...(arm.step === undefined ? {} : { step: arm.step }),
    mode: r.options.mode, matrices: units,
    verdict: { label: r.verdict.label, score: r.verdict.score, scoreRange: r.verdict.scoreRange, confidence: r.verdict.confidence },
    statistics: values,
  };
}

/** Which pairs of arms are differenced: all of them, or neighbours for trajectories and many arms. */
function armPairs(count: number, neighboursOnly: boolean): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) for (let j = i + 1; j < count; j++) if (!neighboursOnly || j === i + 1) pairs.push([i, j]);
  return pairs;
}

/** The units of the matrices both arms have (same name and shape), aligned. */
function sharedUnits(a: readonly ArmUnit[], b: readonly ArmUnit[]): [ArmUnit[], ArmUnit[]] {
  const byName = new Map(b.map((u) => [u.name, u]));
  const left: ArmUnit[] = [], right: ArmUnit[] = [];
  for (const u of a) {
    const v = byName.get(u.name);
    if (v && v.shape === u.shape) {
      left.push(u);
      right.push(v);
    }
  }
  return [left, right];
}

async function difference(
  a: ComparisonArm, b: ComparisonArm, unitsA: ArmUnit[], unitsB: ArmUnit[], family: ComparisonDocument['family'],
  statistics: readonly StatisticInfo[], options: ComparisonOptions,
): Promise<ArmDifference> {
  const stat = statisticOf(family);
  const [sharedA, sharedB] = sharedUnits(unitsA, unitsB);
  const key = `pair:${a.label}\u0000${b.label}`;
  const paired = sharedA.length >= 2;
  const intervals = paired
    ? await pairedBootstrap(sharedB, sharedA, stat, stat, { ...options, key })
    : await independentBootstrap(unitsB, unitsA, stat, stat, { ...options, key });
  return {
    a: a.label, b: b.label, pairing: paired ? 'paired' : 'independent', sharedMatrices: sharedA.length,
    statistics: Object.fromEntries(statistics.map((s, i) => {
      const iv = intervals[i] as BootstrapInterval;
      return [s.key, { ...intervalOf(iv), differs: excludesZero(iv) }];
    })),
  };
}

/** Cells of two arms' depth curves side by side; null with the reason when they cannot be compared cell by cell. */
function heatmapOf(family: ComparisonDocument['family'], arms: readonly ComparisonArm[], depth: readonly DepthCurve[], options: ComparisonOptions): { heatmap: ComparisonHeatmap | null; note: string } {
  if (arms.length < 2) return { heatmap: null, note: 'one arm: there is no second arm to take a difference with' };
  const [la, lb] = options.heatmapArms ?? [arms[0]?.label as string, arms[1]?.label as string];
  for (const l of [la, lb]) if (!arms.some((a) => a.label === l)) invalidArgument('heatmap arms', `labels of the arms (${arms.map((a) => a.label).join(', ')})`, l);
  if (la === lb) invalidArgument('heatmap arms', 'two different arms', `${la},${lb}`);
  if (family === 'weights') {
    const shapes = (label: string) => {
      const arm = arms.find((a) => a.label === label) as ComparisonArm;
      return new Map((arm.report as AnalysisReport).tensors.filter((t) => t.module.layer !== null).map((t) => [t.name, `${t.rows}x${t.cols}`]));
    };
    const sa = shapes(la), sb = shapes(lb);
    const mismatch = [...sa].find(([name, shape]) => sb.get(name) !== shape) ?? [...sb].find(([name]) => !sa.has(name));
    if (mismatch) return { heatmap: null, note: `the shapes of ${la} and ${lb} differ (${mismatch[0]}: ${sa.get(mismatch[0]) ?? 'absent'} against ${sb.get(mismatch[0]) ?? 'absent'}): a cell-by-cell difference would compare unlike matrices` };
  }
  const cells = new Map<string, ComparisonHeatmap['cells'][number]>();
  for (const curve of depth) {
    const side = curve.arm === la ? 'a' : curve.arm === lb ? 'b' : null;
    if (!side) continue;
    for (const p of curve.points) {
      const key = `${curve.component}\u0000${curve.module}\u0000${p.layer}`;
      const cell = cells.get(key) ?? { component: curve.component, layer: p.layer, module: curve.module, a: null, b: null };
      cell[side] = { energyShare: p.energyShare, effRankRatio: p.effRankRatio };
      cells.set(key, cell);
    }
  }
  return { heatmap: { a: la, b: lb, cells: [...cells.values()] }, note: `${lb} minus ${la}` };
}

/** The comparison document of the arms (in step order when there is an axis). */
export async function buildComparison(input: ComparisonInput, options: ComparisonOptions = {}): Promise<ComparisonDocument> {
  const family = checkInput(input);
  const settings = bootstrapSettings(options);
  const arms = input.axis ? [...input.arms].sort((p, q) => (p.step as number) - (q.step as number)) : [...input.arms];
  const statistics = family === 'weights' ? WEIGHT_STATISTICS : UPDATE_STATISTICS;
  const stat = statisticOf(family);
  const units = arms.map(unitsOf);
  const summaries: ComparisonArmSummary[] = [];
  for (const [i, arm] of arms.entries()) {
    const intervals = await bootstrap(units[i] as ArmUnit[], stat, { ...options, key: `arm:${arm.label}` });
    summaries.push(armSummary(arm, (units[i] as ArmUnit[]).length, intervals, statistics));
  }
  const differences: ArmDifference[] = [];
  for (const [i, j] of armPairs(arms.length, Boolean(input.axis) || arms.length > ALL_PAIRS_LIMIT))
    differences.push(await difference(arms[i] as ComparisonArm, arms[j] as ComparisonArm, units[i] as ArmUnit[], units[j] as ArmUnit[], family, statistics, options));
  const matrices = arms.map(curveMatrices);
  const grid = spectrumGrid(matrices);
  const depth = arms.flatMap((arm, i) => depthCurves(arm.label, matrices[i] as ReturnType<typeof curveMatrices>));
  const spectra = arms.flatMap((arm, i) => spectrumCurves(arm.label, matrices[i] as ReturnType<typeof curveMatrices>, grid));
  const { heatmap, note } = heatmapOf(family, arms, depth, options);
  const header = reportHeader('checkpoints');
  const first = arms[0] as ComparisonArm;
  const base = first.kind === 'weights' ? null : (first.report as DiffReport).base?.path ?? null;
  return {
    schema: 'paramscope.comparison', schemaVersion: COMPARISON_SCHEMA_VERSION, tool: header.tool, createdAt: header.createdAt,
    family,
    title: input.title ?? (family === 'weights' ? `paramscope · weights of ${arms.length} checkpoints` : `paramscope · ${arms.length} ${input.axis ? 'checkpoints of a run' : 'updates'}${base ? ` of ${basename(base)}` : ''}`),
    axis: input.axis ? { name: input.axis.name } : null,
    bootstrap: { replicates: settings.replicates, seed: settings.seed, level: settings.level, unit: 'matrix', method: 'percentile' },
    statistics: statistics.map((s) => ({ ...s })),
    arms: summaries, differences, depth, spectra, heatmap, heatmapNote: note,
  };
}

const basename = (p: string) => p.replace(/[/\\]+$/, '').split(/[/\\]/).pop() ?? p;

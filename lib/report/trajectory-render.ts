/**
 * The trajectory report in its formats (docs/trajectory.md): JSON (the document, schema
 * docs/trajectory.schema.json), Markdown (the steps, energy per layer and per module type over the
 * steps, the notes) and CSV (one row per step and matrix), and writing them all or nothing.
 */
import { compareModules, DIAGNOSTIC_SENTENCE, fmt, pct } from './common';
import { toCsv } from './csv';
import { toJson } from './json';
import { mdEscape } from './markdown';
import type { TrajectoryGroupSeries, TrajectoryReport, TrajectoryStep } from './trajectory-model';
import { type ReportFile, writeReportSet } from './report-set';
import { TRAJECTORY_FILES } from './set-files';

export function trajectoryJson(report: TrajectoryReport): string {
  return toJson(report) + '\n';
}

const finite = (x: number | null | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** The cells of a step that every rendering shows. */
export function stepCells(s: TrajectoryStep): string[] {
  const v = s.vsBase.verdict;
  const c = v.components;
  const d = c.directionalSpread[0] === c.directionalSpread[1] ? fmt(c.directionalSpread[0]) : `${fmt(c.directionalSpread[0])}–${fmt(c.directionalSpread[1])}`;
  return [
    String(s.step), fmt(v.score), v.label, d, fmt(c.layerSpread), fmt(c.coverage),
    fmt(finite(s.vsBase.model.relativeUpdate)), fmt(finite(s.vsBase.model.medianEnergyEffectiveRankRatio)),
    s.vsPrevious ? fmt(s.vsPrevious.relativeToPreviousUpdate ?? null) : '–',
    s.vsPrevious ? fmt(s.vsPrevious.verdict.score) : '–',
    s.settling ? fmt(s.settling.left.median) : '–',
    s.settling ? fmt(s.settling.right.median) : '–',
  ];
}

export const STEP_HEADERS = [
  'step', 'score', 'label', 'D', 'L', 'C', '‖ΔW‖/‖W‖', 'eff. rank ratio', 'step ‖Δ‖/‖ΔW‖', 'step score', 'left overlap', 'right overlap',
] as const;

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  return [`| ${header.join(' | ')} |`, `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`), ''];
}

/** Layers in numeric order (per component), module types in model order. */
export function orderedSeries(series: readonly TrajectoryGroupSeries[], kind: 'layer' | 'module'): TrajectoryGroupSeries[] {
  const split = (k: string) => {
    const i = k.lastIndexOf('/');
    return i < 0 ? (['', Number(k)] as const) : ([k.slice(0, i), Number(k.slice(i + 1))] as const);
  };
  return [...series].sort((a, b) => {
    if (kind === 'module') return compareModules(a.key, b.key);
    const [ca, na] = split(a.key), [cb, nb] = split(b.key);
    return ca === cb ? na - nb : ca < cb ? -1 : 1;
  });
}

function seriesTable(report: TrajectoryReport, series: readonly TrajectoryGroupSeries[], keyHeader: string): string[] {
  return table(
    [keyHeader, ...report.steps.map((s) => `step ${s.step}`)],
    series.map((g) => [mdEscape(g.key), ...g.energyShare.map((x, i) => `${pct(x)} (${fmt(g.relativeUpdate[i] ?? null)})`)]),
  );
}

export function trajectoryMarkdown(report: TrajectoryReport): string {
  const first = report.steps[0], last = report.steps.at(-1);
  const out = [
    '# paramscope trajectory',
    '',
    `${report.steps.length} ${report.kind === 'adapter' ? 'LoRA adapter checkpoints' : 'checkpoints'}, steps ${first?.step ?? '–'} to ${last?.step ?? '–'}, ` +
      `against ${report.base ? `\`${mdEscape(report.base)}\`` : 'no base (ΔW = s·B·A)'}; ${report.options.mode} spectra` +
      `${report.options.rank === null ? '' : ` (rank ${report.options.rank})`}, settling overlap of the top ${report.options.overlapRank} directions.`,
    '',
    `Score: the regime verdict of ΔW from the base (0 concentrated … 1 dispersed; D directional spread, L layer spread, C coverage, docs/regime.md). ${DIAGNOSTIC_SENTENCE}`,
    'Step ‖Δ‖/‖ΔW‖: how far the update moved in the step, relative to where it was; left / right overlap: median ‖U_kᵀU_{k−1}‖²_F / k of the update\'s top output / input directions against the previous step\'s (1: settled).',
    '',
    '## Steps',
    '',
    ...table([...STEP_HEADERS, 'checkpoint'], report.steps.map((s) => [...stepCells(s), mdEscape(s.name)])),
    '## Energy per layer',
    '',
    'Share of the update energy ‖ΔW‖² (relative update of the layer in brackets) at each step.',
    '',
    ...seriesTable(report, orderedSeries(report.byLayer, 'layer'), 'layer'),
    '## Energy per module type',
    '',
    ...seriesTable(report, orderedSeries(report.byModule, 'module'), 'module'),
  ];
  if (report.notes.length) out.push('## Notes', '', ...report.notes.map((n) => `- ${mdEscape(n)}`), '');
  return out.join('\n');
}

export const TRAJECTORY_CSV_HEADER = [
  'step', 'checkpoint', 'name', 'layer', 'module', 'rows', 'cols', 'relative_update', 'update_energy', 'energy_effective_rank',
  'energy_effective_rank_ratio', 'step_update', 'overlap_k', 'left_overlap', 'right_overlap',
] as const;

export function trajectoryCsv(report: TrajectoryReport): string {
  const rows = report.steps.flatMap((s, i) => report.matrices.map((m) => [
    s.step, s.name, m.name, m.layer, m.module, m.rows, m.cols, m.relativeUpdate[i], m.updateEnergy[i], m.energyEffectiveRank[i],
    m.energyEffectiveRankRatio[i], m.stepUpdate[i], m.overlapK[i], m.leftOverlap[i], m.rightOverlap[i],
  ]));
  return toCsv(TRAJECTORY_CSV_HEADER, rows);
}

/** trajectory.json, trajectory.md and trajectory.csv, as files of a report set (report/report-set.ts). */
export function trajectoryFiles(report: TrajectoryReport): ReportFile[] {
  return [
    { name: TRAJECTORY_FILES.json, text: trajectoryJson(report) },
    { name: TRAJECTORY_FILES.markdown, text: trajectoryMarkdown(report) },
    { name: TRAJECTORY_FILES.csv, text: trajectoryCsv(report) },
  ];
}

/** Writes trajectory.json, trajectory.md and trajectory.csv into `dir` as one report set, all or nothing. */
export async function writeTrajectoryReports(report: TrajectoryReport, dir: string): Promise<string[]> {
  return writeReportSet(dir, trajectoryFiles(report));
}

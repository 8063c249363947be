/**
 * The outputs of a trajectory (`trajectory`, and `merge` of its shards, so both write the same): the
 * table of steps, --json's trajectory document, and in --out <dir> one report set — trajectory.json,
 * .md, .csv, every step's diff reports (step-N.*, step-N-vs-M.*) and the comparison family
 * (comparison.html, .json, .csv, .md: the steps as arms on a step axis) — all written or none.
 */
import { REGIME_LEGEND } from '../../aggregate/regime';
import type { ComparisonOptions } from '../../report/comparison/build';
import { STEP_HEADERS, stepCells, trajectoryFiles, trajectoryJson } from '../../report/trajectory-render';
import type { TrajectoryReport } from '../../report/trajectory-model';
import { type TrajectoryResult, trajectoryRunNames } from '../../trajectory';
import type { CommandContext } from '../context';
import { renderTable } from '../output/table';
import { terminalText } from '../output/terminal-text';
import { comparisonFiles, fileLink } from './comparison';
import { reportFiles, writeOutSet } from './report';

/** The comparison arms' names: each step's run name, which its reports' files are prefixed with. */
export const trajectoryArmNames = (steps: ReadonlyArray<{ step: number }>): string[] => steps.map((s) => trajectoryRunNames(s.step).vsBase);

/** The terminal's table of steps, its legend and the notes. */
export function printTrajectory(text: Pick<CommandContext, 'out'>, report: TrajectoryReport): void {
  text.out(`${report.steps.length} ${report.kind === 'adapter' ? 'adapter checkpoints' : 'checkpoints'} against ${report.base === null ? '(no base)' : terminalText(report.base)}, in step order:\n`);
  text.out(renderTable([...STEP_HEADERS].map((header, i) => ({ header, ...(i > 2 ? { align: 'right' as const } : {}) })), report.steps.map(stepCells)));
  text.out(`\nscore: regime verdict of ΔW from the base; ${REGIME_LEGEND} (docs/regime.md). Overlap: ‖U_kᵀU_{k−1}‖²/k of the top ` +
    `${report.options.overlapRank} directions against the previous step's (1: settled). docs/trajectory.md`);
  for (const note of report.notes) text.out(`note: ${note}`);
}

/** Prints --json's document and writes the set into `outDir` (checked by checkOutFlag); returns the paths written. */
export async function emitTrajectoryReport(ctx: CommandContext, result: TrajectoryResult, values: Record<string, unknown>, outDir: string | undefined, comparison: ComparisonOptions = {}): Promise<string[]> {
  if (values.json) ctx.data(trajectoryJson(result.report).trimEnd());
  if (outDir === undefined) return [];
  const files = trajectoryFiles(result.report);
  const links: Record<string, string> = {};
  const kind = result.report.kind === 'adapter' ? 'lora' as const : 'diff' as const;
  const arms = [];
  for (const [i, s] of result.steps.entries()) {
    const names = trajectoryRunNames(s.step, result.steps[i - 1]?.step);
    files.push(...reportFiles(s.vsBase, names.vsBase));
    if (s.vsPrevious) files.push(...reportFiles(s.vsPrevious, names.vsPrevious));
    links[names.vsBase] = fileLink(`${names.vsBase}.report.html`);
    arms.push({ label: names.vsBase, kind, report: s.vsBase, step: s.step });
  }
  files.push(...(await comparisonFiles({ arms, axis: { name: 'step' } }, comparison, links)));
  return writeOutSet(ctx, outDir, files);
}

/** The line saying where --out's reports went. */
export function trajectoryWrittenLine(written: readonly string[], outDir: string): string {
  return `reports written: ${written.length} files in ${terminalText(outDir)} (trajectory.json, .md, .csv; comparison.html: the steps side by side; step-*: each step's reports)`;
}

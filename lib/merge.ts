/**
 * `merge`: the partial reports of every shard of a run (lib/shard.ts) → the report the single run would
 * have returned. The files are read bounded and asynchronously (report/partial-file.ts), checked as one
 * set — one plan, every shard once (report/merge.ts) — and each run's results, back in report order, are
 * assembled by the code a single run ends with: assembleReport for `diff` and `lora` (aggregates,
 * verdict), assembleAnalysis for `analyze`, compareResult for `compare`'s ranking, assembleTrajectory for
 * `trajectory` (its runs back in their steps). Apart from timings and timestamps the merged report is
 * the single run's.
 *
 * @example
 * const merged = await merge(['parts/part-0-of-3.json', 'parts/part-1-of-3.json', 'parts/part-2-of-3.json']);
 * if (merged.command === 'diff') console.log(merged.report.verdict.label);
 */
import { type CompareResult, compareResult } from './compare';
import { ParamscopeError } from './errors';
import { type AnalysisFrame, assembleAnalysis, assembleReport, type ReportParts } from './report/assemble';
import { type MergedSet, mergeShards, type PartialFile } from './report/merge';
import { readPartialFile } from './report/partial-file';
import type { AnalysisReport, DiffReport, PairResult, TensorAnalysis } from './report/model';
import { assembleTrajectory, type SettlingResult, type TrajectoryFrame, type TrajectoryResult } from './report/trajectory-assemble';
import { trajectoryRunNames } from './trajectory-plan';

/** What the merge gives: the single run's result for the command the shards ran. */
export type MergeResult =
  | { command: 'diff' | 'lora'; report: DiffReport }
  | { command: 'analyze'; report: AnalysisReport }
  | { command: 'compare'; result: CompareResult }
  | { command: 'trajectory'; result: TrajectoryResult };

export interface MergeOptions {
  /** Stops between files. */
  signal?: AbortSignal;
}

const partsOf = (run: MergedSet['runs'][number]): ReportParts => ({ ...(run.frame as unknown as Omit<ReportParts, 'pairs'>), pairs: run.results as unknown as PairResult[] });

/** A trajectory's runs back in its steps (trajectory.ts writes them: per step vsBase, vsPrevious, settling), assembled. */
function mergedTrajectory(set: MergedSet): TrajectoryResult {
  const frame = set.frame as unknown as TrajectoryFrame;
  if (!Array.isArray(frame.checkpoints) || frame.checkpoints.length === 0) throw new TypeError('no checkpoints');
  const byName = new Map(set.runs.map((r) => [r.run, r]));
  const run = (name: string) => {
    const r = byName.get(name);
    if (!r) throw new TypeError(`no run ${name}`);
    return r;
  };
  const parts = frame.checkpoints.map((c, i) => {
    const names = trajectoryRunNames(c.step, frame.checkpoints[i - 1]?.step);
    return {
      vsBase: partsOf(run(names.vsBase)),
      vsPrevious: i > 0 ? partsOf(run(names.vsPrevious)) : null,
      settling: i > 0 ? (run(names.directions).results as unknown as SettlingResult[]) : null,
    };
  });
  if (set.runs.length !== parts.reduce((s, p) => s + 1 + (p.vsPrevious ? 2 : 0), 0)) throw new TypeError('runs that are no step\'s');
  return assembleTrajectory(frame, parts);
}

const diffReportOf = (run: MergedSet['runs'][number]) => assembleReport(partsOf(run));

/** The merged set assembled per command (a set whose parts do not assemble was altered: MERGE_INVALID_PARTIAL). */
export function assembleMerged(set: MergedSet): MergeResult {
  try {
    switch (set.command) {
      case 'diff':
      case 'lora': {
        const run = set.runs[0] as MergedSet['runs'][number];
        return { command: set.command, report: diffReportOf(run) };
      }
      case 'analyze': {
        const run = set.runs[0] as MergedSet['runs'][number];
        return { command: 'analyze', report: assembleAnalysis(run.frame as unknown as AnalysisFrame, run.results as unknown as TensorAnalysis[]) };
      }
      case 'compare': {
        const arms = set.runs.map((r) => ({ name: r.run ?? '', path: r.path ?? '', report: diffReportOf(r) }));
        return { command: 'compare', result: compareResult(set.base ?? '', arms) };
      }
      case 'trajectory':
        return { command: 'trajectory', result: mergedTrajectory(set) };
    }
  } catch (error) {
    if (error instanceof ParamscopeError) throw error;
    throw new ParamscopeError(`the ${set.shards} partial reports of plan ${set.planId.slice(0, 12)}… do not assemble into a report (${error instanceof Error ? error.name : 'error'}): a partial was altered`, { code: 'MERGE_INVALID_PARTIAL' });
  }
}

/**
 * Merges the partial report files of one sharded run. Throws MERGE_INVALID_PARTIAL, MERGE_PLAN_MISMATCH,
 * MERGE_DUPLICATE_SHARD, MERGE_MISSING_SHARD (report/merge.ts), INPUT_TOO_LARGE.
 */
export async function merge(files: readonly string[], options: MergeOptions = {}): Promise<MergeResult> {
  if (!Array.isArray(files) || files.length === 0) throw new ParamscopeError('merge: no partial reports given', { code: 'INVALID_ARGUMENT' });
  const read: PartialFile[] = [];
  for (const file of files) {
    options.signal?.throwIfAborted();
    read.push({ file, partial: await readPartialFile(file) });
  }
  return assembleMerged(mergeShards(read));
}

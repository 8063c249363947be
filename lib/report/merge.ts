/**
 * Checking a set of partial reports (partial.ts) and putting their results back in report order. The set
 * must be every shard of one plan, each once:
 *  - MERGE_PLAN_MISMATCH: two partials of different plans (their ids differ), of different shard
 *    counts or commands; the message names both files and both values;
 *  - MERGE_DUPLICATE_SHARD: a shard given twice (both files named);
 *  - MERGE_MISSING_SHARD: shards absent (their indices listed).
 * A set that passes these but whose runs do not fit together (a unit covered twice or never, runs that
 * differ) has been altered: MERGE_INVALID_PARTIAL. The merged runs take their frame from the lowest
 * shard (every shard of a plan computes the same one).
 */
import { ParamscopeError } from '../errors';
import type { PartialCommand, PartialReport, PartialRun } from './partial';

/** A partial report and the file it was read from. */
export interface PartialFile {
  file: string;
  partial: PartialReport;
}

/** One run of the merged set: its frame and every unit's result, in report order. */
export interface MergedRun {
  run: string | null;
  path: string | null;
  frame: Record<string, unknown>;
  results: Array<Record<string, unknown>>;
}

export interface MergedSet {
  command: PartialCommand;
  planId: string;
  shards: number;
  base: string | null;
  /** trajectory: the report's parts besides its runs (the lowest shard's). */
  frame?: Record<string, unknown>;
  runs: MergedRun[];
}

/** The most missing indices a message lists before "…". */
const LISTED_MISSING = 32;

function mismatch(what: string, a: PartialFile, b: PartialFile, va: unknown, vb: unknown): never {
  throw new ParamscopeError(
    `${a.file} and ${b.file} are partial reports of different ${what} (${String(va)} and ${String(vb)}): merge takes the shards of one run`,
    { code: 'MERGE_PLAN_MISMATCH', file: b.file },
  );
}

function altered(file: string, why: string): never {
  throw new ParamscopeError(`${file}: this set of partial reports does not fit together (${why}), although their plans agree: a partial was altered`, { code: 'MERGE_INVALID_PARTIAL', file });
}

/** Checks that `files` are every shard of one plan, once each; returns them by shard index. */
export function checkShardSet(files: readonly PartialFile[]): PartialFile[] {
  if (files.length === 0) throw new ParamscopeError('merge: no partial reports given', { code: 'INVALID_ARGUMENT' });
  const first = files[0] as PartialFile;
  for (const f of files.slice(1)) {
    if (f.partial.plan.id !== first.partial.plan.id) mismatch('plans', first, f, `plan ${first.partial.plan.id}`, `plan ${f.partial.plan.id}`);
    if (f.partial.command !== first.partial.command) mismatch('commands', first, f, first.partial.command, f.partial.command);
    if (f.partial.shard.count !== first.partial.shard.count) mismatch('shard counts', first, f, `${first.partial.shard.count} shards`, `${f.partial.shard.count} shards`);
  }
  const count = first.partial.shard.count;
  const byIndex = new Array<PartialFile | undefined>(count);
  for (const f of files) {
    const i = f.partial.shard.index;
    const other = byIndex[i];
    if (other)
      throw new ParamscopeError(`shard ${i}/${count} is given twice: ${other.file} and ${f.file}`, { code: 'MERGE_DUPLICATE_SHARD', file: f.file });
    byIndex[i] = f;
  }
  const missing: number[] = [];
  for (let i = 0; i < count; i++) if (!byIndex[i]) missing.push(i);
  if (missing.length)
    throw new ParamscopeError(
      `${missing.length} of ${count} shards missing: ${missing.slice(0, LISTED_MISSING).join(', ')}${missing.length > LISTED_MISSING ? ', …' : ''} (given: ${files.length} partial report${files.length === 1 ? '' : 's'} of plan ${first.partial.plan.id.slice(0, 12)}…)`,
      { code: 'MERGE_MISSING_SHARD' },
    );
  return byIndex as PartialFile[];
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Every shard of one plan (checkShardSet first), merged: per run, each unit's result in report order. */
export function mergeShards(files: readonly PartialFile[]): MergedSet {
  const shards = checkShardSet(files);
  const lowest = shards[0] as PartialFile;
  const runs: MergedRun[] = lowest.partial.runs.map((run, r) => {
    const byName = new Map<string, Record<string, unknown>>();
    for (const f of shards) {
      const own = f.partial.runs[r] as PartialRun | undefined;
      if (!own || own.run !== run.run || !sameList(own.order, run.order)) altered(f.file, `its run ${r + 1} is not the same as in ${lowest.file}`);
      own.covers.forEach((name, k) => {
        if (byName.has(name)) altered(f.file, `a unit of run ${r + 1} is covered by two shards`);
        byName.set(name, own.results[k] as Record<string, unknown>);
      });
    }
    if (byName.size !== run.order.length) altered(lowest.file, `${run.order.length - byName.size} unit(s) of run ${r + 1} covered by no shard`);
    return { run: run.run, path: run.path, frame: run.frame, results: run.order.map((name) => byName.get(name) as Record<string, unknown>) };
  });
  for (const f of shards) if (f.partial.runs.length !== runs.length) altered(f.file, `it has ${f.partial.runs.length} runs, ${lowest.file} ${runs.length}`);
  const frame = lowest.partial.frame === undefined ? {} : { frame: lowest.partial.frame };
  return { command: lowest.partial.command, planId: lowest.partial.plan.id, shards: shards.length, base: lowest.partial.base, ...frame, runs };
}

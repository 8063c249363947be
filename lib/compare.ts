/**
 * `compare`: several fine-tunes of one base, each diffed against it (lib/diff.ts), ranked from the most
 * concentrated update to the most dispersed. Every arm is planned from the headers first, so the event
 * stream's plan covers the whole comparison; each arm's events are tagged with its name (`run`).
 *
 * @example
 * const { ranking } = await compare('base/', ['sft-math/', 'sft-general/'], { mode: 'exact' });
 * for (const arm of ranking) console.log(arm.name, arm.report.verdict.label, arm.report.verdict.score);
 */
import * as path from 'node:path';
import { type DiffOptions, diffRun, planDiff } from './diff';
import { withSharedCache } from './engine/cache';
import { reportedRank } from './engine/options';
import { invalidArgument } from './errors';
import { openCheckpoint } from './read/checkpoint';
import { EventStream } from './report/event-stream';
import type { CompareSummary, PlanRun } from './report/events';
import { COMPARE_SCHEMA_VERSION } from './report/header';
import type { DiffReport } from './report/model';

export type CompareOptions = DiffOptions;

export interface CompareArm {
  /** The fine-tune's name: its file or directory name without `.safetensors`, made unique by parent directories ({@link armNames}). */
  name: string;
  path: string;
  report: DiffReport;
}

export interface CompareResult {
  base: string;
  /** In the order given. */
  arms: CompareArm[];
  /** From the most concentrated update to the most dispersed (ascending verdict score). */
  ranking: CompareArm[];
}

/**
 * The names the fine-tunes are shown and tagged under: the file or directory name without
 * `.safetensors` / `.safetensors.index.json`; fine-tunes that share it are told apart by their shortest
 * distinguishing parent path (`a/model`, `b/model`), and the same path given twice by `#2`, `#3`, ….
 */
export function armNames(tuned: readonly string[]): string[] {
  const parts = tuned.map((t) => {
    const segments = path.resolve(t).split(path.sep).filter(Boolean);
    const last = segments.length - 1;
    if (last >= 0) segments[last] = (segments[last] as string).replace(/\.safetensors(\.index\.json)?$/, '');
    return segments.length ? segments : ['/'];
  });
  const depth = parts.map(() => 1);
  const nameOf = (i: number) => (parts[i] as string[]).slice(-(depth[i] as number)).join('/');
  for (let changed = true; changed; ) {
    changed = false;
    const byName = new Map<string, number[]>();
    parts.forEach((_, i) => byName.set(nameOf(i), [...(byName.get(nameOf(i)) ?? []), i]));
    for (const members of byName.values()) {
      if (members.length < 2) continue;
      for (const i of members) {
        if ((depth[i] as number) < (parts[i] as string[]).length) {
          depth[i] = (depth[i] as number) + 1;
          changed = true;
        }
      }
    }
  }
  const seen = new Map<string, number>();
  return parts.map((_, i) => {
    const name = nameOf(i);
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return n === 1 ? name : `${name}#${n}`;
  });
}

/** The arms ranked: what a single run and the merge of shards (lib/merge.ts) both return. */
export function compareResult(base: string, arms: CompareArm[]): CompareResult {
  return { base, arms, ranking: [...arms].sort((a, b) => a.report.verdict.score - b.report.verdict.score) };
}

/** The summary event of a comparison. */
export function compareSummary(result: CompareResult): CompareSummary {
  return {
    schema: 'paramscope.compare', schemaVersion: COMPARE_SCHEMA_VERSION, base: result.base,
    ranking: result.ranking.map((a) => ({ name: a.name, path: a.path, verdict: a.report.verdict })),
  };
}

/** The diff of each fine-tune against `base`, ranked. Options are diff's (mode default 'truncated'). */
export async function compare(base: string, tuned: readonly string[], given: CompareOptions = {}): Promise<CompareResult> {
  const stream = EventStream.root(given);
  return stream.guard(async () => {
    const options = withSharedCache(given);
    stream.trackCache(options.cache);
    if (!Array.isArray(tuned) || tuned.length === 0) invalidArgument('compare: tuned', 'at least one fine-tune', tuned);
    const names = armNames(tuned);
    const runs: PlanRun[] = [];
    let skipped = 0;
    const baseCkpt = await openCheckpoint(base, { mmap: options.mmap ?? true });
    try {
      for (const [i, t] of tuned.entries()) {
        const tunedCkpt = await openCheckpoint(t, { mmap: options.mmap ?? true });
        try {
          const plan = planDiff(baseCkpt, tunedCkpt, options);
          skipped += plan.pairing.entries.length - plan.jobs.length;
          runs.push({ run: names[i] as string, path: t, matrices: plan.jobs.length, bytes: plan.phases.reduce((s, p) => s + p.bytes, 0), flops: plan.phases.reduce((s, p) => s + p.flops, 0) });
        } finally {
          tunedCkpt.close();
        }
      }
    } finally {
      baseCkpt.close();
    }
    const mode = options.mode ?? 'truncated';
    stream.plan({
      command: 'compare', inputs: [{ role: 'base', path: base }, ...tuned.map((t) => ({ role: 'tuned' as const, path: t }))], mode, rank: reportedRank(mode, options),
      matrices: runs.reduce((s, r) => s + r.matrices, 0), skipped, phases: [], runs,
    });
    const totalFlops = runs.reduce((s, r) => s + r.flops, 0);
    const arms: CompareArm[] = [];
    for (const [i, t] of tuned.entries()) {
      const run = runs[i] as PlanRun;
      const report = await diffRun(base, t, { ...options, mode }, stream.child(run.run, totalFlops > 0 ? run.flops / totalFlops : 1 / runs.length));
      arms.push({ name: run.run, path: t, report });
    }
    const result = compareResult(base, arms);
    stream.summary(compareSummary(result));
    return result;
  });
}

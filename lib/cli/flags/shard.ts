/**
 * `--shard i/N | auto`, shared by analyze, diff, lora, compare and trajectory: compute shard i of N (0-based) of the
 * run's plan and write it as a partial report (`--json` on stdout, or `--out <dir>` as
 * <dir>/part-<i>-of-<N>.json) for `paramscope merge`. `auto` takes the shard from the scheduler:
 *  - Slurm job arrays: SLURM_ARRAY_TASK_ID, with SLURM_ARRAY_TASK_COUNT tasks starting at
 *    SLURM_ARRAY_TASK_MIN (default 0) — so `--array=1-4` is shards 0..3 of 4; without
 *    SLURM_ARRAY_TASK_COUNT, the count is SLURM_ARRAY_TASK_MAX − MIN + 1 (the array must be contiguous);
 *  - Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX, with PARAMSCOPE_SHARD_COUNT (set it from
 *    .spec.completions).
 * Every value is checked; a bad one is SHARD_INVALID naming the variables and their values.
 */
import { ParamscopeError } from '../../errors';
import { checkReportDirectory } from '../../report/output-directory';
import { checkShard, type ShardSpec } from '../../plan/shard';
import type { PartialReport } from '../../report/partial';
import { serializePartial } from '../../report/partial';
import { writePartialFile } from '../../report/partial-file';
import type { EventOptions } from '../../report/events';
import type { CommandContext } from '../context';
import type { CommandOutput } from './machine';

export const shardFlagHelp = `  --shard <i/N|auto>    compute shard i of N (0-based) of the plan and write a partial report (--json,
                        or --out <dir> as <dir>/part-i-of-N.json) for 'paramscope merge'; auto: from
                        SLURM_ARRAY_TASK_ID/_COUNT/_MIN or JOB_COMPLETION_INDEX + PARAMSCOPE_SHARD_COUNT
                        (docs/scale-out.md)`;

/** The help line of a command whose only report output is --json (analyze). */
export const shardFlagHelpJsonOnly = `  --shard <i/N|auto>    compute shard i of N (0-based) of the plan and print a partial report (--json)
                        for 'paramscope merge'; auto: from SLURM_ARRAY_TASK_ID/_COUNT/_MIN or
                        JOB_COMPLETION_INDEX + PARAMSCOPE_SHARD_COUNT (docs/scale-out.md)`;

export const shardFlagOption = { shard: { type: 'string' } } as const;

const INTEGER = /^(0|[1-9][0-9]{0,15})$/;

function invalid(message: string): never {
  throw new ParamscopeError(message, { code: 'SHARD_INVALID' });
}

const show = (env: NodeJS.ProcessEnv, names: readonly string[]) =>
  names.map((n) => `${n}=${env[n] === undefined ? '(unset)' : JSON.stringify(env[n])}`).join(', ');

function integer(env: NodeJS.ProcessEnv, name: string, names: readonly string[]): number {
  const v = env[name];
  if (v === undefined || !INTEGER.test(v.trim())) invalid(`--shard auto: ${name} is not a non-negative integer (${show(env, names)})`);
  return Number(v.trim());
}

/** The shard of `--shard auto` from the environment (Slurm array, then Kubernetes Indexed Job). */
export function shardFromEnvironment(env: NodeJS.ProcessEnv = process.env): ShardSpec {
  const slurm = ['SLURM_ARRAY_TASK_ID', 'SLURM_ARRAY_TASK_COUNT', 'SLURM_ARRAY_TASK_MIN', 'SLURM_ARRAY_TASK_MAX'];
  const kube = ['JOB_COMPLETION_INDEX', 'PARAMSCOPE_SHARD_COUNT'];
  if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    const id = integer(env, 'SLURM_ARRAY_TASK_ID', slurm);
    const min = env.SLURM_ARRAY_TASK_MIN === undefined ? 0 : integer(env, 'SLURM_ARRAY_TASK_MIN', slurm);
    let count: number;
    if (env.SLURM_ARRAY_TASK_COUNT !== undefined) count = integer(env, 'SLURM_ARRAY_TASK_COUNT', slurm);
    else if (env.SLURM_ARRAY_TASK_MAX !== undefined) count = integer(env, 'SLURM_ARRAY_TASK_MAX', slurm) - min + 1;
    else return invalid(`--shard auto: a Slurm array task needs SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MAX (${show(env, slurm)})`);
    if (id < min) invalid(`--shard auto: SLURM_ARRAY_TASK_ID is below SLURM_ARRAY_TASK_MIN (${show(env, slurm)})`);
    return checkShard({ index: id - min, count }, `--shard auto (${show(env, slurm)}; an array with a step, like 0-9:2, is not contiguous)`);
  }
  if (env.JOB_COMPLETION_INDEX !== undefined) {
    if (env.PARAMSCOPE_SHARD_COUNT === undefined) invalid(`--shard auto: a Kubernetes Indexed Job needs PARAMSCOPE_SHARD_COUNT set from .spec.completions (${show(env, kube)})`);
    return checkShard({ index: integer(env, 'JOB_COMPLETION_INDEX', kube), count: integer(env, 'PARAMSCOPE_SHARD_COUNT', kube) }, `--shard auto (${show(env, kube)})`);
  }
  return invalid(`--shard auto: neither a Slurm array task (SLURM_ARRAY_TASK_ID) nor a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) is in the environment; give --shard i/N`);
}

/** The shard --shard names (undefined without it). Throws SHARD_INVALID with the value. */
export function shardFrom(values: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): ShardSpec | undefined {
  const raw = values.shard;
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  if (text === 'auto') return shardFromEnvironment(env);
  const m = /^([0-9]+)\/([0-9]+)$/.exec(text);
  if (!m || !INTEGER.test(m[1] as string) || !INTEGER.test(m[2] as string))
    invalid(`--shard ${JSON.stringify(String(raw)).slice(0, 80)}: expected i/N (0-based, like 0/4) or auto`);
  return checkShard({ index: Number(m[1]), count: Number(m[2]) }, `--shard ${text}`);
}

/** Before any work: a shard run must say where its partial goes (--json or --out). */
export function requirePartialOutput(values: Record<string, unknown>, hasOut: boolean): void {
  // --out holds the shards' partials: checked as a report directory is (OUTPUT_INVALID before any work).
  if (hasOut && values.out !== undefined) checkReportDirectory(values.out);
  if (values.json || (hasOut && typeof values.out === 'string')) return;
  throw new ParamscopeError(`--shard writes a partial report: give --json (stdout)${hasOut ? ' or --out <dir>' : ''}`, { code: 'INVALID_ARGUMENT' });
}

/** Prints the partial (--json) and writes it into --out; returns the file written, if any. */
export async function emitPartial(ctx: CommandContext, partial: PartialReport, values: Record<string, unknown>): Promise<string | undefined> {
  if (values.json) ctx.data(serializePartial(partial).trimEnd());
  if (typeof values.out !== 'string') return undefined;
  return writePartialFile(values.out, partial);
}

/** What a shard's run reports to and is stopped by (as a whole run's). */
export type ShardHooks = EventOptions & { signal?: AbortSignal };

/**
 * Runs a command's shard `shard` (`task`, given the progress bar, the --jsonl events and the
 * interruption signal) and writes its partial; exit code 2 when `failedExit` and a matrix failed (as
 * analyze does).
 */
export async function runShard(
  ctx: CommandContext, output: CommandOutput, values: Record<string, unknown>, shard: ShardSpec,
  task: (hooks: ShardHooks) => Promise<PartialReport>, { hasOut = true, failedExit = false } = {},
): Promise<number> {
  requirePartialOutput(values, hasOut);
  const partial = await output.withProgress((onProgress) => task({ onProgress, ...(output.onEvent ? { onEvent: output.onEvent } : {}), signal: ctx.signal }));
  const file = await emitPartial(ctx, partial, values);
  const covered = partial.runs.reduce((s, r) => s + r.covers.length, 0);
  output.text.err(`shard ${shard.index}/${shard.count}: ${covered} of ${partial.plan.units} units of plan ${partial.plan.id.slice(0, 12)}…${file ? `; partial report written: ${file}` : ''}`);
  const failed = partial.runs.some((r) => r.results.some((x) => x.error !== undefined));
  return failedExit && failed ? 2 : 0;
}

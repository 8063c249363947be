/**
 * `trajectory`: how a fine-tune's footprint grows over a run's saved checkpoints (docs/trajectory.md).
 * The checkpoints are put in step order (plan/trajectory-steps.ts); each is compared with the base and
 * with the previous step — full checkpoints as `diff` does, LoRA adapters as `lora` does (a step's
 * update being the low-rank product of the two adapters' factors, plan/lora/step-delta.ts) — and the
 * top singular directions of each ΔW_base→k are compared with the previous step's (results/settling.ts).
 *
 * A single run and a shard (`trajectoryShard`, `--shard i/N`) are one code path: the whole plan
 * (trajectory-plan.ts), then each step's runs over the matrices chosen — all of them, or the shard's —
 * giving the steps' parts; a single run assembles them at once (report/trajectory-assemble.ts), a shard
 * writes them to its partial report and `merge` assembles every shard's through the same code.
 *
 * Every engine run goes through the result cache: the base side (the base weights' spectra, each
 * step's ΔW vectors that the direction analysis already computed) is computed once. Without a cache
 * option the run keeps an in-memory one for itself.
 *
 * @example
 * const { report, steps } = await trajectory('base/', ['run/'], { mode: 'exact' });   // run/checkpoint-N/
 * for (const s of report.steps) console.log(s.step, s.vsBase.verdict.score, s.settling?.left.median);
 */
import { adapterParts } from './lora';
import { diffParts, planDiff } from './diff';
import { ResultCache, withSharedCache } from './engine/cache';
import { reportedRank } from './engine/options';
import { runSpectra } from './engine/run';
import { isFailed } from './engine/types';
import { invalidArgument, ParamscopeError } from './errors';
import type { MatrixJob } from './engine/matrix-job';
import { openAdapter } from './plan/lora/open-adapter';
import { adapterStepDelta } from './plan/lora/step-delta';
import type { Adapter } from './plan/lora/types';
import { checkShard, type ShardSpec } from './plan/shard';
import { type TrajectoryCheckpoint, trajectoryCheckpoints } from './plan/trajectory-steps';
import { type Checkpoint, openCheckpoint } from './read/checkpoint';
import type { ReportParts } from './report/assemble';
import { EventStream } from './report/event-stream';
import { type PartialReport, type PartialRun, partialReport } from './report/partial';
import {
  assembleTrajectory, type SettlingResult, type TrajectoryFrame, type TrajectoryResult, type TrajectoryStepParts,
} from './report/trajectory-assemble';
import { DIRECTION_DEFAULTS } from './results/directions';
import { settling, type UpdateDirections, updateDirections } from './results/settling';
import { diffRunOf } from './shard';
import {
  adapterOpenOptions, adapterStepOptions, adapterVectorJobs, fullVectorJobs, planRuns, planTrajectory, type RunOptions,
  type TrajectoryOptions, type TrajectoryPlan, type TrajectorySelection, trajectorySelection, trajectorySettings, vectorNeed,
} from './trajectory-plan';

export type { TrajectoryOptions } from './trajectory-plan';
export { trajectoryRunNames } from './trajectory-plan';
export type { TrajectoryResult, TrajectoryStepResult } from './report/trajectory-assemble';

const ADAPTER_WITHOUT_BASE = 'LoRA adapters without their base: ΔW = s·B·A is the update itself; relative updates (‖ΔW‖/‖W‖) need the base (pass it first)';

/** What the steps computed (for the matrices chosen), with the frame of their report. */
interface ComputedTrajectory {
  frame: TrajectoryFrame;
  plan: TrajectoryPlan;
  parts: TrajectoryStepParts[];
}

/**
 * The footprint of each checkpoint of a run, in step order. `base` is the checkpoint the run started
 * from; null only for LoRA adapters analysed without it. TRAJECTORY_INVALID for no checkpoint, a missing
 * or duplicated step, full checkpoints without a base, or full checkpoints mixed with adapters.
 */
export async function trajectory(base: string | null, checkpoints: readonly string[], given: TrajectoryOptions = {}): Promise<TrajectoryResult> {
  const stream = EventStream.root(given);
  return stream.guard(async () => {
    const { frame, parts } = await computeTrajectory(base, checkpoints, given, stream);
    const result = assembleTrajectory(frame, parts);
    stream.summary(result.report);
    return result;
  });
}

/**
 * Shard `shard` of {@link trajectory}'s plan — every step's units balanced together — as a partial
 * report for `merge` (lib/merge.ts), which gives the report the single run returns.
 */
export async function trajectoryShard(base: string | null, checkpoints: readonly string[], shard: ShardSpec, given: TrajectoryOptions = {}): Promise<PartialReport> {
  checkShard(shard);
  const stream = EventStream.root(given);
  return stream.guard(async () => {
    const { frame, plan, parts } = await computeTrajectory(base, checkpoints, given, stream, shard);
    const runs: PartialRun[] = [];
    plan.steps.forEach((s, i) => {
      const p = parts[i] as TrajectoryStepParts;
      const order = (r: { units: Array<{ key: string }> }) => r.units.map((u) => u.key);
      runs.push(diffRunOf(s.vsBase.run, s.checkpoint.path, order(s.vsBase), p.vsBase));
      if (s.vsPrevious && p.vsPrevious) runs.push(diffRunOf(s.vsPrevious.run, s.checkpoint.path, order(s.vsPrevious), p.vsPrevious));
      if (s.settling && p.settling) {
        const results = p.settling as unknown as Array<Record<string, unknown>>;
        runs.push({ run: s.settling.run, path: s.checkpoint.path, order: order(s.settling), covers: p.settling.map((x) => x.name), frame: {}, results });
      }
    });
    // The shard's events describe its own matrices (as the other commands' shards do); the merge gives the report.
    stream.summary(assembleTrajectory(frame, parts).report);
    return partialReport({ command: 'trajectory', shard, plan: { id: plan.id, units: plan.units }, base, frame: frame as unknown as Record<string, unknown>, runs });
  });
}

/** The plan, then every step's runs over the matrices chosen (all without `shard`). */
async function computeTrajectory(base: string | null, checkpoints: readonly string[], given: TrajectoryOptions, stream: EventStream, shard?: ShardSpec): Promise<ComputedTrajectory> {
  if (base !== null && (typeof base !== 'string' || base.length === 0)) invalidArgument('trajectory: base', 'a checkpoint path or null', base);
  const shared = withSharedCache(given);
  const options: RunOptions = { ...shared, cache: shared.cache ?? new ResultCache(null) };
  stream.trackCache(options.cache);
  const overlapRank = options.overlapRank ?? options.directionRank ?? DIRECTION_DEFAULTS.rank;
  if (!Number.isSafeInteger(overlapRank) || overlapRank < 1) invalidArgument('overlapRank', 'a positive integer', overlapRank);
  const ckpts = await trajectoryCheckpoints(checkpoints);
  const kind = (ckpts[0] as TrajectoryCheckpoint).kind;
  if (kind === 'full' && base === null)
    throw new ParamscopeError('a trajectory of full checkpoints needs their base checkpoint (only LoRA adapters can be analysed without it)', { code: 'TRAJECTORY_INVALID' });
  const plan = await planTrajectory(base, ckpts, options, overlapRank);
  const select: TrajectorySelection = shard ? trajectorySelection(plan, shard) : () => undefined;
  const weights = announce(stream, base, plan, ckpts, options, select);
  const run: StepRunner = { plan, select, options, overlapRank, stream, weights, base };
  const parts = kind === 'full' ? await fullSteps(base as string, ckpts, run) : await adapterSteps(base, ckpts, run);
  const frame: TrajectoryFrame = { kind: kind === 'full' ? 'checkpoints' : 'adapter', base, overlapRank, notes: kind === 'adapter' && !base ? [ADAPTER_WITHOUT_BASE] : [], checkpoints: ckpts };
  return { frame, plan, parts };
}

/** The plan event of the whole trajectory (or of a shard's part of it); each run's share of the work, by flops. */
function announce(stream: EventStream, base: string | null, plan: TrajectoryPlan, ckpts: TrajectoryCheckpoint[], options: RunOptions, select: TrajectorySelection): Map<string, number> {
  const runs = planRuns(plan, select);
  const role = ckpts[0]?.kind === 'adapter' ? 'adapter' as const : 'tuned' as const;
  const mode = trajectorySettings(ckpts[0]?.kind ?? 'full', options, 1).mode;
  stream.plan({
    command: 'trajectory',
    inputs: [...(base ? [{ role: 'base' as const, path: base }] : []), ...ckpts.map((c) => ({ role, path: c.path }))],
    mode, rank: reportedRank(mode, options),
    matrices: runs.reduce((s, r) => s + r.matrices, 0), skipped: plan.steps.reduce((s, p) => s + p.skipped, 0), phases: [], runs,
  });
  const total = runs.reduce((s, r) => s + r.flops, 0);
  return new Map(runs.map((r) => [r.run, total > 0 ? r.flops / total : 1 / runs.length]));
}

interface StepRunner {
  plan: TrajectoryPlan;
  select: TrajectorySelection;
  options: RunOptions;
  overlapRank: number;
  stream: EventStream;
  weights: Map<string, number>;
  base: string | null;
}

const childOf = (r: StepRunner, run: string) => r.stream.child(run, r.weights.get(run) ?? 0);
const selection = (names: ReadonlySet<string> | undefined) => (names ? () => names : undefined);

/** The directions of each matrix's update, from one engine run with vectors (its own stream for progress). */
async function stepDirections(r: StepRunner, i: number, jobs: MatrixJob[], inputs: { base: string | null; tuned: string }): Promise<Map<string, UpdateDirections>> {
  const step = r.plan.steps[i] as TrajectoryPlan['steps'][number];
  const need = vectorNeed(r.plan, i, r.select);
  const chosen = need ? jobs.filter((j) => need.has(j.name)) : jobs;
  const { vectorOptions } = trajectorySettings(step.checkpoint.kind, r.options, r.overlapRank);
  const stream = childOf(r, step.directions.run);
  stream.plan({
    command: 'trajectory', inputs: [...(inputs.base ? [{ role: 'base' as const, path: inputs.base }] : []), { role: 'tuned', path: inputs.tuned }],
    mode: vectorOptions.mode ?? 'truncated', rank: vectorOptions.mode === 'exact' ? null : r.overlapRank, matrices: 0, skipped: 0, phases: step.directions.phases(need),
  });
  const out = new Map<string, UpdateDirections>();
  for await (const o of runSpectra(chosen, { ...vectorOptions, onProgress: stream.progressFor('vectors') })) {
    if (isFailed(o)) continue;
    const d = updateDirections(o, r.overlapRank);
    if (d) out.set(o.name, d);
  }
  return out;
}

/** Step i's settling results, in its matrices' order (null for the first step). */
function settlingOf(r: StepRunner, i: number, previous: ReadonlyMap<string, UpdateDirections> | null, current: ReadonlyMap<string, UpdateDirections>): SettlingResult[] | null {
  const planned = r.plan.steps[i]?.settling;
  if (!planned || !previous) return null;
  const chosen = r.select(planned.run);
  return planned.units.filter((u) => !chosen || chosen.has(u.key)).map((u) => ({ name: u.key, settling: settling(previous.get(u.key), current.get(u.key)) }));
}

async function fullSteps(basePath: string, ckpts: TrajectoryCheckpoint[], r: StepRunner): Promise<TrajectoryStepParts[]> {
  const mmap = r.options.mmap ?? true;
  const { mode } = trajectorySettings('full', r.options, r.overlapRank);
  const baseCkpt = await openCheckpoint(basePath, { mmap });
  const opened: Checkpoint[] = [];
  try {
    const parts: TrajectoryStepParts[] = [];
    let previous: { ckpt: Checkpoint; directions: Map<string, UpdateDirections> } | null = null;
    for (const [i, c] of ckpts.entries()) {
      const step = r.plan.steps[i] as TrajectoryPlan['steps'][number];
      const ckpt = await openCheckpoint(c.path, { mmap });
      opened.push(ckpt);
      const vsBase = await diffParts(baseCkpt, ckpt, { ...r.options, mode }, childOf(r, step.vsBase.run), selection(r.select(step.vsBase.run)));
      let vsPrevious: ReportParts | null = null;
      if (previous && step.vsPrevious)
        vsPrevious = await diffParts(previous.ckpt, ckpt, { ...r.options, mode, directions: false }, childOf(r, step.vsPrevious.run), selection(r.select(step.vsPrevious.run)));
      const directions = await stepDirections(r, i, fullVectorJobs(planDiff(baseCkpt, ckpt, r.options)), { base: basePath, tuned: c.path });
      parts.push({ vsBase, vsPrevious, settling: settlingOf(r, i, previous?.directions ?? null, directions) });
      previous?.ckpt.close();
      previous = { ckpt, directions };
    }
    return parts;
  } finally {
    baseCkpt.close();
    for (const c of opened) c.close();
  }
}

async function adapterSteps(basePath: string | null, ckpts: TrajectoryCheckpoint[], r: StepRunner): Promise<TrajectoryStepParts[]> {
  const { mode } = trajectorySettings('adapter', r.options, r.overlapRank);
  const baseCkpt = basePath ? await openCheckpoint(basePath, { mmap: r.options.mmap ?? true }) : undefined;
  try {
    const parts: TrajectoryStepParts[] = [];
    let previous: { adapter: Adapter; directions: Map<string, UpdateDirections> } | null = null;
    for (const [i, c] of ckpts.entries()) {
      const step = r.plan.steps[i] as TrajectoryPlan['steps'][number];
      const adapter = await openAdapter(c.path, adapterOpenOptions(r.options));
      const vsBase = await adapterParts(adapter, adapterStepOptions(r.options, mode, baseCkpt, false), childOf(r, step.vsBase.run), selection(r.select(step.vsBase.run)));
      let vsPrevious: ReportParts | null = null;
      if (previous && step.vsPrevious)
        vsPrevious = await adapterParts(adapterStepDelta(previous.adapter, adapter), adapterStepOptions(r.options, mode, baseCkpt, true), childOf(r, step.vsPrevious.run), selection(r.select(step.vsPrevious.run)));
      const directions = await stepDirections(r, i, adapterVectorJobs(adapter), { base: basePath, tuned: c.path });
      parts.push({ vsBase, vsPrevious, settling: settlingOf(r, i, previous?.directions ?? null, directions) });
      previous = { adapter, directions };
    }
    return parts;
  } finally {
    baseCkpt?.close();
  }
}

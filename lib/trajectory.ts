/**
 * `trajectory`: how a fine-tune's footprint grows over a run's saved checkpoints (docs/trajectory.md).
 * The checkpoints are put in step order (plan/trajectory-steps.ts); each is compared with the base and
 * with the previous step — full checkpoints as `diff` does, LoRA adapters as `lora` does (a step's
 * update being the low-rank product of the two adapters' factors, plan/lora/step-delta.ts) — and the
 * top singular directions of each ΔW_base→k are compared with the previous step's (results/settling.ts).
 * aggregate/trajectory.ts turns the per-step reports into series over the steps.
 *
 * Every engine run goes through the result cache: the base side (the base weights' spectra, each
 * step's ΔW vectors that the direction analysis already computed) is computed once. Without a cache
 * option the run keeps an in-memory one for itself.
 *
 * @example
 * const { report, steps } = await trajectory('base/', ['run/'], { mode: 'exact' });   // run/checkpoint-N/
 * for (const s of report.steps) console.log(s.step, s.vsBase.verdict.score, s.settling?.left.median);
 */
import { adapterRun } from './lora';
import { trajectoryBody } from './aggregate/trajectory';
import { trajectoryHeader } from './report/header';
import { type DiffOptions, diffRun, planDiff } from './diff';
import { ResultCache, withSharedCache } from './engine/cache';
import { inheritedRunOptions, reportedRank } from './engine/options';
import { runSpectra } from './engine/run';
import { isFailed, type SpectrumOptions } from './engine/types';
import { invalidArgument, ParamscopeError } from './errors';
import { loraJobs } from './plan/jobs';
import { openAdapter } from './plan/lora/open-adapter';
import { adapterStepDelta } from './plan/lora/step-delta';
import type { Adapter, OpenAdapterOptions } from './plan/lora/types';
import { type TrajectoryCheckpoint, trajectoryCheckpoints } from './plan/trajectory-steps';
import { type Checkpoint, openCheckpoint } from './read/checkpoint';
import { EventStream, phasePlan } from './report/event-stream';
import type { PlanRun } from './report/events';
import type { DiffReport } from './report/model';
import type { TrajectoryReport } from './report/trajectory-model';
import { DIRECTION_DEFAULTS } from './results/directions';
import { settling, type Settling, type UpdateDirections, updateDirections } from './results/settling';
import type { MatrixJob } from './engine/matrix-job';

/** diff's options, the adapter options of `lora`, and the top-k of the settling overlap. */
export interface TrajectoryOptions extends DiffOptions, Pick<OpenAdapterOptions, 'scale' | 'config' | 'fanInFanOut'> {
  /** How many top directions of each step's update are compared with the previous step's (default: directionRank, 16). */
  overlapRank?: number;
}

/** One step: its reports against the base and against the previous step (what the comparison report reads, like compare's arms). */
export interface TrajectoryStepResult {
  step: number;
  name: string;
  path: string;
  vsBase: DiffReport;
  vsPrevious: DiffReport | null;
}

export interface TrajectoryResult {
  report: TrajectoryReport;
  /** In step order. */
  steps: TrajectoryStepResult[];
}

/** The run names of a step's analyses in the event stream. */
export const trajectoryRunNames = (step: number, previous?: number) => ({
  vsBase: `step-${step}`,
  vsPrevious: `step-${step}-vs-${previous}`,
  directions: `step-${step}/directions`,
});

type RunOptions = TrajectoryOptions & { cache: ResultCache };

/** The engine settings of the options: without the caller's callbacks, which only the event stream calls. */
function engineSettings(options: RunOptions): SpectrumOptions & { cache: ResultCache } {
  const { onProgress: _progress, onEvent: _event, ...rest } = options;
  return rest;
}

/** What one step's work is, planned from the headers (and, for adapters, the factors). */
interface PlannedStep {
  checkpoint: TrajectoryCheckpoint;
  runs: PlanRun[];
  skipped: number;
}

/**
 * The footprint of each checkpoint of a run, in step order. `base` is the checkpoint the run started
 * from; null only for LoRA adapters analysed without it. TRAJECTORY_INVALID for no checkpoint, a missing
 * or duplicated step, full checkpoints without a base, or full checkpoints mixed with adapters.
 */
export async function trajectory(base: string | null, checkpoints: readonly string[], given: TrajectoryOptions = {}): Promise<TrajectoryResult> {
  const stream = EventStream.root(given);
  return stream.guard(async () => {
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
    return kind === 'full'
      ? fullTrajectory(base as string, ckpts, options, overlapRank, stream)
      : adapterTrajectory(base, ckpts, options, overlapRank, stream);
  });
}

/** The plan event of the whole trajectory: every step's analyses as runs of the stream. */
function planTrajectory(stream: EventStream, base: string | null, planned: PlannedStep[], mode: 'exact' | 'truncated', options: RunOptions): Map<string, number> {
  const runs = planned.flatMap((p) => p.runs);
  const role = planned[0]?.checkpoint.kind === 'adapter' ? 'adapter' as const : 'tuned' as const;
  stream.plan({
    command: 'trajectory',
    inputs: [...(base ? [{ role: 'base' as const, path: base }] : []), ...planned.map((p) => ({ role, path: p.checkpoint.path }))],
    mode, rank: reportedRank(mode, options),
    matrices: runs.reduce((s, r) => s + r.matrices, 0), skipped: planned.reduce((s, p) => s + p.skipped, 0), phases: [], runs,
  });
  const total = runs.reduce((s, r) => s + r.flops, 0);
  return new Map(runs.map((r) => [r.run, total > 0 ? r.flops / total : 1 / runs.length]));
}

const runOf = (name: string, path: string, matrices: number, phases: ReadonlyArray<{ bytes: number; flops: number }>): PlanRun =>
  ({ run: name, path, matrices, bytes: phases.reduce((s, p) => s + p.bytes, 0), flops: phases.reduce((s, p) => s + p.flops, 0) });

/** The directions of each matrix's update, from one engine run with vectors (its own stream for progress). */
async function stepDirections(jobs: MatrixJob[], options: SpectrumOptions, rank: number, stream: EventStream, inputs: { base: string | null; tuned: string }): Promise<Map<string, UpdateDirections>> {
  stream.plan({
    command: 'trajectory', inputs: [...(inputs.base ? [{ role: 'base' as const, path: inputs.base }] : []), { role: 'tuned', path: inputs.tuned }],
    mode: options.mode ?? 'truncated', rank: options.mode === 'exact' ? null : rank, matrices: 0, skipped: 0, phases: [phasePlan('vectors', jobs, options)],
  });
  const out = new Map<string, UpdateDirections>();
  for await (const o of runSpectra(jobs, { ...options, onProgress: stream.progressFor('vectors') })) {
    if (isFailed(o)) continue;
    const d = updateDirections(o, rank);
    if (d) out.set(o.name, d);
  }
  return out;
}

function settlingOf(previous: ReadonlyMap<string, UpdateDirections> | null, current: ReadonlyMap<string, UpdateDirections>): Map<string, Settling> | null {
  if (!previous) return null;
  const out = new Map<string, Settling>();
  for (const [name, d] of current) {
    const s = settling(previous.get(name), d);
    if (s) out.set(name, s);
  }
  return out;
}

async function fullTrajectory(basePath: string, ckpts: TrajectoryCheckpoint[], options: RunOptions, overlapRank: number, stream: EventStream): Promise<TrajectoryResult> {
  const mmap = options.mmap ?? true;
  const mode = options.mode ?? 'truncated';
  // As the direction analysis runs ΔW's spectrum with vectors: the same key, so it is found in the cache.
  const vectorOptions: SpectrumOptions = { mode: 'truncated', rank: overlapRank, vectors: true, ...inheritedRunOptions(engineSettings(options)) };
  const vectorJobs = (plan: { jobs: MatrixJob[] }) => plan.jobs.map((j) => ({ ...j, vectors: true }));
  const baseCkpt = await openCheckpoint(basePath, { mmap });
  const opened: Checkpoint[] = [];
  try {
    const planned: PlannedStep[] = [];
    for (const [i, c] of ckpts.entries()) {
      const names = trajectoryRunNames(c.step, ckpts[i - 1]?.step);
      const ckpt = await openCheckpoint(c.path, { mmap });
      const prev = i > 0 ? await openCheckpoint((ckpts[i - 1] as TrajectoryCheckpoint).path, { mmap }) : undefined;
      try {
        const vsBase = planDiff(baseCkpt, ckpt, { ...options, mode });
        const runs = [runOf(names.vsBase, c.path, vsBase.jobs.length, vsBase.phases)];
        if (prev) {
          const vsPrevious = planDiff(prev, ckpt, { ...options, mode, directions: false });
          runs.push(runOf(names.vsPrevious, c.path, vsPrevious.jobs.length, vsPrevious.phases));
        }
        runs.push(runOf(names.directions, c.path, 0, [phasePlan('vectors', vectorJobs(vsBase), vectorOptions)]));
        planned.push({ checkpoint: c, runs, skipped: vsBase.pairing.entries.length - vsBase.jobs.length });
      } finally {
        ckpt.close();
        prev?.close();
      }
    }
    const weights = planTrajectory(stream, basePath, planned, mode, options);
    const results: TrajectoryStepResult[] = [];
    const settled: Array<Map<string, Settling> | null> = [];
    let previous: { ckpt: Checkpoint; directions: Map<string, UpdateDirections> } | null = null;
    for (const [i, c] of ckpts.entries()) {
      const names = trajectoryRunNames(c.step, ckpts[i - 1]?.step);
      const ckpt = await openCheckpoint(c.path, { mmap });
      opened.push(ckpt);
      const vsBase = await diffRun(baseCkpt, ckpt, { ...options, mode }, stream.child(names.vsBase, weights.get(names.vsBase) ?? 0));
      const vsPrevious = previous
        ? await diffRun(previous.ckpt, ckpt, { ...options, mode, directions: false }, stream.child(names.vsPrevious, weights.get(names.vsPrevious) ?? 0))
        : null;
      const directions = await stepDirections(vectorJobs(planDiff(baseCkpt, ckpt, options)), vectorOptions, overlapRank,
        stream.child(names.directions, weights.get(names.directions) ?? 0), { base: basePath, tuned: c.path });
      settled.push(settlingOf(previous?.directions ?? null, directions));
      results.push({ step: c.step, name: c.name, path: c.path, vsBase, vsPrevious });
      previous?.ckpt.close();
      previous = { ckpt, directions };
    }
    return finish(stream, 'checkpoints', basePath, ckpts, results, settled, overlapRank, []);
  } finally {
    baseCkpt.close();
    for (const c of opened) c.close();
  }
}

async function adapterTrajectory(basePath: string | null, ckpts: TrajectoryCheckpoint[], options: RunOptions, overlapRank: number, stream: EventStream): Promise<TrajectoryResult> {
  const mode = options.mode ?? 'exact';
  const openOptions: OpenAdapterOptions = {
    ...(options.scale === undefined ? {} : { scale: options.scale }),
    ...(options.config === undefined ? {} : { config: options.config }),
    ...(options.fanInFanOut === undefined ? {} : { fanInFanOut: options.fanInFanOut }),
  };
  // As `lora` runs ΔW's vectors (exact, from the r×r core): the same key, so found in the cache with a base.
  const vectorOptions: SpectrumOptions = { ...engineSettings(options), mode: 'exact' };
  const vectorJobs = (a: Adapter) => loraJobs(a).map((j) => ({ ...j, vectors: true }));
  const spectrumOptions: SpectrumOptions = { ...engineSettings(options), mode };
  const baseCkpt = basePath ? await openCheckpoint(basePath, { mmap: options.mmap ?? true }) : undefined;
  try {
    const planned: PlannedStep[] = [];
    let before: Adapter | undefined;
    for (const [i, c] of ckpts.entries()) {
      const names = trajectoryRunNames(c.step, ckpts[i - 1]?.step);
      const adapter = await openAdapter(c.path, openOptions);
      const runs = [runOf(names.vsBase, c.path, adapter.modules.length, [phasePlan('spectra', loraJobs(adapter), spectrumOptions)])];
      if (before) {
        const delta = adapterStepDelta(before, adapter);
        runs.push(runOf(names.vsPrevious, c.path, delta.modules.length, [phasePlan('spectra', loraJobs(delta), spectrumOptions)]));
      }
      runs.push(runOf(names.directions, c.path, 0, [phasePlan('vectors', vectorJobs(adapter), vectorOptions)]));
      planned.push({ checkpoint: c, runs, skipped: adapter.fullTensors.length });
      before = adapter;
    }
    const weights = planTrajectory(stream, basePath, planned, mode, options);
    const results: TrajectoryStepResult[] = [];
    const settled: Array<Map<string, Settling> | null> = [];
    let previous: { adapter: Adapter; directions: Map<string, UpdateDirections> } | null = null;
    const withBase = baseCkpt ? { base: baseCkpt } : {};
    for (const [i, c] of ckpts.entries()) {
      const names = trajectoryRunNames(c.step, ckpts[i - 1]?.step);
      const adapter = await openAdapter(c.path, openOptions);
      const vsBase = await adapterRun(adapter, { ...options, mode, ...withBase, directions: Boolean(baseCkpt) && options.directions !== false },
        stream.child(names.vsBase, weights.get(names.vsBase) ?? 0));
      const vsPrevious = previous
        ? await adapterRun(adapterStepDelta(previous.adapter, adapter), { ...options, mode, ...withBase, directions: false }, stream.child(names.vsPrevious, weights.get(names.vsPrevious) ?? 0))
        : null;
      const directions = await stepDirections(vectorJobs(adapter), vectorOptions, overlapRank,
        stream.child(names.directions, weights.get(names.directions) ?? 0), { base: basePath, tuned: c.path });
      settled.push(settlingOf(previous?.directions ?? null, directions));
      results.push({ step: c.step, name: c.name, path: c.path, vsBase, vsPrevious });
      previous = { adapter, directions };
    }
    const notes = basePath ? [] : ['LoRA adapters without their base: ΔW = s·B·A is the update itself; relative updates (‖ΔW‖/‖W‖) need the base (pass it first)'];
    return finish(stream, 'adapter', basePath, ckpts, results, settled, overlapRank, notes);
  } finally {
    baseCkpt?.close();
  }
}

function finish(
  stream: EventStream, kind: TrajectoryReport['kind'], base: string | null, ckpts: TrajectoryCheckpoint[], results: TrajectoryStepResult[],
  settled: Array<Map<string, Settling> | null>, overlapRank: number, notes: string[],
): TrajectoryResult {
  const first = (results[0] as TrajectoryStepResult).vsBase.options;
  const report: TrajectoryReport = { ...trajectoryHeader(), ...trajectoryBody({
    kind, base, notes,
    options: { mode: first.mode, rank: first.rank, directions: first.directions, overlapRank },
    steps: results.map((r, i) => ({ checkpoint: ckpts[i] as TrajectoryCheckpoint, vsBase: r.vsBase, vsPrevious: r.vsPrevious, settling: settled[i] ?? null })),
  }) };
  stream.summary(report);
  return { report, steps: results };
}

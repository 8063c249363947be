/**
 * A trajectory's whole plan, from the headers (and, for adapters, the factors): per step the runs of its
 * update against the base (`step-N`), against the previous step (`step-N-vs-M`) and of its directions
 * (`step-N/directions`), each with its jobs, its units of work for `--shard` and its phases for the
 * event stream. A single run and every shard compute this same plan; a shard takes its units
 * (selectShard over the units of every step together, as `compare` balances its fine-tunes).
 *
 * The units: a matrix of a step's update against the base (with its direction spectra, as `diff`'s
 * unit; an adapter module with its base weight's spectrum and its vectors, as `lora`'s), a matrix of the
 * update against the previous step, and a matrix's settling at a step (from the second step: the top
 * directions of ΔW_base→k against ΔW_base→(k−1), so the vectors of both steps). The directions run of a
 * step computes the vectors its own settling units and the next step's need; a settling unit is costed
 * with both steps' vectors, which a shard computes when it holds that matrix's settling at step k but
 * not at step k−1 (served from a shared result cache when another shard stored them, docs/cache.md).
 */
import { type DiffOptions, narrowDiffPlan, planDiff } from './diff';
import type { ResultCache } from './engine/cache';
import type { MatrixJob } from './engine/matrix-job';
import { costSettings, inheritedRunOptions } from './engine/options';
import type { SpectrumOptions } from './engine/types';
import { type AdapterOptions, planAdapter } from './lora';
import { jobCost } from './plan/cost';
import { loraJobs } from './plan/jobs';
import { openAdapter } from './plan/lora/open-adapter';
import { adapterStepDelta } from './plan/lora/step-delta';
import type { Adapter, OpenAdapterOptions } from './plan/lora/types';
import { planIdentity } from './plan/plan-identity';
import { selectShard, type ShardSpec, type ShardUnit } from './plan/shard';
import type { TrajectoryCheckpoint } from './plan/trajectory-steps';
import { type Checkpoint, openCheckpoint } from './read/checkpoint';
import { phasePlan } from './report/event-stream';
import type { PlanPhase, PlanRun } from './report/events';
import { adapterUnits, diffPlanOptions, diffUnits, numericOptions, selectionOptions } from './shard';

/** diff's options, the adapter options of `lora`, and the top-k of the settling overlap. */
export interface TrajectoryOptions extends DiffOptions, Pick<OpenAdapterOptions, 'scale' | 'config' | 'fanInFanOut'> {
  /** How many top directions of each step's update are compared with the previous step's (default: directionRank, 16). */
  overlapRank?: number;
}

export type RunOptions = TrajectoryOptions & { cache: ResultCache };

/** The run names of a step's analyses in the event stream and in a partial report. */
export const trajectoryRunNames = (step: number, previous?: number) => ({
  vsBase: `step-${step}`,
  vsPrevious: `step-${step}-vs-${previous}`,
  directions: `step-${step}/directions`,
});

/** The engine settings of the options: without the caller's callbacks, which only the event stream calls. */
export function engineSettings(options: RunOptions): SpectrumOptions & { cache: ResultCache } {
  const { onProgress: _progress, onEvent: _event, ...rest } = options;
  return rest;
}

/** One run of a step: its units (keys: matrix names, in report order), its jobs, and its phases for the matrices chosen. */
export interface PlannedRun {
  run: string;
  path: string;
  units: ShardUnit[];
  jobs: MatrixJob[];
  phases: (only: ReadonlySet<string> | undefined) => PlanPhase[];
}

export interface PlannedStep {
  checkpoint: TrajectoryCheckpoint;
  vsBase: PlannedRun;
  vsPrevious: PlannedRun | null;
  /** The settling units (null for the first step). */
  settling: PlannedRun | null;
  /** The directions run: the vectors of the step's update, for the matrices its settling and the next step's need. */
  directions: { run: string; phases: (need: ReadonlySet<string> | undefined) => PlanPhase[] };
  skipped: number;
}

export interface TrajectoryPlan {
  steps: PlannedStep[];
  id: string;
  units: number;
}

/** Per run, the matrices this run computes (undefined: all of them — a single run). */
export type TrajectorySelection = (run: string) => ReadonlySet<string> | undefined;

/** What a trajectory's engine runs use: the modes, and the vectors run's settings (the cache keys of the direction analysis / of `lora`). */
export function trajectorySettings(kind: TrajectoryCheckpoint['kind'], options: RunOptions, overlapRank: number) {
  const mode = options.mode ?? (kind === 'full' ? 'truncated' : 'exact');
  // As the direction analysis runs ΔW's spectrum with vectors (full), or as `lora` runs ΔW's vectors
  // (exact, from the r×r core): the same key, so found in the cache.
  const vectorOptions: SpectrumOptions = kind === 'full'
    ? { mode: 'truncated', rank: overlapRank, vectors: true, ...inheritedRunOptions(engineSettings(options)) }
    : { ...engineSettings(options), mode: 'exact' };
  return { mode, vectorOptions };
}

export const fullVectorJobs = (plan: { jobs: MatrixJob[] }): MatrixJob[] => plan.jobs.map((j) => ({ ...j, vectors: true }));
export const adapterVectorJobs = (a: Adapter): MatrixJob[] => loraJobs(a).map((j) => ({ ...j, vectors: true }));

export const adapterOpenOptions = (options: TrajectoryOptions): OpenAdapterOptions => ({
  ...(options.scale === undefined ? {} : { scale: options.scale }),
  ...(options.config === undefined ? {} : { config: options.config }),
  ...(options.fanInFanOut === undefined ? {} : { fanInFanOut: options.fanInFanOut }),
});

/** The adapter analysis options of a step's update against the base, or (`previous`) against the previous step. */
export function adapterStepOptions(options: RunOptions, mode: 'exact' | 'truncated', base: Checkpoint | undefined, previous: boolean): AdapterOptions {
  return { ...options, mode, ...(base ? { base } : {}), directions: !previous && Boolean(base) && options.directions !== false };
}

const only = <T extends { name: string }>(jobs: readonly T[], names: ReadonlySet<string> | undefined) => (names ? jobs.filter((j) => names.has(j.name)) : [...jobs]);

/** The settling units of a step: the matrices with vectors at both steps, each costed with both. */
function settlingRun(name: string, path: string, current: MatrixJob[], previous: MatrixJob[], vectorOptions: SpectrumOptions): PlannedRun {
  const settings = costSettings(vectorOptions);
  const before = new Map(previous.map((j) => [j.name, j]));
  const jobs = current.filter((j) => before.has(j.name));
  const units = jobs.map((j) => {
    const a = jobCost(j, settings), b = jobCost(before.get(j.name) as MatrixJob, settings);
    return { key: j.name, cost: { bytes: a.bytes + b.bytes, flops: a.flops + b.flops } };
  });
  return { run: name, path, units, jobs, phases: (names) => [phasePlan('vectors', only(jobs, names), vectorOptions)] };
}

function directionsRun(name: string, jobs: MatrixJob[], vectorOptions: SpectrumOptions): PlannedStep['directions'] {
  return { run: name, phases: (need) => [phasePlan('vectors', only(jobs, need), vectorOptions)] };
}

async function planFullSteps(basePath: string, ckpts: TrajectoryCheckpoint[], options: RunOptions, overlapRank: number): Promise<{ steps: PlannedStep[]; planOptions: Record<string, unknown> }> {
  const mmap = options.mmap ?? true;
  const { mode, vectorOptions } = trajectorySettings('full', options, overlapRank);
  const settings = engineSettings(options);
  const baseCkpt = await openCheckpoint(basePath, { mmap });
  const steps: PlannedStep[] = [];
  let planOptions: Record<string, unknown> = {};
  let previousVectors: MatrixJob[] = [];
  try {
    for (const [i, c] of ckpts.entries()) {
      const names = trajectoryRunNames(c.step, ckpts[i - 1]?.step);
      const ckpt = await openCheckpoint(c.path, { mmap });
      const prev = i > 0 ? await openCheckpoint((ckpts[i - 1] as TrajectoryCheckpoint).path, { mmap }) : undefined;
      try {
        const baseOptions = { ...settings, mode };
        const vsBase = planDiff(baseCkpt, ckpt, baseOptions);
        planOptions = diffPlanOptions(vsBase, baseOptions);
        const diffRun = (run: string, plan: typeof vsBase, opts: DiffOptions): PlannedRun => ({
          run, path: c.path, units: diffUnits(plan, opts), jobs: plan.jobs, phases: (names) => (names ? narrowDiffPlan(plan, names, opts) : plan).phases,
        });
        const previousOptions = { ...settings, mode, directions: false };
        const vectors = fullVectorJobs(vsBase);
        steps.push({
          checkpoint: c,
          vsBase: diffRun(names.vsBase, vsBase, baseOptions),
          vsPrevious: prev ? diffRun(names.vsPrevious, planDiff(prev, ckpt, previousOptions), previousOptions) : null,
          settling: prev ? settlingRun(names.directions, c.path, vectors, previousVectors, vectorOptions) : null,
          directions: directionsRun(names.directions, vectors, vectorOptions),
          skipped: vsBase.pairing.entries.length - vsBase.jobs.length,
        });
        previousVectors = vectors;
      } finally {
        ckpt.close();
        prev?.close();
      }
    }
  } finally {
    baseCkpt.close();
  }
  return { steps, planOptions: { ...planOptions, vectors: numericOptions(vectorOptions) } };
}

async function planAdapterSteps(basePath: string | null, ckpts: TrajectoryCheckpoint[], options: RunOptions, overlapRank: number): Promise<{ steps: PlannedStep[]; planOptions: Record<string, unknown> }> {
  const { mode, vectorOptions } = trajectorySettings('adapter', options, overlapRank);
  const baseCkpt = basePath ? await openCheckpoint(basePath, { mmap: options.mmap ?? true }) : undefined;
  const steps: PlannedStep[] = [];
  let planOptions: Record<string, unknown> = {};
  try {
    let before: Adapter | undefined;
    let previousVectors: MatrixJob[] = [];
    for (const [i, c] of ckpts.entries()) {
      const names = trajectoryRunNames(c.step, ckpts[i - 1]?.step);
      const adapter = await openAdapter(c.path, adapterOpenOptions(options));
      const adapterRun = (run: string, a: Adapter, previous: boolean): PlannedRun => {
        const planned = planAdapter(a, baseCkpt, adapterStepOptions(options, mode, baseCkpt, previous));
        const runs = planned.plan.runs;
        if (!previous) planOptions = Object.fromEntries(runs.map((r) => [r.phase, numericOptions(r.options)]));
        return {
          run, path: c.path, units: adapterUnits(planned.plan), jobs: runs.flatMap((r) => r.jobs),
          phases: (names) => runs.map((r) => phasePlan(r.phase, only(r.jobs, names), r.options)),
        };
      };
      const vectors = adapterVectorJobs(adapter);
      steps.push({
        checkpoint: c,
        vsBase: adapterRun(names.vsBase, adapter, false),
        vsPrevious: before ? adapterRun(names.vsPrevious, adapterStepDelta(before, adapter), true) : null,
        settling: before ? settlingRun(names.directions, c.path, vectors, previousVectors, vectorOptions) : null,
        directions: directionsRun(names.directions, vectors, vectorOptions),
        skipped: adapter.fullTensors.length,
      });
      before = adapter;
      previousVectors = vectors;
    }
  } finally {
    baseCkpt?.close();
  }
  return { steps, planOptions: { ...planOptions, vectors: numericOptions(vectorOptions), selection: selectionOptions(options), hasBase: basePath !== null } };
}

/** A unit's key across the runs of the plan: [run, matrix] as JSON, unambiguous whatever the names hold. */
export const unitKey = (run: string, name: string) => JSON.stringify([run, name]);

/** The runs of a step that have units, in partial-report order. */
export const unitRuns = (s: PlannedStep): PlannedRun[] => [s.vsBase, ...(s.vsPrevious ? [s.vsPrevious] : []), ...(s.settling ? [s.settling] : [])];

/** The whole plan of a trajectory, its identity (over every run's jobs and the options) and its units. */
export async function planTrajectory(base: string | null, ckpts: TrajectoryCheckpoint[], options: RunOptions, overlapRank: number): Promise<TrajectoryPlan> {
  const kind = (ckpts[0] as TrajectoryCheckpoint).kind;
  const { steps, planOptions } = kind === 'full'
    ? await planFullSteps(base as string, ckpts, options, overlapRank)
    : await planAdapterSteps(base, ckpts, options, overlapRank);
  const runs = steps.flatMap(unitRuns);
  const id = planIdentity({
    command: 'trajectory',
    runs: runs.map((r) => ({ run: r.run, jobs: r.jobs })),
    options: { ...planOptions, kind, overlapRank, steps: ckpts.map((c) => c.step) },
  });
  return { steps, id, units: runs.reduce((s, r) => s + r.units.length, 0) };
}

/** The selection of shard `shard` of the plan: its units over every step's runs, balanced together. */
export function trajectorySelection(plan: TrajectoryPlan, shard: ShardSpec): TrajectorySelection {
  const runs = plan.steps.flatMap(unitRuns);
  const chosen = selectShard(runs.flatMap((r) => r.units.map((u) => ({ key: unitKey(r.run, u.key), cost: u.cost }))), shard);
  const byRun = new Map(runs.map((r) => [r.run, new Set(r.units.filter((u) => chosen.has(unitKey(r.run, u.key))).map((u) => u.key))]));
  return (run) => byRun.get(run) ?? new Set();
}

/** The stream's plan runs of the matrices `select` chooses. */
export function planRuns(plan: TrajectoryPlan, select: TrajectorySelection): PlanRun[] {
  const runOf = (name: string, path: string, matrices: number, phases: ReadonlyArray<{ bytes: number; flops: number }>): PlanRun =>
    ({ run: name, path, matrices, bytes: phases.reduce((s, p) => s + p.bytes, 0), flops: phases.reduce((s, p) => s + p.flops, 0) });
  return plan.steps.flatMap((s, i) => {
    const count = (r: PlannedRun) => select(r.run)?.size ?? r.units.length;
    const runs = [runOf(s.vsBase.run, s.checkpoint.path, count(s.vsBase), s.vsBase.phases(select(s.vsBase.run)))];
    if (s.vsPrevious) runs.push(runOf(s.vsPrevious.run, s.checkpoint.path, count(s.vsPrevious), s.vsPrevious.phases(select(s.vsPrevious.run))));
    runs.push(runOf(s.directions.run, s.checkpoint.path, 0, s.directions.phases(vectorNeed(plan, i, select))));
    return runs;
  });
}

/** The matrices whose vectors step i's directions run computes: its settling's and the next step's (undefined: all). */
export function vectorNeed(plan: TrajectoryPlan, i: number, select: TrajectorySelection): ReadonlySet<string> | undefined {
  const own = plan.steps[i]?.settling, next = plan.steps[i + 1]?.settling;
  const sets = [own ? select(own.run) : new Set<string>(), next ? select(next.run) : new Set<string>()];
  if (sets.some((s) => s === undefined)) return undefined;
  return new Set(sets.flatMap((s) => [...(s as ReadonlySet<string>)]));
}

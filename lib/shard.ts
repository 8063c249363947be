/**
 * Sharded runs: `analyze`, `diff`, the adapter analysis and `compare` computing shard i of N of their
 * plan (plan/shard.ts) and returning it as a partial report (report/partial.ts) for `merge`
 * (lib/merge.ts). Each plans the whole run from the headers, as a single run does, balances its units
 * by estimated cost, computes its own units through the verb's own code (diffParts, adapterParts,
 * analysisTensors) and records the plan's identity (plan/plan-identity.ts) and what it covers.
 *
 * The units: a matrix of `analyze` and `diff` (with its three direction spectra when the direction
 * analysis runs), an adapter module (its low-rank spectrum, its base weight's and the vectors run), and
 * for `compare` each fine-tune's matrices, balanced over all fine-tunes together. `trajectory` shards
 * through its own code path (lib/trajectory.ts, trajectoryShard), with these units per step.
 *
 * @example
 * const part = await diffShard('base/', 'tuned/', { index: 0, count: 3 }, { rank: 64 });
 * // … the other shards, anywhere; then: const { report } = await merge([...files]);
 */
import { type AnalyzeOptions, analysisFrame, analysisTensors } from './analyze';
import { armNames, type CompareOptions, compareResult, compareSummary } from './compare';
import { type DiffOptions, type DiffPlan, diffParts, planDiff } from './diff';
import type { MatrixJob } from './engine/matrix-job';
import { type RunEstimate, scheduledSeconds } from './estimate';
import { costSettings, engineOptions } from './engine/options';
import type { SpectrumOptions } from './engine/types';
import { invalidArgument } from './errors';
import { type AdapterOptions, type AdapterPlan, adapterParts } from './lora';
import { planAnalysis } from './plan/analysis-plan';
import { type JobCost, jobCost } from './plan/cost';
import { analysisJobs, directionJobs } from './plan/jobs';
import type { Adapter } from './plan/lora/types';
import type { PairingEntry } from './plan/pairing-entry';
import { planIdentity } from './plan/plan-identity';
import { balanceShards, checkShard, selectShard, type ShardSpec, type ShardUnit } from './plan/shard';
import { type Checkpoint, openCheckpoint } from './read/checkpoint';
import { assembleAnalysis, assembleReport, type ReportParts } from './report/assemble';
import { analysisSummary, diffSummary, EventStream } from './report/event-stream';
import type { PartialReport, PartialRun } from './report/partial';
import { partialReport } from './report/partial';
import type { TensorAnalysis } from './report/model';

export type { ShardSpec } from './plan/shard';

/** The engine options that change the numbers (defaults filled in): threads, memory and backend do not. */
export function numericOptions(options: Omit<SpectrumOptions, 'onProgress'>): Record<string, unknown> {
  const { mode, rank, oversampling, powerIterations, tolerance, maxIterations, seed, precision, exactRoute, vectors } = engineOptions(options);
  return { mode, rank, oversampling, powerIterations, tolerance, maxIterations, seed, precision, exactRoute, vectors };
}

/** Name selection options, as plain JSON (they change which matrices there are). */
export const selectionOptions = (o: { include?: unknown; exclude?: unknown; component?: unknown; map?: unknown }) =>
  ({ include: o.include ?? [], exclude: o.exclude ?? [], component: o.component ?? null, map: o.map ?? [] });

const plus = (a: JobCost, b: JobCost): JobCost => ({ bytes: a.bytes + b.bytes, flops: a.flops + b.flops });

/** A diff plan's units: each matrix, with its direction spectra when the direction analysis runs. */
export function diffUnits(plan: DiffPlan, options: Omit<SpectrumOptions, 'onProgress'>): ShardUnit[] {
  const spectra = costSettings({ ...options, mode: plan.mode });
  const directions = costSettings({ ...options, mode: 'truncated', rank: plan.directions.rank, vectors: true });
  const entries = new Map(plan.pairing.entries.map((e) => [e.name, e]));
  return plan.jobs.map((job) => {
    let cost = jobCost(job, spectra);
    // Summed job by job in the order the plan lists them (shardEstimate adds them up alike).
    if (plan.directions.enabled) for (const d of directionJobs(plan.pairing, [entries.get(job.name) as PairingEntry])) cost = plus(cost, jobCost(d, directions));
    return { key: job.name, cost };
  });
}

/** An adapter plan's units: each module, with its base weight's spectrum and its vectors run. */
export function adapterUnits(plan: AdapterPlan): ShardUnit[] {
  const cost = new Map<string, JobCost>(plan.adapter.modules.map((m) => [m.name, { bytes: 0, flops: 0 }]));
  for (const run of plan.runs) {
    const settings = costSettings(run.options);
    for (const job of run.jobs) cost.set(job.name, plus(cost.get(job.name) ?? { bytes: 0, flops: 0 }, jobCost(job, settings)));
  }
  return plan.adapter.modules.map((m) => ({ key: m.name, cost: cost.get(m.name) as JobCost }));
}

/** One shard of an estimate: its matrices, what they read and compute, and its time on the estimate's machine. */
export interface ShardEstimate {
  index: number;
  matrices: number;
  bytes: number;
  flops: number;
  /** Its jobs on the estimate's lanes, largest first (null without calibration). */
  seconds: number | null;
  /** The largest matrix of the shard. */
  largest: string | null;
  /** Its matrices, in plan order (what `--shard index/count` computes). */
  names: string[];
}

/**
 * How the run `estimate` describes falls on `count` shards: the same units and balance as `--shard`
 * (a matrix with its direction jobs), each shard's totals and time. `paramscope plan --shards N`.
 */
export function shardEstimates(e: RunEstimate, count: number): ShardEstimate[] {
  const matrixOf = (name: string) => name.replace(/#(update|base|tuned)$/, '');
  const units = new Map<string, { cost: JobCost; seconds: number[] }>();
  for (const job of e.jobs) {
    const key = job.phase === 'directions' ? matrixOf(job.name) : job.name;
    const unit = units.get(key) ?? { cost: { bytes: 0, flops: 0 }, seconds: [] };
    unit.cost = units.has(key) ? plus(unit.cost, job) : { bytes: job.bytes, flops: job.flops };
    if (job.seconds !== null) unit.seconds.push(job.seconds);
    units.set(key, unit);
  }
  const { shards } = balanceShards([...units].map(([key, u]) => ({ key, cost: u.cost })), count);
  return shards.map((s, index) => {
    const own = s.keys.map((k) => units.get(k) as { cost: JobCost; seconds: number[] });
    const largest = s.keys.reduce<string | null>((best, k) => (best === null || (units.get(k)?.cost.flops ?? 0) > (units.get(best)?.cost.flops ?? 0) ? k : best), null);
    return {
      index, matrices: s.keys.length,
      bytes: own.reduce((t, u) => t + u.cost.bytes, 0), flops: own.reduce((t, u) => t + u.cost.flops, 0),
      seconds: e.totals.seconds === null ? null : scheduledSeconds(own.flatMap((u) => u.seconds), e.lanes),
      largest,
      names: s.keys,
    };
  });
}

export function diffPlanOptions(plan: DiffPlan, options: DiffOptions): Record<string, unknown> {
  return {
    spectra: numericOptions({ ...options, mode: plan.mode }),
    directions: { enabled: plan.directions.enabled, rank: plan.directions.rank, intruderThreshold: options.intruderThreshold ?? null },
    selection: selectionOptions(options),
  };
}

export function diffRunOf(run: string | null, path: string | null, order: string[], parts: ReportParts): PartialRun {
  const { pairs, ...frame } = parts;
  return { run, path, order, covers: pairs.map((p) => p.name), frame: frame as unknown as Record<string, unknown>, results: pairs as unknown as Array<Record<string, unknown>> };
}

/** Shard `shard` of {@link diff}'s plan, as a partial report. */
export async function diffShard(base: string | Checkpoint, tuned: string | Checkpoint, shard: ShardSpec, options: DiffOptions = {}): Promise<PartialReport> {
  checkShard(shard);
  const stream = EventStream.root(options);
  return stream.guard(async () => {
    let id = '', order: string[] = [];
    const parts = await diffParts(base, tuned, options, stream, (plan) => {
      order = plan.jobs.map((j) => j.name);
      id = planIdentity({ command: 'diff', runs: [{ run: null, jobs: plan.jobs }], options: diffPlanOptions(plan, options) });
      return selectShard(diffUnits(plan, options), shard);
    });
    stream.summary(diffSummary(assembleReport(parts)));
    return partialReport({ command: 'diff', shard, plan: { id, units: order.length }, base: null, runs: [diffRunOf(null, null, order, parts)] });
  });
}

/** Shard `shard` of {@link analyzeAdapter}'s plan (an adapter path or an opened Adapter), as a partial report. */
export async function adapterShard(adapter: string | Adapter, shard: ShardSpec, options: AdapterOptions = {}): Promise<PartialReport> {
  checkShard(shard);
  const stream = EventStream.root(options);
  return stream.guard(async () => {
    let id = '', order: string[] = [];
    const parts = await adapterParts(adapter, options, stream, (plan) => {
      order = plan.adapter.modules.map((m) => m.name);
      id = planIdentity({
        command: 'lora',
        runs: plan.runs.map((r) => ({ run: r.phase, jobs: r.jobs })),
        options: { ...Object.fromEntries(plan.runs.map((r) => [r.phase, numericOptions(r.options)])), selection: selectionOptions(options) },
      });
      return selectShard(adapterUnits(plan), shard);
    });
    stream.summary(diffSummary(assembleReport(parts)));
    return partialReport({ command: 'lora', shard, plan: { id, units: order.length }, base: null, runs: [diffRunOf(null, null, order, parts)] });
  });
}

/** Shard `shard` of {@link analyzeCheckpoint}'s plan, as a partial report. */
export async function analyzeShard(checkpoint: string | Checkpoint, shard: ShardSpec, options: AnalyzeOptions = {}): Promise<PartialReport> {
  checkShard(shard);
  const stream = EventStream.root(options);
  return stream.guard(async () => {
    const ckpt = typeof checkpoint === 'string' ? await openCheckpoint(checkpoint, { mmap: options.mmap ?? true }) : checkpoint;
    try {
      const plan = planAnalysis(ckpt, options);
      const jobs = analysisJobs(ckpt, plan.matrices);
      const { onProgress: _progress, ...spectrumOptions } = options;
      const settings = costSettings(spectrumOptions);
      const only = selectShard(jobs.map((j) => ({ key: j.name, cost: jobCost(j, settings) })), shard);
      const id = planIdentity({ command: 'analyze', runs: [{ run: null, jobs }], options: { spectra: numericOptions(options), selection: selectionOptions(options) } });
      const tensors: TensorAnalysis[] = [];
      for await (const t of analysisTensors(ckpt, { ...plan, matrices: plan.matrices.filter((m) => only.has(m.name)) }, options, stream)) tensors.push(t);
      const frame = analysisFrame(ckpt, options, plan);
      stream.summary(analysisSummary(assembleAnalysis(frame, tensors)));
      const order = jobs.map((j) => j.name);
      return partialReport({
        command: 'analyze', shard, plan: { id, units: order.length }, base: null,
        runs: [{ run: null, path: null, order, covers: tensors.map((t) => t.name), frame: frame as unknown as Record<string, unknown>, results: tensors as unknown as Array<Record<string, unknown>> }],
      });
    } finally {
      if (typeof checkpoint === 'string') ckpt.close();
    }
  });
}

/** Shard `shard` of {@link compare}'s plan — every fine-tune's matrices balanced together — as a partial report. */
export async function compareShard(base: string, tuned: readonly string[], shard: ShardSpec, options: CompareOptions = {}): Promise<PartialReport> {
  checkShard(shard);
  const stream = EventStream.root(options);
  return stream.guard(async () => {
    if (!Array.isArray(tuned) || tuned.length === 0) invalidArgument('compare: tuned', 'at least one fine-tune', tuned);
    const names = armNames(tuned);
    const armOptions = { ...options, mode: options.mode ?? 'truncated' };
    // Unit keys are [fine-tune, matrix] as JSON: unambiguous whatever the names hold.
    const keyOf = (arm: string, name: string) => JSON.stringify([arm, name]);
    const units: ShardUnit[] = [];
    const arms: Array<{ run: string; path: string; jobs: MatrixJob[]; units: ShardUnit[] }> = [];
    let planOptions: Record<string, unknown> = {};
    const baseCkpt = await openCheckpoint(base, { mmap: options.mmap ?? true });
    try {
      for (const [i, path] of tuned.entries()) {
        const tunedCkpt = await openCheckpoint(path, { mmap: options.mmap ?? true });
        try {
          const plan = planDiff(baseCkpt, tunedCkpt, armOptions);
          const run = names[i] as string;
          const own = diffUnits(plan, armOptions).map((u) => ({ key: keyOf(run, u.key), cost: u.cost }));
          units.push(...own);
          arms.push({ run, path, jobs: plan.jobs, units: own });
          planOptions = diffPlanOptions(plan, armOptions);
        } finally {
          tunedCkpt.close();
        }
      }
    } finally {
      baseCkpt.close();
    }
    // The identity reads only the checkpoints' tensor tables, which outlive closing them.
    const id = planIdentity({ command: 'compare', runs: arms.map((a) => ({ run: a.run, jobs: a.jobs })), options: planOptions });
    const only = selectShard(units, shard);
    const flopsOf = (list: readonly ShardUnit[]) => list.reduce((s, u) => s + (only.has(u.key) ? u.cost.flops : 0), 0);
    const total = flopsOf(units);
    const runs: PartialRun[] = [];
    const reports = [];
    for (const arm of arms) {
      const order = arm.jobs.map((j) => j.name);
      const mine = new Set(order.filter((name) => only.has(keyOf(arm.run, name))));
      const parts = await diffParts(base, arm.path, armOptions, stream.child(arm.run, total > 0 ? flopsOf(arm.units) / total : 1 / arms.length), () => mine);
      runs.push(diffRunOf(arm.run, arm.path, order, parts));
      reports.push({ name: arm.run, path: arm.path, report: assembleReport(parts) });
    }
    stream.summary(compareSummary(compareResult(base, reports)));
    return partialReport({ command: 'compare', shard, plan: { id, units: units.length }, base, runs });
  });
}

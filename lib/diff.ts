/**
 * `diff`: what a fine-tune did to a model's parameters. Pairs the base and tuned checkpoints by name
 * (plan/pairing.ts), computes the spectrum of every ΔW = W_tuned − W_base on the native engine, and reports
 * per pair the spectral metrics of ΔW, the relative update ‖ΔW‖_F/‖W_base‖_F, how much of ΔW rises above
 * the storage-noise floor of the two dtypes (results/noise.ts), optionally how ΔW's directions relate to
 * W_base's (results/direction-analysis.ts), then aggregates per layer / module / depth / component and
 * gives the regime verdict (aggregate/pairs.ts, aggregate/regime.ts).
 *
 * @example
 * const report = await diff('base/', 'tuned/', { mode: 'truncated', rank: 64 });
 * console.log(report.verdict.label, report.verdict.score);
 */
import { reportedRank } from './engine/options';
import { runSpectra } from './engine/run';
import { type CacheOptions, withSharedCache } from './engine/cache';
import { isFailed, type SpectrumOptions } from './engine/types';
import { invalidArgument, ParamscopeError } from './errors';
import { diffJobs, directionJobs } from './plan/jobs';
import type { MatrixJob } from './engine/matrix-job';
import { pairCheckpoints } from './plan/pairing';
import { logicalView } from './plan/layouts/logical';
import { type PairingEntry, type PairingOptions, type PairingReport, quantizedSide, sideName } from './plan/pairing-entry';
import { type Checkpoint, checkpointArgument } from './read/checkpoint';
import { assembleReport, type ReportParts } from './report/assemble';
import { diffSummary, EventStream, phasePlan } from './report/event-stream';
import type { EventOptions, PlanPhase } from './report/events';
import type { DiffReport, PairResult } from './report/model';
import { analyzeDirections, resolveDirections } from './results/direction-analysis';
import { DIRECTION_DEFAULTS } from './results/directions';
import { pairResult } from './results/pair-result';
import { vectorChanges } from './results/vector-changes';

/**
 * `map`, `include`, `exclude`: how the tensors are paired (plan/pairing.ts); `component`: compare only
 * the matrices of these components ('vision', 'language', …; plan/modules.ts). `onEvent` gets the event
 * stream (docs/events.md); `onProgress` its progress events.
 */
export interface DiffOptions extends Omit<SpectrumOptions, 'onProgress'>, CacheOptions, Pick<PairingOptions, 'map' | 'include' | 'exclude' | 'component'>, EventOptions {
  /**
   * Compare ΔW's and W_tuned's top singular directions with W_base's (subspace overlap, intruder
   * dimensions). Costs three more truncated spectra per matrix. 'auto' (default): on when the base is
   * at most 1 GB.
   */
  directions?: boolean | 'auto';
  /** How many directions to compare (default 16). */
  directionRank?: number;
  /** |cosine| below which a tuned direction is an intruder (default 0.5). */
  intruderThreshold?: number;
  mmap?: boolean;
}

/** `diff` computes truncated spectra unless told otherwise: full checkpoints are large. */
const DIFF_DEFAULT_MODE = 'truncated';

/** What a diff of two open checkpoints will compute, from their headers. */
export interface DiffPlan {
  pairing: PairingReport;
  jobs: MatrixJob[];
  /** The direction analysis's jobs (three spectra per matrix; empty when it does not run). */
  directionJobs: MatrixJob[];
  mode: 'exact' | 'truncated';
  directions: { enabled: boolean; rank: number; reason: string };
  phases: PlanPhase[];
}

/**
 * Pairs the checkpoints and plans the engine runs. Throws ARCHITECTURE_MISMATCH / EMPTY_PAIRING when
 * there is nothing meaningful to compare, INVALID_ARGUMENT for options out of range.
 */
export function planDiff(baseCkpt: Checkpoint, tunedCkpt: Checkpoint, options: DiffOptions = {}): DiffPlan {
  const { directionRank } = directionSettings(options);
  const pairing = pairCheckpoints(baseCkpt, tunedCkpt, { map: options.map, include: options.include, exclude: options.exclude, component: options.component });
  const jobs = diffJobs(pairing);
  if (jobs.length === 0)
    throw new ParamscopeError(`no matrix pairs to compare between ${baseCkpt.path} and ${tunedCkpt.path}`, { code: 'EMPTY_PAIRING', file: tunedCkpt.path });
  const mode = options.mode ?? DIFF_DEFAULT_MODE;
  const dirs = resolveDirections(options.directions ?? 'auto', baseCkpt);
  const phases = [phasePlan('spectra', jobs, { ...options, mode })];
  let directionList: MatrixJob[] = [];
  if (dirs.enabled) {
    const entries = new Map(pairing.entries.map((e) => [e.name, e]));
    directionList = directionJobs(pairing, jobs.map((j) => entries.get(j.name) as PairingEntry));
    phases.push(phasePlan('directions', directionList, { ...options, mode: 'truncated', rank: directionRank, vectors: true }));
  }
  return { pairing, jobs, directionJobs: directionList, mode, directions: { enabled: dirs.enabled, rank: directionRank, reason: dirs.reason }, phases };
}

function directionSettings(options: DiffOptions): { directionRank: number; threshold: number } {
  const directionRank = options.directionRank ?? DIRECTION_DEFAULTS.rank;
  const threshold = options.intruderThreshold ?? DIRECTION_DEFAULTS.intruderThreshold;
  if (!Number.isSafeInteger(directionRank) || directionRank < 1) invalidArgument('directionRank', 'a positive integer', directionRank);
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold < 1)) invalidArgument('intruderThreshold', 'a number in (0, 1)', threshold);
  return { directionRank, threshold };
}

/**
 * Compares two checkpoints (paths or open Checkpoints). Paths are opened here and closed at the end.
 * Throws ARCHITECTURE_MISMATCH / EMPTY_PAIRING when there is nothing meaningful to compare.
 */
export async function diff(base: string | Checkpoint, tuned: string | Checkpoint, options: DiffOptions = {}): Promise<DiffReport> {
  const stream = EventStream.root(options);
  return stream.guard(() => diffRun(base, tuned, options, stream));
}

/** {@link diff} emitting its events on `stream` (a child stream when it is one run of several). */
export async function diffRun(base: string | Checkpoint, tuned: string | Checkpoint, options: DiffOptions, stream: EventStream): Promise<DiffReport> {
  const report = assembleReport(await diffParts(base, tuned, options, stream));
  stream.summary(diffSummary(report));
  return report;
}

/**
 * Chooses, from the whole plan, the matrices this run computes (a shard's: lib/shard.ts); the others are
 * left out of its jobs, its events and its pairs.
 */
export type DiffSelection = (plan: DiffPlan) => ReadonlySet<string>;

/** The plan narrowed to the matrices named in `only`: their jobs, direction jobs and phases. */
export function narrowDiffPlan(plan: DiffPlan, only: ReadonlySet<string>, options: DiffOptions): DiffPlan {
  const jobs = plan.jobs.filter((j) => only.has(j.name));
  const entries = new Map(plan.pairing.entries.map((e) => [e.name, e]));
  const directionList = plan.directions.enabled ? directionJobs(plan.pairing, jobs.map((j) => entries.get(j.name) as PairingEntry)) : [];
  const phases = [phasePlan('spectra', jobs, { ...options, mode: plan.mode })];
  if (plan.directions.enabled) phases.push(phasePlan('directions', directionList, { ...options, mode: 'truncated', rank: plan.directions.rank, vectors: true }));
  return { ...plan, jobs, directionJobs: directionList, phases };
}

/**
 * What a diff computes before its report is assembled: the parts of {@link assembleReport}, the pairs in
 * job order. A single run assembles them at once ({@link diffRun}); a shard writes them to its partial
 * report and the merge assembles every shard's together, through the same assembleReport.
 */
export async function diffParts(base: string | Checkpoint, tuned: string | Checkpoint, given: DiffOptions, stream: EventStream, select?: DiffSelection): Promise<ReportParts> {
  const options = withSharedCache(given);
  stream.trackCache(options.cache);
  const { threshold } = directionSettings(options);
  const opened: Checkpoint[] = [];
  const open = async (what: string, c: string | Checkpoint) => {
    const { checkpoint, opened: isNew } = await checkpointArgument(what, c, { mmap: options.mmap ?? true });
    if (isNew) opened.push(checkpoint);
    return checkpoint;
  };
  try {
    const baseCkpt = await open('diff: base', base);
    const tunedCkpt = await open('diff: tuned', tuned);
    const whole = planDiff(baseCkpt, tunedCkpt, options);
    const { pairing, jobs, mode, directions, phases } = select ? narrowDiffPlan(whole, select(whole), options) : whole;
    stream.plan({
      command: 'diff', inputs: [{ role: 'base', path: baseCkpt.path }, { role: 'tuned', path: tunedCkpt.path }], mode, rank: reportedRank(mode, options),
      matrices: jobs.length, skipped: pairing.entries.length - whole.jobs.length, phases, directions,
    });
    for (const note of pairing.notes) stream.warning('PAIRING_NOTE', note);
    const entries = new Map(pairing.entries.map((e) => [e.name, e]));
    const fileOf = (i: number) => {
      const job = jobs[i];
      return job?.kind === 'diff' ? job.tuned.checkpoint.tensor(job.tuned.tensor).file : undefined;
    };
    const records = stream.records<PairResult>('pair', fileOf);
    const context = logicalView(baseCkpt).context;
    const pairs: PairResult[] = [];
    const cachedSpectra = new Set<PairResult>();
    const outcomes = jobs.length ? runSpectra(jobs, { ...options, mode, onProgress: stream.progressFor('spectra') }) : [];
    for await (const outcome of outcomes) {
      const pair = pairResult(outcome, entries.get(outcome.name) as PairingEntry, context);
      pairs.push(pair);
      if (!isFailed(outcome) && outcome.cached) cachedSpectra.add(pair);
      // With the direction analysis a matrix is finished when its directions are in.
      if (!directions.enabled || !pair.spectrum) records.complete(outcome.index, pair, cachedSpectra.has(pair));
    }
    if (directions.enabled && pairs.length) {
      const indexOf = new Map(pairs.map((p, i) => [p, i]));
      await analyzeDirections(pairing, pairs, directions.rank, threshold, { ...options, onProgress: stream.progressFor('directions') },
        (p, cached) => records.complete(indexOf.get(p) as number, p, cached && cachedSpectra.has(p)));
      pairs.forEach((p, i) => records.complete(i, p, cachedSpectra.has(p)));
    }
    const vectors = await vectorChanges(pairing, { signal: options.signal });
    return {
      kind: 'checkpoints',
      base: { path: baseCkpt.path, tensors: baseCkpt.tensors.length },
      tuned: { path: tunedCkpt.path, tensors: tunedCkpt.tensors.length },
      options: { mode, rank: reportedRank(mode, options), directions },
      pairing: {
        prefix: pairing.prefix,
        counts: pairing.counts,
        notes: pairing.notes,
        entries: pairing.entries.map((e) => ({ name: e.name, fate: e.fate, base: e.base ? sideName(e.base) : null, tuned: e.tuned ? sideName(e.tuned) : null, ...(e.note ? { note: e.note } : {}) })),
      },
      pairs,
      vectors,
      ...quantizationSummary(pairing),
    };
  } finally {
    for (const c of opened) c.close();
  }
}

/** The report's `quantization` field, when either side holds quantized weights. */
function quantizationSummary(pairing: PairingReport): { quantization?: DiffReport['quantization'] } {
  const count = (c: Checkpoint) => {
    const labels: Record<string, number> = {};
    for (const t of logicalView(c).tensors) if (t.quantized) labels[t.quantized.label] = (labels[t.quantized.label] ?? 0) + 1;
    return labels;
  };
  const base = count(pairing.base), tuned = count(pairing.tuned);
  if (Object.keys(base).length + Object.keys(tuned).length === 0) return {};
  const mixed = pairing.entries.filter((e) => e.base && e.tuned && e.fate !== 'excluded' && quantizedSide(e.base, e.tuned) !== null).length;
  const note = mixed > 0
    ? `${mixed} pair(s) compare a quantized weight with an unquantized one: their ΔW is the quantization error (plus any fine-tuning), and its spectrum describes the quantizer, not a fine-tune`
    : 'quantized weights are decoded exactly as codes × scales; their storage-noise floor uses the quantization grid (the code\'s ulp times its scale)';
  return { quantization: { base, tuned, quantizationErrorPairs: mixed, note } };
}

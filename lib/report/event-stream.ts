/**
 * Emitting the event stream (events.ts) from inside a verb: numbering and timing every event, turning the
 * engine's progress of each phase into `progress` events (at most five a second, and the last of every
 * phase), putting finished matrices out in report order with the `error` / `warning` events they carry,
 * and ending the stream with one `summary` or one run `error`. A stream with several analyses (compare)
 * gives each a child stream: same numbering and clock, events tagged with the child's `run`, its progress
 * counted as its share of the whole.
 */
import { type CacheCounts, countsSince, type ResultCache } from '../engine/cache';
import { InterruptedError } from '../engine/interrupt';
import type { MatrixJob } from '../engine/matrix-job';
import { costSettings } from '../engine/options';
import type { EngineProgress, SpectrumOptions } from '../engine/types';
import { ParamscopeError } from '../errors';
import { jobsCost } from '../plan/cost';
import {
  type AnalysisSummary, type DiffSummary, type ErrorEvent, EVENT_STREAM_VERSION, type EventEnvelope, type EventOptions,
  type PhaseName, type PlanEvent, type PlanPhase, type RunEvent, type SummaryEvent, type WarningCode,
} from './events';
import { ANALYSIS_SCHEMA_VERSION } from './header';
import type { AnalysisReport, DiffReport, PairResult, TensorAnalysis } from './model';

/** Fewer progress events than this many milliseconds apart are dropped (the end of a phase never is). */
const PROGRESS_INTERVAL_MS = 200;

type Body<E extends RunEvent> = E extends RunEvent ? Omit<E, keyof EventEnvelope> & { type: E['type'] } : never;

interface Shared {
  sink: (event: RunEvent) => void;
  seq: number;
  start: number;
  startedAt: string;
  bytesDone: number;
  ended: boolean;
}

interface PhaseState {
  flops: number;
  fraction: number;
  bytesDone: number;
}

const now = () => performance.now();
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/** A phase of a plan: its jobs, the bytes they read and their estimated flops with `options`. */
export function phasePlan(name: PhaseName, jobs: readonly MatrixJob[], options: Omit<SpectrumOptions, 'onProgress'>): PlanPhase {
  return { name, jobs: jobs.length, ...jobsCost(jobs, costSettings(options)) };
}

/** A diff report's summary: everything but its pairs. */
export function diffSummary(report: DiffReport): DiffSummary {
  const { pairs: _pairs, ...rest } = report;
  return rest;
}

/** An analysis report's summary document: everything but its tensors. */
export function analysisSummary(report: AnalysisReport): AnalysisSummary {
  const { tensors: _tensors, ...rest } = report;
  return { schema: 'paramscope.analysis', schemaVersion: ANALYSIS_SCHEMA_VERSION, ...rest };
}

/** The fields of a run `error` event for what was thrown. */
export function errorFields(error: unknown): Pick<ErrorEvent, 'code' | 'message' | 'file' | 'tensor' | 'signal'> {
  let signal: InterruptedError['signal'] | undefined;
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++)
    if (e instanceof InterruptedError) signal = e.signal;
  if (error instanceof ParamscopeError)
    return { code: error.code, message: error.message, ...(error.file === undefined ? {} : { file: error.file }), ...(error.tensor === undefined ? {} : { tensor: error.tensor }), ...(signal ? { signal } : {}) };
  if (signal) return { code: 'ABORTED', message: `operation aborted: interrupted by ${signal}`, signal };
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

/** Records that finish out of order, put out in order (the report's). */
export class OrderedRecords<R extends PairResult | TensorAnalysis> {
  #next = 0;
  readonly #pending = new Map<number, { record: R; cached: boolean }>();

  constructor(private readonly emit: (index: number, record: R, cached: boolean) => void) {}

  /** Record `index` is finished; `cached`: every spectrum it took came from the result cache. */
  complete(index: number, record: R, cached = false): void {
    if (index < this.#next || this.#pending.has(index)) return;
    this.#pending.set(index, { record, cached });
    for (let r = this.#pending.get(this.#next); r !== undefined; r = this.#pending.get(this.#next)) {
      this.#pending.delete(this.#next);
      this.emit(this.#next++, r.record, r.cached);
    }
  }
}

export class EventStream {
  readonly #shared: Shared;
  readonly #run: string | undefined;
  readonly #root: boolean;
  /** This run's share of the whole stream's work: [offset, offset + weight). */
  readonly #offset: number;
  readonly #weight: number;
  #childOffset = 0;
  readonly #phases = new Map<PhaseName, PhaseState>();
  #matricesDone = 0;
  #matricesTotal = 0;
  #lastProgress = -Infinity;
  #cacheCounts: (() => CacheCounts) | undefined;

  private constructor(shared: Shared, run: string | undefined, root: boolean, offset: number, weight: number) {
    this.#shared = shared;
    this.#run = run;
    this.#root = root;
    this.#offset = offset;
    this.#weight = weight;
  }

  /** The stream of a verb called with `options` (inert when it has neither onEvent nor onProgress). */
  static root(options: EventOptions): EventStream {
    const { onEvent, onProgress } = options;
    const sink = (event: RunEvent) => {
      onEvent?.(event);
      if (event.type === 'progress') onProgress?.(event);
    };
    return new EventStream({ sink, seq: 0, start: now(), startedAt: new Date().toISOString(), bytesDone: 0, ended: false }, undefined, true, 0, 1);
  }

  /**
   * The stream of one analysis among several (compare's fine-tunes): its events tagged with `run`, its
   * progress counted as `weight` of the whole (children take consecutive shares).
   */
  child(run: string, weight: number): EventStream {
    const child = new EventStream(this.#shared, run, false, this.#offset + this.#weight * this.#childOffset, this.#weight * weight);
    this.#childOffset += weight;
    return child;
  }

  /** The run uses `cache` (when given): its matrix events say whether they were cached, its summary what the cache did from now on. */
  trackCache(cache: ResultCache | undefined): void {
    if (cache) this.#cacheCounts = countsSince(cache);
  }

  get startedAt(): string {
    return this.#shared.startedAt;
  }

  #emit<E extends RunEvent>(body: Body<E>): void {
    const shared = this.#shared;
    if (shared.ended) return;
    const envelope = { type: body.type, v: EVENT_STREAM_VERSION, seq: shared.seq++, t: Math.round(now() - shared.start), ...(this.#run === undefined ? {} : { run: this.#run }) };
    shared.sink({ ...envelope, ...body } as RunEvent);
  }

  /** The plan (bytes and flops: the sums over its phases, or over its runs). */
  plan(body: Omit<PlanEvent, keyof EventEnvelope | 'startedAt' | 'bytes' | 'flops'>): void {
    this.#matricesTotal = body.matrices;
    const parts: ReadonlyArray<{ bytes: number; flops: number }> = body.runs ?? body.phases;
    const bytes = parts.reduce((s, p) => s + p.bytes, 0), flops = parts.reduce((s, p) => s + p.flops, 0);
    const total = body.phases.reduce((s, p) => s + p.flops, 0);
    for (const p of body.phases) this.#phases.set(p.name, { flops: total > 0 ? p.flops / total : 1 / body.phases.length, fraction: 0, bytesDone: 0 });
    const { command, inputs, mode, rank, matrices, skipped, phases, ...more } = body;
    this.#emit<PlanEvent>({ type: 'plan', command, startedAt: this.#shared.startedAt, inputs, mode, rank, matrices, skipped, bytes, flops, phases, ...more });
  }

  /** The onProgress callback for the engine run of `phase`. */
  progressFor(phase: PhaseName): (progress: EngineProgress) => void {
    return (p) => {
      const state = this.#phases.get(phase) ?? { flops: 0, fraction: 0, bytesDone: 0 };
      this.#phases.set(phase, state);
      this.#shared.bytesDone += p.bytesDone - state.bytesDone;
      state.bytesDone = p.bytesDone;
      state.fraction = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : p.jobsTotal > 0 ? p.jobsDone / p.jobsTotal : 1;
      const at = now();
      if (at - this.#lastProgress < PROGRESS_INTERVAL_MS && p.jobsDone < p.jobsTotal) return;
      this.#lastProgress = at;
      let own = 0;
      for (const s of this.#phases.values()) own += s.flops * s.fraction;
      const fraction = Math.min(1, Math.max(0, this.#offset + this.#weight * Math.min(1, own)));
      const elapsed = (at - this.#shared.start) / 1000;
      const eta = fraction >= 1 ? 0 : fraction >= 0.01 && elapsed >= 0.25 ? round((elapsed * (1 - fraction)) / fraction, 1) : null;
      this.#emit({
        type: 'progress', phase,
        jobsDone: p.jobsDone, jobsTotal: p.jobsTotal, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, flopsDone: p.flopsDone, current: p.current,
        matricesDone: this.#matricesDone, matricesTotal: this.#matricesTotal,
        fraction: round(fraction, 4), elapsedSeconds: round(elapsed, 3),
        bytesPerSecond: elapsed > 0 ? Math.round(this.#shared.bytesDone / elapsed) : 0, etaSeconds: eta,
      });
    };
  }

  /**
   * Where finished matrices go: `complete(index, record)` in any order; they are put out in index order,
   * each as a `matrix` event followed by its `error` (a failed matrix, with `fileOf(index)`) or its
   * NOT_CONVERGED warning.
   */
  records<R extends PairResult | TensorAnalysis>(kind: R extends PairResult ? 'pair' : 'tensor', fileOf: (index: number) => string | undefined): OrderedRecords<R> {
    const of = this.#matricesTotal;
    return new OrderedRecords<R>((index, record, cached) => {
      this.#matricesDone++;
      this.#emit({ type: 'matrix', index, of, kind, record, ...(this.#cacheCounts ? { cached } : {}) } as Body<RunEvent>);
      const file = fileOf(index);
      const where = { ...(file === undefined ? {} : { file }), tensor: record.name };
      if (record.error) this.#emit<ErrorEvent>({ type: 'error', scope: 'matrix', code: record.error.code, message: record.error.message, ...where });
      else if (record.spectrum && !record.spectrum.converged)
        this.warning('NOT_CONVERGED', `${record.name}: the truncated solver stopped before its tolerance; the error bounds stated are still valid`, where);
    });
  }

  warning(code: WarningCode, message: string, where: { file?: string; tensor?: string } = {}): void {
    this.#emit({ type: 'warning', code, message, ...where });
  }

  /** The run's summary; on the root stream, its last event. */
  summary(report: SummaryEvent['report']): void {
    this.#emit<SummaryEvent>({ type: 'summary', report, ...(this.#cacheCounts ? { cache: this.#cacheCounts() } : {}) });
    if (this.#root) this.#shared.ended = true;
  }

  /** A run `error` event for what was thrown, on the root stream only (a child's failure fails the whole); ends the stream. */
  fail(error: unknown): void {
    if (!this.#root) return;
    this.#emit<ErrorEvent>({ type: 'error', scope: 'run', ...errorFields(error) });
    this.#shared.ended = true;
  }

  /** Runs `task`; what it throws is emitted as the run `error` (root stream) and thrown on. */
  async guard<T>(task: () => Promise<T>): Promise<T> {
    try {
      return await task();
    } catch (error) {
      this.fail(error);
      throw error;
    }
  }
}

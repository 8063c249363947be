/**
 * The event stream of a run: what `analyze`, `diff`, the adapter route and `compare` tell a caller while
 * they work — one definition for the library (`onEvent`, `onProgress`, the `*Events` iterators) and for
 * the command line (`--jsonl`, one event per line: `serializeEvent`). docs/events.md describes it and
 * docs/events.schema.json (events-schema.ts) is its JSON Schema.
 *
 * A stream is `plan`, then `progress`, `matrix`, `warning` and `error` (scope "matrix") events as they
 * happen, and ends with exactly one of `summary` (the run finished) or `error` with scope "run" (it
 * failed or was interrupted). Every event carries the stream version `v`, a sequence number `seq`
 * (0, 1, 2, … without gaps, so a reader can tell nothing was lost) and `t`, milliseconds since the run
 * began. Commands that run several analyses in one stream (`compare`) tag the events of each with `run`.
 * `matrix` records are the report's own (`pairs[]` / `tensors[]`), and `summary.report` is the rest of
 * the report: together they are the report. Types only, apart from the version and the serialiser.
 *
 * @example
 * await diff(base, tuned, { onEvent: (e) => { if (e.type === 'matrix') console.log(e.record.name); } });
 */
import type { RegimeVerdict } from '../aggregate/regime';
import type { EngineProgress } from '../engine/types';
import type { InterruptSignal } from '../engine/interrupt';
import type { CacheCounts } from '../engine/cache';
import type { ErrorCode } from '../errors';
import { reportReplacer } from './json';
import type { AnalysisReport, DiffReport, PairResult, TensorAnalysis } from './model';
import type { TrajectoryReport } from './trajectory-model';

/** The version of the event stream (`v` of every event): bumped on any incompatible change. */
export const EVENT_STREAM_VERSION = 1;

/** The library verb (or command) a stream comes from; `trajectory` and `merge` are the commands of docs/scale-out.md. */
export type EventCommand = 'analyze' | 'diff' | 'lora' | 'compare' | 'trajectory' | 'merge';

/**
 * The engine runs of a command, in order: `spectra` (the matrices reported: W, ΔW or s·B·A),
 * `directions` (diff: ΔW, W_base and W_tuned with vectors, per matrix), `base` and `vectors` (an adapter
 * with its base: the base weights' spectra, then ΔW's vectors).
 */
export type PhaseName = 'spectra' | 'directions' | 'base' | 'vectors';

export type EventType = 'plan' | 'progress' | 'matrix' | 'warning' | 'error' | 'summary';

/** The fields every event has. */
export interface EventEnvelope<T extends EventType = EventType> {
  type: T;
  /** The stream version, {@link EVENT_STREAM_VERSION}. */
  v: typeof EVENT_STREAM_VERSION;
  /** 0 for the first event of the stream, then +1 for each. */
  seq: number;
  /** Milliseconds since the run began (monotonic clock). */
  t: number;
  /** For commands that run several analyses in one stream (compare): which one this event belongs to. */
  run?: string;
}

export interface PlanInput {
  role: 'checkpoint' | 'base' | 'tuned' | 'adapter' | 'partial';
  path: string;
}

export interface PlanPhase {
  name: PhaseName;
  /** Engine jobs (spectra) of the phase. */
  jobs: number;
  /** Stored bytes the engine reads in the phase (the bytesTotal its progress reports). */
  bytes: number;
  /** Estimated floating-point operations (lib/plan/cost.ts). */
  flops: number;
}

export interface PlanRun {
  run: string;
  path: string;
  matrices: number;
  bytes: number;
  flops: number;
}

/** What will be computed, before any tensor byte is read. */
export interface PlanEvent extends EventEnvelope<'plan'> {
  command: EventCommand;
  /** When the run began (ISO 8601, UTC). */
  startedAt: string;
  inputs: PlanInput[];
  mode: 'exact' | 'truncated';
  /** Truncated mode: singular values per matrix; null in exact mode. */
  rank: number | null;
  /** `matrix` events to come. */
  matrices: number;
  /** Tensors that are not analysed (analyze: vectors, integers, excluded; diff: pairing entries that are not matrix pairs). */
  skipped: number;
  /** Stored bytes read, all phases together. */
  bytes: number;
  /** Estimated floating-point operations, all phases together. */
  flops: number;
  phases: PlanPhase[];
  /** diff and the adapter route: whether the direction analysis runs, and why. */
  directions?: { enabled: boolean; rank: number; reason: string };
  /** compare: the analyses of the stream, each with its own plan event to come. */
  runs?: PlanRun[];
}

/**
 * How far the run is, at most a few times a second and at the end of every phase. The EngineProgress
 * fields (jobsDone … current) are the current phase's, as the engine counts them; the others cover the
 * whole stream.
 */
export interface ProgressEvent extends EventEnvelope<'progress'>, EngineProgress {
  phase: PhaseName;
  /** `matrix` events emitted so far, and to come in all (this run). */
  matricesDone: number;
  matricesTotal: number;
  /** Estimated share of the stream's work done, in [0, 1] (phases weighted by their estimated flops). */
  fraction: number;
  elapsedSeconds: number;
  /** Stored bytes read per second, over the stream so far. */
  bytesPerSecond: number;
  /** Estimated seconds left; null until enough is done to tell. */
  etaSeconds: number | null;
}

interface MatrixEventBase extends EventEnvelope<'matrix'> {
  /** Position of the record in the report's `pairs[]` / `tensors[]`. */
  index: number;
  /** How many records the report will hold. */
  of: number;
  /** Present when the run uses a result cache: true when every spectrum of this matrix came from it (nothing computed). */
  cached?: boolean;
}

/** One finished matrix: the record of the report's `pairs[]`, exactly (failed matrices too, with `error`). */
export interface PairMatrixEvent extends MatrixEventBase {
  kind: 'pair';
  record: PairResult;
}

/** One finished matrix of `analyze`: the record of the report's `tensors[]`. */
export interface TensorMatrixEvent extends MatrixEventBase {
  kind: 'tensor';
  record: TensorAnalysis;
}

export type MatrixEvent = PairMatrixEvent | TensorMatrixEvent;

/**
 * - `PAIRING_NOTE`: a note of the pairing (prefixes, dtype changes, ties, resizes, unpaired tensors);
 * - `ADAPTER_NOTE`: a note on how the adapter was read (scale, layout);
 * - `NOT_CONVERGED`: a truncated spectrum stopped before its tolerance (its bounds are still stated).
 */
export type WarningCode = 'PAIRING_NOTE' | 'ADAPTER_NOTE' | 'NOT_CONVERGED';

export interface WarningEvent extends EventEnvelope<'warning'> {
  code: WarningCode;
  message: string;
  file?: string;
  tensor?: string;
}

/**
 * A failure. Scope `matrix`: one matrix failed (its `matrix` event carries the same error), the run goes
 * on. Scope `run`: the run stopped; this is the stream's last event. An interruption is code ABORTED
 * with the `signal` that caused it.
 */
export interface ErrorEvent extends EventEnvelope<'error'> {
  scope: 'matrix' | 'run';
  code: ErrorCode;
  message: string;
  file?: string;
  tensor?: string;
  signal?: InterruptSignal;
}

/** A diff report without its `pairs` (they are the `matrix` events). */
export type DiffSummary = Omit<DiffReport, 'pairs'>;

/** The `analyze` report document without its `tensors` (they are the `matrix` events). */
export interface AnalysisSummary extends Omit<AnalysisReport, 'tensors'> {
  schema: 'paramscope.analysis';
  schemaVersion: number;
}

/** compare: the fine-tunes from the most concentrated update to the most dispersed. */
export interface CompareSummary {
  schema: 'paramscope.compare';
  schemaVersion: number;
  base: string;
  ranking: Array<{ name: string; path: string; verdict: RegimeVerdict }>;
}

/** The run's result without its per-matrix records: aggregates, verdict, and everything else of the report. */
export interface SummaryEvent extends EventEnvelope<'summary'> {
  report: DiffSummary | AnalysisSummary | CompareSummary | TrajectoryReport;
  /** Present when the run uses a result cache (docs/cache.md): what it found and stored, counted in spectra. Not part of the report: a resumed run's report is an uncached run's. */
  cache?: CacheCounts;
}

export type RunEvent = PlanEvent | ProgressEvent | MatrixEvent | WarningEvent | ErrorEvent | SummaryEvent;

/** The options of every verb that emits the stream. */
export interface EventOptions {
  /** Called with every event, synchronously, as it happens. */
  onEvent?: (event: RunEvent) => void;
  /**
   * Called with every `progress` event (the same objects `onEvent` gets): an EngineProgress with the
   * stream's fields added, so callbacks written for EngineProgress keep working.
   */
  onProgress?: (progress: ProgressEvent) => void;
}

/**
 * One event as one line of JSON (no newline), serialised as the report is: typed arrays as arrays,
 * non-finite numbers as the strings "NaN", "Infinity", "-Infinity", undefined fields left out.
 */
export function serializeEvent(event: RunEvent): string {
  return JSON.stringify(event, reportReplacer);
}

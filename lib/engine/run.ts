/**
 * The bridge to the native engine: a list of matrix jobs in, an async iterator of spectra out, with
 * progress, an AbortSignal, and per-job failures reported in the result (the other jobs still run).
 * analyze(), diff() and lora() plan jobs and call runSpectra.
 */
import { type Checkpoint, nativeHandleOf } from '../read/checkpoint';
import { abortError, invalidArgument, ParamscopeError, type ErrorCode } from '../errors';
import { EventQueue } from './event-queue';
import type { SpectrumMetrics } from '../results/metrics';
import { native, type NativeCheckpoint } from './binding';

export interface TensorSource {
  checkpoint: Checkpoint;
  tensor: string;
}

/** One matrix to analyse: a stored tensor, the difference of two, or a low-rank product s·B·A. */
export type MatrixJob = (
  | { name: string; kind: 'dense'; source: TensorSource }
  | { name: string; kind: 'diff'; tuned: TensorSource; base: TensorSource; /** compare only the first `rows` rows */ rows?: number }
  | { name: string; kind: 'lowrank'; rows: number; cols: number; rank: number; /** rows×rank, row-major */ b: Float32Array; /** rank×cols, row-major */ a: Float32Array; scale: number }
) & { /** Singular vectors for this job (overrides SpectrumOptions.vectors). */ vectors?: boolean };

export interface SpectrumOptions {
  /** 'exact': every singular value (Gram + LAPACK, or direct SVD). 'truncated': the top `rank` with error bounds. */
  mode?: 'exact' | 'truncated';
  /** Truncated mode: how many singular values (default 64). */
  rank?: number;
  /** Truncated mode: extra subspace columns (default 10). */
  oversampling?: number;
  /** Truncated mode: power iterations (default 2). */
  powerIterations?: number;
  /** Truncated mode: iterate until every error bound ≤ tolerance·σᵢ (0: fixed iterations). */
  tolerance?: number;
  maxIterations?: number;
  /** Seed of the random start (same seed, same machine and threads → identical output). */
  seed?: number;
  /**
   * Truncated mode: products in 'f32' (default: sgemm on the matrix held in single precision, about
   * twice as fast; error bounds include f32 rounding, ~6e-8·(m+n)·‖A‖_F) or 'f64' (bounds down to
   * double rounding, for tight tolerances on small singular values).
   */
  precision?: 'f32' | 'f64';
  /** Also return singular vectors (exact mode then uses the direct SVD). */
  vectors?: boolean;
  /** Exact mode: 'gram' (fast, values only), 'direct' (SVD), or 'auto' (default). */
  exactRoute?: 'auto' | 'gram' | 'direct';
  /**
   * Bytes for panels, resident matrices and work arrays (default 2 GiB), shared equally by the matrices
   * computed at once: a matrix that does not fit its share is streamed from the file on every pass.
   */
  memoryBudget?: number;
  /** Threads for the math (default: all cores). */
  threads?: number;
  /**
   * How many matrices are computed at once (default: one per thread, at most one per 512 MiB of
   * memoryBudget; each with single-threaded BLAS, and its share of the threads for its own products;
   * a lone matrix gets every thread). 1 gives every thread and the whole budget to one matrix at a time.
   */
  parallelMatrices?: number;
  signal?: AbortSignal;
  onProgress?: (progress: EngineProgress) => void;
}

export interface EngineProgress {
  jobsDone: number;
  jobsTotal: number;
  bytesDone: number;
  bytesTotal: number;
  flopsDone: number;
  /** The job being computed. */
  current: string;
}

export interface SpectrumResult {
  index: number;
  name: string;
  rows: number;
  cols: number;
  seconds: number;
  /** Singular values, descending: all min(rows, cols) when `complete`, else the top k. */
  values: Float64Array;
  /** |values[i] − σᵢ| ≤ errorBounds[i]. */
  errorBounds: Float64Array;
  frobeniusSquared: number;
  complete: boolean;
  converged: boolean;
  powerIterations: number;
  passes: number;
  method: string;
  metrics: SpectrumMetrics;
  /** For difference jobs: ‖W_tuned‖_F² and ‖W_base‖_F². */
  tunedFrobeniusSquared?: number;
  /** For difference jobs of float checkpoints: Σ ulp²/12 over both operands' stored values, the expected energy of their storage rounding. */
  roundingEnergy?: number;
  baseFrobeniusSquared?: number;
  vectorCount?: number;
  /** Column-major rows×vectorCount and cols×vectorCount, when vectors were requested. */
  u?: Float64Array;
  v?: Float64Array;
}

/** A job that failed on its own (NaN input, out of memory, …); the other jobs still ran. */
export interface FailedSpectrum {
  index: number;
  name: string;
  rows: number;
  cols: number;
  seconds: number;
  error: { code: ErrorCode; message: string };
}

export type SpectrumOutcome = SpectrumResult | FailedSpectrum;

export function isFailed(outcome: SpectrumOutcome): outcome is FailedSpectrum {
  return 'error' in outcome;
}

const positiveInteger = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;

/** Checks options with one wording; returns what the native engine takes. */
export function engineOptions(options: SpectrumOptions): Record<string, unknown> {
  const { mode = 'exact', rank = 64, oversampling = 10, powerIterations = 2, tolerance = 0, maxIterations = 50, seed = 0x5eed } = options;
  if (mode !== 'exact' && mode !== 'truncated') invalidArgument('mode', "'exact' or 'truncated'", mode);
  if (!positiveInteger(rank)) invalidArgument('rank', 'a positive integer', rank);
  if (!Number.isSafeInteger(oversampling) || oversampling < 0) invalidArgument('oversampling', 'a non-negative integer', oversampling);
  if (!Number.isSafeInteger(powerIterations) || powerIterations < 0) invalidArgument('powerIterations', 'a non-negative integer', powerIterations);
  if (typeof tolerance !== 'number' || !(tolerance >= 0) || tolerance >= 1) invalidArgument('tolerance', 'a number in [0, 1)', tolerance);
  if (!positiveInteger(maxIterations)) invalidArgument('maxIterations', 'a positive integer', maxIterations);
  if (!Number.isSafeInteger(seed) || seed < 0) invalidArgument('seed', 'a non-negative integer', seed);
  const precision = options.precision ?? 'f32';
  if (precision !== 'f32' && precision !== 'f64') invalidArgument('precision', "'f32' or 'f64'", precision);
  const exactRoute = options.exactRoute ?? 'auto';
  if (!['auto', 'gram', 'direct'].includes(exactRoute)) invalidArgument('exactRoute', "'auto', 'gram' or 'direct'", exactRoute);
  const memoryBudget = options.memoryBudget ?? 2 ** 31;
  if (!positiveInteger(memoryBudget)) invalidArgument('memoryBudget', 'a positive number of bytes', memoryBudget);
  const threads = options.threads ?? 0;
  if (!Number.isSafeInteger(threads) || threads < 0) invalidArgument('threads', 'a non-negative integer (0: all cores)', threads);
  const parallelMatrices = options.parallelMatrices ?? 0;
  if (!Number.isSafeInteger(parallelMatrices) || parallelMatrices < 0) invalidArgument('parallelMatrices', 'a non-negative integer (0: one per thread)', parallelMatrices);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) invalidArgument('signal', 'an AbortSignal', options.signal);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') invalidArgument('onProgress', 'a function', options.onProgress);
  return { mode, rank, oversampling, powerIterations, tolerance, maxIterations, seed, precision, vectors: Boolean(options.vectors), exactRoute, memoryBudget, threads, parallelMatrices };
}

function nativeJob(job: MatrixJob): Record<string, unknown> {
  const source = (s: TensorSource): { checkpoint: NativeCheckpoint; tensor: string } => ({ checkpoint: nativeHandleOf(s.checkpoint), tensor: s.tensor });
  switch (job.kind) {
    case 'dense': return { name: job.name, kind: 'dense', source: source(job.source), vectors: job.vectors };
    case 'diff': return { name: job.name, kind: 'diff', tuned: source(job.tuned), base: source(job.base), rows: job.rows, vectors: job.vectors };
    case 'lowrank': return { ...job };
  }
}

/**
 * Runs the spectra of `jobs` on the native engine, off the event loop, yielding each result as it
 * finishes. Breaking out of the loop or aborting the signal stops the engine within about one panel.
 */
export function runSpectra(jobs: readonly MatrixJob[], options: SpectrumOptions = {}): AsyncIterableIterator<SpectrumOutcome> {
  const nativeOptions = engineOptions(options);
  const { signal, onProgress } = options;
  if (signal?.aborted) throw abortError(signal);
  let handle: { cancel(): void } | undefined;
  const queue = new EventQueue<SpectrumOutcome>(() => handle?.cancel());
  const onAbort = () => handle?.cancel();
  handle = native().startAnalysis(jobs.map(nativeJob), nativeOptions, (event) => {
    switch (event.type) {
      case 'result':
        queue.push(event.result);
        break;
      case 'progress':
        onProgress?.(event);
        break;
      case 'done':
        signal?.removeEventListener('abort', onAbort);
        if (event.error) {
          const error = event.error as ParamscopeError;
          queue.fail(error.code === 'ABORTED' && signal?.aborted ? abortError(signal) : error);
        } else queue.end();
        break;
    }
  });
  signal?.addEventListener('abort', onAbort, { once: true });
  return queue;
}

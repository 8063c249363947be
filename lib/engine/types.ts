/**
 * What a run of the engine takes and gives back: its options, its progress, and the spectrum (or the
 * failure) of each job. Types only (and the one type guard), so every stage can name them without
 * loading the addon. The jobs themselves are in matrix-job.ts, which needs the reader's Checkpoint type:
 * kept apart so the typed binding can name these types without importing the reader, which imports it.
 */
import type { ErrorCode } from '../errors';
import type { SpectrumMetrics } from '../results/metrics';

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
  /**
   * Where the heavy operations run (default 'auto', or the PARAMSCOPE_BACKEND environment variable):
   * 'cpu' (OpenBLAS or Eigen), 'cuda' (the optional CUDA plugin; BACKEND_UNAVAILABLE saying why when it
   * or a device is missing), 'auto' (CUDA when the plugin loads and finds a device, else the CPU).
   */
  backend?: 'auto' | 'cpu' | 'cuda';
  /** Bytes a device backend may allocate (default 0: the plugin's own default). */
  deviceMemoryBudget?: number;
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
  /** For difference jobs: entries whose two stored values are bit-identical. */
  identicalEntries?: number;
  /** For difference jobs whose sides both have a rounding grid: entries with |ΔW| below one storage step (the larger grid spacing of the two there). */
  belowSpacingEntries?: number;
  vectorCount?: number;
  /**
   * Where this matrix's time went, seconds: reading and decoding the stored matrix (for exact routes,
   * the streaming pass with its Gram update), products with it (streamed products include decoding),
   * orthonormalisation, and the eigensolver or small SVDs.
   */
  timing?: { readDecode: number; products: number; orthonormalize: number; eigensolver: number };
  /** Column-major rows×vectorCount and cols×vectorCount, when vectors were requested. */
  u?: Float64Array;
  v?: Float64Array;
  /** True when the result came from the result cache (SpectrumOptions.cache), as the engine once computed it. */
  cached?: boolean;
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

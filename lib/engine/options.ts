/**
 * The engine's options: their defaults, defined once, and their validation, with one wording for every
 * check. Every fallback to an engine default in lib/ goes through this file; the defaults themselves are
 * the core's (engineDefaults()).
 */
import { invalidArgument } from '../errors';
import { native, type NativeEngineOptions } from './binding';
import type { CostSettings } from '../plan/cost';
import type { SpectrumOptions } from './types';
import type { CacheOptions } from './cache';

/**
 * What the engine does when an option is not given: the core's EngineOptions{} (native/include/
 * paramscope/engine.hpp), read from the addon once. The documented values: mode 'exact', rank 64,
 * oversampling 10, powerIterations 2, tolerance 0, maxIterations 50, seed 0x5eed, precision 'f32',
 * exactRoute 'auto', memoryBudget 2 GiB, threads 0 (all cores), parallelMatrices 0 (one per thread, at
 * most one per 512 MiB of memoryBudget).
 */
export function engineDefaults(): Readonly<Omit<EngineOptions, 'vectors'>> {
  if (!defaults) {
    const { vectors: _vectors, ...rest } = native().engineDefaults();
    defaults = Object.freeze(rest);
  }
  return defaults;
}
let defaults: Readonly<Omit<EngineOptions, 'vectors'>> | undefined;

/** The options the native engine receives: every default filled in, every value checked. */
export type EngineOptions = NativeEngineOptions;

/**
 * Caps on the solver's iteration counts: far above what any spectrum needs (a few power iterations; the
 * block Krylov solver converges in tens), so that an option from an untrusted caller cannot keep the
 * engine busy for hours on a tiny matrix.
 */
export const MAX_POWER_ITERATIONS = 100;
export const MAX_ITERATIONS = 1000;

const positiveInteger = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;
const nonNegativeInteger = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

/** Checks options with one wording; returns what the native engine takes. */
export function engineOptions(options: SpectrumOptions): EngineOptions {
  const d = engineDefaults();
  const {
    mode = d.mode, rank = d.rank, oversampling = d.oversampling, powerIterations = d.powerIterations, tolerance = d.tolerance,
    maxIterations = d.maxIterations, seed = d.seed,
  } = options;
  if (mode !== 'exact' && mode !== 'truncated') invalidArgument('mode', "'exact' or 'truncated'", mode);
  if (!positiveInteger(rank)) invalidArgument('rank', 'a positive integer', rank);
  if (!nonNegativeInteger(oversampling)) invalidArgument('oversampling', 'a non-negative integer', oversampling);
  if (!nonNegativeInteger(powerIterations) || powerIterations > MAX_POWER_ITERATIONS) invalidArgument('powerIterations', `an integer from 0 to ${MAX_POWER_ITERATIONS}`, powerIterations);
  if (typeof tolerance !== 'number' || !(tolerance >= 0) || tolerance >= 1) invalidArgument('tolerance', 'a number in [0, 1)', tolerance);
  if (!positiveInteger(maxIterations) || maxIterations > MAX_ITERATIONS) invalidArgument('maxIterations', `an integer from 1 to ${MAX_ITERATIONS}`, maxIterations);
  if (!nonNegativeInteger(seed)) invalidArgument('seed', 'a non-negative integer', seed);
  const precision = options.precision ?? d.precision;
  if (precision !== 'f32' && precision !== 'f64') invalidArgument('precision', "'f32' or 'f64'", precision);
  const exactRoute = options.exactRoute ?? d.exactRoute;
  if (!['auto', 'gram', 'direct'].includes(exactRoute)) invalidArgument('exactRoute', "'auto', 'gram' or 'direct'", exactRoute);
  const memoryBudget = options.memoryBudget ?? d.memoryBudget;
  if (!positiveInteger(memoryBudget)) invalidArgument('memoryBudget', 'a positive number of bytes', memoryBudget);
  const threads = options.threads ?? d.threads;
  if (!nonNegativeInteger(threads)) invalidArgument('threads', 'a non-negative integer (0: all cores)', threads);
  const parallelMatrices = options.parallelMatrices ?? d.parallelMatrices;
  if (!nonNegativeInteger(parallelMatrices)) invalidArgument('parallelMatrices', 'a non-negative integer (0: one per thread)', parallelMatrices);
  const backend = options.backend ?? backendFromEnvironment() ?? d.backend;
  if (!['auto', 'cpu', 'cuda'].includes(backend)) invalidArgument('backend', "'auto', 'cpu' or 'cuda'", backend);
  const deviceMemoryBudget = options.deviceMemoryBudget ?? d.deviceMemoryBudget;
  if (!nonNegativeInteger(deviceMemoryBudget)) invalidArgument('deviceMemoryBudget', 'a non-negative number of bytes (0: the plugin\'s default)', deviceMemoryBudget);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) invalidArgument('signal', 'an AbortSignal', options.signal);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') invalidArgument('onProgress', 'a function', options.onProgress);
  return { mode, rank, oversampling, powerIterations, tolerance, maxIterations, seed, precision, vectors: Boolean(options.vectors), exactRoute, memoryBudget, threads, parallelMatrices, backend, deviceMemoryBudget };
}

/** PARAMSCOPE_BACKEND, when set: the backend of every run that does not name one. */
function backendFromEnvironment(): EngineOptions['backend'] | undefined {
  const value = process.env.PARAMSCOPE_BACKEND;
  if (value === undefined || value === '') return undefined;
  if (value !== 'auto' && value !== 'cpu' && value !== 'cuda') invalidArgument('PARAMSCOPE_BACKEND', "'auto', 'cpu' or 'cuda'", value);
  return value;
}

/** The mode a run uses: the option, else the engine's default. */
export function spectrumMode(options: Pick<SpectrumOptions, 'mode'>): 'exact' | 'truncated' {
  return options.mode ?? engineDefaults().mode;
}

/** The rank a report states: how many singular values were computed in truncated mode; null in exact mode. */
export function reportedRank(mode: 'exact' | 'truncated', options: Pick<SpectrumOptions, 'rank'>): number | null {
  return mode === 'truncated' ? (options.rank ?? engineDefaults().rank) : null;
}

/**
 * The options a secondary run (the base's or the directions' spectra) takes over from the caller's:
 * progress, cancellation, the thread and memory budget, the seed, the result cache. Mode, rank and
 * vectors are its own.
 */
export function inheritedRunOptions(options: SpectrumOptions & CacheOptions): SpectrumOptions & CacheOptions {
  const { onProgress, signal, threads, parallelMatrices, memoryBudget, seed, cache } = options;
  return { onProgress, signal, threads, parallelMatrices, memoryBudget, seed, cache };
}

/** What the cost of a run depends on (lib/plan/cost.ts), from the caller's options with the defaults filled in. */
export function costSettings(options: SpectrumOptions): CostSettings {
  const { mode, rank, oversampling, powerIterations, vectors, exactRoute } = engineOptions(options);
  return { mode, rank, oversampling, powerIterations, vectors, exactRoute };
}

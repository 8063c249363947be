/**
 * The bridge to the native engine: a list of matrix jobs in, an async iterator of spectra out, with
 * progress, an AbortSignal, and per-job failures reported in the result (the other jobs still run).
 * analyze(), diff() and lora() plan jobs and call runSpectra.
 */
import { nativeHandleOf } from '../read/checkpoint';
import { abortError, invalidArgument, type ParamscopeError } from '../errors';
import { native, type NativeJobSpec } from './binding';
import { EventQueue } from './event-queue';
import { jobCost } from '../plan/cost';
import { type CacheOptions, type ResultCache, resultCacheOf } from './cache';
import { type CacheKey, CacheKeyBuilder } from './cache-key';
import { costSettings, type EngineOptions, engineOptions } from './options';
import type { MatrixJob, TensorSource } from './matrix-job';
import { isFailed, type SpectrumOptions, type SpectrumOutcome } from './types';

function nativeJob(job: MatrixJob): NativeJobSpec {
  const source = (s: TensorSource) => ({
    checkpoint: nativeHandleOf(s.checkpoint),
    tensor: s.tensor,
    ...(s.quantized ? { encoding: s.quantized.encoding, scale: s.quantized.scale, blockRows: s.quantized.block[0], blockCols: s.quantized.block[1] } : {}),
    ...(s.expert === undefined ? {} : { expert: s.expert }),
    ...(s.transpose ? { transpose: true } : {}),
    ...(s.rows ? { rowOffset: s.rows.offset, rowStride: s.rows.stride, rowCount: s.rows.count } : {}),
  });
  switch (job.kind) {
    case 'dense': return { name: job.name, kind: 'dense', source: source(job.source), vectors: job.vectors };
    case 'diff': return { name: job.name, kind: 'diff', tuned: source(job.tuned), base: source(job.base), rows: job.rows, vectors: job.vectors };
    case 'lowrank':
      checkLowRankJob(job);
      return { name: job.name, kind: 'lowrank', rows: job.rows, cols: job.cols, rank: job.rank, b: job.b, a: job.a, scale: job.scale, vectors: job.vectors };
  }
}

/**
 * A low-rank job's sizes, checked here in exact arithmetic: the core multiplies them in 64 bits, where
 * rows × rank can wrap around to the length of an empty array (2^32 × 2^32 = 0) and then be written past.
 */
function checkLowRankJob(job: Extract<MatrixJob, { kind: 'lowrank' }>): void {
  const what = `low-rank job ${JSON.stringify(String(job.name).slice(0, 60))}`;
  for (const key of ['rows', 'cols', 'rank'] as const)
    if (!Number.isSafeInteger(job[key]) || job[key] < 0) invalidArgument(`${what}: ${key}`, 'a non-negative integer', job[key]);
  if (!(job.b instanceof Float32Array) || job.b.length !== job.rows * job.rank)
    invalidArgument(`${what}: b`, `a Float32Array of rows × rank = ${job.rows * job.rank} values`, job.b instanceof Float32Array ? job.b.length : job.b);
  if (!(job.a instanceof Float32Array) || job.a.length !== job.rank * job.cols)
    invalidArgument(`${what}: a`, `a Float32Array of rank × cols = ${job.rank * job.cols} values`, job.a instanceof Float32Array ? job.a.length : job.a);
  if (typeof job.scale !== 'number' || !Number.isFinite(job.scale)) invalidArgument(`${what}: scale`, 'a finite number', job.scale);
}

/**
 * Runs the spectra of `jobs` on the native engine, off the event loop, yielding each result as it
 * finishes. Breaking out of the loop or aborting the signal stops the engine within about one panel.
 * With `options.cache`, jobs whose result is cached are yielded from the cache (`cached: true`) and only
 * the others are computed, each stored before it is yielded (cache.ts).
 */
export function runSpectra(jobs: readonly MatrixJob[], options: SpectrumOptions & CacheOptions = {}): AsyncIterableIterator<SpectrumOutcome> {
  const nativeOptions = engineOptions(options);
  const cache = resultCacheOf(options.cache);
  if (options.signal?.aborted) throw abortError(options.signal);
  return cache ? cachedRun(jobs, nativeOptions, options, cache) : engineRun(jobs, nativeOptions, options);
}

/** The engine run of `jobs` with options already checked. */
function engineRun(jobs: readonly MatrixJob[], nativeOptions: EngineOptions, options: Pick<SpectrumOptions, 'signal' | 'onProgress'>): AsyncIterableIterator<SpectrumOutcome> {
  const { signal, onProgress } = options;
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

/**
 * The engine options for the `missing` jobs of a run of `total`: each lane gets the threads and the
 * memory share it would have had computing all of them, so a resumed run computes a matrix exactly as
 * the whole run would have (the engine gives fewer jobs fewer lanes, each a larger share).
 */
function resumedOptions(options: EngineOptions, total: number, missing: number): EngineOptions {
  const lanes = native().laneCount(options, total);
  const missingLanes = Math.min(lanes, missing);
  if (missingLanes >= lanes) return options;
  const threads = options.threads > 0 ? options.threads : native().buildInfo().hardwareThreads;
  return {
    ...options,
    parallelMatrices: missingLanes,
    threads: Math.max(1, Math.floor(threads / lanes)) * missingLanes,
    memoryBudget: Math.max(1, Math.floor(options.memoryBudget / lanes)) * missingLanes,
  };
}

/** {@link runSpectra} with a cache: look every job up, compute the rest, store each new result before yielding it. */
function cachedRun(jobs: readonly MatrixJob[], nativeOptions: EngineOptions, options: SpectrumOptions, cache: ResultCache): AsyncIterableIterator<SpectrumOutcome> {
  const { signal, onProgress } = options;
  let stopped = false;
  let inner: AsyncIterableIterator<SpectrumOutcome> | undefined;
  const queue = new EventQueue<SpectrumOutcome>(() => {
    stopped = true;
    void inner?.return?.();
  });
  const settings = costSettings(options);
  void (async () => {
    const builder = new CacheKeyBuilder(nativeOptions);
    const keys: Array<CacheKey | undefined> = [];
    for (const job of jobs) keys.push(await builder.key(job));
    const missing: number[] = [];
    let cachedBytes = 0, totalBytes = 0;
    for (const [i, job] of jobs.entries()) {
      if (stopped) return;
      if (signal?.aborted) throw abortError(signal);
      const key = keys[i];
      const bytes = jobCost(job, settings).bytes;
      totalBytes += bytes;
      const found = key ? await cache.get(key) : undefined;
      if (!found) {
        missing.push(i);
        continue;
      }
      cachedBytes += bytes;
      queue.push({ ...found, index: i, name: job.name, cached: true });
    }
    const hits = jobs.length - missing.length;
    // Progress covers the whole run: cached jobs count as done.
    onProgress?.({ jobsDone: hits, jobsTotal: jobs.length, bytesDone: cachedBytes, bytesTotal: totalBytes, flopsDone: 0, current: '' });
    if (missing.length === 0 || stopped) {
      queue.end();
      return;
    }
    // Results wait for their entry to be written; progress waits for the results before it, and for the
    // consumer to have taken them (a macrotask), so a phase's last progress still follows its last result.
    let inOrder: Promise<void> = Promise.resolve();
    const then = (task: () => void | Promise<void>) => (inOrder = inOrder.then(task));
    inner = engineRun(missing.map((i) => jobs[i] as MatrixJob), resumedOptions(nativeOptions, jobs.length, missing.length), {
      signal,
      onProgress: (p) => void then(async () => {
        await new Promise<void>((resolve) => setImmediate(resolve));
        onProgress?.({ ...p, jobsDone: p.jobsDone + hits, jobsTotal: jobs.length, bytesDone: p.bytesDone + cachedBytes, bytesTotal: p.bytesTotal + cachedBytes });
      }).catch(() => undefined),
    });
    for await (const outcome of inner) {
      const i = missing[outcome.index] as number;
      const result = { ...outcome, index: i };
      const key = keys[i];
      // Not awaited: results join the order as they arrive, ahead of the progress that follows them.
      void then(async () => {
        if (key && !isFailed(result)) await cache.put(key, result);
        queue.push(result);
      });
    }
    await inOrder;
    queue.end();
  })().catch((error: unknown) => queue.fail(error));
  return queue;
}

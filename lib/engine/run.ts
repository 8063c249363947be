/**
 * The bridge to the native engine: a list of matrix jobs in, an async iterator of spectra out, with
 * progress, an AbortSignal, and per-job failures reported in the result (the other jobs still run).
 * analyze(), diff() and lora() plan jobs and call runSpectra.
 */
import { nativeHandleOf } from '../read/checkpoint';
import { abortError, invalidArgument, type ParamscopeError } from '../errors';
import { native, type NativeJobSpec } from './binding';
import { EventQueue } from './event-queue';
import { engineOptions } from './options';
import type { MatrixJob, TensorSource } from './matrix-job';
import type { SpectrumOptions, SpectrumOutcome } from './types';

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

/**
 * The bridge to the native engine: a list of matrix jobs in, an async iterator of spectra out, with
 * progress, an AbortSignal, and per-job failures reported in the result (the other jobs still run).
 * analyze(), diff() and lora() plan jobs and call runSpectra.
 */
import { nativeHandleOf } from '../read/checkpoint';
import { abortError, type ParamscopeError } from '../errors';
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
    case 'lowrank': return { name: job.name, kind: 'lowrank', rows: job.rows, cols: job.cols, rank: job.rank, b: job.b, a: job.a, scale: job.scale, vectors: job.vectors };
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

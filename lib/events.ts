/**
 * The event stream of each verb as an async iterator: the same event objects `onEvent` gets and
 * `--jsonl` prints (lib/report/events.ts, docs/events.md). The iteration ends after the stream's last
 * event — a `summary`, or an `error` with scope "run" when the run failed (the iterator itself does not
 * throw: the failure is that event). Leaving the loop early stops the run.
 *
 * @example
 * for await (const e of diffEvents('base/', 'tuned/', { rank: 64 })) {
 *   if (e.type === 'progress') process.stderr.write(`\r${(100 * e.fraction).toFixed(0)}%`);
 *   if (e.type === 'matrix') console.log(e.record.name, e.record.metrics?.stableRank);
 *   if (e.type === 'summary' && 'verdict' in e.report) console.log(e.report.verdict.label);
 * }
 */
import { type AnalyzeOptions, analyzeCheckpoint } from './analyze';
import { compare, type CompareOptions } from './compare';
import { diff, type DiffOptions } from './diff';
import { EventQueue } from './engine/event-queue';
import { type AdapterOptions, analyzeAdapter } from './lora';
import type { Adapter } from './plan/lora/types';
import type { Checkpoint } from './read/checkpoint';
import type { EventOptions, RunEvent } from './report/events';

type Runnable = EventOptions & { signal?: AbortSignal };

function eventsOf<O extends Runnable>(start: (options: O) => Promise<unknown>, options: O): AsyncIterableIterator<RunEvent> {
  const controller = new AbortController();
  const outer = options.signal;
  const forward = () => controller.abort(outer?.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener('abort', forward, { once: true });
  const queue = new EventQueue<RunEvent>(() => controller.abort(new Error('the event iterator was closed before the run ended')));
  const onEvent = (event: RunEvent) => {
    options.onEvent?.(event);
    queue.push(event);
  };
  // A failure is the stream's last event (the verb emits it), so the iteration just ends.
  start({ ...options, signal: controller.signal, onEvent })
    .catch(() => undefined)
    .finally(() => {
      outer?.removeEventListener('abort', forward);
      queue.end();
    });
  return queue;
}

/** {@link analyzeCheckpoint}'s events: plan, progress, one `matrix` per tensor (kind "tensor"), summary. */
export function analyzeEvents(checkpoint: string | Checkpoint, options: AnalyzeOptions = {}): AsyncIterableIterator<RunEvent> {
  return eventsOf((o) => analyzeCheckpoint(checkpoint, o), options);
}

/** {@link diff}'s events: plan, pairing warnings, progress, one `matrix` per pair (kind "pair"), summary. */
export function diffEvents(base: string | Checkpoint, tuned: string | Checkpoint, options: DiffOptions = {}): AsyncIterableIterator<RunEvent> {
  return eventsOf((o) => diff(base, tuned, o), options);
}

/** {@link analyzeAdapter}'s events (command "lora"). */
export function adapterEvents(adapter: string | Adapter, options: AdapterOptions = {}): AsyncIterableIterator<RunEvent> {
  return eventsOf((o) => analyzeAdapter(adapter, o), options);
}

/** {@link compare}'s events: its plan, each fine-tune's events tagged with `run`, the ranking as summary. */
export function compareEvents(base: string, tuned: readonly string[], options: CompareOptions = {}): AsyncIterableIterator<RunEvent> {
  return eventsOf((o) => compare(base, tuned, o), options);
}

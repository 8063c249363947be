/**
 * `--jsonl`: the run's events (lib/report/events.ts) as JSON lines on stdout, each written as it happens.
 * The stream ends with exactly one `summary` or one run `error`: the run's summary is held back until the
 * command has finished (its reports written), and replaced by an `error` when something fails after it
 * (a report that cannot be written, an interruption) — continuing the stream's numbering and clock, so
 * the command line adds nothing a library caller of the same run would not see, except such a failure.
 */
import { errorFields } from '../../report/event-stream';
import { EVENT_STREAM_VERSION, type ErrorEvent, type RunEvent, serializeEvent, type SummaryEvent } from '../../report/events';

export class JsonlWriter {
  #held: SummaryEvent | undefined;
  #last: { seq: number; t: number; at: number } | undefined;
  #ended = false;

  constructor(private readonly write: (line: string) => void = (line) => process.stdout.write(line + '\n')) {}

  /** The verb's onEvent. */
  readonly onEvent = (event: RunEvent): void => {
    if (this.#ended) return;
    this.#last = { seq: event.seq, t: event.t, at: performance.now() };
    if (event.type === 'summary' && event.run === undefined) {
      this.#held = event;
      return;
    }
    this.write(serializeEvent(event));
    if (event.type === 'error' && event.scope === 'run') this.#ended = true;
  };

  /** Whether the stream has ended (with its summary or a run error). */
  get ended(): boolean {
    return this.#ended;
  }

  /** The command succeeded: the held summary ends the stream. */
  finish(): void {
    if (this.#ended) return;
    if (this.#held) this.write(serializeEvent(this.#held));
    this.#held = undefined;
    this.#ended = true;
  }

  /** The command failed: a run error ends the stream, unless the run already ended it with one. */
  fail(error: unknown): void {
    if (this.#ended) return;
    const last = this.#last;
    const event: ErrorEvent = {
      type: 'error', v: EVENT_STREAM_VERSION,
      seq: this.#held ? this.#held.seq : last ? last.seq + 1 : 0,
      t: last ? Math.round(last.t + performance.now() - last.at) : 0,
      scope: 'run', ...errorFields(error),
    };
    this.#held = undefined;
    this.write(serializeEvent(event));
    this.#ended = true;
  }
}

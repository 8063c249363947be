/**
 * A one-line progress bar on stderr for long commands, drawn only on a TTY (redrawn at most 10 times a
 * second) and cleared before other output; silent when stderr is a pipe or file so logs stay clean.
 */
import type { EngineProgress } from '../../engine/types';
import { terminalText } from './terminal-text';

export class ProgressBar {
  #lastDraw = 0;
  #visible = false;
  readonly #start = Date.now();

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr, private readonly enabled = Boolean(process.stderr.isTTY)) {}

  update(p: EngineProgress): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.#lastDraw < 100 && p.jobsDone < p.jobsTotal) return;
    this.#lastDraw = now;
    const fraction = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : p.jobsTotal > 0 ? p.jobsDone / p.jobsTotal : 0;
    const width = 24;
    const filled = Math.round(fraction * width);
    const elapsed = (now - this.#start) / 1000;
    const eta = fraction > 0.02 ? elapsed * (1 / fraction - 1) : NaN;
    const columns = this.stream.columns ?? 100;
    const text =
      `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.jobsDone}/${p.jobsTotal} matrices, ` +
      `${(p.bytesDone / 1e9).toFixed(2)}/${(p.bytesTotal / 1e9).toFixed(2)} GB, ${(p.flopsDone / 1e9).toFixed(0)} GFLOP, ` +
      `${elapsed.toFixed(0)}s${Number.isFinite(eta) ? ` (eta ${eta.toFixed(0)}s)` : ''} ${terminalText(p.current)}`;
    this.stream.write(`\r${text.slice(0, columns - 1).padEnd(Math.min(columns - 1, text.length))}\x1b[K`);
    this.#visible = true;
  }

  clear(): void {
    if (this.#visible) this.stream.write('\r\x1b[K');
    this.#visible = false;
  }
}

/** What a command's long task reports its progress to. */
export type OnProgress = (progress: EngineProgress) => void;

/** Runs `task` with a progress bar fed by the engine's progress, cleared before anything else is printed. */
export async function withProgress<T>(task: (onProgress: OnProgress) => Promise<T>): Promise<T> {
  const bar = new ProgressBar();
  try {
    return await task((p) => bar.update(p));
  } finally {
    bar.clear();
  }
}

/**
 * Process interruption (SIGINT, SIGTERM) as one AbortSignal and a list of cleanup hooks. The command line
 * installs the handlers once (`installInterruptHandlers`); the library never does: a library that
 * grabbed a process's signals would change how its host exits. Everything that runs under the CLI and
 * must react to an interruption uses this module rather than listening to the process itself:
 *  - long work passes `interruptSignal()` on as its `signal`, so the engine stops within about a panel;
 *  - code that leaves something behind while it works (a temporary report file) registers a hook with
 *    `onInterrupt` and unregisters it when done.
 *
 * On the first signal the AbortSignal fires with an {@link InterruptedError}; the command unwinds, and the
 * CLI exits with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM) after running the hooks
 * (`runInterruptHooks`). A second signal runs the hooks and exits at once with that code.
 */
export type InterruptSignal = 'SIGINT' | 'SIGTERM';

/** The exit code of a process stopped by each signal: 128 + its number, as shells report it. */
export const INTERRUPT_EXIT_CODES: Readonly<Record<InterruptSignal, number>> = Object.freeze({ SIGINT: 130, SIGTERM: 143 });

/** The reason an interrupted run's AbortSignal carries. */
export class InterruptedError extends Error {
  constructor(readonly signal: InterruptSignal) {
    super(`interrupted by ${signal}`);
    this.name = 'InterruptedError';
  }
}

type Hook = (signal: InterruptSignal) => void;

let controller: AbortController | null = null;
let received: InterruptSignal | null = null;
let hooksRan = false;
const hooks = new Set<Hook>();
const listeners: Array<[InterruptSignal, () => void]> = [];

/**
 * Installs the SIGINT and SIGTERM handlers (once; later calls return the same signal). Returns the
 * AbortSignal that fires on the first of them.
 */
export function installInterruptHandlers(): AbortSignal {
  if (controller) return controller.signal;
  controller = new AbortController();
  for (const signal of Object.keys(INTERRUPT_EXIT_CODES) as InterruptSignal[]) {
    const listener = () => handle(signal);
    process.on(signal, listener);
    listeners.push([signal, listener]);
  }
  return controller.signal;
}

function handle(signal: InterruptSignal): void {
  if (received) {
    // The second signal: the user means it. Clean up what is registered and go.
    runInterruptHooks();
    process.exit(INTERRUPT_EXIT_CODES[received]);
  }
  received = signal;
  controller?.abort(new InterruptedError(signal));
}

/** The signal installed by {@link installInterruptHandlers}, or undefined when none is installed. */
export function interruptSignal(): AbortSignal | undefined {
  return controller?.signal;
}

/** The first signal received, or null. */
export function interruption(): InterruptSignal | null {
  return received;
}

/** The exit code for the interruption received, or null when there was none. */
export function interruptExitCode(): number | null {
  return received ? INTERRUPT_EXIT_CODES[received] : null;
}

/**
 * Registers a cleanup hook for an interruption: it runs once, synchronously (keep it short: remove a
 * temporary file with fs.rmSync, say), when the process exits because of a signal. Returns the function
 * that unregisters it.
 */
export function onInterrupt(hook: Hook): () => void {
  hooks.add(hook);
  return () => {
    hooks.delete(hook);
  };
}

/** Runs the registered hooks once (errors in a hook are ignored: the others still run). */
export function runInterruptHooks(): void {
  if (hooksRan || !received) return;
  hooksRan = true;
  for (const hook of [...hooks]) {
    try {
      hook(received);
    } catch {
      // A cleanup hook that fails must not keep the others from running or the process from exiting.
    }
  }
}

/** Removes the handlers and forgets the state (tests run several commands in one process). */
export function resetInterruptHandlers(): void {
  for (const [signal, listener] of listeners.splice(0)) process.off(signal, listener);
  controller = null;
  received = null;
  hooksRan = false;
  hooks.clear();
}

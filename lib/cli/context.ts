/**
 * What every command gets: its arguments, an argument parser that knows its usage text, the output
 * streams, the interruption signal, and one way to report a usage error. Commands import this, never
 * main.ts, so main.ts can import every command without a circle. Also the mapping from a thrown error
 * to an exit code (docs/events.md, "Exit codes"): 0 success, 2 bad input (a ParamscopeError or a usage
 * error, one line on stderr), 1 an internal error, 130 / 143 interrupted by SIGINT / SIGTERM. With
 * --jsonl the failure is also the event stream's last line.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { installInterruptHandlers, interruptExitCode, interruption, InterruptedError, runInterruptHooks } from '../engine/interrupt';
import { ParamscopeError } from '../errors';
import { JsonlWriter } from './output/jsonl';
import { terminalLines, terminalText } from './output/terminal-text';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandContext {
  argv: string[];
  parse<O extends Options>(options: O, usage: string): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
  /** Human-readable text on stdout: control characters from input are escaped (output/terminal-text.ts). */
  out(text: string): void;
  /** Human-readable text on stderr, escaped as `out`. */
  err(text: string): void;
  /** Machine output on stdout (a --json document, --csv rows), written exactly as given. */
  data(text: string): void;
  usageError(message: string, usage: string): number;
  isTTY: boolean;
  /** Fires on SIGINT / SIGTERM. Reading it installs the handlers (lib/engine/interrupt.ts): long commands pass it on as their signal. */
  readonly signal: AbortSignal;
  /** Set with --jsonl (flags/machine.ts): the run's event lines, which runCommand ends on a failure. */
  events?: JsonlWriter;
  /** Set with --quiet: the error line is left out when the event stream carries the error. */
  quiet?: boolean;
}

/** A command of the CLI: what it does in one line, and how to run it. */
export interface Command {
  run: (ctx: CommandContext) => Promise<number>;
  summary: string;
}

class UsageError extends Error {
  constructor(message: string, readonly usage: string) {
    super(message);
  }
}

class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super('help');
  }
}

/** The context of command `name` run with the arguments `rest` (what follows the command name). */
export function commandContext(name: string, rest: string[]): CommandContext {
  const ctx: CommandContext = {
    argv: rest,
    parse(options, usage) {
      if (rest.includes('--help') || rest.includes('-h')) throw new HelpRequested(usage);
      try {
        const parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
        return { values: parsed.values as Record<string, string | boolean | string[] | undefined>, positionals: parsed.positionals };
      } catch (error) {
        throw new UsageError(error instanceof Error ? error.message : String(error), usage);
      }
    },
    out: (text) => process.stdout.write(terminalLines(text) + '\n'),
    err: (text) => process.stderr.write(terminalLines(text) + '\n'),
    data: (text) => process.stdout.write(text + '\n'),
    usageError(message, usage) {
      // In --jsonl mode a usage error is an event too, even before the command set the stream up.
      if (!ctx.events && rest.includes('--jsonl')) ctx.events = new JsonlWriter();
      ctx.events?.fail(new ParamscopeError(message, { code: 'INVALID_ARGUMENT' }));
      if (!((ctx.quiet ?? rest.includes('--quiet')) && ctx.events)) process.stderr.write(`paramscope ${name}: ${terminalText(message)}\n\n${usage}\n`);
      return 2;
    },
    isTTY: Boolean(process.stderr.isTTY),
    get signal() {
      return installInterruptHandlers();
    },
  };
  return ctx;
}

/** The exit code of a failure: 2 bad input, 1 internal (interruptions are decided before). */
function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return 2;
  if (error instanceof ParamscopeError) return error.code === 'INTERNAL' ? 1 : 2;
  return 1;
}

/** The code and exit of an interrupted command: the stream's last event, the hooks, 130 or 143. */
function interrupted(name: string, ctx: CommandContext, code: number): number {
  const signal = interruption();
  if (signal) {
    ctx.events?.fail(new InterruptedError(signal));
    if (!(ctx.quiet && ctx.events)) process.stderr.write(`paramscope ${name}: interrupted by ${signal}\n`);
  }
  runInterruptHooks();
  return code;
}

/** Runs a command in its context and turns what it throws into a message and an exit code. */
export async function runCommand(name: string, command: Command, ctx: CommandContext): Promise<number> {
  try {
    const code = await command.run(ctx);
    const interruptCode = interruptExitCode();
    if (interruptCode !== null) return interrupted(name, ctx, interruptCode);
    ctx.events?.finish();
    return code;
  } catch (error) {
    if (error instanceof HelpRequested) {
      process.stdout.write(error.usage + '\n');
      return 0;
    }
    const interruptCode = interruptExitCode();
    if (interruptCode !== null) return interrupted(name, ctx, interruptCode);
    if (error instanceof UsageError) return ctx.usageError(error.message, error.usage);
    ctx.events?.fail(error);
    if (!(ctx.quiet && ctx.events)) {
      // One line: the message may hold names from the input (a LF or an ESC in a tensor name is escaped).
      if (error instanceof ParamscopeError) process.stderr.write(`paramscope ${name}: ${error.code}: ${terminalText(error.message)}\n`);
      else process.stderr.write(`paramscope ${name}: internal error: ${terminalLines(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`);
    }
    return exitCodeOf(error);
  }
}

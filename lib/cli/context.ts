/**
 * What every command gets: its arguments, an argument parser that knows its usage text, the output
 * streams, and one way to report a usage error. Commands import this, never main.ts, so main.ts can
 * import every command without a circle. Also the mapping from a thrown error to an exit code:
 * 0 success, 2 bad input (a ParamscopeError or a usage error, one line on stderr), 1 anything else.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ParamscopeError } from '../errors';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandContext {
  argv: string[];
  parse<O extends Options>(options: O, usage: string): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
  out(text: string): void;
  err(text: string): void;
  usageError(message: string, usage: string): number;
  isTTY: boolean;
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
  return {
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
    out: (text) => process.stdout.write(text + '\n'),
    err: (text) => process.stderr.write(text + '\n'),
    usageError(message, usage) {
      process.stderr.write(`paramscope ${name}: ${message}\n\n${usage}\n`);
      return 2;
    },
    isTTY: Boolean(process.stderr.isTTY),
  };
}

/** Runs a command in its context and turns what it throws into a message and an exit code. */
export async function runCommand(name: string, command: Command, ctx: CommandContext): Promise<number> {
  try {
    return await command.run(ctx);
  } catch (error) {
    if (error instanceof HelpRequested) {
      process.stdout.write(error.usage + '\n');
      return 0;
    }
    if (error instanceof UsageError) return ctx.usageError(error.message, error.usage);
    if (error instanceof ParamscopeError) {
      process.stderr.write(`paramscope ${name}: ${error.code}: ${error.message.replace(/\s*\n\s*/g, ' ')}\n`);
      return error.code === 'INTERNAL' ? 1 : 2;
    }
    process.stderr.write(`paramscope ${name}: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

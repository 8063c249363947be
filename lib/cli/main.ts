/**
 * The `paramscope` command line. Each command lives in its own file; this one parses the command name,
 * gives each a small context (argument parser, output streams), and maps errors to exit codes:
 * 0 success, 2 bad input (a ParamscopeError or a usage error, one line on stderr), 1 anything else.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ParamscopeError } from '../errors';
import { packageVersion } from '../engine/build-info';
import { doctorCommand } from './commands/doctor';
import { inspectCommand } from './commands/inspect';
import { demoCommand } from './commands/demo';
import { analyzeCommand } from './commands/analyze';
import { diffCommand } from './commands/diff';
import { loraCommand } from './commands/lora';
import { compareCommand } from './commands/compare';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandContext {
  argv: string[];
  parse<O extends Options>(options: O, usage: string): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
  out(text: string): void;
  err(text: string): void;
  usageError(message: string, usage: string): number;
  isTTY: boolean;
}

class UsageError extends Error {
  constructor(message: string, readonly usage: string) {
    super(message);
  }
}

const commands: Record<string, { run: (ctx: CommandContext) => Promise<number>; summary: string }> = {
  demo: { run: demoCommand, summary: 'run paramscope on a small bundled example and show what it reports' },
  inspect: { run: inspectCommand, summary: 'list the tensors of a checkpoint with totals per dtype and shard' },
  analyze: { run: analyzeCommand, summary: 'singular-value spectra and rank metrics of every weight matrix' },
  diff: { run: diffCommand, summary: 'what a fine-tune changed: spectra of ΔW, noise floor, directions, regime verdict' },
  lora: { run: loraCommand, summary: 'the footprint of a LoRA adapter (with or without its base)' },
  compare: { run: compareCommand, summary: 'rank several fine-tunes of one base from concentrated to dispersed' },
  doctor: { run: doctorCommand, summary: 'show the BLAS backend, SIMD level, threads and versions in use' },
};

export function mainUsage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return [
    'Usage: paramscope <command> [options]',
    '',
    'Commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `paramscope <command> --help` for the options of a command.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainUsage() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(packageVersion() + '\n');
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`paramscope: unknown command "${name}"\n\n${mainUsage()}\n`);
    return 2;
  }
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
    out: (text) => process.stdout.write(text + '\n'),
    err: (text) => process.stderr.write(text + '\n'),
    usageError(message, usage) {
      process.stderr.write(`paramscope ${name}: ${message}\n\n${usage}\n`);
      return 2;
    },
    isTTY: Boolean(process.stderr.isTTY),
  };
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

class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super('help');
  }
}

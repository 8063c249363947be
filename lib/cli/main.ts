/**
 * The `paramscope` command line. Each command lives in its own file under commands/; this one parses the
 * command name and runs the command in its context (context.ts), which also maps errors to exit codes
 * (docs/events.md): 0 success, 2 bad input (a ParamscopeError or a usage error, one line on stderr),
 * 1 an internal error, 130 / 143 interrupted by SIGINT / SIGTERM.
 */
import { packageVersion } from '../engine/build-info';
import { analyzeCommand } from './commands/analyze';
import { compareCommand } from './commands/compare';
import { demoCommand } from './commands/demo';
import { diffCommand } from './commands/diff';
import { doctorCommand } from './commands/doctor';
import { inspectCommand } from './commands/inspect';
import { loraCommand } from './commands/lora';
import { mergeCommand } from './commands/merge';
import { planCommand } from './commands/plan';
import { trajectoryCommand } from './commands/trajectory';
import { type Command, commandContext, runCommand } from './context';
import { terminalText } from './output/terminal-text';

const commands: Record<string, Command> = {
  demo: { run: demoCommand, summary: 'run paramscope on a small bundled example and show what it reports' },
  inspect: { run: inspectCommand, summary: 'list the tensors of a checkpoint with totals per dtype and shard' },
  analyze: { run: analyzeCommand, summary: 'singular-value spectra and rank metrics of every weight matrix' },
  diff: { run: diffCommand, summary: 'what a fine-tune changed: spectra of ΔW, noise floor, directions, regime verdict' },
  lora: { run: loraCommand, summary: 'the footprint of a LoRA adapter (with or without its base)' },
  compare: { run: compareCommand, summary: 'rank several fine-tunes of one base from concentrated to dispersed' },
  trajectory: { run: trajectoryCommand, summary: 'a training run\'s checkpoints in step order: how the footprint grows, where its directions settle' },
  merge: { run: mergeCommand, summary: 'put the partial reports of a sharded run (--shard i/N) back into one report' },
  plan: { run: planCommand, summary: 'what analyze or diff would cost (bytes, flops, memory, time), from the headers alone' },
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
    process.stderr.write(`paramscope: unknown command "${terminalText(name)}"\n\n${mainUsage()}\n`);
    return 2;
  }
  return runCommand(name, command, commandContext(name, rest));
}

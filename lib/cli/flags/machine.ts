/**
 * --jsonl and --quiet, shared by the long commands: where a command's output goes. Machine output (the
 * --json document, --csv, the --jsonl events) is stdout's alone; human text goes to stdout, or to stderr
 * when stdout carries machine output, or nowhere with --quiet, which also hides the progress bar and the
 * "report written" lines.
 */
import { invalidArgument } from '../../errors';
import type { RunEvent } from '../../report/events';
import type { CommandContext } from '../context';
import { JsonlWriter } from '../output/jsonl';
import { type OnProgress, withProgress } from '../output/progress';

export const machineFlagsHelp = `  --jsonl               stream the run as JSON lines on stdout as it happens: plan, progress, matrix,
                        warning, error, summary (docs/events.md); human text goes to stderr
  --quiet               print nothing but the requested machine output (--json, --csv, --jsonl): no
                        progress bar, no summary, no "report written" lines`;

export const machineFlagOptions = { jsonl: { type: 'boolean' }, quiet: { type: 'boolean' } } as const;

export interface CommandOutput {
  /** Where human text goes (`out`: stdout; `err`: stderr); both discard it with --quiet. */
  text: Pick<CommandContext, 'out' | 'err'>;
  /** stdout carries machine output (--json, --csv or --jsonl): human text belongs on stderr. */
  machineOnStdout: boolean;
  /** With --jsonl: the verb's onEvent. */
  onEvent?: (event: RunEvent) => void;
  /** Runs the task with the progress bar on a terminal's stderr (none with --quiet). */
  withProgress<T>(task: (onProgress: OnProgress) => Promise<T>): Promise<T>;
}

/**
 * The output of a command run with `values`; `formats` are its other machine-output flags (--jsonl
 * excludes them: one machine format on stdout). Sets ctx.events and ctx.quiet for runCommand.
 */
export function commandOutput(ctx: CommandContext, values: Record<string, unknown>, formats: readonly string[] = ['json']): CommandOutput {
  const quiet = Boolean(values.quiet);
  ctx.quiet = quiet;
  if (values.jsonl) ctx.events = new JsonlWriter();
  const others = formats.filter((f) => values[f]);
  if (values.jsonl && others.length) invalidArgument('--jsonl', 'no other machine output on stdout', `--${others[0]} as well`);
  const discard = () => undefined;
  return {
    text: quiet ? { out: discard, err: discard } : { out: ctx.out, err: ctx.err },
    machineOnStdout: Boolean(values.jsonl) || others.length > 0,
    ...(ctx.events ? { onEvent: ctx.events.onEvent } : {}),
    withProgress: quiet ? (task) => task(discard) : withProgress,
  };
}

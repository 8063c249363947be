/** `paramscope diff <base> <tuned>` and `paramscope diff --adapter <adapter> [--base <ckpt>]`. */
import { diff, type DiffReport } from '../../diff';
import { invalidArgument } from '../../errors';
import { analyzeAdapter } from '../../lora';
import { parseRenameRule } from '../../plan/pairing';
import { largestUpdatesTable, pairingLines, summaryLines, verdictLines } from '../output/diff-summary';
import type { CommandContext } from '../main';
import { ProgressBar } from '../output/progress';
import { emitReport, reportFlagOptions, reportFlagsHelp } from '../flags/report';
import { spectrumFlagOptions, spectrumFlags, spectrumOptionsFrom } from '../flags/spectrum';

export const diffUsage = `Usage: paramscope diff <base> <tuned> [options]
       paramscope diff --adapter <adapter> [--base <base>] [options]

Measures ΔW = W_tuned − W_base for every matrix the two checkpoints share (matched by name, whatever
their shards; prefixes, tied heads, resized vocabularies and dtype changes are handled and listed):
its spectrum and metrics, the relative update, how much of it rises above bf16/f16 storage noise, how
its directions relate to the base's, summaries per layer / module / depth, and the regime verdict
(concentrated … dispersed). With --adapter, ΔW = s·B·A of a LoRA adapter (see 'paramscope lora').

${spectrumFlags.replace('(default: exact)', '(default: truncated)')}
  --map <from=to>       rename tuned tensors before matching (prefix or glob; repeatable)
  --include <glob>      compare only matching names (repeatable); --exclude <glob> to skip
  --directions          compare top singular directions with the base (default: when base ≤ 1 GB)
  --no-directions       skip that comparison
  --direction-rank <k>  directions compared (default 16)
  --adapter <path>      a LoRA adapter instead of a tuned checkpoint; --base then optional
  --base <path>         the base checkpoint of --adapter
  --scale <s>           LoRA scale override (when the adapter has no config)
${reportFlagsHelp}

Example: paramscope diff base/ tuned/ --rank 64 --out report/`;

export const diffFlagOptions = {
  ...spectrumFlagOptions,
  ...reportFlagOptions,
  map: { type: 'string', multiple: true },
  include: { type: 'string', multiple: true },
  exclude: { type: 'string', multiple: true },
  directions: { type: 'boolean' },
  'no-directions': { type: 'boolean' },
  'direction-rank': { type: 'string' },
  adapter: { type: 'string' },
  base: { type: 'string' },
  scale: { type: 'string' },
  config: { type: 'string' },
  'no-mmap': { type: 'boolean' },
} as const;

/** The human summary: on stdout, or on stderr when stdout carries --json; the matrix table is optional. */
export function printReport(ctx: CommandContext, report: DiffReport, options: { json: boolean; table: boolean }): void {
  const say = options.json ? ctx.err : ctx.out;
  say(`${report.base ? report.base.path : '(no base)'} → ${report.tuned.path}`);
  for (const line of pairingLines(report)) say(line);
  if (options.table) say('\n' + largestUpdatesTable(report) + '\n');
  for (const line of summaryLines(report)) say(line);
  for (const line of verdictLines(report)) say(line);
}

export async function runDiff(values: Record<string, unknown>, positionals: string[], progress: ProgressBar): Promise<DiffReport> {
  const directions = values.directions ? true : values['no-directions'] ? false : 'auto';
  const directionRank = values['direction-rank'] === undefined ? undefined : Number(values['direction-rank']);
  const spectrum = { mode: 'truncated' as const, ...spectrumOptionsFrom(values), onProgress: (p: Parameters<ProgressBar['update']>[0]) => progress.update(p) };
  if (typeof values.adapter === 'string') {
    if (positionals.length > 0) invalidArgument('diff --adapter', 'no positional checkpoints (use --base)', positionals.join(' '));
    const scale = values.scale === undefined ? undefined : Number(values.scale);
    if (scale !== undefined && !Number.isFinite(scale)) invalidArgument('--scale', 'a number', values.scale);
    return analyzeAdapter(values.adapter, {
      ...spectrum,
      mode: spectrumOptionsFrom(values).mode ?? 'exact',
      ...(typeof values.base === 'string' ? { base: values.base } : {}),
      ...(scale === undefined ? {} : { scale }),
      ...(typeof values.config === 'string' ? { config: values.config } : {}),
      ...(directions === 'auto' ? {} : { directions }),
      ...(directionRank === undefined ? {} : { directionRank }),
    });
  }
  return diff(positionals[0] as string, positionals[1] as string, {
    ...spectrum,
    map: ((values.map as string[] | undefined) ?? []).map(parseRenameRule),
    include: (values.include as string[] | undefined) ?? [],
    exclude: (values.exclude as string[] | undefined) ?? [],
    directions,
    ...(directionRank === undefined ? {} : { directionRank }),
    mmap: !values['no-mmap'],
  });
}

export async function diffCommand(ctx: CommandContext): Promise<number> {
  const { positionals, values } = ctx.parse(diffFlagOptions, diffUsage);
  if (typeof values.adapter !== 'string' && positionals.length !== 2) return ctx.usageError('diff takes a base and a tuned checkpoint (or --adapter)', diffUsage);
  const progress = new ProgressBar();
  let report: DiffReport;
  try {
    report = await runDiff(values, positionals, progress);
  } finally {
    progress.clear();
  }
  printReport(ctx, report, { json: Boolean(values.json), table: !values.json });
  const written = await emitReport(ctx, report, values);
  if (written.length) ctx.err(`report written: ${written.join(', ')}`);
  return 0;
}

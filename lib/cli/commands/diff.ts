/** `paramscope diff <base> <tuned>` and `paramscope diff --adapter <adapter> [--base <ckpt>]`. */
import { invalidArgument } from '../../errors';
import type { CommandContext } from '../context';
import { printPlan } from './plan';
import { commandOutput, machineFlagOptions, machineFlagsHelp } from '../flags/machine';
import { checkOutFlag, emitReport, reportFlagOptions, reportFlagsHelp } from '../flags/report';
import { componentFlagHelp, componentFlagOption } from '../flags/component';
import { spectrumFlagOptions, spectrumFlags } from '../flags/spectrum';
import { exitCodeOf, printReport } from '../output/diff-summary';
import { terminalText } from '../output/terminal-text';
import { cacheFlagHelp, cacheFlagOptions, cacheFrom, cacheLines } from '../flags/cache';
import { runShard, shardFlagHelp, shardFlagOption, shardFrom } from '../flags/shard';
import { runAdapter, runAdapterShard, runCheckpointDiff, runCheckpointDiffShard } from './run-diff';

export const diffUsage = `Usage: paramscope diff <base> <tuned> [options]
       paramscope diff --adapter <adapter> [--base <base>] [options]

Measures ΔW = W_tuned − W_base for every matrix the two checkpoints share (matched by name, whatever
their shards; prefixes, tied heads, resized vocabularies and dtype changes are handled and listed;
FP8 and MXFP4 weights are decoded with their scales, fused experts compared expert by expert):
its spectrum and metrics, the relative update, how much of it rises above bf16/f16 storage noise, how
its directions relate to the base's, summaries per layer / module / depth, and the regime verdict
(concentrated … dispersed). With --adapter, ΔW = s·B·A of a LoRA adapter (see 'paramscope lora').

${spectrumFlags.replace('(default: exact)', '(default: truncated)')}
  --map <from=to>       rename tuned tensors before matching (prefix or glob; repeatable)
  --include <glob>      compare only matching names (repeatable); --exclude <glob> to skip
${componentFlagHelp}
  --directions          compare top singular directions with the base (default: when base ≤ 1 GB)
  --no-directions       skip that comparison
  --direction-rank <k>  directions compared (default 16)
  --adapter <path>      a LoRA adapter instead of a tuned checkpoint; --base then optional
  --base <path>         the base checkpoint of --adapter
  --scale <s>           LoRA scale override (when the adapter has no config)
  --dry-run             print what the diff would cost (bytes, flops, memory, time: 'paramscope plan';
                        --no-calibration: without the time)
${reportFlagsHelp}
${cacheFlagHelp}
${shardFlagHelp}
${machineFlagsHelp}

Example: paramscope diff base/ tuned/ --rank 64 --out report/`;

export const diffFlagOptions = {
  ...spectrumFlagOptions,
  ...reportFlagOptions,
  ...componentFlagOption,
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
  'dry-run': { type: 'boolean' },
  'no-calibration': { type: 'boolean' },
  ...cacheFlagOptions,
  ...machineFlagOptions,
  ...shardFlagOption,
} as const;

export async function diffCommand(ctx: CommandContext): Promise<number> {
  const { positionals, values } = ctx.parse(diffFlagOptions, diffUsage);
  const output = commandOutput(ctx, values);
  if (typeof values.adapter !== 'string' && positionals.length !== 2) return ctx.usageError('diff takes a base and a tuned checkpoint (or --adapter)', diffUsage);
  if (typeof values.adapter === 'string' && positionals.length > 0) invalidArgument('diff --adapter', 'no positional checkpoints (use --base)', positionals.join(' '));
  const adapter = values.adapter;
  const shard = shardFrom(values);
  if (!shard) checkOutFlag(values); // before any work (a shard's partial has its own rule)
  if (values['dry-run']) {
    if (typeof adapter === 'string') invalidArgument('--dry-run', 'a base and a tuned checkpoint (not --adapter)', adapter);
    return printPlan(ctx, positionals, values);
  }
  const { cache } = cacheFrom(values, output.text);
  if (shard)
    return runShard(ctx, output, values, shard, (hooks) => typeof adapter === 'string'
      ? runAdapterShard(values, adapter, shard, { ...hooks, ...(cache ? { cache } : {}) })
      : runCheckpointDiffShard(values, positionals[0] as string, positionals[1] as string, shard, { ...hooks, ...(cache ? { cache } : {}) }));
  const report = await output.withProgress(async (onProgress) => {
    const run = { onProgress, ...(output.onEvent ? { onEvent: output.onEvent } : {}), signal: ctx.signal, ...(cache ? { cache } : {}) };
    return typeof adapter === 'string'
      ? (await runAdapter(values, adapter, run)).report
      : runCheckpointDiff(values, positionals[0] as string, positionals[1] as string, run);
  });
  printReport(output.text, report, { json: output.machineOnStdout, table: !output.machineOnStdout });
  const written = await emitReport(ctx, report, values);
  if (written.length) output.text.err(`report written: ${written.map(terminalText).join(', ')}`);
  for (const line of cacheLines(cache)) output.text.err(line);
  return exitCodeOf([report]); // 2 when a matrix failed (the others are reported)
}

/** `paramscope compare <base> <tunedA> <tunedB> …`: several fine-tunes of one base, ranked. */
import { armNames, compare } from '../../compare';
import { compareShard } from '../../shard';
import { exitCodeOf } from '../output/diff-summary';
import { printRanking } from '../output/compare-summary';
import type { CommandContext } from '../context';
import { directionsFlag } from '../flags/directions';
import { commandOutput, machineFlagOptions, machineFlagsHelp } from '../flags/machine';
import { checkOutFlag, reportFlagsHelp } from '../flags/report';
import { runShard, shardFlagHelp, shardFlagOption, shardFrom } from '../flags/shard';
import { compareWrittenLine, emitCompareReport } from '../flags/compare-report';
import { componentFlagHelp, componentFlagOption, componentFrom } from '../flags/component';
import { spectrumFlagOptions, spectrumFlags, spectrumOptionsFrom } from '../flags/spectrum';
import { cacheFlagHelp, cacheFlagOptions, cacheFrom, cacheLines } from '../flags/cache';
import { comparisonFlagOptions, comparisonFlagsHelp, comparisonOptionsFrom } from '../flags/comparison';
import { runWeightsComparison } from './run-weights';

export const compareUsage = `Usage: paramscope compare <base> <tuned> <tuned> … [options]
       paramscope compare --weights <checkpoint> <checkpoint> … --out <dir> [options]

Runs 'paramscope diff' of each fine-tune against the same base and ranks them from the most concentrated
update to the most dispersed, side by side: score, label, confidence, the verdict's components, relative
update and median effective-rank ratio. With --out, also comparison.html (+ .json, .csv, .md): the arms
side by side with bootstrap intervals over matrices, whether they differ, overlaid depth profiles and
spectra, and a layer × module heatmap of the difference of two arms (docs/comparison.md).
With --weights: each checkpoint's own weights W analysed and compared (model families side by side).

${spectrumFlags.replace('(default: exact)', '(default: truncated)')}
  --directions          compare top singular directions with the base (default: when base ≤ 1 GB)
${componentFlagHelp}
  --weights             compare the checkpoints' own weights (no base; needs --out)
${comparisonFlagsHelp}
${reportFlagsHelp.replace('write report.json, pairs.csv, summary.md and report.html into <dir>', 'write each fine-tune\'s reports into <dir>, prefixed by its name')}
${cacheFlagHelp}
${shardFlagHelp}
${machineFlagsHelp}`;

export async function compareCommand(ctx: CommandContext): Promise<number> {
  const { positionals, values } = ctx.parse(
    { ...spectrumFlagOptions, ...componentFlagOption, json: { type: 'boolean' }, out: { type: 'string' }, directions: { type: 'boolean' }, 'no-directions': { type: 'boolean' }, weights: { type: 'boolean' }, ...comparisonFlagOptions, ...cacheFlagOptions, ...machineFlagOptions, ...shardFlagOption },
    compareUsage,
  );
  const output = commandOutput(ctx, values);
  if (values.weights) {
    if (positionals.length < 2) return ctx.usageError('compare --weights takes at least two checkpoints', compareUsage);
    if (typeof values.out !== 'string') return ctx.usageError('compare --weights writes its reports with --out <dir>', compareUsage);
    if (values.json || values.jsonl) return ctx.usageError('compare --weights writes comparison.json with --out; --json and --jsonl are not available with it', compareUsage);
    return runWeightsComparison(ctx, positionals, values, { ...spectrumOptionsFrom(values), ...componentFrom(values) }, output, values.out);
  }
  if (positionals.length < 3) return ctx.usageError('compare takes a base and at least two fine-tunes', compareUsage);
  const [base, ...tuned] = positionals as [string, ...string[]];
  const shard = shardFrom(values);
  const outDir = shard ? undefined : checkOutFlag(values); // before any work (a shard's partial has its own rule)
  const names = armNames(tuned);
  const { cache } = cacheFrom(values, output.text);
  const options = { mode: 'truncated' as const, ...spectrumOptionsFrom(values), ...componentFrom(values), directions: directionsFlag(values), ...(cache ? { cache } : {}) };
  if (shard) return runShard(ctx, output, values, shard, (hooks) => compareShard(base, tuned, shard, { ...options, ...hooks }));
  const comparison = comparisonOptionsFrom(values, ctx.signal, names); // checked before any work, with or without --out
  const { arms, ranking } = await output.withProgress((onProgress) => compare(base, tuned, {
    ...options,
    onProgress: (p) => onProgress({ ...p, current: `[${names.indexOf(p.run ?? '') + 1}/${tuned.length}] ${p.current}` }),
    ...(output.onEvent ? { onEvent: output.onEvent } : {}),
    signal: ctx.signal,
  }));
  const result = { base, arms, ranking };
  if (!values.json && !values.jsonl) printRanking(output.text, result);
  const written = await emitCompareReport(ctx, result, values, outDir, comparison);
  if (outDir !== undefined) output.text.err(compareWrittenLine(result, written, outDir));
  for (const line of cacheLines(cache)) output.text.err(line);
  return exitCodeOf(arms.map((a) => a.report));
}

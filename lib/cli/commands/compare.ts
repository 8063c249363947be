/** `paramscope compare <base> <tunedA> <tunedB> …`: several fine-tunes of one base, ranked. */
import { armNames, compare } from '../../compare';
import { compareShard } from '../../shard';
import { runShard, shardFlagHelp, shardFlagOption, shardFrom } from '../flags/shard';
import { printRanking } from '../output/compare-summary';
import type { CommandContext } from '../context';
import { directionsFlag } from '../flags/directions';
import { commandOutput, machineFlagOptions, machineFlagsHelp } from '../flags/machine';
import { reportFlagsHelp } from '../flags/report';
import { compareWrittenLine, emitCompareReport } from '../flags/compare-report';
import { componentFlagHelp, componentFlagOption, componentFrom } from '../flags/component';
import { spectrumFlagOptions, spectrumFlags, spectrumOptionsFrom } from '../flags/spectrum';

export const compareUsage = `Usage: paramscope compare <base> <tuned> <tuned> … [options]

Runs 'paramscope diff' of each fine-tune against the same base and ranks them from the most concentrated
update to the most dispersed, side by side: score, label, confidence, the verdict's components, relative
update and median effective-rank ratio.

${spectrumFlags.replace('(default: exact)', '(default: truncated)')}
  --directions          compare top singular directions with the base (default: when base ≤ 1 GB)
${componentFlagHelp}
${reportFlagsHelp.replace('write report.json, pairs.csv, summary.md and report.html into <dir>', 'write each fine-tune\'s reports into <dir>, prefixed by its name')}
${shardFlagHelp}
${machineFlagsHelp}`;

export async function compareCommand(ctx: CommandContext): Promise<number> {
  const { positionals, values } = ctx.parse(
    { ...spectrumFlagOptions, ...componentFlagOption, json: { type: 'boolean' }, out: { type: 'string' }, directions: { type: 'boolean' }, 'no-directions': { type: 'boolean' }, ...machineFlagOptions, ...shardFlagOption },
    compareUsage,
  );
  const output = commandOutput(ctx, values);
  if (positionals.length < 3) return ctx.usageError('compare takes a base and at least two fine-tunes', compareUsage);
  const [base, ...tuned] = positionals as [string, ...string[]];
  const names = armNames(tuned);
  const options = { mode: 'truncated' as const, ...spectrumOptionsFrom(values), ...componentFrom(values), directions: directionsFlag(values) };
  const shard = shardFrom(values);
  if (shard) return runShard(ctx, output, values, shard, (hooks) => compareShard(base, tuned, shard, { ...options, ...hooks }));
  const { arms, ranking } = await output.withProgress((onProgress) => compare(base, tuned, {
    ...options,
    onProgress: (p) => onProgress({ ...p, current: `[${names.indexOf(p.run ?? '') + 1}/${tuned.length}] ${p.current}` }),
    ...(output.onEvent ? { onEvent: output.onEvent } : {}),
    signal: ctx.signal,
  }));
  if (!values.json && !values.jsonl) printRanking(output.text, { base, arms, ranking });
  const written = await emitCompareReport(ctx, { base, arms, ranking }, values);
  if (typeof values.out === 'string') output.text.err(compareWrittenLine(written, values.out));
  return 0;
}

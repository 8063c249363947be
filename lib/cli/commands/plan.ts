/**
 * `paramscope plan <checkpoint> [<tuned>]` (and `analyze --dry-run`, `diff --dry-run`): what the run would
 * cost, from the headers alone — per matrix and in total the bytes to read, the flops, the memory held and
 * an estimated time on this machine — without computing anything but a short calibration.
 */
import { estimate, type RunEstimate } from '../../estimate';
import { toJson } from '../../report/json';
import type { CommandContext } from '../context';
import { integerFlag } from '../flags/numbers';
import { directionRankFlag, directionsFlag } from '../flags/directions';
import { parseRenameRule } from '../flags/rename-rule';
import { spectrumFlagOptions, spectrumFlags, spectrumOptionsFrom } from '../flags/spectrum';
import { formatShape } from '../output/numbers';
import { allRowsFlagHelp, allRowsFlagOption, distinct, renderLongTable } from '../output/long-table';
import { terminalText } from '../output/terminal-text';
import { shardPlanText } from '../output/shard-plan';
import { shardEstimates } from '../../shard';
import { checkShard } from '../../plan/shard';

export const planUsage = `Usage: paramscope plan <checkpoint> [<tuned>] [options]

What 'paramscope analyze <checkpoint>' (one checkpoint) or 'paramscope diff <base> <tuned>' (two) would
cost, from the headers alone, for any checkpoint size: per matrix and in total the stored bytes to read,
the floating-point operations, the memory it holds while computing, and an estimated time on this machine
from a short calibration (about a second). Takes the options of analyze and diff.

${spectrumFlags.replace('(default: exact)', '(default: exact for one checkpoint, truncated for two)')}
  --map <from=to>, --include <glob>, --exclude <glob>, --directions, --no-directions, --direction-rank <k>
                        as for diff (and include/exclude for analyze)
  --no-calibration      no time estimate (nothing is computed at all)
  --shards <N>          also how the run falls on N shards (as --shard i/N splits it) and each one's cost
  --json                print the estimate as JSON
${allRowsFlagHelp.replace('every tensor', 'every spectrum')}

Example: paramscope plan Llama-70B/ Llama-70B-sft/ --mode truncated --rank 64`;

export const planFlagOptions = {
  ...spectrumFlagOptions,
  map: { type: 'string', multiple: true },
  include: { type: 'string', multiple: true },
  exclude: { type: 'string', multiple: true },
  directions: { type: 'boolean' },
  'no-directions': { type: 'boolean' },
  'direction-rank': { type: 'string' },
  'no-calibration': { type: 'boolean' },
  'no-mmap': { type: 'boolean' },
  json: { type: 'boolean' },
  ...allRowsFlagOption,
  shards: { type: 'string' },
} as const;

export async function planCommand(ctx: CommandContext): Promise<number> {
  const { positionals, values } = ctx.parse(planFlagOptions, planUsage);
  if (positionals.length < 1 || positionals.length > 2) return ctx.usageError('plan takes one checkpoint (analyze) or two (diff)', planUsage);
  return printPlan(ctx, positionals, values);
}

/** Estimates and prints the plan of the run the positionals and flags describe (plan, --dry-run). */
export async function printPlan(ctx: CommandContext, checkpoints: readonly string[], values: Record<string, unknown>): Promise<number> {
  const spectrum = spectrumOptionsFrom(values);
  const e = await estimate(checkpoints, {
    ...spectrum,
    ...(checkpoints.length === 2 ? { mode: spectrum.mode ?? 'truncated' } : {}),
    map: ((values.map as string[] | undefined) ?? []).map(parseRenameRule),
    include: (values.include as string[] | undefined) ?? [],
    exclude: (values.exclude as string[] | undefined) ?? [],
    directions: directionsFlag(values),
    ...directionRankFlag(values),
    mmap: !values['no-mmap'],
    calibrate: !values['no-calibration'],
  });
  const shards = values.shards === undefined ? undefined : shardEstimates(e, checkShard({ index: 0, count: integerFlag('--shards', values.shards, 1) as number }, `--shards ${String(values.shards)}`).count);
  if (values.json) ctx.data(toJson(shards ? { ...e, shards } : e));
  else ctx.out(planText(e, { all: Boolean(values.all) }) + (shards ? '\n\n' + shardPlanText(e, shards) : ''));
  return 0;
}

const gb = (bytes: number) => (bytes / 1e9).toFixed(bytes < 1e8 ? 3 : 2);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
const seconds = (s: number | null) => (s === null ? '-' : s < 10 ? s.toFixed(2) : s.toFixed(0));

export function planText(e: RunEstimate, options: { all: boolean } = { all: false }): string {
  const t = e.totals;
  const header = `${e.kind} of ${e.inputs.map(terminalText).join(' → ')}: ${t.matrices} spectra (${e.mode}${e.rank === null ? '' : `, top ${e.rank}`}), ` +
    `${e.lanes} at once with ${mib(e.laneBytes)} MiB each`;
  const table = renderLongTable(e.jobs, {
    columns: [{ header: 'matrix' }, { header: 'phase' }, { header: 'shape' }, { header: 'GB read', align: 'right' }, { header: 'GFLOP', align: 'right' },
     { header: 'memory MiB', align: 'right' }, { header: 'est. s', align: 'right' }],
    row: (j) => [j.name, j.phase, formatShape([j.rows, j.cols]), gb(j.bytes), (j.flops / 1e9).toFixed(1), mib(j.memoryBytes), seconds(j.seconds)],
    name: (j) => j.name,
    noun: 'spectra',
    groupColumns: [{ header: 'shapes' }, { header: 'GB read', align: 'right' }, { header: 'GFLOP', align: 'right' }, { header: 'est. s', align: 'right' }],
    group: (js) => [distinct(js.map((j) => formatShape([j.rows, j.cols]))), gb(js.reduce((n, j) => n + j.bytes, 0)), (js.reduce((n, j) => n + j.flops, 0) / 1e9).toFixed(1),
      js.some((j) => j.seconds === null) ? '-' : seconds(js.reduce((n, j) => n + (j.seconds as number), 0))],
  }, options);
  const totals = [
    `total: ${gb(t.bytes)} GB to read, ${(t.flops / 1e12).toFixed(2)} TFLOP, at most ${mib(t.memoryBytes)} MiB of anonymous memory held by the matrices computed at once, ` +
      (t.seconds === null ? 'no time estimate (--no-calibration)' : `about ${seconds(t.seconds)} s on this machine`),
    ...e.notes.map((n) => `  ${terminalText(n)}`),
  ];
  return [header, '', table, '', ...totals].join('\n');
}

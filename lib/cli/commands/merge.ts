/** `paramscope merge <partial>…`: the shards' partial reports → the report the single run would have written. */
import { merge } from '../../merge';
import { analysisDocument } from '../../report/header';
import { toJson } from '../../report/json';
import { invalidArgument } from '../../errors';
import type { CommandContext } from '../context';
import { compareWrittenLine, emitCompareReport } from '../flags/compare-report';
import { commandOutput, machineFlagOptions } from '../flags/machine';
import { checkOutFlag, emitReport, reportFlagOptions, reportFlagsHelp } from '../flags/report';
import { comparisonFlagOptions, comparisonFlagsHelp, comparisonOptionsFrom } from '../flags/comparison';
import { terminalText } from '../output/terminal-text';
import { emitTrajectoryReport, printTrajectory, trajectoryArmNames, trajectoryWrittenLine } from '../flags/trajectory-report';
import { analysisToCsv } from '../../report/analysis-csv';
import { printRanking } from '../output/compare-summary';
import { exitCodeOf, printReport } from '../output/diff-summary';

export const mergeUsage = `Usage: paramscope merge <partial> <partial> … [options]

Puts the partial reports of a sharded run (analyze, diff, lora, compare or trajectory with --shard
i/N, each with --json or --out) back together into the report the single run would have written: the same JSON
apart from timings and timestamps, the aggregates and verdict computed from every shard's matrices.
Every shard of one plan must be given once: partials of another plan, a shard given twice or a shard
missing are refused with a coded error naming them (docs/scale-out.md).

${reportFlagsHelp.replace('print the report as JSON', 'print the merged report as JSON (as the command itself would)').replace("write report.json, pairs.csv, summary.md and report.html into <dir>", "write every report file the command's --out writes into <dir>\n                        (diff, lora, compare, trajectory; compare's prefixed by fine-tune)")}
  --csv                 print one CSV row per matrix (analyze's shards, as analyze --csv)
  --quiet               print nothing but the requested machine output
compare's and trajectory's shards with --out (comparison.*, as compare / trajectory --out write it):
${comparisonFlagsHelp}
  --seed <n>            the bootstrap's seed (give compare's --seed for the same intervals)

Example: paramscope merge parts/part-*.json --out report/`;

export async function mergeCommand(ctx: CommandContext): Promise<number> {
  const { positionals, values } = ctx.parse({ ...reportFlagOptions, csv: { type: 'boolean' }, ...comparisonFlagOptions, seed: { type: 'string' }, ...machineFlagOptions }, mergeUsage);
  if (values.jsonl) invalidArgument('merge --jsonl', 'no event stream (merge computes nothing); use --json', '--jsonl');
  const output = commandOutput(ctx, values, ['json', 'csv']);
  if (positionals.length === 0) return ctx.usageError('merge takes the partial reports of every shard', mergeUsage);
  if (values.json && values.csv) invalidArgument('--json/--csv', 'one output format', 'both');
  const outDir = checkOutFlag(values); // before any work
  const merged = await merge(positionals, { signal: ctx.signal });
  const text = output.text;
  switch (merged.command) {
    case 'analyze': {
      if (outDir !== undefined) invalidArgument('merge --out', "a diff, lora or compare run (analyze's report is --json or --csv)", values.out);
      const report = merged.report;
      if (values.json) ctx.data(toJson(analysisDocument(report)));
      else if (values.csv) ctx.data(analysisToCsv(report));
      else text.out(`${terminalText(report.path)}: ${report.totals.matrices} matrices merged from ${positionals.length} shards, ${report.mode} spectra (--json or --csv for the report)`);
      return report.totals.failed > 0 ? 2 : 0;
    }
    case 'compare': {
      if (values.csv) invalidArgument('merge --csv', "analyze's shards", 'compare');
      if (!values.json) printRanking(text, merged.result);
      const comparison = outDir !== undefined ? comparisonOptionsFrom(values, ctx.signal, merged.result.arms.map((a) => a.name)) : undefined;
      const written = await emitCompareReport(ctx, merged.result, values, outDir, comparison);
      if (outDir !== undefined) text.err(compareWrittenLine(merged.result, written, outDir));
      return exitCodeOf(merged.result.arms.map((a) => a.report));
    }
    case 'trajectory': {
      if (values.csv) invalidArgument('merge --csv', "analyze's shards", 'trajectory');
      if (!values.json) printTrajectory(text, merged.result.report);
      const comparison = outDir !== undefined ? comparisonOptionsFrom(values, ctx.signal, trajectoryArmNames(merged.result.steps)) : undefined;
      const written = await emitTrajectoryReport(ctx, merged.result, values, outDir, comparison);
      if (outDir !== undefined) text.err(trajectoryWrittenLine(written, outDir));
      return 0;
    }
    default: {
      if (values.csv) invalidArgument('merge --csv', "analyze's shards", merged.command);
      printReport(text, merged.report, { json: output.machineOnStdout, table: !output.machineOnStdout });
      const written = await emitReport(ctx, merged.report, values);
      if (written.length) text.err(`report written: ${written.map(terminalText).join(', ')}`);
      return exitCodeOf([merged.report]);
    }
  }
}

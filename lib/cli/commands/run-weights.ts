/**
 * The weights comparison shared by `compare --weights` and `analyze --out`: each checkpoint analysed,
 * its analysis written as `<name>.analysis.json` and `<name>.tensors.csv`, and the comparison family
 * (comparison.json, .csv, .md, .html) beside them; a table of the statistics and their intervals printed.
 */
import { armNames } from '../../compare';
import { compareWeights } from '../../compare-weights';
import { analysisToCsv } from '../../report/analysis-csv';
import { analysisDocument } from '../../report/header';
import { toJson } from '../../report/json';
import type { ReportFile } from '../../report/report-set';
import { ANALYSIS_FILES } from '../../report/set-files';
import type { AnalyzeOptions } from '../../analyze';
import { invalidArgument } from '../../errors';
import type { CommandContext } from '../context';
import { cacheFrom, cacheLines } from '../flags/cache';
import type { CommandOutput } from '../flags/machine';
import { comparisonFiles, comparisonOptionsFrom, fileLink } from '../flags/comparison';
import { checkOutFlag, reportPrefixes, writeOutSet } from '../flags/report';
import { terminalText } from '../output/terminal-text';

export async function runWeightsComparison(ctx: CommandContext, checkpoints: readonly string[], values: Record<string, unknown>, options: AnalyzeOptions, output: CommandOutput, dir: string): Promise<number> {
  // Before any work: the weights comparison runs whole (its shards would each write the whole set).
  if (values.shard !== undefined) invalidArgument('--shard', 'a command without --out (analyze) or --weights (compare): the weights comparison is not sharded', values.shard);
  const outDir = checkOutFlag({ out: dir });
  const { cache } = cacheFrom(values, output.text);
  const names = armNames(checkpoints);
  const comparison = comparisonOptionsFrom(values, ctx.signal, names);
  const { arms } = await output.withProgress((onProgress) => compareWeights(checkpoints, {
    ...options,
    ...(cache ? { cache } : {}),
    onProgress: (p) => onProgress({ ...p, current: `[${names.indexOf(p.run ?? '') + 1}/${checkpoints.length}] ${p.current}` }),
    signal: ctx.signal,
  }));
  // One report set: each checkpoint's analysis and the comparison family beside them, all or nothing.
  const prefixes = reportPrefixes(arms.map((a) => a.name));
  const files: ReportFile[] = arms.flatMap((a, i) => [
    { name: `${prefixes[i]}.${ANALYSIS_FILES.json}`, text: toJson(analysisDocument(a.report)) + '\n' },
    { name: `${prefixes[i]}.${ANALYSIS_FILES.csv}`, text: analysisToCsv(a.report) + '\n' },
  ]);
  const links = Object.fromEntries(arms.map((a, i) => [a.name, fileLink(`${prefixes[i]}.${ANALYSIS_FILES.json}`)]));
  files.push(...(await comparisonFiles({ arms: arms.map((a) => ({ label: a.name, kind: 'weights', report: a.report })) }, comparison, links)));
  const written = await writeOutSet(ctx, outDir as string, files);
  const failed = arms.reduce((s, a) => s + a.report.totals.failed, 0);
  output.text.err(`reports written: ${written.length} files in ${terminalText(outDir as string)} (comparison.html: the ${arms.length} checkpoints side by side)`);
  for (const line of cacheLines(cache)) output.text.err(line);
  // A failed matrix makes the exit code 2 (the other matrices are still reported), as for analyze.
  return failed > 0 ? 2 : 0;
}


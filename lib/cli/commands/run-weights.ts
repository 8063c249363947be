/**
 * The weights comparison shared by `compare --weights` and `analyze --out`: each checkpoint analysed,
 * its analysis written as `<name>.analysis.json` and `<name>.tensors.csv`, and the comparison family
 * (comparison.json, .csv, .md, .html) beside them; a table of the statistics and their intervals printed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { armNames } from '../../compare';
import { compareWeights } from '../../compare-weights';
import { analysisToCsv } from '../../report/analysis-csv';
import { analysisDocument } from '../../report/header';
import { toJson } from '../../report/json';
import { writeTextFiles } from '../../report/write';
import type { AnalyzeOptions } from '../../analyze';
import type { CommandContext } from '../context';
import type { CommandOutput } from '../flags/machine';
import { comparisonOptionsFrom, emitComparison, fileLink } from '../flags/comparison';

export async function runWeightsComparison(ctx: CommandContext, checkpoints: readonly string[], values: Record<string, unknown>, options: AnalyzeOptions, output: CommandOutput, dir: string): Promise<number> {
  const names = armNames(checkpoints);
  const comparison = comparisonOptionsFrom(values, ctx.signal, names);
  const { arms } = await output.withProgress((onProgress) => compareWeights(checkpoints, {
    ...options,
    onProgress: (p) => onProgress({ ...p, current: `[${names.indexOf(p.run ?? '') + 1}/${checkpoints.length}] ${p.current}` }),
    signal: ctx.signal,
  }));
  const out = path.resolve(dir);
  fs.mkdirSync(out, { recursive: true });
  const files = arms.flatMap((a) => [
    { what: `${a.name} analysis JSON`, path: path.join(out, `${a.name}.analysis.json`), text: () => toJson(analysisDocument(a.report)) + '\n' },
    { what: `${a.name} tensors CSV`, path: path.join(out, `${a.name}.tensors.csv`), text: () => analysisToCsv(a.report) + '\n' },
  ]);
  const written = await writeTextFiles(files);
  const links = Object.fromEntries(arms.map((a) => [a.name, fileLink(`${a.name}.analysis.json`)]));
  written.push(...(await emitComparison({ arms: arms.map((a) => ({ label: a.name, kind: 'weights', report: a.report })) }, comparison, out, links)));
  const failed = arms.reduce((s, a) => s + a.report.totals.failed, 0);
  output.text.err(`reports written: ${written.length} files in ${out} (comparison.html: the ${arms.length} checkpoints side by side)`);
  // A failed matrix makes the exit code 2 (the other matrices are still reported), as for analyze.
  return failed > 0 ? 2 : 0;
}


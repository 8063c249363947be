/**
 * --json / --out of a comparison (`compare`, and `merge` of compare's shards, so both write the same):
 * the compare document on stdout, and in <dir> one report set: each fine-tune's reports, prefixed by its
 * name, and the comparison family (comparison.html, .json, .csv, .md) beside them — all written or none.
 */
import type { CompareResult } from '../../compare';
import type { ComparisonOptions } from '../../report/comparison/build';
import { toJson } from '../../report/json';
import { reportDocument } from '../../report/schema';
import type { CommandContext } from '../context';
import { terminalText } from '../output/terminal-text';
import { comparisonFiles, fileLink } from './comparison';
import { reportFiles, reportPrefixes, writeOutSet } from './report';

/** Prints --json's compare document and writes the set into `outDir` (checked by checkOutFlag); returns the paths written. */
export async function emitCompareReport(ctx: CommandContext, result: CompareResult, values: Record<string, unknown>, outDir: string | undefined, comparison: ComparisonOptions = {}): Promise<string[]> {
  if (values.json)
    ctx.data(toJson({ schema: 'paramscope.compare', schemaVersion: 1, base: result.base, ranking: result.ranking.map((a) => ({ name: a.name, path: a.path, report: reportDocument(a.report) })) }));
  if (outDir === undefined) return [];
  const { arms } = result;
  const prefixes = reportPrefixes(arms.map((a) => a.name));
  const links = Object.fromEntries(arms.map((a, i) => [a.name, fileLink(`${prefixes[i]}.report.html`)]));
  const files = arms.flatMap((a, i) => reportFiles(a.report, prefixes[i]));
  files.push(...(await comparisonFiles({ arms: arms.map((a) => ({ label: a.name, kind: 'diff', report: a.report })) }, comparison, links)));
  return writeOutSet(ctx, outDir, files);
}

/** The line saying where --out's reports went. */
export function compareWrittenLine(result: CompareResult, written: readonly string[], outDir: string): string {
  const prefixes = reportPrefixes(result.arms.map((a) => a.name));
  return `reports written: ${written.length} files in ${terminalText(outDir)} (comparison.html: the ${result.arms.length} fine-tunes side by side; ${result.arms.map((a, i) => `${terminalText(a.name)}: ${prefixes[i]}.*`).join(', ')})`;
}

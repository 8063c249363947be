/**
 * Writes the comparison family — comparison.json, comparison.csv, comparison.md, comparison.html — into a
 * directory, all or nothing (report/report-set.ts).
 *
 * @example
 * await writeComparison(await buildComparison(input), 'out/');
 */
import { type ReportFile, writeReportSet } from '../report-set';
import { COMPARISON_FILES } from '../set-files';
import { comparisonToCsv } from './csv';
import { comparisonToHtml, type ComparisonHtmlOptions } from './html';
import { comparisonToMarkdown } from './markdown';
import type { ComparisonDocument } from './model';
import { serializeComparison } from './schema';

export { COMPARISON_FILES };

/** The four files of the comparison family, as files of a report set (report/report-set.ts). */
export function comparisonSetFiles(doc: ComparisonDocument, options: ComparisonHtmlOptions = {}): ReportFile[] {
  return [
    { name: COMPARISON_FILES.json, text: serializeComparison(doc) },
    { name: COMPARISON_FILES.csv, text: comparisonToCsv(doc) },
    { name: COMPARISON_FILES.markdown, text: comparisonToMarkdown(doc) },
    { name: COMPARISON_FILES.html, text: comparisonToHtml(doc, options) },
  ];
}

/** Writes the four files as the report set of `dir`, all or nothing; returns their paths. */
export function writeComparison(doc: ComparisonDocument, dir: string, options: ComparisonHtmlOptions = {}): Promise<string[]> {
  return writeReportSet(dir, comparisonSetFiles(doc, options));
}

/**
 * Writes the comparison family — comparison.json, comparison.csv, comparison.md, comparison.html — into a
 * directory, all or nothing (report/write.ts's writeTextFiles).
 *
 * @example
 * await writeComparison(await buildComparison(input), 'out/');
 */
import * as path from 'node:path';
import { writeTextFiles } from '../write';
import { comparisonToCsv } from './csv';
import { comparisonToHtml, type ComparisonHtmlOptions } from './html';
import { comparisonToMarkdown } from './markdown';
import type { ComparisonDocument } from './model';
import { serializeComparison } from './schema';

export const COMPARISON_FILES = { json: 'comparison.json', csv: 'comparison.csv', markdown: 'comparison.md', html: 'comparison.html' } as const;

/** Writes the four files into `dir` (which must exist); returns their paths. Throws WRITE_FAILED. */
export function writeComparison(doc: ComparisonDocument, dir: string, options: ComparisonHtmlOptions = {}): Promise<string[]> {
  return writeTextFiles([
    { what: 'comparison JSON', path: path.join(dir, COMPARISON_FILES.json), text: () => serializeComparison(doc) },
    { what: 'comparison CSV', path: path.join(dir, COMPARISON_FILES.csv), text: () => comparisonToCsv(doc) },
    { what: 'comparison Markdown', path: path.join(dir, COMPARISON_FILES.markdown), text: () => comparisonToMarkdown(doc) },
    { what: 'comparison HTML', path: path.join(dir, COMPARISON_FILES.html), text: () => comparisonToHtml(doc, options) },
  ]);
}

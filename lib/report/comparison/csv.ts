/**
 * comparison.csv: one tidy table, one row per number — `arm` rows (a statistic of one arm with its
 * interval) and `difference` rows (arm minus minus_arm, its interval, whether it excludes 0). RFC 4180
 * through report/csv.ts. Labels and paths come from the command line and the checkpoints, so a text cell
 * that a spreadsheet would run as a formula is neutralised here with a leading ' (OWASP); the cell
 * function of report/csv.ts does the same once it has it, and a cell starting with ' is left alone there.
 */
import { toCsv } from '../csv';
import type { ComparisonDocument } from './model';

export const COMPARISON_CSV_HEADER = [
  'row', 'arm', 'minus_arm', 'step', 'statistic', 'estimate', 'lo', 'hi', 'level', 'replicates', 'seed', 'differs', 'pairing', 'matrices', 'kind', 'path',
] as const;

const FORMULA_START = /^[=+\-@\t\r\n\uFF1D\uFF0B\uFF0D\uFF20]/;

/** A text cell a spreadsheet shows as text: formula starts prefixed with '. */
export function neutralizeCell(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

export function comparisonToCsv(doc: ComparisonDocument): string {
  const t = neutralizeCell;
  const { level, replicates, seed } = doc.bootstrap;
  const rows: Array<Array<string | number | boolean | null | undefined>> = [];
  for (const arm of doc.arms) for (const s of doc.statistics) {
    const v = arm.statistics[s.key];
    rows.push(['arm', t(arm.label), '', arm.step, s.key, v?.estimate, v?.lo, v?.hi, level, replicates, seed, '', '', arm.matrices, arm.kind, t(arm.path)]);
  }
  for (const d of doc.differences) for (const s of doc.statistics) {
    const v = d.statistics[s.key];
    rows.push(['difference', t(d.b), t(d.a), '', s.key, v?.estimate, v?.lo, v?.hi, level, replicates, seed, v?.differs, d.pairing, d.sharedMatrices, '', '']);
  }
  return toCsv(COMPARISON_CSV_HEADER, rows);
}

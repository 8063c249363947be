/**
 * comparison.csv: one tidy table, one row per number — `arm` rows (a statistic of one arm with its
 * interval) and `difference` rows (arm minus minus_arm, its interval, whether it excludes 0). RFC 4180
 * through report/csv.ts, whose cell function also neutralises a text cell a spreadsheet would run as a
 * formula (labels and paths come from the command line and the checkpoints).
 */
import { toCsv } from '../csv';
import type { ComparisonDocument } from './model';

export const COMPARISON_CSV_HEADER = [
  'row', 'arm', 'minus_arm', 'step', 'statistic', 'estimate', 'lo', 'hi', 'level', 'replicates', 'seed', 'differs', 'pairing', 'matrices', 'kind', 'path',
] as const;

export function comparisonToCsv(doc: ComparisonDocument): string {
  const { level, replicates, seed } = doc.bootstrap;
  const rows: Array<Array<string | number | boolean | null | undefined>> = [];
  for (const arm of doc.arms) for (const s of doc.statistics) {
    const v = arm.statistics[s.key];
    rows.push(['arm', arm.label, '', arm.step, s.key, v?.estimate, v?.lo, v?.hi, level, replicates, seed, '', '', arm.matrices, arm.kind, arm.path]);
  }
  for (const d of doc.differences) for (const s of doc.statistics) {
    const v = d.statistics[s.key];
    rows.push(['difference', d.b, d.a, '', s.key, v?.estimate, v?.lo, v?.hi, level, replicates, seed, v?.differs, d.pairing, d.sharedMatrices, '', '']);
  }
  return toCsv(COMPARISON_CSV_HEADER, rows);
}

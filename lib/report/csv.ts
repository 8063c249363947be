/**
 * CSV (RFC 4180) from rows of cells — the one CSV writer (`analyze --csv`, the `pairs.csv` report).
 *
 * Cells come from the checkpoint (tensor and module names, file names, metadata), which may come from
 * someone who means harm, and CSV files are opened in spreadsheets. So, per cell (`csvCell`):
 *  - a text cell that a spreadsheet would read as a formula — one beginning with `=`, `+`, `-`, `@`, tab,
 *    CR or LF (OWASP's list, plus LF), or their full-width forms (U+FF1D, U+FF0B, U+FF0D, U+FF20) that
 *    some spreadsheets fold to ASCII — is prefixed with `'`, which spreadsheets show as text;
 *  - a cell holding a comma, a double quote, CR or LF is quoted, its quotes doubled (RFC 4180).
 * Numbers are written as numbers (a negative number is not a formula): only text cells are neutralised.
 * Non-finite numbers are `NaN`, `Infinity`, `-Infinity`; null / undefined an empty cell.
 */

export type CsvValue = string | number | boolean | null | undefined;

/** First characters that make a spreadsheet evaluate a text cell as a formula. */
const FORMULA_START = /^[=+\-@\t\r\n\uFF1D\uFF0B\uFF0D\uFF20]/;

/** One cell, neutralised and quoted as needed. */
export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The CSV text of a header and rows (lines end with LF; the last line too). */
export function toCsv(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<CsvValue>>): string {
  const lines: string[] = [header.map(csvCell).join(',')];
  for (const row of rows) lines.push(row.map(csvCell).join(','));
  return lines.join('\n') + '\n';
}

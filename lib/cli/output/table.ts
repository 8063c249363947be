/**
 * Plain-text tables for the terminal: columns padded to their widest cell, left or right aligned. Every
 * cell is shown through terminalText (a name with an ESC, CR or LF in it stays one cell of one row), and
 * widths are found in one pass, so a table of any number of rows renders (no spread of the rows into an
 * argument list). Long tables are summarised by the commands (output/long-table.ts).
 */
import { terminalText } from './terminal-text';

export type Align = 'left' | 'right';

export interface Column {
  header: string;
  align?: Align;
}

/** Renders rows under headers with columns padded to their widest cell. */
export function renderTable(columns: readonly Column[], rows: ReadonlyArray<readonly string[]>): string {
  const headers = columns.map((c) => terminalText(c.header));
  const cells = rows.map((r) => columns.map((_, i) => terminalText(r[i] ?? '')));
  const widths = headers.map((h) => h.length);
  for (const row of cells) for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i] as number, (row[i] as string).length);
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (columns[i]?.align === 'right' ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out: string[] = [line(headers), line(widths.map((w) => '-'.repeat(w)))];
  for (const row of cells) out.push(line(row));
  return out.join('\n');
}

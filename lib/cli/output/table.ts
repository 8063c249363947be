/** Plain-text tables for the terminal: columns padded to their widest cell, left or right aligned. */

export type Align = 'left' | 'right';

export interface Column {
  header: string;
  align?: Align;
}

/** Renders rows under headers with columns padded to their widest cell. */
export function renderTable(columns: readonly Column[], rows: ReadonlyArray<readonly string[]>): string {
  // A loop, not Math.max(...cells): spreading 100k+ rows (a 100k-tensor checkpoint's inspect or plan) overflows the stack.
  const widths = columns.map((c) => c.header.length);
  for (const r of rows) widths.forEach((w, i) => (widths[i] = Math.max(w, (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (columns[i]?.align === 'right' ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

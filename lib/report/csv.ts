/** CSV (RFC 4180) from rows of cells: quoted when a cell holds a comma, quote or newline. */
export function toCsv(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | boolean | null | undefined>>): string {
  const cell = (v: string | number | boolean | null | undefined) => {
    const text = v === null || v === undefined ? '' : typeof v === 'number' && !Number.isFinite(v) ? String(v) : String(v);
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

/** JSON serialisation for reports: typed arrays become plain arrays, non-finite numbers become strings. */
export function reportReplacer(_key: string, value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}

export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, reportReplacer, indent);
}

/** Number and shape formats of the CLI tables (sizes in MB, counts with separators, shapes). */

export function formatMB(bytes: number): string {
  return (bytes / 1e6).toFixed(bytes < 1e5 ? 3 : 1);
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

'use strict';
/** Plain-text tables and human units for the console output. */

function bytes(n) {
  if (n == null) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = Math.abs(n);
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${n < 0 ? '-' : ''}${v >= 100 || u === 0 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2)} ${units[u]}`;
}

function duration(ms) {
  if (ms == null) return '';
  if (ms < 1) return `${(ms * 1000).toFixed(ms < 0.01 ? 2 : 1)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

function gbps(v) {
  if (v == null) return '';
  return v >= 1000 ? `${v.toExponential(1)} GB/s` : `${v.toFixed(v >= 100 ? 0 : 2)} GB/s`;
}

function table(headers, rows, { align } = {}) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const right = align ?? headers.map(() => false);
  const line = (cells) => cells.map((c, i) => (right[i] ? String(c ?? '').padStart(widths[i]) : String(c ?? '').padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

module.exports = { bytes, duration, gbps, table };

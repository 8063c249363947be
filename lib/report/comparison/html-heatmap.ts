/**
 * The layer × module heatmap of the difference between two arms: one row per module type, one column per
 * layer (per component when there are several), on a diverging scale centred on 0. Updates: the change
 * in energy share (percentage points) and the log₁₀ ratio of the energy effective-rank ratios; weights:
 * the log₁₀ ratio only. Hatched: a cell only one arm has.
 */
import { compareModules, fmt, pct } from '../common';
import { esc, svgOpen } from '../svg';
import { divergingBar, divergingColour } from './palette';
import type { ComparisonDocument, ComparisonHeatmap, HeatmapCell } from './model';

interface DifferenceSpec {
  plot: string;
  title: string;
  legend: string;
  value: (c: HeatmapCell) => number | null;
  format: (v: number) => string;
  tooltip: (c: HeatmapCell, v: number | null) => string;
}

function differenceHeatmap(id: string, cells: readonly HeatmapCell[], spec: DifferenceSpec): string {
  const layers = [...new Set(cells.map((c) => c.layer))].sort((a, b) => a - b);
  const modules = [...new Set(cells.map((c) => c.module))].sort(compareModules);
  const L = layers.length, M = modules.length;
  const cellW = Math.max(6, Math.min(44, Math.floor(700 / Math.max(1, L))));
  const cellH = 22, left = 80, top = 26, legendW = 120;
  const barHeight = Math.max(110, M * cellH - 12);
  const width = left + L * cellW + legendW, height = Math.max(top + M * cellH + 46, top + 12 + barHeight + 16);
  const values = cells.map(spec.value).filter((v): v is number => v !== null && Number.isFinite(v));
  const max = Math.max(1e-12, ...values.map(Math.abs));
  const column = new Map(layers.map((l, i) => [l, i]));
  const parts = [
    svgOpen(id, width, height, spec.title, `${spec.title}: ${cells.length} cells, largest |difference| ${spec.format(max)}; blue: lower in the second arm, red: higher; hatched: one arm has no matrix (or no update) there.`, spec.plot),
    `<defs><pattern id="${id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f2f2f2"/><line x1="0" y1="0" x2="0" y2="6" stroke="#bbb" stroke-width="2"/></pattern></defs>`,
  ];
  modules.forEach((m, row) => parts.push(`<text class="row-label" x="${left - 6}" y="${top + row * cellH + cellH / 2}" text-anchor="end" dominant-baseline="middle">${esc(m)}</text>`));
  for (const c of cells) {
    const x = left + (column.get(c.layer) as number) * cellW, y = top + modules.indexOf(c.module) * cellH;
    const v = spec.value(c);
    const fill = v === null || !Number.isFinite(v) ? `url(#${id}-hatch)` : divergingColour(v / max);
    parts.push(`<rect class="cell" x="${x}" y="${y}" width="${cellW - 1}" height="${cellH - 1}" fill="${fill}"><title>${esc(spec.tooltip(c, v))}</title></rect>`);
  }
  const every = Math.max(1, Math.ceil(24 / cellW));
  // The last layer is always labelled; the regular label before it only when there is room for both.
  const labelled = (col: number) => col === L - 1 || (col % every === 0 && L - 1 - col >= every);
  layers.forEach((layer, col) => {
    if (labelled(col)) parts.push(`<text class="tick-label" x="${left + col * cellW + (cellW - 1) / 2}" y="${top + M * cellH + 14}" text-anchor="middle">${layer}</text>`);
  });
  parts.push(`<text class="axis-label" x="${left + (L * cellW) / 2}" y="${top + M * cellH + 34}" text-anchor="middle">layer</text>`);
  parts.push(divergingBar(id, left + L * cellW + 22, top + 12, barHeight, max, spec.legend, spec.format));
  parts.push('</svg>');
  return parts.join('');
}

const log10Ratio = (c: HeatmapCell): number | null => {
  const a = c.a?.effRankRatio, b = c.b?.effRankRatio;
  return a && b && a > 0 && b > 0 ? Math.log10(b / a) : null;
};

export function heatmapSection(doc: ComparisonDocument): string {
  const h: ComparisonHeatmap | null = doc.heatmap;
  if (!h) return `<section id="heatmap" aria-labelledby="heatmap-h"><h2 id="heatmap-h">Difference heatmap</h2><p class="note">Not drawn: ${esc(doc.heatmapNote)}.</p></section>`;
  if (h.cells.length === 0) return `<section id="heatmap" aria-labelledby="heatmap-h"><h2 id="heatmap-h">Difference heatmap</h2><p class="note">No matrix of ${esc(h.a)} or ${esc(h.b)} has a layer index.</p></section>`;
  const components = [...new Set(h.cells.map((c) => c.component))].sort();
  const pair = `${h.b} − ${h.a}`;
  const figures = components.flatMap((component, ci) => {
    const cells = h.cells.filter((c) => c.component === component);
    const of = components.length > 1 ? ` (${component} layers)` : '';
    const out: string[] = [];
    if (doc.family === 'updates') out.push(`<figure>${differenceHeatmap(`plot-heatmap-diff-energy-${ci}`, cells, {
      plot: 'heatmap-diff-energy', title: `Energy share, ${pair}${of}`, legend: 'Δ share (points)',
      value: (c) => (c.a && c.b ? c.b.energyShare - c.a.energyShare : null),
      format: (v) => `${v > 0 ? '+' : ''}${Number((100 * v).toPrecision(2))}`,
      tooltip: (c, v) => `layer ${c.layer} · ${c.module}: ${h.a} ${pct(c.a?.energyShare, 2)}, ${h.b} ${pct(c.b?.energyShare, 2)}${v === null ? '' : ` (${v > 0 ? '+' : ''}${(100 * v).toFixed(2)} points)`}`,
    })}<figcaption>Each cell's share of its arm's update energy, ${esc(h.b)} minus ${esc(h.a)}, in percentage points. Red: ${esc(h.b)} puts more of its update there.</figcaption></figure>`);
    out.push(`<figure>${differenceHeatmap(`plot-heatmap-diff-effrank-${ci}`, cells, {
      plot: 'heatmap-diff-effrank', title: `Energy effective-rank ratio, log₁₀(${h.b} / ${h.a})${of}`, legend: 'log₁₀ ratio',
      value: log10Ratio,
      format: (v) => `${v > 0 ? '+' : ''}${Number(v.toPrecision(2))}`,
      tooltip: (c, v) => `layer ${c.layer} · ${c.module}: ${h.a} ${fmt(c.a?.effRankRatio)}, ${h.b} ${fmt(c.b?.effRankRatio)}${v === null ? '' : ` (×${fmt(10 ** v)})`}`,
    })}<figcaption>How many times more (red) or fewer (blue) directions ${esc(h.b)} uses than ${esc(h.a)} in each cell: log₁₀ of the ratio of their energy effective-rank ratios (+1: ten times as many).</figcaption></figure>`);
    return out;
  });
  return `<section id="heatmap" aria-labelledby="heatmap-h"><h2 id="heatmap-h">Where ${esc(h.b)} and ${esc(h.a)} differ: layer × module type</h2>
<p class="note">Choose the two arms with <code>--heatmap-arms a,b</code> (default: the first two). Hatched cells: one of the two arms has no matrix there (or, for the rank ratio, no update in it).</p>
${figures.join('\n')}
</section>`;
}

/** The heatmaps: update-energy share and energy effective-rank ratio by layer × module type. */
import { bounds } from '../../results/metrics';
import { fmtRange, type GridCell, gridKey, type LayerModuleGrid, pct, totalUpdateEnergy, updateEnergy } from '../common';
import type { DiffReport } from '../model';
import { colourBar, colourPosition, esc, moduleColour, sequentialColour, svgOpen, textOn } from '../svg';

interface HeatmapSpec {
  id: string;
  plot: string;
  title: string;
  desc: string;
  legend: string;
  range: { min: number; max: number; log?: boolean };
  value: (c: GridCell) => number | null;
  tooltip: (c: GridCell) => string;
  text: (c: GridCell) => string;
  format: (v: number) => string;
  /** Cells drawn hatched instead of coloured (e.g. below the noise floor). */
  hatched?: (c: GridCell) => boolean;
}

function heatmap(grid: LayerModuleGrid, spec: HeatmapSpec): string {
  const L = grid.layers.length, M = grid.modules.length;
  const cellW = Math.max(6, Math.min(52, Math.floor(660 / Math.max(1, L))));
  const cellH = 24;
  const left = 86, top = 28, legendW = 110;
  const barHeight = Math.max(110, M * cellH - 12);
  const width = left + L * cellW + legendW, height = Math.max(top + M * cellH + 46, top + 12 + barHeight + 16);
  const parts = [
    svgOpen(spec.id, width, height, spec.title, spec.desc, spec.plot),
    `<defs><pattern id="${spec.id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f2f2f2"/><line x1="0" y1="0" x2="0" y2="6" stroke="#bbb" stroke-width="2"/></pattern></defs>`,
  ];
  const position = colourPosition(spec.range);
  grid.modules.forEach((m, row) => {
    const y = top + row * cellH;
    parts.push(`<text class="row-label" x="${left - 6}" y="${y + cellH / 2}" text-anchor="end" dominant-baseline="middle" fill="${moduleColour(m)}">${esc(m)}</text>`);
    grid.layers.forEach((layer, col) => {
      const cell = grid.cells.get(gridKey(layer, m));
      const x = left + col * cellW;
      if (!cell) return;
      const v = spec.value(cell);
      const hatched = spec.hatched?.(cell) ?? false;
      const t = v === null ? 0 : position(v);
      const fill = hatched || v === null ? `url(#${spec.id}-hatch)` : sequentialColour(t);
      parts.push(`<rect class="cell" x="${x}" y="${y}" width="${cellW - 1}" height="${cellH - 1}" fill="${fill}"><title>${esc(spec.tooltip(cell))}</title></rect>`);
      const label = spec.text(cell);
      if (cellW >= 36 && label && !hatched && v !== null) parts.push(`<text class="cell-label" x="${x + (cellW - 1) / 2}" y="${y + cellH / 2}" text-anchor="middle" dominant-baseline="middle" fill="${textOn(t)}">${esc(label)}</text>`);
    });
  });
  const every = Math.max(1, Math.ceil((L * 22) / (L * cellW)));
  grid.layers.forEach((layer, col) => {
    if (col % every === 0 || col === L - 1) parts.push(`<text class="tick-label" x="${left + col * cellW + (cellW - 1) / 2}" y="${top + M * cellH + 14}" text-anchor="middle">${layer}</text>`);
  });
  parts.push(`<text class="axis-label" x="${left + (L * cellW) / 2}" y="${top + M * cellH + 34}" text-anchor="middle">layer</text>`);
  parts.push(`<text class="axis-label" x="${left - 6}" y="${top - 10}" text-anchor="end">module</text>`);
  parts.push(colourBar(spec.id, left + L * cellW + 22, top + 12, barHeight, spec.range, spec.legend, spec.format));
  parts.push('</svg>');
  return parts.join('');
}

/** Lower end of the log scale of effective-rank ratios: a power of ten at or below 1 / (largest rank) and the smallest ratio. */
export function effRankFloor(report: DiffReport): number {
  let floor = 1;
  for (const p of report.pairs) {
    floor = Math.min(floor, 1 / Math.max(1, p.rankCap ?? Math.min(p.rows, p.cols)));
    if (p.metrics && updateEnergy(p) > 0) {
      const lo = bounds(p.metrics.energyEffectiveRankRatio)[0];
      if (lo > 0) floor = Math.min(floor, lo);
    }
  }
  return 10 ** Math.floor(Math.log10(floor) - 1e-9);
}

export function heatmapSection(report: DiffReport, grid: LayerModuleGrid): string {
  const suffix = grid.component ? `-${grid.component}` : '';
  const of = grid.component ? ` (${grid.component})` : '';
  if (grid.layers.length === 0) return '<section id="heatmaps"><h2>Layer × module heatmaps</h2><p>No matrix has a layer index: nothing to arrange by layer.</p></section>';
  const maxShare = Math.max(1e-12, ...[...grid.cells.values()].map((c) => c.energyShare));
  const ratioFloor = effRankFloor(report);
  const energy = heatmap(grid, {
    id: `plot-heatmap-energy${suffix}`, plot: 'heatmap-energy',
    title: `Update energy share by layer and module type${of}`,
    desc: `Share of the total update energy Σ‖ΔW‖_F² in each layer × module cell; the largest cell holds ${pct(maxShare)}.`,
    legend: 'share of energy', range: { min: 0, max: maxShare },
    value: (c) => c.energyShare,
    tooltip: (c) => `layer ${c.layer} · ${c.module}: ${pct(c.energyShare, 2)} of the update energy (${c.pairs.length} matri${c.pairs.length === 1 ? 'x' : 'ces'}: ${c.pairs.map((p) => p.name).join(', ')})`,
    text: (c) => (c.energyShare >= 0.001 ? `${(100 * c.energyShare).toFixed(c.energyShare < 0.1 ? 1 : 0)}` : ''),
    format: (v) => `${(100 * v).toFixed(v * 100 < 10 ? 1 : 0)}%`,
  });
  const effRank = heatmap(grid, {
    id: `plot-heatmap-effrank${suffix}`, plot: 'heatmap-effrank',
    title: `Energy effective-rank ratio of ΔW by layer and module type${of}`,
    desc: 'Energy effective rank of ΔW divided by min(rows, cols), per layer × module cell (energy-weighted over the cell\'s matrices); hatched cells changed by no more than storage rounding.',
    legend: 'eff. rank / min(m, n)', range: { min: ratioFloor, max: 1, log: true },
    value: (c) => (c.effRankRatio ? (c.effRankRatio[0] + c.effRankRatio[1]) / 2 : null),
    hatched: (c) => !c.signal,
    tooltip: (c) => `layer ${c.layer} · ${c.module}: energy effective-rank ratio ${c.effRankRatio ? fmtRange(c.effRankRatio) : '–'}${c.signal ? '' : ' (update below the storage-noise floor)'}`,
    text: (c) => (c.effRankRatio ? String(Number(((c.effRankRatio[0] + c.effRankRatio[1]) / 2).toPrecision(2))) : ''),
    format: (v) => String(Number(v.toPrecision(2))),
  });
  const outside = grid.outside.length
    ? `<p class="note">Not in a layer (not shown): ${grid.outside.map((p) => `<span class="name">${esc(p.name)}</span> (${pct(totalUpdateEnergy(report) > 0 ? updateEnergy(p) / totalUpdateEnergy(report) : NaN)} of the energy)`).join(', ')}.</p>`
    : '';
  return `<section id="heatmaps${suffix}" aria-labelledby="heatmaps${suffix}-h"><h2 id="heatmaps${suffix}-h">Where the update is: layer × module type${grid.component ? ` — ${esc(grid.component)} layers` : ''}</h2>
<figure>${energy}<figcaption>Share of the total update energy Σ‖ΔW‖_F² per cell (numbers in %). A concentrated update lights up a few cells; a dispersed one colours the whole grid.</figcaption></figure>
<figure>${effRank}<figcaption>Energy effective rank of ΔW as a fraction of its largest possible rank (1: all directions used equally; 1/min(m, n): a single direction), on a log colour scale. Hatched: the update is no larger than storage rounding, so its rank says nothing.${report.options.mode === 'truncated' ? ' Truncated mode: colour = midpoint of the proven range; hover a cell for the range.' : ''}</figcaption></figure>
${outside}</section>`;
}

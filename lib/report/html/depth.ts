/** The depth profiles: update energy per layer stacked by module type, and the effective-rank ratio per layer. */
import { fmtRange, type GridCell, gridKey, type LayerModuleGrid, maxOf, pct } from '../common';
import type { DiffReport } from '../model';
import { axes, esc, type Frame, linearScale, logScale, moduleColour, pathData, plotArea, r2, svgOpen } from '../svg';
import { effRankFloor } from './heatmap';

function legend(modules: readonly string[]): string {
  return `<ul class="legend" aria-label="module types">${modules.map((m) => `<li><span class="swatch" style="background:${moduleColour(m)}"></span>${esc(m)}</li>`).join('')}</ul>`;
}

/** Both depth plots: one width, so their layer axes line up. */
const DEPTH_FRAME: Frame = { width: 700, height: 270, margin: { top: 16, right: 16, bottom: 42, left: 62 } };

const suffixOf = (grid: LayerModuleGrid) => (grid.component ? `-${grid.component}` : '');
const ofComponent = (grid: LayerModuleGrid) => (grid.component ? ` (${grid.component})` : '');

function energyByLayerPlot(grid: LayerModuleGrid): string {
  const frame = DEPTH_FRAME;
  const a = plotArea(frame);
  const L = grid.layers.length;
  const layerShare = grid.layers.map((l) => grid.modules.reduce((s, m) => s + (grid.cells.get(gridKey(l, m))?.energyShare ?? 0), 0));
  const y = linearScale([0, maxOf(layerShare, 1e-9) * 1.08], [a.y1, a.y0]);
  const band = (a.x1 - a.x0) / Math.max(1, L);
  const x = linearScale([grid.layers[0] as number, grid.layers[L - 1] as number], [a.x0 + band / 2, a.x1 - band / 2]);
  const xTicks = grid.layers.filter((_, i) => i % Math.max(1, Math.ceil(L / 16)) === 0);
  const parts = [
    svgOpen(`plot-depth-energy${suffixOf(grid)}`, frame.width, frame.height, `Update energy share by layer${ofComponent(grid)}`, `Share of the update energy in each of ${L} layers, stacked by module type; the largest layer holds ${pct(maxOf(layerShare))}.`, 'depth-energy'),
    axes(frame, x, y, { xLabel: 'layer', yLabel: 'share of update energy (%)', xTicks, yFormat: (v) => `${Number((100 * v).toPrecision(3))}`, grid: true }),
  ];
  grid.layers.forEach((layer) => {
    let acc = 0;
    const bx = r2(x(layer) - band * 0.4), bw = r2(Math.max(1, band * 0.8));
    for (const m of grid.modules) {
      const c = grid.cells.get(gridKey(layer, m));
      if (!c || c.energyShare <= 0) continue;
      const y0 = y(acc), y1 = y(acc + c.energyShare);
      acc += c.energyShare;
      parts.push(`<rect class="bar" x="${bx}" y="${r2(y1)}" width="${bw}" height="${r2(Math.max(0.5, y0 - y1))}" fill="${moduleColour(m)}"><title>${esc(`layer ${layer} · ${m}: ${pct(c.energyShare, 2)}`)}</title></rect>`);
    }
  });
  parts.push('</svg>');
  return parts.join('');
}

function effRankByLayerPlot(grid: LayerModuleGrid, floor: number): string {
  const frame = DEPTH_FRAME;
  const a = plotArea(frame);
  const L = grid.layers.length;
  const x = linearScale([grid.layers[0] as number, grid.layers[L - 1] as number], [a.x0 + 10, a.x1 - 10]);
  const y = logScale([floor, 1], [a.y1, a.y0]);
  const parts = [
    svgOpen(`plot-depth-effrank${suffixOf(grid)}`, frame.width, frame.height, `Energy effective-rank ratio of ΔW by layer${ofComponent(grid)}`, `Energy effective-rank ratio of ΔW per layer, one line per module type (${grid.modules.join(', ')}); hollow markers: update below the storage-noise floor.`, 'depth-effrank'),
    axes(frame, x, y, { xLabel: 'layer', yLabel: 'energy eff. rank / min(m, n) (log)' }),
  ];
  for (const m of grid.modules) {
    const colour = moduleColour(m);
    const cells = grid.layers.map((l) => grid.cells.get(gridKey(l, m))).filter((c): c is GridCell => Boolean(c && c.effRankRatio && c.energy > 0));
    if (!cells.length) continue;
    const mid = (c: GridCell) => ((c.effRankRatio as [number, number])[0] + (c.effRankRatio as [number, number])[1]) / 2;
    parts.push(`<path class="series" d="${pathData(cells.map((c) => [x(c.layer), y(mid(c))]))}" fill="none" stroke="${colour}" stroke-width="1.6"><title>${esc(m)}</title></path>`);
    for (const c of cells) {
      const [lo, hi] = c.effRankRatio as [number, number];
      if (hi - lo > 1e-3) parts.push(`<line class="whisker" x1="${r2(x(c.layer))}" x2="${r2(x(c.layer))}" y1="${r2(y(lo))}" y2="${r2(y(hi))}" stroke="${colour}" stroke-width="2" stroke-opacity="0.5"/>`);
      parts.push(`<circle class="point" cx="${r2(x(c.layer))}" cy="${r2(y(mid(c)))}" r="3.2" fill="${c.signal ? colour : '#fff'}" stroke="${colour}" stroke-width="1.4"><title>${esc(`layer ${c.layer} · ${m}: ${fmtRange([lo, hi])}${c.signal ? '' : ' (below noise floor)'}`)}</title></circle>`);
    }
  }
  parts.push('</svg>');
  return parts.join('');
}

export function depthSection(report: DiffReport, grid: LayerModuleGrid): string {
  if (grid.layers.length === 0) return '';
  const suffix = suffixOf(grid);
  return `<section id="depth${suffix}" aria-labelledby="depth${suffix}-h"><h2 id="depth${suffix}-h">Depth profiles${grid.component ? ` — ${esc(grid.component)} layers` : ''}</h2>
${legend(grid.modules)}
<figure>${energyByLayerPlot(grid)}<figcaption>Update energy per layer as a share of the total, stacked by module type.</figcaption></figure>
<figure>${effRankByLayerPlot(grid, effRankFloor(report))}<figcaption>Energy effective-rank ratio of ΔW per layer and module type (energy-weighted over a cell's matrices; log scale). Layers where a module type did not change are left out. Vertical bars: the proven range in truncated mode. Hollow markers: the update there is no larger than storage rounding.</figcaption></figure>
</section>`;
}

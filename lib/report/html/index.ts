/**
 * The HTML report: ONE self-contained file that works offline. No external scripts, styles, fonts or
 * images (a Content-Security-Policy forbids loading any); every plot is inline SVG drawn here, at report
 * time, so the page renders without JavaScript. The only script is a small inline table sorter.
 *
 * Sections: header (the two checkpoints), the verdict (label, score bar, components, evidence, drivers,
 * confidence), plots (singular-value spectra per module type on log–log axes with the noise edge;
 * heatmaps of update-energy share and energy effective-rank ratio by layer × module type; depth
 * profiles), the pairing report, tables per module type and per layer, and the complete per-matrix table.
 * Every string that comes from a checkpoint (tensor names, paths, notes) is escaped.
 */
import type { GroupSummary } from '../../aggregate/groups';
import type { DiffReport, PairResult } from '../model';
import { bounds } from '../../results/metrics';
import { REGIME_THRESHOLDS, REGIME_WEIGHTS, type RegimeVerdict } from '../../aggregate/regime';
import {
  byUpdateEnergy, DIAGNOSTIC_SENTENCE, fmt, fmtBounded, fmtBoundedPct, fmtRange, type GridCell, gridKey, hasSignal,
  type LayerModuleGrid, layerModuleGrid, modelSummaryRows, modeText, orderedGroups, pct, totalUpdateEnergy, updateEnergy,
} from '../common';
import {
  axes, colourBar, colourPosition, esc, type Frame, linearScale, logScale, moduleColour, pathData, plotArea, r2, sequentialColour, svgOpen, textOn,
} from '../svg';

export interface HtmlOptions {
  /** Page title (default: "paramscope · <tuned> vs <base>"). */
  title?: string;
}

const LABEL_COLOURS: Record<RegimeVerdict['label'], string> = { concentrated: '#2b5d9b', mixed: '#5c5c5c', dispersed: '#b4541a', indeterminate: '#8a6d00', 'no-signal': '#777' };

const basename = (p: string) => p.replace(/[/\\]+$/, '').split(/[/\\]/).pop() ?? p;

// ---- verdict ------------------------------------------------------------------------------------------

function scoreBar(v: RegimeVerdict): string {
  const frame: Frame = { width: 640, height: 92, margin: { top: 30, right: 20, bottom: 34, left: 20 } };
  const a = plotArea(frame);
  const x = linearScale([0, 1], [a.x0, a.x1]);
  const { concentrated: t1, dispersed: t2 } = REGIME_THRESHOLDS;
  const h = a.y1 - a.y0;
  const region = (lo: number, hi: number, fill: string, label: string) =>
    `<rect class="region" x="${r2(x(lo))}" y="${a.y0}" width="${r2(x(hi) - x(lo))}" height="${h}" fill="${fill}"/><text class="region-label" x="${r2(x((lo + hi) / 2))}" y="${a.y0 - 8}" text-anchor="middle">${label}</text>`;
  const [lo, hi] = v.scoreRange;
  const parts = [
    svgOpen('plot-score', frame.width, frame.height, 'Regime score', `Score ${v.score.toFixed(3)} on a scale from 0 (concentrated) to 1 (dispersed); range ${fmtRange(v.scoreRange)}; thresholds at ${t1} and ${t2}.`, 'score'),
    region(0, t1, '#dce7f4', 'concentrated'), region(t1, t2, '#ececec', 'mixed'), region(t2, 1, '#f8e1cf', 'dispersed'),
  ];
  for (const t of [0, t1, 0.5, t2, 1]) parts.push(`<line class="tick" x1="${r2(x(t))}" x2="${r2(x(t))}" y1="${a.y1}" y2="${a.y1 + 4}"/><text class="tick-label" x="${r2(x(t))}" y="${a.y1 + 16}" text-anchor="middle">${t}</text>`);
  if (hi - lo > 1e-4) parts.push(`<rect class="score-range" x="${r2(x(lo))}" y="${a.y0 + h * 0.3}" width="${r2(Math.max(1, x(hi) - x(lo)))}" height="${r2(h * 0.4)}" fill="#222" fill-opacity="0.25"><title>score range ${fmtRange(v.scoreRange)}</title></rect>`);
  const sx = r2(x(v.score));
  parts.push(`<line class="score-marker" x1="${sx}" x2="${sx}" y1="${a.y0 - 2}" y2="${a.y1 + 2}" stroke="${LABEL_COLOURS[v.label]}" stroke-width="3"/>`);
  parts.push(`<text class="score-value" x="${r2(Math.min(a.x1 - 18, Math.max(a.x0 + 18, x(v.score))))}" y="${frame.height - 2}" text-anchor="middle" fill="${LABEL_COLOURS[v.label]}">${v.score.toFixed(3)}</text>`);
  parts.push('</svg>');
  return parts.join('');
}

function componentBars(v: RegimeVerdict): string {
  const rows: Array<[string, number, [number, number], string]> = [
    ['D  directional spread', REGIME_WEIGHTS.D, v.components.directionalSpread, 'energy-weighted log effective rank of the above-noise spectrum / log rank cap'],
    ['L  layer/module spread', REGIME_WEIGHTS.L, [v.components.layerSpread, v.components.layerSpread], 'normalised entropy of the matrices\' shares of the update energy'],
    ['C  coverage', REGIME_WEIGHTS.C, [v.components.coverage, v.components.coverage], 'fraction of matrices changed by more than storage rounding'],
  ];
  const rowH = 26;
  const frame: Frame = { width: 640, height: 20 + rows.length * rowH + 24, margin: { top: 14, right: 60, bottom: 24, left: 190 } };
  const a = plotArea(frame);
  const x = linearScale([0, 1], [a.x0, a.x1]);
  const parts = [svgOpen('plot-components', frame.width, frame.height, 'Components of the regime score', rows.map(([n, w, [lo, hi]]) => `${n.replace(/\s+/g, ' ')} (weight ${w}): ${fmtRange([lo, hi])}`).join('; '), 'components')];
  rows.forEach(([name, weight, [lo, hi], meaning], i) => {
    const y = a.y0 + i * rowH;
    parts.push(`<text class="bar-label" x="${a.x0 - 8}" y="${y + 9}" text-anchor="end" dominant-baseline="middle">${esc(name)} ×${weight}</text>`);
    parts.push(`<rect x="${a.x0}" y="${y}" width="${r2(a.x1 - a.x0)}" height="18" fill="#f0f0f0"/>`);
    parts.push(`<rect class="bar" x="${a.x0}" y="${y}" width="${r2(Math.max(0.5, x(lo) - a.x0))}" height="18" fill="#6b7fa8"><title>${esc(`${name.replace(/\s+/g, ' ')}: ${fmtRange([lo, hi])} — ${meaning}`)}</title></rect>`);
    if (hi - lo > 1e-4) parts.push(`<rect x="${r2(x(lo))}" y="${y}" width="${r2(x(hi) - x(lo))}" height="18" fill="#6b7fa8" fill-opacity="0.35"/>`);
    parts.push(`<text class="tick-label" x="${a.x1 + 6}" y="${y + 9}" dominant-baseline="middle">${esc(fmtRange([lo, hi]))}</text>`);
  });
  for (const t of [0, 0.25, 0.5, 0.75, 1]) parts.push(`<text class="tick-label" x="${r2(x(t))}" y="${frame.height - 6}" text-anchor="middle">${t}</text>`);
  parts.push('</svg>');
  return parts.join('');
}

function verdictSection(report: DiffReport): string {
  const v = report.verdict;
  const colour = LABEL_COLOURS[v.label];
  const drivers = v.drivers.length
    ? `<table class="compact"><caption>Drivers: the matrices carrying most of the update</caption><thead><tr><th scope="col">matrix</th><th scope="col" class="num">share of update energy</th><th scope="col" class="num">directional spread</th></tr></thead><tbody>${v.drivers
      .map((d) => `<tr><td class="name">${esc(d.name)}</td><td class="num">${pct(d.energyShare)}</td><td class="num">${esc(fmtRange(d.directionalSpread))}</td></tr>`)
      .join('')}</tbody></table>`
    : '';
  return `<section id="verdict" class="card" aria-labelledby="verdict-h">
<h2 id="verdict-h">Regime verdict</h2>
<p class="verdict-line"><span class="verdict-label" style="color:${colour}">${esc(v.label)}</span>
<span class="verdict-score">score <strong>${v.score.toFixed(3)}</strong>${v.scoreRange[1] - v.scoreRange[0] > 1e-4 ? ` <span class="muted">(range ${esc(fmtRange(v.scoreRange))})</span>` : ''}</span>
<span class="badge badge-${esc(v.confidence)}">confidence: ${esc(v.confidence)}</span></p>
<p class="diagnostic"><strong>${esc(DIAGNOSTIC_SENTENCE)}</strong> It says whether the fine-tune changed the weights in a few directions of a few matrices (<em>concentrated</em>, the footprint of narrow, benchmark-aligned data) or in many directions across modules and layers (<em>dispersed</em>, the footprint of coverage-expanding data); it does not say whether the model got better.</p>
<figure>${scoreBar(v)}<figcaption>Score = ${REGIME_WEIGHTS.D}·D + ${REGIME_WEIGHTS.L}·L + ${REGIME_WEIGHTS.C}·C, from 0 (concentrated) to 1 (dispersed); below ${REGIME_THRESHOLDS.concentrated} concentrated, above ${REGIME_THRESHOLDS.dispersed} dispersed. A shaded band shows the range truncated spectra leave open.</figcaption></figure>
<figure>${componentBars(v)}<figcaption>The three components, each in [0, 1], with their weights.</figcaption></figure>
<h3>Evidence</h3>
<ul class="evidence">${v.evidence.map((e) => `<li><span class="metric">${esc(e.metric)}</span> ${esc(e.text)}</li>`).join('')}</ul>
<p><strong>Confidence ${esc(v.confidence)}:</strong> ${esc(v.confidenceNote)}.</p>
${drivers}
</section>`;
}

// ---- spectra ------------------------------------------------------------------------------------------

/** Indices to plot: all of the first 64, then log-spaced (a monotone spectrum loses nothing visible). */
function plotIndices(n: number): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < n) {
    out.push(i);
    i = i < 64 ? i + 1 : Math.max(i + 1, Math.floor(i * 1.025));
  }
  if (out[out.length - 1] !== n - 1 && n > 0) out.push(n - 1);
  return out;
}

function spectraSection(report: DiffReport): string {
  const drawn = report.pairs.filter((p) => p.spectrum && p.spectrum.values.length > 0 && (p.spectrum.values[0] as number) > 0);
  const skipped = report.pairs.length - drawn.length;
  if (drawn.length === 0) return '<section id="spectra"><h2>Singular-value spectra</h2><p>No matrix has a non-zero update: nothing to plot.</p></section>';
  const groups = new Map<string, PairResult[]>();
  for (const p of drawn) groups.set(p.module.group, [...(groups.get(p.module.group) ?? []), p]);
  const order = orderedGroups([...groups.keys()].map((key) => ({ key }) as GroupSummary), 'module').map((g) => g.key);

  // Shared axes across panels, so module types compare at a glance.
  let yMax = 0, maxLen = 1;
  for (const p of drawn) {
    yMax = Math.max(yMax, p.spectrum!.values[0] as number);
    const values = p.spectrum!.values;
    let last = values.length;
    while (last > 1 && !((values[last - 1] as number) > 0)) last--; // exact zeros (e.g. beyond a LoRA rank) are not drawn
    maxLen = Math.max(maxLen, last);
  }
  let yMin = Infinity;
  for (const p of drawn) {
    for (const v of p.spectrum!.values) if (v > 0 && v < yMin) yMin = v;
    if (p.noise && p.noise.edge > 0) yMin = Math.min(yMin, p.noise.edge);
  }
  yMin = Math.max(yMin, yMax * 1e-6) / 1.5;
  yMax *= 1.5;
  const layerCount = Math.max(1, ...drawn.map((p) => (p.module.layer ?? 0) + 1));
  const panels = order.map((group, gi) => spectrumPanel(group, groups.get(group) as PairResult[], gi, [1, Math.max(2, maxLen)], [yMin, yMax], layerCount));
  const truncated = report.options.mode === 'truncated';
  return `<section id="spectra" aria-labelledby="spectra-h"><h2 id="spectra-h">Singular-value spectra of ΔW per module type</h2>
<p class="lede">One line per matrix: singular value σᵢ of ΔW against its index i, both on log scales. Steep early drop = a few dominant directions (concentrated); a long flat shoulder = many directions (dispersed).${drawn.some((p) => p.noise) ? ' The dashed line is the storage-noise edge: values below it are indistinguishable from the rounding of the two checkpoints to their storage dtypes.' : ''} Line colour = module type; darker lines are deeper layers.${truncated ? ` Truncated mode: only the top ${report.options.rank ?? 'k'} values are known.` : ''}${skipped ? ` ${skipped} matri${skipped === 1 ? 'x' : 'ces'} with ΔW = 0 (or failed) are not drawn.` : ''}</p>
<div class="panels">${panels.join('\n')}</div></section>`;
}

function spectrumPanel(group: string, pairs: PairResult[], index: number, xDomain: [number, number], yDomain: [number, number], layerCount: number): string {
  const frame: Frame = { width: 340, height: 250, margin: { top: 28, right: 14, bottom: 40, left: 62 } };
  const a = plotArea(frame);
  const x = logScale(xDomain, [a.x0, a.x1]);
  const y = logScale(yDomain, [a.y1, a.y0]);
  const colour = moduleColour(group);
  const id = `plot-spectrum-${index}`;
  const sorted = [...pairs].sort((p, q) => (p.module.layer ?? -1) - (q.module.layer ?? -1));
  const parts = [
    svgOpen(id, frame.width, frame.height, `Singular-value spectra of ΔW, module type ${group}`, `${pairs.length} matrices of module type ${group}; log singular value against log index; the dashed line is the median storage-noise edge.`, 'spectrum'),
    `<defs><clipPath id="${id}-clip"><rect x="${a.x0}" y="${a.y0}" width="${a.x1 - a.x0}" height="${a.y1 - a.y0}"/></clipPath></defs>`,
    axes(frame, x, y, { xLabel: 'index i (log)', yLabel: 'singular value σᵢ (log)' }),
    `<text class="panel-title" x="${a.x0}" y="16" fill="${colour}">${esc(group)}</text><text class="tick-label" x="${a.x1}" y="16" text-anchor="end">${pairs.length} matri${pairs.length === 1 ? 'x' : 'ces'}</text>`,
    `<g clip-path="url(#${id}-clip)">`,
  ];
  for (const p of sorted) {
    const values = p.spectrum!.values;
    const depth = p.module.layer === null ? 0.5 : layerCount > 1 ? p.module.layer / (layerCount - 1) : 1;
    const pts = plotIndices(values.length).map((i) => {
      const v = values[i] as number;
      return [x(i + 1), v >= yDomain[0] ? y(v) : NaN] as const;
    });
    const d = pathData(pts);
    if (!d) continue;
    parts.push(`<path class="series" d="${d}" fill="none" stroke="${colour}" stroke-opacity="${r2(0.3 + 0.7 * depth)}" stroke-width="1.4"><title>${esc(`${p.name}: σ₁ = ${fmt(values[0] as number)}, ${values.length} values`)}</title></path>`);
  }
  const edges = pairs.map((p) => p.noise?.edge ?? 0).filter((e) => e > 0).sort((p, q) => p - q);
  if (edges.length) {
    const edge = edges[edges.length >> 1] as number;
    const ey = r2(y(edge));
    parts.push(`<line class="noise-edge" x1="${a.x0}" x2="${a.x1}" y1="${ey}" y2="${ey}" stroke="#333" stroke-dasharray="5 4" stroke-width="1.2"><title>storage-noise edge ${fmt(edge)}</title></line>`);
    parts.push(`<text class="tick-label" x="${a.x1 - 4}" y="${r2(y(edge) - 4)}" text-anchor="end">noise edge</text>`);
  }
  parts.push('</g></svg>');
  return `<figure class="panel">${parts.join('')}</figure>`;
}

// ---- heatmaps -----------------------------------------------------------------------------------------

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
function effRankFloor(report: DiffReport): number {
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

function heatmapSection(report: DiffReport, grid: LayerModuleGrid): string {
  if (grid.layers.length === 0) return '<section id="heatmaps"><h2>Layer × module heatmaps</h2><p>No matrix has a layer index: nothing to arrange by layer.</p></section>';
  const maxShare = Math.max(1e-12, ...[...grid.cells.values()].map((c) => c.energyShare));
  const ratioFloor = effRankFloor(report);
  const energy = heatmap(grid, {
    id: 'plot-heatmap-energy', plot: 'heatmap-energy',
    title: 'Update energy share by layer and module type',
    desc: `Share of the total update energy Σ‖ΔW‖_F² in each layer × module cell; the largest cell holds ${pct(maxShare)}.`,
    legend: 'share of energy', range: { min: 0, max: maxShare },
    value: (c) => c.energyShare,
    tooltip: (c) => `layer ${c.layer} · ${c.module}: ${pct(c.energyShare, 2)} of the update energy (${c.pairs.length} matri${c.pairs.length === 1 ? 'x' : 'ces'}: ${c.pairs.map((p) => p.name).join(', ')})`,
    text: (c) => (c.energyShare >= 0.001 ? `${(100 * c.energyShare).toFixed(c.energyShare < 0.1 ? 1 : 0)}` : ''),
    format: (v) => `${(100 * v).toFixed(v * 100 < 10 ? 1 : 0)}%`,
  });
  const effRank = heatmap(grid, {
    id: 'plot-heatmap-effrank', plot: 'heatmap-effrank',
    title: 'Energy effective-rank ratio of ΔW by layer and module type',
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
  return `<section id="heatmaps" aria-labelledby="heatmaps-h"><h2 id="heatmaps-h">Where the update is: layer × module type</h2>
<figure>${energy}<figcaption>Share of the total update energy Σ‖ΔW‖_F² per cell (numbers in %). A concentrated update lights up a few cells; a dispersed one colours the whole grid.</figcaption></figure>
<figure>${effRank}<figcaption>Energy effective rank of ΔW as a fraction of its largest possible rank (1: all directions used equally; 1/min(m, n): a single direction), on a log colour scale. Hatched: the update is no larger than storage rounding, so its rank says nothing.${report.options.mode === 'truncated' ? ' Truncated mode: colour = midpoint of the proven range; hover a cell for the range.' : ''}</figcaption></figure>
${outside}</section>`;
}

// ---- depth profiles -----------------------------------------------------------------------------------

function legend(modules: readonly string[]): string {
  return `<ul class="legend" aria-label="module types">${modules.map((m) => `<li><span class="swatch" style="background:${moduleColour(m)}"></span>${esc(m)}</li>`).join('')}</ul>`;
}

function energyByLayerPlot(grid: LayerModuleGrid): string {
  const frame: Frame = { width: 700, height: 270, margin: { top: 16, right: 16, bottom: 42, left: 62 } };
  const a = plotArea(frame);
  const L = grid.layers.length;
  const layerShare = grid.layers.map((l) => grid.modules.reduce((s, m) => s + (grid.cells.get(gridKey(l, m))?.energyShare ?? 0), 0));
  const y = linearScale([0, Math.max(1e-9, ...layerShare) * 1.08], [a.y1, a.y0]);
  const band = (a.x1 - a.x0) / Math.max(1, L);
  const x = linearScale([grid.layers[0] as number, grid.layers[L - 1] as number], [a.x0 + band / 2, a.x1 - band / 2]);
  const xTicks = grid.layers.filter((_, i) => i % Math.max(1, Math.ceil(L / 16)) === 0);
  const parts = [
    svgOpen('plot-depth-energy', frame.width, frame.height, 'Update energy share by layer', `Share of the update energy in each of ${L} layers, stacked by module type; the largest layer holds ${pct(Math.max(...layerShare))}.`, 'depth-energy'),
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
  const frame: Frame = { width: 700, height: 270, margin: { top: 16, right: 16, bottom: 42, left: 62 } };
  const a = plotArea(frame);
  const L = grid.layers.length;
  const x = linearScale([grid.layers[0] as number, grid.layers[L - 1] as number], [a.x0 + 10, a.x1 - 10]);
  const y = logScale([floor, 1], [a.y1, a.y0]);
  const parts = [
    svgOpen('plot-depth-effrank', frame.width, frame.height, 'Energy effective-rank ratio of ΔW by layer', `Energy effective-rank ratio of ΔW per layer, one line per module type (${grid.modules.join(', ')}); hollow markers: update below the storage-noise floor.`, 'depth-effrank'),
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

function depthSection(report: DiffReport, grid: LayerModuleGrid): string {
  if (grid.layers.length === 0) return '';
  return `<section id="depth" aria-labelledby="depth-h"><h2 id="depth-h">Depth profiles</h2>
${legend(grid.modules)}
<figure>${energyByLayerPlot(grid)}<figcaption>Update energy per layer as a share of the total, stacked by module type.</figcaption></figure>
<figure>${effRankByLayerPlot(grid, effRankFloor(report))}<figcaption>Energy effective-rank ratio of ΔW per layer and module type (energy-weighted over a cell's matrices; log scale). Layers where a module type did not change are left out. Vertical bars: the proven range in truncated mode. Hollow markers: the update there is no larger than storage rounding.</figcaption></figure>
</section>`;
}

// ---- tables -------------------------------------------------------------------------------------------

interface Column<T> {
  header: string;
  num?: boolean;
  title?: string;
  cell: (row: T) => string;
  /** Sort key (numbers sort numerically); default: the cell text. */
  sort?: (row: T) => number | string | null | undefined;
}

function sortKey(v: number | string | null | undefined): string {
  if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '';
  return String(v);
}

function htmlTable<T>(rows: readonly T[], columns: readonly Column<T>[], options: { caption?: string; sortable?: boolean; id?: string } = {}): string {
  const head = columns
    .map((c) => {
      const title = c.title ? ` title="${esc(c.title)}"` : '';
      const inner = options.sortable ? `<button type="button">${esc(c.header)}</button>` : esc(c.header);
      return `<th scope="col"${c.num ? ' class="num"' : ''}${title}>${inner}</th>`;
    })
    .join('');
  const body = rows
    .map((r) => `<tr>${columns.map((c) => {
      const text = c.cell(r);
      const key = options.sortable ? ` data-v="${esc(sortKey(c.sort ? c.sort(r) : text))}"` : '';
      return `<td${c.num ? ' class="num"' : ''}${key}>${text}</td>`;
    }).join('')}</tr>`)
    .join('\n');
  const cls = options.sortable ? ' class="sortable"' : '';
  return `<div class="table-wrap"><table${cls}${options.id ? ` id="${esc(options.id)}"` : ''}>${options.caption ? `<caption>${esc(options.caption)}</caption>` : ''}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

function groupTable(groups: readonly GroupSummary[], keyHeader: string, caption: string): string {
  return htmlTable(groups, [
    { header: keyHeader, cell: (g) => esc(g.key) },
    { header: 'matrices', num: true, cell: (g) => String(g.matrices) },
    { header: 'parameters', num: true, cell: (g) => g.parameters.toLocaleString('en-US') },
    { header: 'update energy share', num: true, cell: (g) => pct(g.energyShare) },
    { header: 'relative update', num: true, title: 'parameter-weighted mean of ‖ΔW‖_F / ‖W_base‖_F', cell: (g) => fmt(g.mean.relativeUpdate) },
    { header: 'energy eff. rank ratio', num: true, title: 'parameter-weighted mean', cell: (g) => fmt(g.mean.energyEffectiveRankRatio) },
    { header: 'top-k energy share', num: true, cell: (g) => fmt(g.mean.topKEnergyShare) },
    { header: 'energy above noise', num: true, cell: (g) => pct(g.mean.energyShareAboveNoise) },
  ], { caption });
}

function matrixTable(report: DiffReport): string {
  const total = totalUpdateEnergy(report);
  const rows = byUpdateEnergy(report.pairs);
  const mid = (v: Parameters<typeof bounds>[0] | null | undefined) => (v === null || v === undefined ? null : (bounds(v)[0] + bounds(v)[1]) / 2);
  return htmlTable<PairResult>(rows, [
    { header: 'matrix', cell: (p) => `<span class="name">${esc(p.name)}</span>`, sort: (p) => p.name },
    { header: 'layer', num: true, cell: (p) => (p.module.layer === null ? '–' : String(p.module.layer)), sort: (p) => p.module.layer },
    { header: 'module', cell: (p) => `<span class="swatch" style="background:${moduleColour(p.module.group)}"></span>${esc(p.module.group)}`, sort: (p) => p.module.group },
    { header: 'shape', num: true, cell: (p) => `${p.rows}×${p.cols}`, sort: (p) => p.parameters },
    { header: 'dtypes', cell: (p) => esc(p.baseDtype === p.tunedDtype ? p.baseDtype : `${p.baseDtype || '–'}→${p.tunedDtype}`) },
    { header: 'energy share', num: true, title: '‖ΔW‖_F² / Σ‖ΔW‖_F²', cell: (p) => pct(total > 0 ? updateEnergy(p) / total : NaN, 2), sort: (p) => updateEnergy(p) },
    { header: 'relative update', num: true, title: '‖ΔW‖_F / ‖W_base‖_F', cell: (p) => fmt(p.relativeUpdate), sort: (p) => p.relativeUpdate },
    { header: 'stable rank', num: true, cell: (p) => fmt(p.metrics?.stableRank), sort: (p) => p.metrics?.stableRank },
    { header: 'energy eff. rank ratio', num: true, cell: (p) => esc(fmtBounded(p.metrics?.energyEffectiveRankRatio)), sort: (p) => mid(p.metrics?.energyEffectiveRankRatio) },
    { header: 'energy rank 90%', num: true, cell: (p) => esc(fmtBounded(p.metrics?.energyRank['90'])), sort: (p) => mid(p.metrics?.energyRank['90']) },
    { header: 'top-k energy share', num: true, cell: (p) => esc(fmtBounded(p.metrics?.topKEnergyShare)), sort: (p) => mid(p.metrics?.topKEnergyShare) },
    { header: 'energy above noise', num: true, cell: (p) => esc(fmtBoundedPct(p.noise?.energyShareAbove)), sort: (p) => mid(p.noise?.energyShareAbove) },
    { header: 'directions above noise', num: true, cell: (p) => esc(fmtBounded(p.noise?.directionsAbove)), sort: (p) => mid(p.noise?.directionsAbove) },
    { header: 'subspace sim. (in)', num: true, title: 'similarity of the top input directions of ΔW and W_base (random: k/n)', cell: (p) => (p.directions ? `${fmt(p.directions.updateVsBaseInputs.similarity)} <span class="muted">/ ${fmt(p.directions.updateVsBaseInputs.randomBaseline)}</span>` : '–'), sort: (p) => p.directions?.updateVsBaseInputs.similarity },
    { header: 'intruders', num: true, title: 'tuned top directions with no close base direction (random baseline after /)', cell: (p) => (p.directions?.intruders ? `${p.directions.intruders.intruders.length} <span class="muted">/ ${fmt(p.directions.intruders.randomBaseline)}</span>` : '–'), sort: (p) => p.directions?.intruders?.intruders.length },
    { header: 'error', cell: (p) => (p.error ? `<span class="error" title="${esc(p.error.message)}">${esc(p.error.code)}</span>` : ''), sort: (p) => p.error?.code ?? '' },
  ], { sortable: true, id: 'matrices-table', caption: `All ${report.pairs.length} matrices, largest update first (click a column header to sort)` });
}

function pairingSection(report: DiffReport): string {
  const p = report.pairing;
  const counts = Object.entries(p.counts).map(([fate, n]) => `<li class="${n > 0 ? '' : 'muted'}"><strong>${n}</strong> ${esc(fate)}</li>`).join('');
  const unusual = p.entries.filter((e) => e.fate !== 'paired' && e.fate !== 'not-a-matrix');
  const entryColumns: Column<DiffReport['pairing']['entries'][number]>[] = [
    { header: 'name', cell: (e) => `<span class="name">${esc(e.name)}</span>` },
    { header: 'fate', cell: (e) => esc(e.fate) },
    { header: 'base tensor', cell: (e) => (e.base === null ? '–' : `<span class="name">${esc(e.base)}</span>`) },
    { header: 'tuned tensor', cell: (e) => (e.tuned === null ? '–' : `<span class="name">${esc(e.tuned)}</span>`) },
    { header: 'note', cell: (e) => esc(e.note ?? '') },
  ];
  const prefix = p.prefix.base || p.prefix.tuned ? `<p>Prefixes stripped before matching: base <code>${esc(p.prefix.base || '(none)')}</code>, tuned <code>${esc(p.prefix.tuned || '(none)')}</code>.</p>` : '';
  const adapter = report.adapter
    ? `<p>Adapter layout <code>${esc(report.adapter.layout)}</code>, ${report.adapter.modules} modules${report.adapter.needsBase ? ' (needs the base)' : ''}.</p>${report.adapter.notes.length ? `<ul>${report.adapter.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}`
    : '';
  return `<section id="pairing" aria-labelledby="pairing-h"><h2 id="pairing-h">Pairing</h2>
<ul class="counts">${counts}</ul>${prefix}${adapter}
${p.notes.length ? `<ul class="notes">${p.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
${unusual.length ? htmlTable(unusual, entryColumns, { caption: 'Tensors that were not simply paired (vectors and scalars are listed below)' }) : ''}
<details><summary>All ${p.entries.length} pairing entries</summary>${htmlTable(p.entries, entryColumns)}</details>
</section>`;
}

function vectorsSection(report: DiffReport): string {
  if (!report.vectors.length) return '';
  const rows = [...report.vectors].sort((a, b) => b.relativeChange - a.relativeChange);
  const changed = rows.filter((v) => v.relativeChange !== 0).length;
  return `<section id="vectors" aria-labelledby="vectors-h"><h2 id="vectors-h">Vectors (norms, biases)</h2><p>${changed} of ${rows.length} changed.</p>
<details><summary>All ${rows.length} vectors by relative change</summary>${htmlTable(rows, [
    { header: 'tensor', cell: (v) => `<span class="name">${esc(v.name)}</span>` },
    { header: 'relative change', num: true, title: '‖tuned − base‖₂ / ‖base‖₂', cell: (v) => fmt(v.relativeChange) },
    { header: '‖Δ‖₂', num: true, cell: (v) => fmt(v.deltaNorm) },
    { header: '‖base‖₂', num: true, cell: (v) => fmt(v.baseNorm) },
  ])}</details></section>`;
}

function modelSection(report: DiffReport): string {
  const m = report.aggregates.model;
  const items = modelSummaryRows(m);
  return `<section id="model" aria-labelledby="model-h"><h2 id="model-h">Model summary</h2><dl class="summary">${items.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl></section>`;
}

// ---- page ---------------------------------------------------------------------------------------------

const CSS = `
:root{--fg:#1b1d21;--muted:#666;--line:#e3e3e3;--bg:#fff;--card:#fafbfc}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1140px;margin:0 auto;padding:24px 28px 64px}
header{border-bottom:1px solid var(--line);margin-bottom:20px;padding-bottom:12px}
h1{font-size:24px;margin:0 0 8px;font-weight:650}
h2{font-size:19px;margin:32px 0 10px;font-weight:650}
h3{font-size:15px;margin:18px 0 6px}
.paths{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}
.paths dt{color:var(--muted)}.paths dd{margin:0;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;word-break:break-all}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 20px 16px}
.verdict-line{display:flex;flex-wrap:wrap;align-items:baseline;gap:18px;margin:4px 0}
.verdict-label{display:inline-block;font-size:32px;font-weight:700}.verdict-label::first-letter{text-transform:uppercase}
.verdict-score{font-size:18px}
.badge{border-radius:10px;padding:1px 10px;font-size:13px;border:1px solid #ccc}
.badge-high{background:#e6f4ea;border-color:#9bd0a9}.badge-medium{background:#fff6da;border-color:#e5cf7f}.badge-low{background:#fde8e8;border-color:#e8a3a3}
.diagnostic{font-size:15px;background:#fff;border-left:4px solid #888;padding:6px 12px}
.muted{color:var(--muted)}
figure{margin:14px 0}
figcaption{color:var(--muted);font-size:13px;max-width:780px}
.panels{display:flex;flex-wrap:wrap;gap:6px}
.panel{margin:0}
svg.plot{max-width:100%;height:auto;overflow:visible}
svg.plot text{font-family:inherit}
.tick-label{font-size:10.5px;fill:#555}.axis-label{font-size:12px;fill:#333}
.panel-title{font-size:14px;font-weight:650}
.row-label{font-size:12px;font-weight:600}
.cell-label{font-size:10px}
.bar-label{font-size:12.5px;fill:#333}
.region-label{font-size:12px;fill:#444}
.score-value{font-size:14px;font-weight:700}
line.grid{stroke:#eee}line.axis,line.tick{stroke:#666}
.lede{max-width:820px}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:13px}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
caption{text-align:left;color:var(--muted);padding:4px 0}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f4f5f7;font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.name{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;overflow-wrap:anywhere}
#matrices-table td:first-child{min-width:19em}
th button{font:inherit;background:none;border:0;padding:0;cursor:pointer;color:inherit}
th[aria-sort=ascending] button::after{content:" ▲"}th[aria-sort=descending] button::after{content:" ▼"}
.counts{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 16px}
.evidence .metric{display:inline-block;min-width:1.6em;font-weight:700;color:#445}
dl.summary{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:8px 20px}
dl.summary div{border-bottom:1px solid var(--line);padding:4px 0}dl.summary dt{color:var(--muted);font-size:13px}dl.summary dd{margin:0;font-size:17px;font-weight:600}
.error{color:#a61b1b;font-weight:600}
.note{font-size:13px;color:var(--muted)}
footer{margin-top:40px;border-top:1px solid var(--line);padding-top:10px;font-size:12.5px;color:var(--muted)}
`;

// Progressive enhancement only: the tables are complete without it.
const SORT_SCRIPT = `(function(){
  var tables=document.querySelectorAll('table.sortable');
  Array.prototype.forEach.call(tables,function(table){
    var heads=table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads,function(th,col){
      var button=th.querySelector('button');
      if(!button)return;
      button.addEventListener('click',function(){
        var asc=th.getAttribute('aria-sort')!=='ascending';
        Array.prototype.forEach.call(heads,function(h){h.removeAttribute('aria-sort');});
        th.setAttribute('aria-sort',asc?'ascending':'descending');
        var body=table.tBodies[0];
        var rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(a,b){
          var x=a.cells[col].getAttribute('data-v'),y=b.cells[col].getAttribute('data-v');
          if(x===y)return 0;if(x==='')return 1;if(y==='')return -1;
          var nx=Number(x),ny=Number(y);
          var r=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
          return asc?r:-r;
        });
        rows.forEach(function(r){body.appendChild(r);});
      });
    });
  });
})();`;

/** The complete, self-contained HTML report of a diff report. */
export function toHtml(report: DiffReport, options: HtmlOptions = {}): string {
  const title = options.title ?? `paramscope · ${basename(report.tuned.path)} vs ${report.base ? basename(report.base.path) : '(no base)'}`;
  const grid = layerModuleGrid(report);
  const signalCount = report.pairs.filter(hasSignal).length;
  const paths = [
    report.base ? `<dt>base</dt><dd>${esc(report.base.path)} <span class="muted">(${report.base.tensors} tensors)</span></dd>` : '<dt>base</dt><dd class="muted">none (adapter analysed on its own)</dd>',
    `<dt>${report.kind === 'adapter' ? 'adapter' : 'tuned'}</dt><dd>${esc(report.tuned.path)} <span class="muted">(${report.tuned.tensors} ${report.kind === 'adapter' ? 'modules' : 'tensors'})</span></dd>`,
    `<dt>spectra</dt><dd>${esc(modeText(report))}</dd>`,
    `<dt>matrices</dt><dd>${report.pairs.length} compared, ${signalCount} changed beyond storage noise</dd>`,
  ].join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="paramscope ${esc(report.tool.version)}">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<h1>${esc(title)}</h1>
<dl class="paths">${paths}</dl>
</header>
${verdictSection(report)}
${modelSection(report)}
${spectraSection(report)}
${heatmapSection(report, grid)}
${depthSection(report, grid)}
${pairingSection(report)}
<section id="tables" aria-labelledby="tables-h"><h2 id="tables-h">Per module type and per layer</h2>
${groupTable(orderedGroups(report.aggregates.byModule, 'module'), 'module', 'Per module type')}
${report.aggregates.byLayer.length ? groupTable(orderedGroups(report.aggregates.byLayer, 'layer'), 'layer', 'Per layer') : ''}
${report.aggregates.byComponent.length > 1 ? groupTable(orderedGroups(report.aggregates.byComponent, 'other'), 'component', 'Per component') : ''}
</section>
<section id="matrices" aria-labelledby="matrices-h"><h2 id="matrices-h">Every matrix</h2>
${matrixTable(report)}
</section>
${vectorsSection(report)}
<footer>
<p>${esc(DIAGNOSTIC_SENTENCE)} Energy = ‖ΔW‖_F² (squared weight units); shares are of the total over all matrices. In truncated mode, metrics that depend on the unknown tail of the spectrum are proven ranges (lo–hi), never extrapolations. Definitions: docs/metrics.md, docs/regime.md, docs/schema.md in the paramscope package.</p>
<p>Generated by paramscope ${esc(report.tool.version)} on ${esc(report.createdAt)} · report schema ${report.schemaVersion}.</p>
</footer>
</main>
<script>${SORT_SCRIPT}</script>
</body>
</html>
`;
}

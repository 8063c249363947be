/** The spectra section: singular values of ΔW per module type on log–log axes, with the storage-noise edge. */
import type { GroupSummary } from '../../aggregate/groups';
import { fmt, maxOf, orderedGroups } from '../common';
import type { DiffReport, PairResult } from '../model';
import { axes, esc, type Frame, logScale, moduleColour, pathData, plotArea, r2, svgOpen } from '../svg';

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

export function spectraSection(report: DiffReport): string {
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
  const layerCount = maxOf(drawn.map((p) => (p.module.layer ?? 0) + 1), 1);
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

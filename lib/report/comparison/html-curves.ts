/**
 * The overlaid curves of the comparison page, as small multiples (one panel per module type, one line per
 * arm, a shared y axis per row of panels so panels compare at a glance): depth profiles of the energy
 * effective-rank ratio and of the energy share, normalised spectra σ_k/σ₁ and cumulative energy E_k
 * against k/r with the 90 % level marked.
 */
import { compareModules, fmt, pct } from '../common';
import { axes, esc, type Frame, linearScale, logScale, pathData, plotArea, r2, type Scale, svgOpen } from '../svg';
import { type ArmStyle, strokeOf } from './palette';
import type { ComparisonDocument, DepthCurve, DepthPoint, SpectrumCurve } from './model';

const SMALL: Frame = { width: 360, height: 230, margin: { top: 28, right: 14, bottom: 40, left: 58 } };
/** Two panels a row instead of three when many arms cross many layers: the lines need the room. */
const WIDE: Frame = { width: 550, height: 270, margin: { top: 28, right: 14, bottom: 40, left: 58 } };

/** The panel frame and line width of a page (thinner lines when many arms overlap). */
interface Layout {
  frame: Frame;
  lineWidth: number;
}

function layoutOf(doc: ComparisonDocument): Layout {
  const layers = Math.max(0, ...doc.depth.map((c) => c.points.length));
  return { frame: doc.arms.length >= 4 && layers >= 32 ? WIDE : SMALL, lineWidth: doc.arms.length > 6 ? 1.2 : 1.6 };
}

/** Markers only where there are few points: 80 markers × 8 arms would hide the lines. */
const MARKERS_UP_TO = 24;

/** A power of ten at or below the smallest positive value (and at most 0.1). */
function logFloor(values: Iterable<number | null>): number {
  let floor = 0.1;
  for (const v of values) if (v !== null && v > 0 && v < floor) floor = v;
  return 10 ** Math.floor(Math.log10(floor) - 1e-9);
}

function panelTitle(a: ReturnType<typeof plotArea>, title: string, note: string): string {
  return `<text class="panel-title" x="${a.x0}" y="16">${esc(title)}</text><text class="tick-label" x="${a.x1}" y="16" text-anchor="end">${esc(note)}</text>`;
}

interface DepthMetric {
  key: 'effRankRatio' | 'energyShare';
  plot: string;
  label: string;
  log: boolean;
  value: (p: DepthPoint) => number | null;
  format: (v: number) => string;
}

function depthPanel(id: string, title: string, curves: readonly DepthCurve[], metric: DepthMetric, y: Scale, styles: ReadonlyMap<string, ArmStyle>, layout: Layout): string {
  const frame = layout.frame;
  const a = plotArea(frame);
  const x = linearScale([0, 1], [a.x0, a.x1]);
  const layers = Math.max(0, ...curves.map((c) => c.points.length));
  const parts = [
    svgOpen(id, frame.width, frame.height, `${metric.label} by relative depth, ${title}`, `One line per arm (${curves.map((c) => c.arm).join(', ')}); x = layer / last layer of the component.`, metric.plot),
    `<defs><clipPath id="${id}-clip"><rect x="${a.x0 - 4}" y="${a.y0 - 4}" width="${a.x1 - a.x0 + 8}" height="${a.y1 - a.y0 + 8}"/></clipPath></defs>`,
    axes(frame, x, y, { xLabel: 'relative depth', yLabel: metric.label, xTicks: [0, 0.25, 0.5, 0.75, 1], ...(metric.log ? {} : { yFormat: metric.format }) }),
    panelTitle(a, title, `${layers} layers`),
    `<g clip-path="url(#${id}-clip)">`,
  ];
  for (const c of curves) {
    const style = styles.get(c.arm) as ArmStyle;
    const pts = c.points.map((p) => {
      const v = metric.value(p);
      return [x(p.depth), v !== null && (!metric.log || v > 0) ? y(v) : NaN] as const;
    });
    const d = pathData(pts);
    const arm = esc(c.arm);
    // A path of isolated points has no length: it is drawn as markers only.
    if (/L/.test(d)) parts.push(`<path class="series" data-arm="${arm}" d="${d}" fill="none" ${strokeOf(style, layout.lineWidth)}><title>${arm}</title></path>`);
    const isolated = (i: number) => !Number.isFinite(pts[i - 1]?.[1] ?? NaN) && !Number.isFinite(pts[i + 1]?.[1] ?? NaN);
    c.points.forEach((p, i) => {
      const [px, py] = pts[i] as readonly [number, number];
      if (!Number.isFinite(py) || (c.points.length > MARKERS_UP_TO && !isolated(i))) return;
      parts.push(`<circle class="point" data-arm="${arm}" cx="${r2(px)}" cy="${r2(py)}" r="2.6" fill="${p.signal ? style.colour : '#fff'}" stroke="${style.colour}" stroke-width="1.2"><title>${esc(`${c.arm} · layer ${p.layer}: ${metric.format(metric.value(p) as number)}${p.signal ? '' : ' (below the storage-noise floor)'}`)}</title></circle>`);
    });
  }
  parts.push('</g></svg>');
  return `<figure class="panel">${parts.join('')}</figure>`;
}

/** Panels keyed by component and module type, in canonical order. */
function byPanel<T extends { module: string }>(items: readonly T[], component: (t: T) => string): Array<[string, T[]]> {
  const groups = new Map<string, T[]>();
  for (const t of items) {
    const key = `${component(t)}\u0000${t.module}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  return [...groups].sort(([a], [b]) => {
    const [ca, ma] = a.split('\u0000') as [string, string], [cb, mb] = b.split('\u0000') as [string, string];
    return ca.localeCompare(cb) || compareModules(ma, mb);
  });
}

export function depthSection(doc: ComparisonDocument, styles: ReadonlyMap<string, ArmStyle>, legend: string): string {
  const layout = layoutOf(doc);
  if (doc.depth.length === 0) return '<section id="depth"><h2>Depth profiles</h2><p>No matrix has a layer index: nothing to arrange by depth.</p></section>';
  const components = new Set(doc.depth.map((c) => c.component));
  const panels = byPanel(doc.depth, (c) => c.component);
  const name = (key: string) => {
    const [component, module] = key.split('\u0000') as [string, string];
    return components.size > 1 ? `${component} · ${module}` : module;
  };
  const what = doc.family === 'updates' ? 'ΔW' : 'W';
  const metrics: DepthMetric[] = [
    { key: 'effRankRatio', plot: 'depth-effrank', label: 'energy eff. rank / min(m, n)', log: true, value: (p) => p.effRankRatio, format: (v) => fmt(v) },
    ...(doc.family === 'updates' ? [{ key: 'energyShare', plot: 'depth-energy', label: 'share of update energy', log: false, value: (p: DepthPoint) => p.energyShare, format: (v: number) => pct(v, v < 0.01 ? 2 : 1) } as DepthMetric] : []),
  ];
  const blocks = metrics.map((m) => {
    const all = doc.depth.flatMap((c) => c.points.map(m.value));
    const a = plotArea(layout.frame);
    const y = m.log ? logScale([logFloor(all), 1], [a.y1, a.y0]) : linearScale([0, Math.max(1e-9, ...all.filter((v): v is number => v !== null)) * 1.05], [a.y1, a.y0]);
    const figures = panels.map(([key, curves], i) => depthPanel(`plot-${m.plot}-${i}`, name(key), curves, m, y, styles, layout));
    const caption = m.key === 'effRankRatio'
      ? `Energy effective rank of ${what} as a fraction of its largest possible rank, per layer (energy-weighted over a layer's matrices of the type; log scale, shared by all panels).${doc.family === 'updates' ? ' Hollow markers (where drawn): no matrix of the cell rises above the storage-noise floor.' : ''}`
      : 'Each layer\'s share of its arm\'s total update energy Σ‖ΔW‖_F², per module type (one y scale for all panels): where along the depth each arm put its update.';
    return `<h3>${esc(m.label)}</h3><p class="note">${esc(caption)}</p><div class="panels">${figures.join('\n')}</div>`;
  });
  return `<section id="depth" aria-labelledby="depth-h"><h2 id="depth-h">Depth profiles, one panel per module type</h2>
${legend}
${blocks.join('\n')}
</section>`;
}

function spectrumPanel(id: string, module: string, curves: readonly SpectrumCurve[], kind: 'sigma' | 'energy', x: Scale, y: Scale, styles: ReadonlyMap<string, ArmStyle>, layout: Layout): string {
  const frame = layout.frame;
  const a = plotArea(frame);
  const plot = kind === 'sigma' ? 'spectrum-normalised' : 'spectrum-energy';
  const label = kind === 'sigma' ? 'σ_k / σ₁ (log)' : 'cumulative energy E_k';
  const parts = [
    svgOpen(id, frame.width, frame.height, `${kind === 'sigma' ? 'Normalised spectrum' : 'Cumulative energy'} of module type ${module}`, `Median over each arm's ${module} matrices against k/r (log); one line per arm.${kind === 'energy' ? ' Dashed: the 90 % level.' : ''}`, plot),
    `<defs><clipPath id="${id}-clip"><rect x="${a.x0}" y="${a.y0 - 2}" width="${a.x1 - a.x0}" height="${a.y1 - a.y0 + 4}"/></clipPath></defs>`,
    axes(frame, x, y, { xLabel: 'k / r (log)', yLabel: label, ...(kind === 'energy' ? { yTicks: [0, 0.25, 0.5, 0.75, 1], yFormat: (v: number) => String(v) } : {}) }),
    panelTitle(a, module, `median of ${Math.max(...curves.map((c) => c.matrices))} matrices`),
    `<g clip-path="url(#${id}-clip)">`,
  ];
  if (kind === 'energy') parts.push(`<line class="level-90" x1="${a.x0}" x2="${a.x1}" y1="${r2(y(0.9))}" y2="${r2(y(0.9))}" stroke="#333" stroke-dasharray="5 4" stroke-width="1.1"><title>90 % of the energy</title></line><text class="tick-label" x="${a.x1 - 4}" y="${r2(y(0.9) + 12)}" text-anchor="end">90 %</text>`);
  for (const c of curves) {
    const style = styles.get(c.arm) as ArmStyle;
    const pts = c.points.map((p) => {
      const v = kind === 'sigma' ? p.sigma : p.energy;
      return [x(p.x), v !== null && (kind === 'energy' || v >= y.domain[0]) ? y(v) : NaN] as const;
    });
    const d = pathData(pts);
    if (!/L/.test(d)) continue;
    parts.push(`<path class="series" data-arm="${esc(c.arm)}" d="${d}" fill="none" ${strokeOf(style, layout.lineWidth)}><title>${esc(`${c.arm}: ${c.matrices} matrices${c.energy90 !== null ? `, 90 % of the energy by k/r = ${fmt(c.energy90)}` : ''}`)}</title></path>`);
    if (kind === 'energy' && c.energy90 !== null) parts.push(`<circle class="point" data-arm="${esc(c.arm)}" cx="${r2(x(c.energy90))}" cy="${r2(y(0.9))}" r="3" fill="${style.colour}" stroke="#fff" stroke-width="0.8"><title>${esc(`${c.arm}: E_k reaches 90 % at k/r = ${fmt(c.energy90)}`)}</title></circle>`);
  }
  parts.push('</g></svg>');
  return `<figure class="panel">${parts.join('')}</figure>`;
}

export function spectraSection(doc: ComparisonDocument, styles: ReadonlyMap<string, ArmStyle>, legend: string): string {
  const layout = layoutOf(doc);
  if (doc.spectra.length === 0) return '<section id="spectra"><h2>Spectra</h2><p>No matrix has a non-zero spectrum: nothing to plot.</p></section>';
  const a = plotArea(layout.frame);
  const xs = doc.spectra.flatMap((c) => c.points.map((p) => p.x));
  const x = logScale([Math.min(...xs), 1], [a.x0, a.x1]);
  const sigmaFloor = Math.max(1e-6, logFloor(doc.spectra.flatMap((c) => c.points.map((p) => p.sigma))));
  const ySigma = logScale([sigmaFloor, 1.2], [a.y1, a.y0]);
  const yEnergy = linearScale([0, 1], [a.y1, a.y0]);
  const panels = byPanel(doc.spectra, () => '');
  const what = doc.family === 'updates' ? 'ΔW' : 'W';
  const sigma = panels.map(([key, curves], i) => spectrumPanel(`plot-spectrum-sigma-${i}`, key.split('\u0000')[1] as string, curves, 'sigma', x, ySigma, styles, layout));
  const energy = panels.map(([key, curves], i) => spectrumPanel(`plot-spectrum-energy-${i}`, key.split('\u0000')[1] as string, curves, 'energy', x, yEnergy, styles, layout));
  return `<section id="spectra" aria-labelledby="spectra-h"><h2 id="spectra-h">Spectra of ${what}, normalised</h2>
<p class="lede">Per module type and arm, the median over its matrices of σ_k/σ₁ and of the cumulative energy E_k = Σ_{i≤k} σᵢ² / ‖${what}‖_F², both against k/r, r the largest rank the matrix can have (min(m, n), or the LoRA rank), so matrices of different shapes and ranks share one axis. A concentrated ${what} drops early and reaches 90 % of its energy at small k/r; a dispersed one stays flat. Where a truncated spectrum does not reach a k, the curve stops.</p>
${legend}
<h3>Normalised spectrum σ_k / σ₁</h3><div class="panels">${sigma.join('\n')}</div>
<h3>Cumulative energy E_k (dashed: 90 %; dot: where each arm reaches it)</h3><div class="panels">${energy.join('\n')}</div>
</section>`;
}

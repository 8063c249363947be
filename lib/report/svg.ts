/**
 * Small SVG toolkit for the HTML report: escaping, linear and log scales with ticks, axes with labels,
 * colour scales (categorical for module types, sequential viridis for heatmaps) and a colour bar. Pure
 * string building: every plot is rendered at report time, the page needs no JavaScript to show it.
 */
import { showControlCharacters } from './control-chars';

/**
 * Escapes text for HTML/SVG content and attribute values: the markup characters as entities, and control,
 * bidi and separator characters shown as their escapes (`\n`, `\u202e`: lib/report/control-chars.ts), so
 * a name can neither add markup nor reorder or hide what the page shows.
 */
export function esc(text: string | number): string {
  return showControlCharacters(String(text)).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** A coordinate with 2 decimals (keeps the markup small). */
export function r2(x: number): string {
  return (Math.round(x * 100) / 100).toString();
}

export interface Scale {
  (x: number): number;
  domain: [number, number];
  range: [number, number];
  log: boolean;
  ticks: (count?: number) => number[];
}

export function linearScale(domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = domain[0] === domain[1] ? [domain[0] - 0.5, domain[1] + 0.5] : domain;
  const f = ((x: number) => range[0] + ((x - d0) / (d1 - d0)) * (range[1] - range[0])) as Scale;
  f.domain = [d0, d1];
  f.range = range;
  f.log = false;
  f.ticks = (count = 5) => niceTicks(d0, d1, count);
  return f;
}

/** Base-10 log scale; the domain must be positive. */
export function logScale(domain: [number, number], range: [number, number]): Scale {
  let [d0, d1] = domain;
  if (!(d0 > 0)) d0 = 1e-12;
  if (!(d1 > d0)) d1 = d0 * 10;
  const l0 = Math.log10(d0), l1 = Math.log10(d1);
  const f = ((x: number) => range[0] + ((Math.log10(Math.max(x, d0 * 1e-3)) - l0) / (l1 - l0)) * (range[1] - range[0])) as Scale;
  f.domain = [d0, d1];
  f.range = range;
  f.log = true;
  f.ticks = () => logTicks(d0, d1);
  return f;
}

/** Round-number ticks covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12)));
  return out;
}

/** Powers of ten in [lo, hi]; with 1 and 3 multiples (or 2 and 5) when the range spans few decades. */
export function logTicks(lo: number, hi: number): number[] {
  const e0 = Math.floor(Math.log10(lo)), e1 = Math.ceil(Math.log10(hi));
  const decades = e1 - e0;
  const mults = decades <= 1 ? [1, 2, 5] : decades <= 3 ? [1, 3] : [1];
  const step = decades > 8 ? Math.ceil(decades / 6) : 1;
  const out: number[] = [];
  for (let e = e0; e <= e1; e += step) for (const m of mults) {
    const t = m * 10 ** e;
    if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) out.push(Number(t.toPrecision(6)));
  }
  if (out.length < 2) return [lo, hi].map((x) => Number(x.toPrecision(2)));
  return out;
}

/** Tick label: compact decimal or exponent. */
export function tickLabel(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e4 || a < 1e-2) {
    const e = Math.floor(Math.log10(a));
    const m = x / 10 ** e;
    return Math.abs(m - 1) < 1e-9 ? `1e${e}` : `${Number(m.toPrecision(2))}e${e}`;
  }
  return String(Number(x.toPrecision(3)));
}

export interface Frame {
  width: number;
  height: number;
  margin: { top: number; right: number; bottom: number; left: number };
}

export function plotArea(f: Frame) {
  return { x0: f.margin.left, x1: f.width - f.margin.right, y0: f.margin.top, y1: f.height - f.margin.bottom };
}

export interface AxisOptions {
  xLabel: string;
  yLabel: string;
  xTicks?: number[];
  yTicks?: number[];
  xFormat?: (x: number) => string;
  yFormat?: (y: number) => string;
  grid?: boolean;
}

/** Axis lines, ticks, tick labels, grid lines and axis titles for a plot area. */
export function axes(frame: Frame, x: Scale, y: Scale, o: AxisOptions): string {
  const a = plotArea(frame);
  const xf = o.xFormat ?? tickLabel, yf = o.yFormat ?? tickLabel;
  const parts: string[] = ['<g class="axes">'];
  for (const t of o.yTicks ?? y.ticks()) {
    const py = r2(y(t));
    if (o.grid !== false) parts.push(`<line class="grid" x1="${a.x0}" x2="${a.x1}" y1="${py}" y2="${py}"/>`);
    parts.push(`<line class="tick" x1="${a.x0 - 4}" x2="${a.x0}" y1="${py}" y2="${py}"/><text class="tick-label" x="${a.x0 - 6}" y="${py}" text-anchor="end" dominant-baseline="middle">${esc(yf(t))}</text>`);
  }
  for (const t of o.xTicks ?? x.ticks()) {
    const px = r2(x(t));
    if (o.grid !== false) parts.push(`<line class="grid" x1="${px}" x2="${px}" y1="${a.y0}" y2="${a.y1}"/>`);
    parts.push(`<line class="tick" x1="${px}" x2="${px}" y1="${a.y1}" y2="${a.y1 + 4}"/><text class="tick-label" x="${px}" y="${a.y1 + 15}" text-anchor="middle">${esc(xf(t))}</text>`);
  }
  parts.push(`<line class="axis" x1="${a.x0}" x2="${a.x1}" y1="${a.y1}" y2="${a.y1}"/><line class="axis" x1="${a.x0}" x2="${a.x0}" y1="${a.y0}" y2="${a.y1}"/>`);
  parts.push(`<text class="axis-label" x="${r2((a.x0 + a.x1) / 2)}" y="${frame.height - 4}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  const cy = r2((a.y0 + a.y1) / 2);
  parts.push(`<text class="axis-label" x="12" y="${cy}" text-anchor="middle" transform="rotate(-90 12 ${cy})">${esc(o.yLabel)}</text>`);
  parts.push('</g>');
  return parts.join('');
}

/** Opening tag of an accessible SVG with its title and description (ids must be unique in the page). */
export function svgOpen(id: string, width: number, height: number, title: string, desc: string, plot: string): string {
  return `<svg id="${esc(id)}" data-plot="${esc(plot)}" class="plot" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${esc(id)}-title ${esc(id)}-desc">`
    + `<title id="${esc(id)}-title">${esc(title)}</title><desc id="${esc(id)}-desc">${esc(desc)}</desc>`;
}

/** SVG path data through points (M … L …); non-finite points split the line. */
export function pathData(points: ReadonlyArray<readonly [number, number]>): string {
  let d = '';
  let pen = false;
  for (const [x, y] of points) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${r2(x)} ${r2(y)}`;
    pen = true;
  }
  return d;
}

// ---- colours ------------------------------------------------------------------------------------------

const MODULE_COLOURS: Record<string, string> = {
  q: '#4e79a7', k: '#f28e2b', v: '#e15759', o: '#76b7b2', qkv: '#59a14f', gate: '#edc948', up: '#b07aa1',
  down: '#ff9da7', gate_up: '#9c755f', embedding: '#79706e', lm_head: '#5f4b8b', router: '#d37295', norm: '#a0cbe8',
};
const EXTRA_COLOURS = ['#86bcb6', '#8cd17d', '#b6992d', '#499894', '#d4a6c8', '#fabfd2', '#d7b5a6', '#9d7660', '#f1ce63', '#ffbe7d'];

/** A stable colour per module group (fixed for the usual types, hashed for the rest). */
export function moduleColour(group: string): string {
  const fixed = MODULE_COLOURS[group];
  if (fixed) return fixed;
  let h = 0;
  for (let i = 0; i < group.length; i++) h = (h * 31 + group.charCodeAt(i)) >>> 0;
  return EXTRA_COLOURS[h % EXTRA_COLOURS.length] as string;
}

// Viridis, 9 stops (perceptually uniform, colour-blind safe, prints in grey).
const VIRIDIS = ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725'];

function hexToRgb(h: string): [number, number, number] {
  return [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
}

/** Viridis colour of t ∈ [0, 1]. */
export function sequentialColour(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = hexToRgb(VIRIDIS[i] as string), b = hexToRgb(VIRIDIS[i + 1] as string);
  const c = a.map((v, k) => Math.round(v + (((b[k] as number) - v) * f)));
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** Text colour readable on a viridis background. */
export function textOn(t: number): string {
  return t > 0.55 ? '#111' : '#fff';
}

/** A vertical colour bar at (x, y) of the given height, with ticks formatted by `format` (log-spaced when `log`). */
export function colourBar(id: string, x: number, y: number, height: number, scale: { min: number; max: number; log?: boolean }, label: string, format: (v: number) => string): string {
  const gid = `${id}-grad`;
  const parts = [`<defs><linearGradient id="${esc(gid)}" x1="0" x2="0" y1="1" y2="0">${VIRIDIS.map((c, i) => `<stop offset="${r2((100 * i) / (VIRIDIS.length - 1))}%" stop-color="${c}"/>`).join('')}</linearGradient></defs>`];
  parts.push(`<rect x="${x}" y="${y}" width="12" height="${height}" fill="url(#${esc(gid)})" stroke="#999" stroke-width="0.5"/>`);
  const position = colourPosition(scale);
  const ticks = (scale.log ? logTicks(scale.min, scale.max) : niceTicks(scale.min, scale.max, 4)).filter((t) => t >= scale.min * (1 - 1e-9) - 1e-12 && t <= scale.max * (1 + 1e-9) + 1e-12);
  for (const t of ticks) {
    const py = y + height - position(t) * height;
    parts.push(`<line class="tick" x1="${x + 12}" x2="${x + 16}" y1="${r2(py)}" y2="${r2(py)}"/><text class="tick-label" x="${x + 18}" y="${r2(py)}" dominant-baseline="middle">${esc(format(t))}</text>`);
  }
  parts.push(`<text class="axis-label" x="${x}" y="${y - 8}">${esc(label)}</text>`);
  return parts.join('');
}

/** Position in [0, 1] of a value on a colour scale (linear, or logarithmic for positive ranges). */
export function colourPosition(scale: { min: number; max: number; log?: boolean }): (v: number) => number {
  if (scale.log && scale.min > 0 && scale.max > scale.min) {
    const l0 = Math.log10(scale.min), l1 = Math.log10(scale.max);
    return (v) => (v > 0 ? Math.min(1, Math.max(0, (Math.log10(v) - l0) / (l1 - l0))) : 0);
  }
  const span = scale.max - scale.min || 1;
  return (v) => Math.min(1, Math.max(0, (v - scale.min) / span));
}

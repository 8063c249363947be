/**
 * How arms are told apart in the comparison plots: eight colours that stay distinct for colour-blind
 * readers and in print, then the same eight with a dash pattern, and so on (32 arms before a style
 * repeats); arms on a step axis (a trajectory) get viridis by step instead, so order reads as colour.
 * Differences are drawn on a diverging blue–white–red scale centred on 0.
 */
import { esc, r2, sequentialColour } from '../svg';

const ARM_COLOURS = ['#1f5fa8', '#d1495b', '#2a9d5c', '#e08a1e', '#7b4fb3', '#159aa8', '#8c5a3c', '#d45fa8'];
const DASHES = ['', '7 3', '2 2.5', '10 3 2 3'];

export interface ArmStyle {
  colour: string;
  /** SVG stroke-dasharray ('' for solid). */
  dash: string;
}

/** A style per arm label, in the order given. */
export function armStyles(labels: readonly string[], sequential: boolean): Map<string, ArmStyle> {
  const n = labels.length;
  return new Map(labels.map((label, i) => [label, sequential
    ? { colour: sequentialColour(n > 1 ? (0.88 * i) / (n - 1) : 0), dash: '' }
    : { colour: ARM_COLOURS[i % ARM_COLOURS.length] as string, dash: DASHES[Math.floor(i / ARM_COLOURS.length) % DASHES.length] as string }]));
}

/** The stroke attributes of an arm's line. */
export function strokeOf(style: ArmStyle, width = 1.6): string {
  return `stroke="${style.colour}" stroke-width="${width}"${style.dash ? ` stroke-dasharray="${style.dash}"` : ''}`;
}

/** The legend of the arms: a short line in each arm's style, then its label. */
export function armLegend(styles: ReadonlyMap<string, ArmStyle>): string {
  const items = [...styles].map(([label, s]) => `<li><svg class="legend-line" width="30" height="10" aria-hidden="true"><line x1="1" x2="29" y1="5" y2="5" ${strokeOf(s, 2.4)}/></svg>${esc(label)}</li>`);
  return `<ul class="legend arm-legend" aria-label="arms">${items.join('')}</ul>`;
}

/** Blue (t = −1) through near-white (0) to red (+1). */
export function divergingColour(t: number): string {
  const x = Math.max(-1, Math.min(1, Number.isFinite(t) ? t : 0));
  const white = [247, 247, 247], blue = [33, 102, 172], red = [178, 24, 43];
  const end = x < 0 ? blue : red;
  const f = Math.abs(x);
  const c = white.map((w, k) => Math.round(w + ((end[k] as number) - w) * f));
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** A vertical diverging colour bar for [−max, max] with ticks at −max, 0 and max. */
export function divergingBar(id: string, x: number, y: number, height: number, max: number, label: string, format: (v: number) => string): string {
  const gid = `${id}-grad`;
  const stops = [1, 0.5, 0, -0.5, -1].map((t) => `<stop offset="${r2(((1 - t) / 2) * 100)}%" stop-color="${divergingColour(t)}"/>`).join('');
  const parts = [`<defs><linearGradient id="${esc(gid)}" x1="0" x2="0" y1="0" y2="1">${stops}</linearGradient></defs>`,
    `<rect x="${x}" y="${y}" width="12" height="${height}" fill="url(#${esc(gid)})" stroke="#999" stroke-width="0.5"/>`];
  for (const [t, v] of [[0, max], [0.5, 0], [1, -max]] as const) {
    const py = r2(y + t * height);
    parts.push(`<line class="tick" x1="${x + 12}" x2="${x + 16}" y1="${py}" y2="${py}"/><text class="tick-label" x="${x + 18}" y="${py}" dominant-baseline="middle">${esc(format(v))}</text>`);
  }
  parts.push(`<text class="axis-label" x="${x}" y="${y - 8}">${esc(label)}</text>`);
  return parts.join('');
}

/** The verdict section: label, score bar with the thresholds, the three components, evidence, drivers, confidence. */
import { REGIME_COMPONENTS, REGIME_THRESHOLDS, REGIME_WEIGHTS, type RegimeVerdict } from '../../aggregate/regime';
import { DIAGNOSTIC_SENTENCE, fmtRange, pct } from '../common';
import type { DiffReport } from '../model';
import { esc, type Frame, linearScale, plotArea, r2, svgOpen } from '../svg';

const LABEL_COLOURS: Record<RegimeVerdict['label'], string> = { concentrated: '#2b5d9b', mixed: '#5c5c5c', dispersed: '#b4541a', indeterminate: '#8a6d00', 'no-signal': '#777' };

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
  const values = { D: v.components.directionalSpread, L: [v.components.layerSpread, v.components.layerSpread], C: [v.components.coverage, v.components.coverage] } as const;
  const rows = (['D', 'L', 'C'] as const).map((k): [string, number, readonly [number, number], string] =>
    [`${k}  ${REGIME_COMPONENTS[k].name}`, REGIME_WEIGHTS[k], values[k], REGIME_COMPONENTS[k].definition]);
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

export function verdictSection(report: DiffReport): string {
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

/**
 * The comparison page's numbers: the arms side by side (each statistic with its bootstrap interval, as a
 * table and as one interval plot per statistic — rows of arms, or a line over the steps of a trajectory)
 * and the differences between arms with the "differs" decision.
 */
import { axes, esc, type Frame, linearScale, logScale, pathData, plotArea, r2, type Scale, svgOpen } from '../svg';
import type { ArmStyle } from './palette';
import { intervalText } from './format';
import type { ComparisonDocument, Interval } from './model';

type Statistic = ComparisonDocument['statistics'][number];

const short = (label: string, max = 22) => (label.length > max ? `${label.slice(0, max - 1)}…` : label);

/** An x (or y) scale covering the intervals, with a little room; log for positive statistics spanning decades. */
function valueScale(s: Statistic, values: readonly Interval[], range: [number, number]): Scale {
  const finite = values.flatMap((v) => [v.estimate, v.lo, v.hi]).filter(Number.isFinite);
  if (finite.length === 0) return linearScale([0, 1], range);
  let lo = Math.min(...finite), hi = Math.max(...finite);
  if (s.range === 'positive' && lo > 0 && hi / lo > 20) return logScale([lo / 1.3, hi * 1.3], range);
  const pad = Math.max((hi - lo) * 0.08, Math.abs(hi) * 0.02, 1e-6);
  lo -= pad;
  hi += pad;
  if (s.range === 'unit') [lo, hi] = [Math.max(0, lo), Math.min(1, hi)];
  else if (s.range === 'positive') lo = Math.max(0, lo);
  return linearScale([lo, hi], range);
}

function forestPlot(doc: ComparisonDocument, s: Statistic, styles: ReadonlyMap<string, ArmStyle>): string {
  const rowH = 20;
  const frame: Frame = { width: 360, height: 40 + doc.arms.length * rowH + 20, margin: { top: 28, right: 16, bottom: 36, left: 128 } };
  const a = plotArea(frame);
  const x = valueScale(s, doc.arms.map((arm) => arm.statistics[s.key] as Interval), [a.x0, a.x1]);
  const y = linearScale([-0.5, doc.arms.length - 0.5], [a.y0, a.y1]);
  const parts = [
    svgOpen(`plot-interval-${s.key}`, frame.width, frame.height, `${s.name} of each arm with its ${pctLevel(doc)} bootstrap interval`, `${s.description}; one row per arm, point = estimate, bar = interval.`, 'interval'),
    axes(frame, x, y, { xLabel: s.name, yLabel: '', yTicks: [], xTicks: x.ticks(4) }),
    `<text class="panel-title" x="${a.x0}" y="16">${esc(s.name)}</text>`,
  ];
  doc.arms.forEach((arm, i) => {
    const v = arm.statistics[s.key] as Interval;
    const style = styles.get(arm.label) as ArmStyle;
    const py = r2(y(i));
    parts.push(`<text class="bar-label" x="${a.x0 - 6}" y="${py}" text-anchor="end" dominant-baseline="middle">${esc(short(arm.label, 16))}<title>${esc(arm.label)}</title></text>`);
    if (Number.isFinite(v.lo) && Number.isFinite(v.hi)) parts.push(`<line class="interval" x1="${r2(x(v.lo))}" x2="${r2(Math.max(x(v.lo) + 1, x(v.hi)))}" y1="${py}" y2="${py}" stroke="${style.colour}" stroke-width="3" stroke-linecap="round"/>`);
    if (Number.isFinite(v.estimate)) parts.push(`<circle class="point" data-arm="${esc(arm.label)}" cx="${r2(x(v.estimate))}" cy="${py}" r="4" fill="${style.colour}" stroke="#fff" stroke-width="1"><title>${esc(`${arm.label}: ${s.name} ${intervalText(v)}`)}</title></circle>`);
  });
  parts.push('</svg>');
  return `<figure class="panel">${parts.join('')}</figure>`;
}

/** A trajectory: the statistic against the step, the interval as a band. */
function stepPlot(doc: ComparisonDocument, s: Statistic): string {
  const frame: Frame = { width: 360, height: 230, margin: { top: 28, right: 16, bottom: 40, left: 60 } };
  const a = plotArea(frame);
  const steps = doc.arms.map((arm) => arm.step as number);
  const x = linearScale([Math.min(...steps), Math.max(...steps)], [a.x0, a.x1]);
  const values = doc.arms.map((arm) => arm.statistics[s.key] as Interval);
  const y = valueScale(s, values, [a.y1, a.y0]);
  const band = doc.arms.map((arm, i) => [x(arm.step as number), y((values[i] as Interval).hi)] as const)
    .concat(doc.arms.map((arm, i) => [x(arm.step as number), y((values[i] as Interval).lo)] as const).reverse());
  const parts = [
    svgOpen(`plot-interval-${s.key}`, frame.width, frame.height, `${s.name} over ${doc.axis?.name ?? 'step'} with its ${pctLevel(doc)} bootstrap interval`, `${s.description}; line = estimate, band = interval.`, 'interval'),
    axes(frame, x, y, { xLabel: doc.axis?.name ?? 'step', yLabel: s.name }),
    `<text class="panel-title" x="${a.x0}" y="16">${esc(s.name)}</text>`,
  ];
  const bandPath = pathData(band);
  if (band.every(([bx, by]) => Number.isFinite(bx) && Number.isFinite(by))) parts.push(`<path class="band" d="${bandPath}Z" fill="#1f5fa8" fill-opacity="0.18" stroke="none"/>`);
  parts.push(`<path class="series" d="${pathData(doc.arms.map((arm, i) => [x(arm.step as number), y((values[i] as Interval).estimate)]))}" fill="none" stroke="#1f5fa8" stroke-width="1.8"/>`);
  doc.arms.forEach((arm, i) => {
    const v = values[i] as Interval;
    if (Number.isFinite(v.estimate)) parts.push(`<circle class="point" data-arm="${esc(arm.label)}" cx="${r2(x(arm.step as number))}" cy="${r2(y(v.estimate))}" r="3" fill="#1f5fa8"><title>${esc(`${arm.label} (${doc.axis?.name ?? 'step'} ${arm.step}): ${intervalText(v)}`)}</title></circle>`);
  });
  parts.push('</svg>');
  return `<figure class="panel">${parts.join('')}</figure>`;
}

/** A table cell: the estimate, and the interval beneath it (narrow columns for many statistics). */
function intervalCell(v: Interval | undefined, signed = false, extra = ''): string {
  const [estimate, rest] = intervalText(v, signed).split(' [');
  return `<td class="num"><span class="estimate">${esc(estimate ?? '')}</span>${extra}${rest ? `<br><span class="interval-text">[${esc(rest)}</span>` : ''}</td>`;
}

const pctLevel = (doc: ComparisonDocument) => `${Number((100 * doc.bootstrap.level).toPrecision(3))} %`;

export function armsSection(doc: ComparisonDocument, styles: ReadonlyMap<string, ArmStyle>, links: Readonly<Record<string, string>>): string {
  const head = ['arm', ...(doc.axis ? [doc.axis.name] : []), ...(doc.family === 'updates' ? ['verdict'] : []), 'matrices', ...doc.statistics.map((s) => s.name)];
  const rows = doc.arms.map((arm) => {
    const style = styles.get(arm.label) as ArmStyle;
    const link = links[arm.label];
    const name = link ? `<a href="${esc(link)}">${esc(arm.label)}</a>` : esc(arm.label);
    const cells = [
      `<td class="name"><span class="swatch" style="background:${style.colour}"></span>${name}<div class="arm-path">${esc(arm.path)}</div></td>`,
      ...(doc.axis ? [`<td class="num">${esc(String(arm.step ?? ''))}</td>`] : []),
      ...(doc.family === 'updates' ? [`<td>${esc(arm.verdict?.label ?? '')} <span class="muted">(${esc(arm.verdict?.confidence ?? '')})</span></td>`] : []),
      `<td class="num">${arm.matrices}</td>`,
      ...doc.statistics.map((s) => intervalCell(arm.statistics[s.key])),
    ];
    return `<tr>${cells.join('')}</tr>`;
  });
  const plots = doc.statistics.map((s) => (doc.axis && doc.arms.length > 1 ? stepPlot(doc, s) : forestPlot(doc, s, styles)));
  return `<section id="arms" aria-labelledby="arms-h"><h2 id="arms-h">The arms side by side</h2>
<p class="lede">Each number with its ${pctLevel(doc)} bootstrap interval over matrices: the arm's matrices are resampled with replacement ${doc.bootstrap.replicates} times (seed ${doc.bootstrap.seed}) and the statistic recomputed by the same code as the single report; the interval holds the central ${pctLevel(doc)} of those values. It says how much the number depends on which matrices the model happens to have, not how it would vary over training runs.</p>
<div class="table-wrap"><table id="arms-table"><thead><tr>${head.map((h, i) => `<th scope="col"${i >= head.length - doc.statistics.length - 1 ? ' class="num"' : ''}>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${rows.join('\n')}
</tbody></table></div>
<ul class="note">${doc.statistics.map((s) => `<li><strong>${esc(s.name)}</strong>: ${esc(s.description)}</li>`).join('')}</ul>
<div class="panels">${plots.join('\n')}</div>
</section>`;
}

export function differencesSection(doc: ComparisonDocument): string {
  if (doc.differences.length === 0) return '';
  const rows = doc.differences.map((d) => `<tr><td class="name">${esc(d.b)} − ${esc(d.a)}</td><td class="num">${d.pairing === 'paired' ? d.sharedMatrices : `independent`}</td>${doc.statistics.map((s) => {
    const v = d.statistics[s.key];
    return intervalCell(v, true, v?.differs ? ' <span class="differs">differs</span>' : ' <span class="same">within</span>');
  }).join('')}</tr>`);
  const anyDiffers = doc.differences.filter((d) => d.statistics.score?.differs ?? Object.values(d.statistics).some((v) => v.differs)).length;
  return `<section id="differences" aria-labelledby="differences-h"><h2 id="differences-h">Do the arms differ?</h2>
<p class="lede">For each pair, the second arm minus the first, with the ${pctLevel(doc)} interval of a <em>paired</em> bootstrap: the matrices both arms have (same name and shape) are resampled with one set of indices, so what they share cancels. <span class="differs">differs</span>: the interval excludes 0; <span class="same">within</span>: the difference is within what resampling the matrices gives. ${doc.differences.length} pair${doc.differences.length === 1 ? '' : 's'}${doc.axis || doc.differences.length < (doc.arms.length * (doc.arms.length - 1)) / 2 ? ' (neighbours only)' : ''}; ${anyDiffers} differ${anyDiffers === 1 ? 's' : ''} in ${doc.family === 'updates' ? 'score' : 'at least one statistic'}.</p>
<div class="table-wrap"><table id="differences-table"><thead><tr><th scope="col">difference</th><th scope="col" class="num">shared matrices</th>${doc.statistics.map((s) => `<th scope="col" class="num">${esc(`Δ ${s.name}`)}</th>`).join('')}</tr></thead><tbody>
${rows.join('\n')}
</tbody></table></div>
</section>`;
}

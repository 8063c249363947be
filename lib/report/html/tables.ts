/**
 * The tables of the HTML report: per module type / layer / component, every matrix (sortable), the
 * pairing, the vectors and the model summary. Every string from the checkpoint is escaped.
 */
import type { GroupSummary } from '../../aggregate/groups';
import { bounds } from '../../results/metrics';
import { byUpdateEnergy, fmt, fmtBounded, fmtBoundedPct, modelSummaryRows, pct, totalUpdateEnergy, updateEnergy } from '../common';
import type { DiffReport, PairResult } from '../model';
import { esc, moduleColour } from '../svg';

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

export function groupTable(groups: readonly GroupSummary[], keyHeader: string, caption: string): string {
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

export function matrixTable(report: DiffReport): string {
  const total = totalUpdateEnergy(report);
  const rows = byUpdateEnergy(report.pairs);
  const mid = (v: Parameters<typeof bounds>[0] | null | undefined) => (v === null || v === undefined ? null : (bounds(v)[0] + bounds(v)[1]) / 2);
  return htmlTable<PairResult>(rows, [
    { header: 'matrix', cell: (p) => `<span class="name">${esc(p.name)}</span>`, sort: (p) => p.name },
    { header: 'layer', num: true, cell: (p) => (p.module.layer === null ? '–' : String(p.module.layer)), sort: (p) => p.module.layer },
    { header: 'module', cell: (p) => `<span class="swatch" style="background:${moduleColour(p.module.group)}"></span>${esc(p.module.group)}`, sort: (p) => p.module.group },
    { header: 'shape', num: true, cell: (p) => `${p.rows}×${p.cols}`, sort: (p) => p.parameters },
    { header: 'dtypes', title: 'storage dtypes (logical dtype of a quantized side); ⚠ ΔW is a quantization error', cell: (p) => {
      const base = p.baseLayout ?? p.baseDtype, tuned = p.tunedLayout ?? p.tunedDtype;
      return esc(base === tuned ? base : `${base || '–'}→${tuned}`) + (p.quantizationError ? ' <span class="muted" title="only one side is quantized: ΔW is its quantization error">⚠ quantization error</span>' : '');
    } },
    { header: 'energy share', num: true, title: '‖ΔW‖_F² / Σ‖ΔW‖_F²', cell: (p) => pct(total > 0 ? updateEnergy(p) / total : NaN, 2), sort: (p) => updateEnergy(p) },
    { header: 'relative update', num: true, title: '‖ΔW‖_F / ‖W_base‖_F', cell: (p) => fmt(p.relativeUpdate), sort: (p) => p.relativeUpdate },
    { header: 'stable rank', num: true, cell: (p) => fmt(p.metrics?.stableRank), sort: (p) => p.metrics?.stableRank },
    { header: 'energy eff. rank ratio', num: true, cell: (p) => esc(fmtBounded(p.metrics?.energyEffectiveRankRatio)), sort: (p) => mid(p.metrics?.energyEffectiveRankRatio) },
    { header: 'energy rank 90%', num: true, cell: (p) => esc(fmtBounded(p.metrics?.energyRank['90'])), sort: (p) => mid(p.metrics?.energyRank['90']) },
    { header: 'top-k energy share', num: true, cell: (p) => esc(fmtBounded(p.metrics?.topKEnergyShare)), sort: (p) => mid(p.metrics?.topKEnergyShare) },
    { header: 'energy above noise', num: true, cell: (p) => esc(fmtBoundedPct(p.noise?.energyShareAbove)), sort: (p) => mid(p.noise?.energyShareAbove) },
    { header: 'directions above noise', num: true, cell: (p) => esc(fmtBounded(p.noise?.directionsAbove)), sort: (p) => mid(p.noise?.directionsAbove) },
    { header: 'entries unchanged', num: true, title: 'bit-identical entries (below one storage step after /)', cell: (p) => (p.sparsity ? `${pct(p.sparsity.identicalShare)}${p.sparsity.belowSpacingShare === undefined ? '' : ` <span class="muted">/ ${pct(p.sparsity.belowSpacingShare)}</span>`}` : '–'), sort: (p) => p.sparsity?.identicalShare },
    { header: 'subspace sim. (in)', num: true, title: 'similarity of the top input directions of ΔW and W_base (random: k/n)', cell: (p) => (p.directions ? `${fmt(p.directions.updateVsBaseInputs.similarity)} <span class="muted">/ ${fmt(p.directions.updateVsBaseInputs.randomBaseline)}</span>` : '–'), sort: (p) => p.directions?.updateVsBaseInputs.similarity },
    { header: 'intruders', num: true, title: 'tuned top directions with no close base direction (random baseline after /)', cell: (p) => (p.directions?.intruders ? `${p.directions.intruders.intruders.length} <span class="muted">/ ${fmt(p.directions.intruders.randomBaseline)}</span>` : '–'), sort: (p) => p.directions?.intruders?.intruders.length },
    { header: 'error', cell: (p) => (p.error ? `<span class="error" title="${esc(p.error.message)}">${esc(p.error.code)}</span>` : ''), sort: (p) => p.error?.code ?? '' },
  ], { sortable: true, id: 'matrices-table', caption: `All ${report.pairs.length} matrices, largest update first (click a column header to sort)` });
}

export function pairingSection(report: DiffReport): string {
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
${report.quantization ? `<p class="note"><strong>Quantized weights.</strong> ${esc(report.quantization.note)}.</p>` : ''}
${unusual.length ? htmlTable(unusual, entryColumns, { caption: 'Tensors that were not simply paired (vectors and scalars are listed below)' }) : ''}
<details><summary>All ${p.entries.length} pairing entries</summary>${htmlTable(p.entries, entryColumns)}</details>
</section>`;
}

export function vectorsSection(report: DiffReport): string {
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

export function modelSection(report: DiffReport): string {
  const m = report.aggregates.model;
  const items = modelSummaryRows(m);
  return `<section id="model" aria-labelledby="model-h"><h2 id="model-h">Model summary</h2><dl class="summary">${items.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl></section>`;
}

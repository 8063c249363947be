/**
 * A Markdown summary of a diff report: the verdict (score, range, confidence, components, evidence,
 * drivers), the pairing, the model-level summary, the matrices with the largest updates, and tables per
 * module type and per layer. GitHub-flavoured tables; every string from the checkpoint is escaped.
 */
import type { GroupSummary } from '../aggregate/groups';
import { showControlCharacters } from './control-chars';
import type { DiffReport } from './model';
import { REGIME_COMPONENTS, REGIME_THRESHOLDS, REGIME_WEIGHTS } from '../aggregate/regime';
import { appendAll, byUpdateEnergy, DIAGNOSTIC_SENTENCE, fmt, fmtBounded, fmtRange, modelSummaryRows, modeText, orderedGroups, pct, totalUpdateEnergy, updateEnergy } from './common';

export interface MarkdownOptions {
  /** Matrices listed in "largest updates" (default 10). */
  top?: number;
}

/**
 * Escapes text for a Markdown table cell or paragraph: no HTML (`<` escaped), no emphasis, code spans,
 * links or headings, no cell breaks (`|`), no entities (`&`), and no line breaks or other control / bidi
 * characters (shown as `\n`, `\u001b`, `\u202e`: lib/report/control-chars.ts).
 */
export function mdEscape(text: string): string {
  return showControlCharacters(text.replace(/[\\`*_{}[\]()#+!|<>~]/g, (c) => `\\${c}`).replace(/&/g, '&amp;'));
}

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, align?: readonly ('l' | 'r')[]): string[] {
  const sep = header.map((_, i) => ((align?.[i] ?? 'l') === 'r' ? '---:' : '---'));
  return [`| ${header.join(' | ')} |`, `| ${sep.join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`), ''];
}

function groupTable(groups: readonly GroupSummary[], keyHeader: string): string[] {
  return table(
    [keyHeader, 'matrices', 'parameters', 'update energy share', 'relative update', 'energy eff. rank ratio', 'top-k energy share', 'energy above noise'],
    groups.map((g) => [
      mdEscape(g.key),
      String(g.matrices),
      g.parameters.toLocaleString('en-US'),
      pct(g.energyShare),
      fmt(g.mean.relativeUpdate),
      fmt(g.mean.energyEffectiveRankRatio),
      fmt(g.mean.topKEnergyShare),
      pct(g.mean.energyShareAboveNoise),
    ]),
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

/** The Markdown summary of a diff report. */
export function toMarkdown(report: DiffReport, options: MarkdownOptions = {}): string {
  const top = options.top ?? 10;
  const v = report.verdict;
  const out: string[] = [];
  out.push('# paramscope update report', '');
  if (report.base) out.push(`- **Base:** ${mdEscape(report.base.path)} (${report.base.tensors} tensors)`);
  else out.push('- **Base:** none (adapter analysed on its own)');
  out.push(`- **${report.kind === 'adapter' ? 'Adapter' : 'Tuned'}:** ${mdEscape(report.tuned.path)} (${report.tuned.tensors} ${report.kind === 'adapter' ? 'modules' : 'tensors'})`);
  if (report.adapter) out.push(`- **Adapter layout:** ${mdEscape(report.adapter.layout)}${report.adapter.needsBase ? ' (needs the base)' : ''}`);
  out.push(`- **Spectra:** ${modeText(report)}`);
  out.push(`- **Created:** ${mdEscape(report.createdAt)} by paramscope ${mdEscape(report.tool.version)} (report schema ${report.schemaVersion})`, '');

  out.push('## Regime verdict', '');
  out.push(`**${v.label}** — score **${v.score.toFixed(3)}** (range ${fmtRange(v.scoreRange)}; 0 = concentrated, 1 = dispersed), confidence **${v.confidence}**: ${mdEscape(v.confidenceNote)}.`, '');
  out.push(`> ${DIAGNOSTIC_SENTENCE} It describes how the fine-tune changed the weights (few directions and layers vs many), not whether the model got better. Labels: score < ${REGIME_THRESHOLDS.concentrated} concentrated, > ${REGIME_THRESHOLDS.dispersed} dispersed, otherwise mixed.`, '');
  const c = v.components;
  const values = { D: fmtRange(c.directionalSpread), L: c.layerSpread.toFixed(3), C: c.coverage.toFixed(3) };
  appendAll(out, table(
    ['component', 'weight', 'value', 'meaning'],
    (['D', 'L', 'C'] as const).map((k) => [`${k} — ${REGIME_COMPONENTS[k].name}`, String(REGIME_WEIGHTS[k]), values[k], REGIME_COMPONENTS[k].definition]),
    ['l', 'r', 'r', 'l'],
  ));
  if (v.evidence.length) {
    out.push('**Evidence**', '');
    for (const e of v.evidence) out.push(`- (${e.metric}) ${mdEscape(e.text)}`);
    out.push('');
  }
  if (v.drivers.length) {
    out.push('**Drivers** (matrices carrying most of the update)', '');
    appendAll(out, table(['matrix', 'share of update energy', 'directional spread'], v.drivers.map((d) => [mdEscape(d.name), pct(d.energyShare), fmtRange(d.directionalSpread)]), ['l', 'r', 'r']));
  }

  out.push('## Pairing', '');
  const p = report.pairing;
  const fates = Object.entries(p.counts).filter(([, n]) => n > 0);
  appendAll(out, table(['fate', 'tensors'], fates.map(([f, n]) => [f, String(n)]), ['l', 'r']));
  if (p.prefix.base || p.prefix.tuned) out.push(`Prefixes stripped: base ${mdEscape(p.prefix.base) || '(none)'}, tuned ${mdEscape(p.prefix.tuned) || '(none)'}.`, ''); // not in a code span: it takes no escapes
  for (const note of p.notes) out.push(`- ${mdEscape(note)}`);
  if (p.notes.length) out.push('');
  if (report.quantization) out.push(`**Quantized weights.** ${mdEscape(report.quantization.note)}.`, '');
  const unusual = p.entries.filter((e) => e.fate !== 'paired' && e.fate !== 'not-a-matrix');
  if (unusual.length) {
    appendAll(out, table(['name', 'fate', 'base', 'tuned', 'note'], unusual.map((e) => [mdEscape(e.name), e.fate, mdEscape(e.base ?? '–'), mdEscape(e.tuned ?? '–'), mdEscape(e.note ?? '')])));
  }
  if (report.adapter?.notes.length) {
    for (const note of report.adapter.notes) out.push(`- ${mdEscape(note)}`);
    out.push('');
  }

  const m = report.aggregates.model;
  out.push('## Model summary', '');
  appendAll(out, table(['measure', 'value'], modelSummaryRows(m), ['l', 'r']));

  const total = totalUpdateEnergy(report);
  const largest = byUpdateEnergy(report.pairs).filter((q) => updateEnergy(q) > 0).slice(0, top);
  out.push(`## Largest updates (top ${largest.length} of ${report.pairs.length} matrices by ‖ΔW‖_F²)`, '');
  if (largest.length === 0) out.push('No matrix changed.', '');
  else {
    appendAll(out, table(
      ['matrix', 'layer', 'module', 'share of update energy', 'relative update', 'energy eff. rank ratio', 'energy rank 90%', 'directions above noise', 'entries unchanged'],
      largest.map((q) => [
        mdEscape(q.name),
        q.module.layer === null ? '–' : String(q.module.layer),
        mdEscape(q.module.group),
        pct(total > 0 ? updateEnergy(q) / total : NaN),
        fmt(q.relativeUpdate),
        fmtBounded(q.metrics?.energyEffectiveRankRatio),
        fmtBounded(q.metrics?.energyRank['90']),
        fmtBounded(q.noise?.directionsAbove),
        pct(q.sparsity?.identicalShare),
      ]),
      ['l', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
    ));
  }

  out.push('## Per module type', '');
  appendAll(out, groupTable(orderedGroups(report.aggregates.byModule, 'module'), 'module'));
  if (report.aggregates.byLayer.length) {
    out.push('## Per layer', '');
    appendAll(out, groupTable(orderedGroups(report.aggregates.byLayer, 'layer'), 'layer'));
  }
  if (report.aggregates.byComponent.length > 1) {
    out.push('## Per component', '');
    appendAll(out, groupTable(orderedGroups(report.aggregates.byComponent, 'other'), 'component'));
  }
  if (report.aggregates.byMoe?.length) {
    out.push('## Mixture of experts', '');
    appendAll(out, groupTable(orderedGroups(report.aggregates.byMoe, 'other'), 'role'));
    appendAll(out, groupTable(report.aggregates.byExpert ?? [], 'expert'));
  }

  const failed = report.pairs.filter((q) => q.error);
  if (failed.length) {
    out.push('## Matrices that could not be analysed', '');
    appendAll(out, table(['matrix', 'code', 'message'], failed.map((q) => [mdEscape(q.name), q.error!.code, mdEscape(q.error!.message)])));
  }
  const changedVectors = report.vectors.filter((x) => x.relativeChange !== 0).sort((a, b) => b.relativeChange - a.relativeChange);
  if (report.vectors.length) {
    out.push('## Vectors (norms, biases)', '');
    out.push(`${changedVectors.length} of ${report.vectors.length} changed.`, '');
    if (changedVectors.length) appendAll(out, table(['tensor', 'relative change'], changedVectors.slice(0, top).map((x) => [mdEscape(x.name), fmt(x.relativeChange)]), ['l', 'r']));
  }
  out.push('---', '', `Energy = ‖ΔW‖_F² (squared weight units); shares are of the total over all matrices. Bounded values (truncated mode) are shown as lo–hi. Definitions: docs/metrics.md, docs/regime.md, docs/schema.md. – marks a value that does not apply or was not computed.`, '');
  return out.join('\n');
}

/**
 * comparison.md: the arms side by side with their intervals and the differences between them, as
 * GitHub-flavoured tables (the plots are in comparison.html). Every input-derived string is escaped.
 */
import { fmt } from '../common';
import { mdEscape } from '../markdown';
import { intervalText } from './format';
import type { ComparisonDocument } from './model';

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, right: number): string[] {
  return [`| ${header.join(' | ')} |`, `| ${header.map((_, i) => (i >= right ? '---:' : '---')).join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`), ''];
}

export function comparisonToMarkdown(doc: ComparisonDocument): string {
  const level = `${Number((100 * doc.bootstrap.level).toPrecision(3))} %`;
  const out: string[] = [`# ${mdEscape(doc.title)}`, ''];
  out.push(`- **Compared:** ${doc.arms.length} ${doc.family === 'updates' ? 'updates (ΔW)' : 'checkpoints\' weights (W)'}${doc.axis ? ` in ${mdEscape(doc.axis.name)} order` : ''}`);
  out.push(`- **Intervals:** ${level} percentile bootstrap over matrices, ${doc.bootstrap.replicates} resamples, seed ${doc.bootstrap.seed}`);
  out.push(`- **Created:** ${mdEscape(doc.createdAt)} by paramscope ${mdEscape(doc.tool.version)} (comparison schema ${doc.schemaVersion})`, '');
  out.push('## The arms side by side', '');
  const lead = ['arm', ...(doc.axis ? [mdEscape(doc.axis.name)] : []), ...(doc.family === 'updates' ? ['verdict'] : []), 'matrices'];
  out.push(...table(
    [...lead, ...doc.statistics.map((s) => mdEscape(s.name))],
    doc.arms.map((a) => [mdEscape(a.label), ...(doc.axis ? [String(a.step ?? '')] : []), ...(doc.family === 'updates' ? [mdEscape(`${a.verdict?.label ?? ''} (${a.verdict?.confidence ?? ''})`)] : []), String(a.matrices),
      ...doc.statistics.map((s) => mdEscape(intervalText(a.statistics[s.key])))]),
    lead.length - 1,
  ));
  for (const s of doc.statistics) out.push(`- **${mdEscape(s.name)}**: ${mdEscape(s.description)}`);
  out.push('');
  if (doc.differences.length) {
    out.push('## Do the arms differ?', '', `Second arm minus first, ${level} interval of a paired bootstrap over the matrices both have; **differs** when the interval excludes 0.`, '');
    out.push(...table(
      ['difference', 'shared matrices', ...doc.statistics.map((s) => `Δ ${mdEscape(s.name)}`)],
      doc.differences.map((d) => [`${mdEscape(d.b)} − ${mdEscape(d.a)}`, d.pairing === 'paired' ? String(d.sharedMatrices) : 'independent',
        ...doc.statistics.map((s) => {
          const v = d.statistics[s.key];
          return `${mdEscape(intervalText(v, true))}${v?.differs ? ' **differs**' : ''}`;
        })]),
      1,
    ));
  }
  const crossings = doc.spectra.filter((c) => c.energy90 !== null);
  if (crossings.length) {
    out.push('## Where 90 % of the energy is reached (k/r, median over each module type)', '');
    const modules = [...new Set(doc.spectra.map((c) => c.module))];
    out.push(...table(['arm', ...modules.map(mdEscape)], doc.arms.map((a) => [mdEscape(a.label), ...modules.map((m) => fmt(doc.spectra.find((c) => c.arm === a.label && c.module === m)?.energy90 ?? null))]), 1));
  }
  out.push(doc.heatmap ? `The layer × module heatmap of ${mdEscape(doc.heatmap.b)} minus ${mdEscape(doc.heatmap.a)} is in comparison.html.` : `No difference heatmap: ${mdEscape(doc.heatmapNote)}.`, '');
  return out.join('\n');
}

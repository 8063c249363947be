/** `paramscope compare <base> <tunedA> <tunedB> …`: several fine-tunes of one base, ranked. */
import * as path from 'node:path';
import { REGIME_LEGEND } from '../../aggregate/regime';
import { diff } from '../../diff';
import type { DiffReport } from '../../report/model';
import { toJson } from '../../report/json';
import { reportDocument } from '../../report/schema';
import { rankingRow, verdictLines } from '../output/diff-summary';
import { renderTable } from '../output/table';
import type { CommandContext } from '../context';
import { withProgress } from '../output/progress';
import { directionsFlag } from '../flags/directions';
import { emitReport, reportFlagsHelp } from '../flags/report';
import { spectrumFlagOptions, spectrumFlags, spectrumOptionsFrom } from '../flags/spectrum';

export const compareUsage = `Usage: paramscope compare <base> <tuned> <tuned> … [options]

Runs 'paramscope diff' of each fine-tune against the same base and ranks them from the most concentrated
update to the most dispersed, side by side: score, label, confidence, the verdict's components, relative
update and median effective-rank ratio.

${spectrumFlags.replace('(default: exact)', '(default: truncated)')}
  --directions          compare top singular directions with the base (default: when base ≤ 1 GB)
${reportFlagsHelp.replace('write report.json, pairs.csv, summary.md and report.html into <dir>', 'write each fine-tune\'s reports into <dir>, prefixed by its name')}`;

export async function compareCommand(ctx: CommandContext): Promise<number> {
  const { positionals, values } = ctx.parse(
    { ...spectrumFlagOptions, json: { type: 'boolean' }, out: { type: 'string' }, directions: { type: 'boolean' }, 'no-directions': { type: 'boolean' } },
    compareUsage,
  );
  if (positionals.length < 3) return ctx.usageError('compare takes a base and at least two fine-tunes', compareUsage);
  const [base, ...tuned] = positionals as [string, ...string[]];
  const names = tuned.map((t) => path.basename(t.replace(/\/+$/, '')).replace(/\.safetensors(\.index\.json)?$/, ''));
  const reports: DiffReport[] = [];
  for (const [i, t] of tuned.entries()) {
    reports.push(await withProgress((onProgress) => diff(base, t, {
      mode: 'truncated',
      ...spectrumOptionsFrom(values),
      directions: directionsFlag(values),
      onProgress: (p) => onProgress({ ...p, current: `[${i + 1}/${tuned.length}] ${p.current}` }),
    })));
  }
  const order = reports.map((_, i) => i).sort((a, b) => (reports[a] as DiffReport).verdict.score - (reports[b] as DiffReport).verdict.score);
  if (values.json) {
    ctx.out(toJson({ schema: 'paramscope.compare', schemaVersion: 1, base, ranking: order.map((i) => ({ name: names[i], path: tuned[i], report: reportDocument(reports[i] as DiffReport) })) }));
  } else {
    ctx.out(`${tuned.length} fine-tunes of ${base}, most concentrated first:\n`);
    ctx.out(renderTable(
      [{ header: 'fine-tune' }, { header: 'verdict' }, { header: 'score', align: 'right' }, { header: 'confidence' },
       { header: 'D', align: 'right' }, { header: 'L', align: 'right' }, { header: 'C', align: 'right' },
       { header: '‖ΔW‖/‖W‖', align: 'right' }, { header: 'eff. rank ratio', align: 'right' }],
      order.map((i) => rankingRow(names[i] as string, reports[i] as DiffReport)),
    ));
    ctx.out(`\n${REGIME_LEGEND} (docs/regime.md); a diagnostic, not a benchmark score.`);
    for (const i of order) {
      ctx.out(`\n${names[i]}:`);
      for (const line of verdictLines(reports[i] as DiffReport).slice(1, -1)) ctx.out(line);
    }
  }
  if (typeof values.out === 'string') {
    const written: string[] = [];
    for (const [i, r] of reports.entries()) written.push(...(await emitReport(ctx, r, { out: values.out }, names[i])));
    ctx.err(`reports written: ${written.length} files in ${path.resolve(values.out)}`);
  }
  return 0;
}

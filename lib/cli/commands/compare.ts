/** `paramscope compare <base> <tunedA> <tunedB> …`: several fine-tunes of one base, ranked. */
import { REGIME_LEGEND } from '../../aggregate/regime';
import { armNames, compare } from '../../compare';
import { toJson } from '../../report/json';
import { reportDocument } from '../../report/schema';
import { exitCodeOf, failureLines, rankingRow, verdictLines } from '../output/diff-summary';
import { renderTable } from '../output/table';
import { terminalText } from '../output/terminal-text';
import type { CommandContext } from '../context';
import { directionsFlag } from '../flags/directions';
import { commandOutput, machineFlagOptions, machineFlagsHelp } from '../flags/machine';
import { checkOutFlag, reportFiles, reportFlagsHelp, reportPrefixes, writeOutSet } from '../flags/report';
import { componentFlagHelp, componentFlagOption, componentFrom } from '../flags/component';
import { spectrumFlagOptions, spectrumFlags, spectrumOptionsFrom } from '../flags/spectrum';
import { cacheFlagHelp, cacheFlagOptions, cacheFrom, cacheLines } from '../flags/cache';
import { comparisonFlagOptions, comparisonFlagsHelp, comparisonOptionsFrom, comparisonFiles, fileLink } from '../flags/comparison';
import { runWeightsComparison } from './run-weights';

export const compareUsage = `Usage: paramscope compare <base> <tuned> <tuned> … [options]
       paramscope compare --weights <checkpoint> <checkpoint> … --out <dir> [options]

Runs 'paramscope diff' of each fine-tune against the same base and ranks them from the most concentrated
update to the most dispersed, side by side: score, label, confidence, the verdict's components, relative
update and median effective-rank ratio. With --out, also comparison.html (+ .json, .csv, .md): the arms
side by side with bootstrap intervals over matrices, whether they differ, overlaid depth profiles and
spectra, and a layer × module heatmap of the difference of two arms (docs/comparison.md).
With --weights: each checkpoint's own weights W analysed and compared (model families side by side).

${spectrumFlags.replace('(default: exact)', '(default: truncated)')}
  --directions          compare top singular directions with the base (default: when base ≤ 1 GB)
${componentFlagHelp}
  --weights             compare the checkpoints' own weights (no base; needs --out)
${comparisonFlagsHelp}
${reportFlagsHelp.replace('write report.json, pairs.csv, summary.md and report.html into <dir>', 'write each fine-tune\'s reports into <dir>, prefixed by its name')}
${cacheFlagHelp}
${machineFlagsHelp}`;

export async function compareCommand(ctx: CommandContext): Promise<number> {
  const { positionals, values } = ctx.parse(
    { ...spectrumFlagOptions, ...componentFlagOption, json: { type: 'boolean' }, out: { type: 'string' }, directions: { type: 'boolean' }, 'no-directions': { type: 'boolean' }, weights: { type: 'boolean' }, ...comparisonFlagOptions, ...cacheFlagOptions, ...machineFlagOptions },
    compareUsage,
  );
  const output = commandOutput(ctx, values);
  if (values.weights) {
    if (positionals.length < 2) return ctx.usageError('compare --weights takes at least two checkpoints', compareUsage);
    if (typeof values.out !== 'string') return ctx.usageError('compare --weights writes its reports with --out <dir>', compareUsage);
    if (values.json || values.jsonl) return ctx.usageError('compare --weights writes comparison.json with --out; --json and --jsonl are not available with it', compareUsage);
    return runWeightsComparison(ctx, positionals, values, { ...spectrumOptionsFrom(values), ...componentFrom(values) }, output, values.out);
  }
  if (positionals.length < 3) return ctx.usageError('compare takes a base and at least two fine-tunes', compareUsage);
  const [base, ...tuned] = positionals as [string, ...string[]];
  const outDir = checkOutFlag(values); // before any work
  const names = armNames(tuned);
  const { cache } = cacheFrom(values, output.text);
  const comparison = typeof values.out === 'string' ? comparisonOptionsFrom(values, ctx.signal, names) : undefined;
  const { arms, ranking } = await output.withProgress((onProgress) => compare(base, tuned, {
    mode: 'truncated',
    ...spectrumOptionsFrom(values),
    ...componentFrom(values),
    directions: directionsFlag(values),
    onProgress: (p) => onProgress({ ...p, current: `[${names.indexOf(p.run ?? '') + 1}/${tuned.length}] ${p.current}` }),
    ...(output.onEvent ? { onEvent: output.onEvent } : {}),
    signal: ctx.signal,
    ...(cache ? { cache } : {}),
  }));
  if (values.json) {
    ctx.data(toJson({ schema: 'paramscope.compare', schemaVersion: 1, base, ranking: ranking.map((a) => ({ name: a.name, path: a.path, report: reportDocument(a.report) })) }));
  } else if (!values.jsonl) {
    const text = output.text;
    text.out(`${tuned.length} fine-tunes of ${terminalText(base)}, most concentrated first:\n`);
    text.out(renderTable(
      [{ header: 'fine-tune' }, { header: 'verdict' }, { header: 'score', align: 'right' }, { header: 'confidence' }, { header: 'failed', align: 'right' },
       { header: 'D', align: 'right' }, { header: 'L', align: 'right' }, { header: 'C', align: 'right' },
       { header: '‖ΔW‖/‖W‖', align: 'right' }, { header: 'eff. rank ratio', align: 'right' }],
      ranking.map((a) => rankingRow(a.name, a.report)),
    ));
    text.out(`\n${REGIME_LEGEND} (docs/regime.md); a diagnostic, not a benchmark score.`);
    for (const a of ranking) {
      text.out(`\n${terminalText(a.name)}:`);
      for (const line of failureLines(a.report)) text.err(line);
      for (const line of verdictLines(a.report).slice(1, -1)) text.out(line);
    }
  }
  if (outDir !== undefined) {
    // One set: every fine-tune's reports, each file prefixed by its name, and the comparison family
    // beside them — all written or none.
    const prefixes = reportPrefixes(arms.map((a) => a.name));
    const links = Object.fromEntries(arms.map((a, i) => [a.name, fileLink(`${prefixes[i]}.report.html`)]));
    const files = arms.flatMap((a, i) => reportFiles(a.report, prefixes[i]));
    files.push(...(await comparisonFiles({ arms: arms.map((a) => ({ label: a.name, kind: 'diff', report: a.report })) }, comparison ?? {}, links)));
    const written = await writeOutSet(ctx, outDir, files);
    output.text.err(`reports written: ${written.length} files in ${terminalText(outDir)} (comparison.html: the ${arms.length} fine-tunes side by side; ${arms.map((a, i) => `${terminalText(a.name)}: ${prefixes[i]}.*`).join(', ')})`);
  }
  for (const line of cacheLines(cache)) output.text.err(line);
  return exitCodeOf(arms.map((a) => a.report));
}

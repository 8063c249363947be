/** What diff, lora and compare print on the terminal: the verdict, the largest updates, the pairing. */
import type { DiffReport, PairResult } from '../../report/model';
import { formatBounded, midpoint } from '../../results/metrics';
import type { CommandContext } from '../context';
import { codesText } from '../../aggregate/failures';
import { renderTable } from './table';
import { terminalText } from './terminal-text';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function verdictLines(report: DiffReport): string[] {
  const v = report.verdict;
  const range = v.scoreRange[1] - v.scoreRange[0] > 1e-3 ? ` (range ${v.scoreRange[0].toFixed(2)}–${v.scoreRange[1].toFixed(2)})` : '';
  return [
    `verdict: ${v.label.toUpperCase()}  score ${v.score.toFixed(2)}${range} on 0 = concentrated … 1 = dispersed, confidence ${v.confidence}`,
    `  components: directional spread ${formatBounded(v.components.directionalSpread[0] === v.components.directionalSpread[1] ? v.components.directionalSpread[0] : { lo: v.components.directionalSpread[0], hi: v.components.directionalSpread[1] })}, layer spread ${v.components.layerSpread.toFixed(3)}, coverage ${v.components.coverage.toFixed(3)}`,
    ...v.evidence.map((e) => `  [${e.metric}] ${terminalText(e.text)}`),
    `  confidence: ${terminalText(v.confidenceNote)}`,
    '  (a diagnostic of the update\'s shape, not a benchmark score: see docs/regime.md)',
  ];
}

export function largestUpdatesTable(report: DiffReport, limit = 15): string {
  const total = report.pairs.reduce((s, p) => s + (p.spectrum?.frobeniusSquared ?? 0), 0);
  const rows = [...report.pairs]
    .filter((p) => p.spectrum)
    .sort((a, b) => (b.spectrum?.frobeniusSquared ?? 0) - (a.spectrum?.frobeniusSquared ?? 0))
    .slice(0, limit)
    .map((p: PairResult) => [
      p.name,
      `${p.rows}×${p.cols}`,
      total > 0 ? pct((p.spectrum?.frobeniusSquared ?? 0) / total) : '-',
      p.relativeUpdate === undefined ? '-' : p.relativeUpdate.toExponential(2),
      formatBounded(p.metrics?.stableRank),
      formatBounded(p.metrics?.energyEffectiveRankRatio),
      p.noise ? formatBounded(p.noise.directionsAbove) : '-',
      p.noise ? formatBounded(p.noise.energyShareAbove) : '-',
      p.directions ? p.directions.updateVsBaseInputs.similarity.toFixed(3) : '-',
      p.directions?.intruders ? String(p.directions.intruders.intruders.length) : '-',
    ]);
  return renderTable(
    [
      { header: 'matrix' }, { header: 'shape' }, { header: 'energy share', align: 'right' }, { header: '‖ΔW‖/‖W‖', align: 'right' },
      { header: 'stable rank', align: 'right' }, { header: 'eff. rank ratio', align: 'right' }, { header: 'dirs > noise', align: 'right' },
      { header: 'energy > noise', align: 'right' }, { header: 'overlap', align: 'right' }, { header: 'intruders', align: 'right' },
    ],
    rows,
  );
}

/** How many failed matrices the terminal lists one by one (all of them are in --json and the reports). */
const LISTED_FAILURES = 10;

/** The matrices that could not be analysed, with their codes (none: no lines). */
export function failureLines(report: DiffReport): string[] {
  const failed = report.pairs.filter((p) => p.error);
  if (!failed.length) return [];
  const total = report.pairs.length;
  return [
    `failed: ${failed.length} of ${total} matrices could not be analysed (${codesText(report.aggregates.model.failed)}); they are in no aggregate and not in the verdict, and lower its confidence:`,
    ...failed.slice(0, LISTED_FAILURES).map((p) => `  ${terminalText(p.name)}: ${p.error?.code}: ${terminalText(p.error?.message ?? '')}`),
    ...(failed.length > LISTED_FAILURES ? [`  … and ${failed.length - LISTED_FAILURES} more (every one in --json, --jsonl and the --out reports)`] : []),
  ];
}

export function pairingLines(report: DiffReport): string[] {
  const counts = Object.entries(report.pairing.counts).filter(([, n]) => n > 0).map(([fate, n]) => `${n} ${fate}`).join(', ');
  return [`pairing: ${counts}`, ...report.pairing.notes.map((n) => `  ${terminalText(n)}`)];
}

export function summaryLines(report: DiffReport): string[] {
  const m = report.aggregates.model;
  return [
    `model: ${m.matricesWithSignal}/${m.matrices} matrices changed above storage noise${m.failed.matrices ? ` (${m.failed.matrices} more failed)` : ''}; relative update ${Number.isFinite(m.relativeUpdate) ? m.relativeUpdate.toExponential(2) : 'n/a (no base)'}; ` +
      `${pct(m.energyShareAboveNoise)} of update energy above the noise floor, ${pct(m.signalShare)} beyond storage rounding`,
    `  energy spread: layers entropy ${m.layerEnergyEntropy.toFixed(3)} (Gini ${m.layerEnergyGini.toFixed(3)}), modules entropy ${m.moduleEnergyEntropy.toFixed(3)} (Gini ${m.moduleEnergyGini.toFixed(3)})`,
    // Medians over the matrices with signal: none when nothing rose above the noise floor.
    m.matricesWithSignal > 0
      ? `  medians: stable rank ${formatBounded(m.medianStableRank)}, eff. rank ratio ${formatBounded(m.medianEnergyEffectiveRankRatio)}, top-k energy share ${formatBounded(m.medianTopKEnergyShare)}`
      : '  medians: none (no matrix changed above storage noise)',
    ...(m.sparsity
      ? [`  update sparsity: ${pct(m.sparsity.identicalShare)} of entries bit-identical${m.sparsity.belowSpacingShare === undefined ? '' : `, ${pct(m.sparsity.belowSpacingShare)} changed by less than one storage step`}`]
      : []),
    ...(report.quantization ? [`  quantized weights: ${terminalText(report.quantization.note)}`] : []),
  ];
}

/** The one-line ranking row of a report (compare). */
export function rankingRow(name: string, report: DiffReport): string[] {
  const v = report.verdict;
  return [name, v.label, v.score.toFixed(3), v.confidence, String(v.failed), v.components.directionalSpread.map((x) => x.toFixed(3)).join('–'),
    v.components.layerSpread.toFixed(3), v.components.coverage.toFixed(3),
    Number.isFinite(report.aggregates.model.relativeUpdate) ? report.aggregates.model.relativeUpdate.toExponential(2) : '-',
    formatBounded(midpoint(report.aggregates.model.medianEnergyEffectiveRankRatio))];
}

/** The human summary: on stdout, or on stderr when stdout carries --json; the matrix table is optional. */
export function printReport(ctx: Pick<CommandContext, 'out' | 'err'>, report: DiffReport, options: { json: boolean; table: boolean }): void {
  const say = options.json ? ctx.err : ctx.out;
  say(`${report.base ? terminalText(report.base.path) : '(no base)'} → ${terminalText(report.tuned.path)}`);
  for (const line of pairingLines(report)) say(line);
  if (options.table) say('\n' + largestUpdatesTable(report) + '\n');
  for (const line of summaryLines(report)) say(line);
  // On stderr with the error lines of analyze: what failed is not a result.
  for (const line of failureLines(report)) ctx.err(line);
  for (const line of verdictLines(report)) say(line);
}

/** The exit code of a finished diff, lora or compare: 2 when a matrix failed (the others are reported), else 0. */
export function exitCodeOf(reports: readonly DiffReport[]): number {
  return reports.some((r) => r.aggregates.model.failed.matrices > 0) ? 2 : 0;
}

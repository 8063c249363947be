/** The terminal summary of a comparison (`compare`, and `merge` of its shards): the ranking table and each fine-tune's verdict. */
import { REGIME_LEGEND } from '../../aggregate/regime';
import type { CompareResult } from '../../compare';
import type { CommandContext } from '../context';
import { failureLines, rankingRow, verdictLines } from './diff-summary';
import { renderTable } from './table';
import { terminalText } from './terminal-text';

export function printRanking(text: Pick<CommandContext, 'out' | 'err'>, result: CompareResult): void {
  const { base, ranking } = result;
  text.out(`${ranking.length} fine-tunes of ${terminalText(base)}, most concentrated first:\n`);
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

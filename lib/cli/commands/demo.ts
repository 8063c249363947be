/** `paramscope demo`: the bundled example pair, diffed, with HTML reports and the two verdicts. */
import * as os from 'node:os';
import * as path from 'node:path';
import { diff } from '../../diff';
import { ensureExample } from '../../example';
import { writeReports } from '../../report/write';
import { verdictLines } from '../output/diff-summary';
import type { CommandContext } from '../context';
import { withProgress } from '../output/progress';

export const demoUsage = `Usage: paramscope demo [--dir <directory>]

Writes a small Llama-shaped example to --dir (default: <tmp>/paramscope-demo): a BF16 base and two
fine-tunes of it with the same update energy, one concentrated (a rank-4 update of q/v in two layers) and
one dispersed (a small full-rank update of every projection). Then runs 'paramscope diff' of each
against the base, writes an HTML report (plus JSON, CSV and Markdown) for each, and prints the verdicts.`;

export async function demoCommand(ctx: CommandContext): Promise<number> {
  const { values } = ctx.parse({ dir: { type: 'string' } }, demoUsage);
  const dir = typeof values.dir === 'string' ? path.resolve(values.dir) : path.join(os.tmpdir(), 'paramscope-demo');
  const example = ensureExample(dir);
  ctx.out(`example checkpoints in ${example.dir} (base.safetensors, tuned-concentrated.safetensors, tuned-dispersed.safetensors)\n`);
  const runs: Array<[string, string]> = [['concentrated', example.concentrated], ['dispersed', example.dispersed]];
  for (const [kind, tuned] of runs) {
    const report = await withProgress((onProgress) => diff(example.base, tuned, { mode: 'exact', directions: true, onProgress }));
    const stem = path.join(dir, `report-${kind}`);
    await writeReports(report, { html: `${stem}.html`, json: `${stem}.json`, csv: `${stem}.csv`, markdown: `${stem}.md` });
    ctx.out(`tuned-${kind}: ${report.pairs.length} matrices compared`);
    for (const line of verdictLines(report)) ctx.out(`  ${line}`);
    ctx.out(`  HTML report: ${stem}.html\n`);
  }
  ctx.out(`next: npx paramscope diff ${example.base} ${example.dispersed} --out my-report/`);
  return 0;
}

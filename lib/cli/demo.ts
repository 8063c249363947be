/** `paramscope demo`: generates the bundled example (once) and shows what paramscope reports on it. */
import * as os from 'node:os';
import * as path from 'node:path';
import { openCheckpoint } from '../checkpoint';
import { ensureExample } from '../example';
import { formatCount, formatMB } from './format';
import { summarize } from './inspect';
import type { CommandContext } from './main';

export const demoUsage = `Usage: paramscope demo [--dir <directory>]

Writes a small Llama-shaped example (a BF16 base and two fine-tunes: one concentrated, one dispersed)
to --dir (default: <tmp>/paramscope-demo), then runs paramscope on it.`;

export async function demoCommand(ctx: CommandContext): Promise<number> {
  const { values } = ctx.parse({ dir: { type: 'string' } }, demoUsage);
  const dir = typeof values.dir === 'string' ? path.resolve(values.dir) : path.join(os.tmpdir(), 'paramscope-demo');
  const example = ensureExample(dir);
  ctx.out(`example checkpoints in ${example.dir}`);
  for (const file of [example.base, example.concentrated, example.dispersed]) {
    const ckpt = await openCheckpoint(file);
    const { total } = summarize(ckpt);
    ctx.out(`  ${path.basename(file)}: ${total.tensors} tensors, ${formatCount(total.parameters)} parameters, ${formatMB(total.bytes)} MB (${ckpt.metadata.paramscope_example})`);
    ckpt.close();
  }
  ctx.out(`\nnext: npx paramscope inspect ${example.base}`);
  return 0;
}

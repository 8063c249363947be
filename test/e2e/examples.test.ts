/** Every runnable example in examples/ runs as written and prints what it promises. */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureExample } from '../../lib/example';
import { repoRoot, temporaryDirectory } from '../helpers/paths';

describe('examples/', () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(() => ({ dir, cleanup } = temporaryDirectory()));
  afterAll(() => cleanup());

  const run = (file: string, args: string[] = []) =>
    execFileSync(process.execPath, [path.join(repoRoot, 'examples', file), ...args], { cwd: repoRoot, encoding: 'utf8' });

  it('read-tensors.mjs reads the example checkpoint', () => {
    const { base } = ensureExample(dir);
    const out = run('read-tensors.mjs', [base]);
    expect(out).toContain('38 tensors');
    expect(out).toMatch(/model\.embed_tokens\.weight BF16 \[1024,256\]: ‖W‖_F = \d+\.\d{4}/);
    expect(out).toContain('Uint16Array(256), zero-copy: true');
  });

  it('analyze-spectra.mjs streams MLP spectra with bounds', () => {
    const { base } = ensureExample(dir);
    const lines = run('analyze-spectra.mjs', [base]).trim().split('\n');
    expect(lines).toHaveLength(12); // 4 layers × gate/up/down
    expect(lines[0]).toMatch(/^model\.layers\.0\.mlp\.gate_proj\.weight \[688×256\] σ₁=\d\.\d{3} stable rank=\d+\.\d eff\. rank ratio=\[/);
  });

  it('diff-verdict.mjs prints the verdict of the dispersed fine-tune', () => {
    const { base, dispersed } = ensureExample(dir);
    const out = run('diff-verdict.mjs', [base, dispersed]);
    expect(out).toMatch(/^dispersed \(score 0\.\d\d, confidence (high|medium)\)/);
    expect(out).toMatch(/28\/29 matrices above bf16 noise/);
  });

  it('write-and-read.cjs round-trips through CommonJS', () => {
    const out = run('write-and-read.cjs');
    expect(out).toContain('layer.weight [2,3] = [ 0, 0.25, 0.5, 0.75, 1, 1.25 ]');
    expect(out).toContain("format: 'pt'");
  });
});

/** Every runnable example in examples/ runs as written and prints what it promises. */
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureExample } from '../../lib/example';
import { cliEnv, cliPath, repoRoot, temporaryDirectory } from '../helpers/paths';

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

  it('stream-progress.mjs renders the event stream as a progress bar and a live table, from the library and from --jsonl', () => {
    const { base, concentrated } = ensureExample(dir);
    const check = (out: string) => {
      const lines = out.trim().split('\n');
      expect(lines[0]).toMatch(/^diff: 29 matrices, \d+\.\d MB to read, ~\d+\.\d GFLOP \(spectra \+ directions\)$/);
      expect(lines[1]).toMatch(/^matrix\s+shape\s+‖ΔW‖\/‖W‖\s+stable rank\s+eff\. rank ratio$/);
      expect(lines.filter((l) => /^model\.\S+\s+\d+×\d+\s/.test(l))).toHaveLength(29);
      expect(lines).toContain('[##############################] 100%  29/29 matrices  directions  eta 0s');
      expect(lines.at(-1)).toMatch(/^verdict: concentrated \(score 0\.\d\d, confidence high\)$/);
    };
    check(run('stream-progress.mjs', [base, concentrated]));
    const jsonl = execFileSync(process.execPath, [cliPath, 'diff', base, concentrated, '--mode', 'exact', '--jsonl', '--quiet'], { encoding: 'utf8', env: cliEnv() });
    check(execFileSync(process.execPath, [path.join(repoRoot, 'examples', 'stream-progress.mjs'), '-'], { cwd: repoRoot, input: jsonl, encoding: 'utf8' }));
  });

  const python = spawnSync('python3', ['--version']).status === 0;
  if (!python) console.warn('[skip] examples/read_stream.py: python3 is not installed here, so the Python example is not run');
  it.skipIf(!python)('read_stream.py (Python, standard library only) reads the stream from the CLI', () => {
    const { base, concentrated } = ensureExample(dir);
    const r = spawnSync('python3', [path.join(repoRoot, 'examples', 'read_stream.py'), base, concentrated, '--mode', 'exact'], {
      cwd: repoRoot, encoding: 'utf8', env: { ...cliEnv(), PARAMSCOPE: `${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)}` },
    });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^29 matrices, \d+\.\d MB to read, ~\d+\.\d GFLOP$/);
    expect(lines.filter((l) => l.startsWith('matrix '))).toHaveLength(29);
    expect(lines).toContain('matrix model.layers.2.self_attn.q_proj.weight [256x256] stable rank 1.42');
    expect(lines.at(-1)).toMatch(/^verdict concentrated \(score 0\.\d\d, confidence high\)$/);
    expect(r.stderr).toContain('100.0%  29/29 matrices');
  });

  it('write-and-read.cjs round-trips through CommonJS', () => {
    const out = run('write-and-read.cjs');
    expect(out).toContain('layer.weight [2,3] = [ 0, 0.25, 0.5, 0.75, 1, 1.25 ]');
    expect(out).toContain("format: 'pt'");
  });
});

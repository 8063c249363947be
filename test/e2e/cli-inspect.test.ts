import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensorsSync } from '../../lib/read/writer';
import { runCli } from '../helpers/cli';
import { temporaryDirectory } from '../helpers/paths';

describe('paramscope inspect / doctor / usage', () => {
  let dir: string;
  let cleanup: () => void;
  let file: string;

  beforeAll(() => {
    ({ dir, cleanup } = temporaryDirectory());
    file = path.join(dir, 'model.safetensors');
    writeSafetensorsSync(file, {
      'a.weight': { dtype: 'F32', shape: [3, 4], data: new Float32Array(12) },
      'b.weight': { dtype: 'BF16', shape: [5], data: new Uint16Array(5) },
      'c.bias': { dtype: 'F32', shape: [4], data: new Float32Array(4) },
    });
  });
  afterAll(() => cleanup());

  it('prints a table with totals per dtype', () => {
    const r = runCli(['inspect', file]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/a\.weight\s+F32\s+\[3, 4\]\s+12\s/);
    expect(r.stdout).toMatch(/b\.weight\s+BF16\s+\[5\]\s+5\s/);
    // dtype totals: F32 has 2 tensors and 16 parameters; all together 3 tensors, 21 parameters.
    expect(r.stdout).toMatch(/\nF32\s+2\s+16\s/);
    expect(r.stdout).toMatch(/\ntotal\s+3\s+21\s/);
  });

  it('--json gives the same facts as data', () => {
    const r = runCli(['inspect', file, '--json']);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.tensors.map((t: { name: string }) => t.name)).toEqual(['a.weight', 'b.weight', 'c.bias']);
    expect(doc.totals.parameters).toBe(21);
    expect(doc.totals.bytes).toBe(12 * 4 + 5 * 2 + 4 * 4);
    expect(doc.totals.byDtype.BF16).toEqual({ tensors: 1, parameters: 5, bytes: 10 });
  });

  it('bad input: one line on stderr naming the file, exit code 2', () => {
    const broken = path.join(dir, 'broken.safetensors');
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(broken, bytes.subarray(0, bytes.length - 7));
    const r = runCli(['inspect', broken]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('FILE_SIZE_MISMATCH');
    expect(lines[0]).toContain(broken);
  });

  it('usage errors exit 2 and show the usage', () => {
    const none = runCli(['inspect']);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('Usage: paramscope inspect');
    const unknownFlag = runCli(['inspect', file, '--frobnicate']);
    expect(unknownFlag.status).toBe(2);
    const unknownCommand = runCli(['frobnicate']);
    expect(unknownCommand.status).toBe(2);
    expect(unknownCommand.stderr).toContain('unknown command');
    const help = runCli(['inspect', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--json');
  });

  it('doctor --json reports backend, SIMD and threads', () => {
    const r = runCli(['doctor', '--json']);
    expect(r.status).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(['openblas', 'eigen']).toContain(info.backend);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(typeof info.simd).toBe('string');
    const forced = JSON.parse(runCli(['doctor', '--json'], { PARAMSCOPE_BLAS: 'eigen' }).stdout);
    expect(forced.backend).toBe('eigen');
    expect(forced.whyEigen).toMatch(/PARAMSCOPE_BLAS=eigen|Eigen-only/);
  });

  it('doctor says who computes the thin products, and the BLAS does where SIMD is off', () => {
    const info = JSON.parse(runCli(['doctor', '--json']).stdout);
    const line = runCli(['doctor']).stdout.split('\n').find((l) => l.startsWith('thin products'));
    expect(line).toContain(info.cpuFlags.avx512f ? 'AVX-512 kernel' : 'the BLAS');
    const portable = runCli(['doctor'], { PARAMSCOPE_SIMD: 'off' }).stdout.split('\n').find((l) => l.startsWith('thin products'));
    expect(portable).toContain('the BLAS (no AVX-512F');
  });

  it('doctor says who computes the Grams: the kernel only where the BLAS runs without AVX-512', () => {
    const gramLine = (env?: Record<string, string>) => runCli(['doctor'], env).stdout.split('\n').find((l) => l.startsWith('Gram product'));
    const info = JSON.parse(runCli(['doctor', '--json']).stdout);
    // The Eigen fallback has no AVX-512 kernels of its own: on an AVX-512F CPU the core's kernel takes the Grams.
    const eigen = JSON.parse(runCli(['doctor', '--json'], { PARAMSCOPE_BLAS: 'eigen' }).stdout);
    expect(eigen.gramProduct).toBe(info.cpuFlags.avx512f ? 'avx512' : 'blas');
    expect(gramLine({ PARAMSCOPE_BLAS: 'eigen' })).toContain(info.cpuFlags.avx512f ? 'AVX-512 kernel' : 'the BLAS');
    expect(gramLine({ PARAMSCOPE_SIMD: 'off' })).toContain('the BLAS (no AVX-512F');
    if (info.backend === 'openblas' && info.cpuFlags.avx512bf16) {
      // OpenBLAS on its AVX-512 Cooperlake kernels keeps the Gram; pinned to its AVX2 Haswell ones it hands it over.
      expect(JSON.parse(runCli(['doctor', '--json'], { OPENBLAS_CORETYPE: 'Cooperlake' }).stdout).gramProduct).toBe('blas');
      expect(JSON.parse(runCli(['doctor', '--json'], { OPENBLAS_CORETYPE: 'Haswell' }).stdout).gramProduct).toBe('avx512');
    }
  });
});

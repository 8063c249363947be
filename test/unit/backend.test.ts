/**
 * The backend seam from the outside: --backend / PARAMSCOPE_BACKEND / the `backend` option, the error
 * for an unavailable backend (BACKEND_UNAVAILABLE, exit 2, one line saying why), doctor's report of the
 * CUDA plugin, and the plugin path end to end with stub plugins compiled here from
 * native/tests/plugins/stub_plugin.c (no device, a wrong ABI version, a "device" that is the host).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSpectra } from '../../lib/engine/run';
import { buildInfo } from '../../lib/engine/build-info';
import { ensureExample, type ExamplePaths } from '../../lib/example';
import { ParamscopeError } from '../../lib/errors';
import { openCheckpoint } from '../../lib/read/checkpoint';
import { runCli } from '../helpers/cli';
import { repoRoot, temporaryDirectory } from '../helpers/paths';

const tmp = temporaryDirectory('paramscope-backend-');
afterAll(() => tmp.cleanup());

const compiler = ['cc', 'gcc', 'clang'].find((c) => spawnSync(c, ['--version']).status === 0);
if (!compiler) console.warn('[skip] backend plugin tests: no C compiler to build the stub plugins');

/** Builds one variant of the stub plugin; returns its path. */
function stubPlugin(variant: 'host' | 'no_device' | 'wrong_abi'): string {
  const out = path.join(tmp.dir, `stub_${variant}.so`);
  const defines = { host: [], no_device: ['-DSTUB_NO_DEVICE'], wrong_abi: ['-DSTUB_WRONG_ABI'] }[variant];
  const built = spawnSync(compiler as string, ['-shared', '-fPIC', '-O1', ...defines, '-I', path.join(repoRoot, 'native', 'include'),
    path.join(repoRoot, 'native', 'tests', 'plugins', 'stub_plugin.c'), '-o', out, '-lm'], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`stub plugin build failed: ${built.stderr}`);
  return out;
}

let example: ExamplePaths;
beforeAll(() => {
  example = ensureExample(path.join(tmp.dir, 'example'));
});

describe('compute backend selection', () => {
  it('the library refuses an unavailable CUDA backend with BACKEND_UNAVAILABLE and a reason', async () => {
    if (buildInfo().cuda.available) return console.warn('[skip] a CUDA plugin is available on this machine');
    const ckpt = await openCheckpoint(example.base);
    try {
      const run = runSpectra([{ kind: 'dense', name: 'w', source: { checkpoint: ckpt, tensor: 'model.layers.0.self_attn.q_proj.weight' } }], { backend: 'cuda' });
      const error = await run.next().then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(ParamscopeError);
      expect((error as ParamscopeError).code).toBe('BACKEND_UNAVAILABLE');
      expect((error as ParamscopeError).message).toContain(buildInfo().cuda.why);
      expect(() => runSpectra([], { backend: 'gpu' as never })).toThrow(/backend: expected 'auto', 'cpu' or 'cuda'/);
    } finally {
      ckpt.close();
    }
  });

  it('the CLI says why, on one line, with exit code 2', () => {
    const missing = runCli(['diff', example.base, example.dispersed, '--backend', 'cuda'], { PARAMSCOPE_CUDA_PLUGIN: path.join(tmp.dir, 'none.so') });
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/BACKEND_UNAVAILABLE: the CUDA backend is not available: no CUDA plugin \(.*none\.so/);
    const badEnv = runCli(['diff', example.base, example.dispersed], { PARAMSCOPE_BACKEND: 'tpu' });
    expect(badEnv.status).toBe(2);
    expect(badEnv.stderr).toContain('PARAMSCOPE_BACKEND');
  });
});

describe.skipIf(!compiler)('the plugin loader with stub plugins', () => {
  it('names a wrong ABI version and a missing device', () => {
    const wrong = runCli(['diff', example.base, example.dispersed, '--backend', 'cuda'], { PARAMSCOPE_CUDA_PLUGIN: stubPlugin('wrong_abi') });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/BACKEND_UNAVAILABLE: .*speaks plugin ABI version 99, this build speaks 1/);
    const noDevice = stubPlugin('no_device');
    const none = runCli(['diff', example.base, example.dispersed, '--backend', 'cuda'], { PARAMSCOPE_CUDA_PLUGIN: noDevice });
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('no CUDA device is present');
    // auto falls back to the CPU, and doctor says why.
    const auto = runCli(['diff', example.base, example.dispersed, '--json'], { PARAMSCOPE_CUDA_PLUGIN: noDevice });
    expect(auto.status).toBe(0);
    const doctor = runCli(['doctor'], { PARAMSCOPE_CUDA_PLUGIN: noDevice });
    expect(doctor.stdout).toMatch(/compute\s+auto → cpu \(CUDA backend not available: stub plugin: no CUDA device is present/);
  });

  it('runs the whole diff through a plugin backend, with the spectra of the CPU within rounding', () => {
    const env = { PARAMSCOPE_CUDA_PLUGIN: stubPlugin('host') };
    const doctor = JSON.parse((runCli(['doctor', '--json'], env)).stdout) as { cuda: { available: boolean; device: string } };
    expect(doctor.cuda).toMatchObject({ available: true, device: 'stub host device' });
    // The layer the concentrated update touches, and one it does not: the stub's plain loops are slow.
    const args = ['diff', example.base, example.concentrated, '--mode', 'exact', '--json', '--include', 'model.layers.{2,0}.self_attn.*'];
    const device = runCli([...args, '--backend', 'cuda'], env);
    const cpu = runCli([...args, '--backend', 'cpu'], env);
    const auto = runCli(args, env);
    for (const r of [device, cpu, auto]) expect(r.status).toBe(0);
    type Report = { pairs: Array<{ spectrum: { values: number[]; method: string } }>; verdict: { label: string; score: number } };
    const [d, c, a] = [device, cpu, auto].map((r) => JSON.parse(r.stdout) as Report) as [Report, Report, Report];
    expect(d.pairs[0]?.spectrum.method).toBe('gram-stub');
    expect(a.pairs[0]?.spectrum.method).toBe('gram-stub');  // auto takes the device
    expect(c.pairs[0]?.spectrum.method).not.toBe('gram-stub');
    expect(d.verdict.label).toBe(c.verdict.label);
    expect(Math.abs(d.verdict.score - c.verdict.score)).toBeLessThan(1e-6);
    for (const [i, p] of c.pairs.entries()) {
      const sigma1 = p.spectrum.values[0] ?? 0;
      p.spectrum.values.forEach((v, j) => expect(Math.abs((d.pairs[i]?.spectrum.values[j] ?? NaN) - v)).toBeLessThanOrEqual(1e-6 * sigma1 + 1e-12));
    }
    const pinned = runCli(args, { ...env, PARAMSCOPE_BACKEND: 'cpu' });
    expect((JSON.parse(pinned.stdout) as Report).pairs[0]?.spectrum.method).not.toBe('gram-stub');
  });
});

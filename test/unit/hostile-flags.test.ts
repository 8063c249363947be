/**
 * Numeric flags (docs/security.md, "Flags"): every flag of every command whose usage shows a numeric
 * placeholder (<k>, <n>, <q>, <t>, <s>, <b>) refuses the values Number() would quietly turn into some
 * number or into NaN / Infinity — found from the usage text, so a new flag is covered without editing
 * this test. Hundreds of invocations run in one child process (the built CLI's main(), each with its
 * own captured stderr and exit code) under a time limit; a few run as separate processes to check that
 * the real binary behaves the same.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_POWER_ITERATIONS } from '../../lib/engine/options';
import { writeSafetensorsSync } from '../../lib/read/writer';
import { writeAdapter } from '../fixtures/adapters';
import { ATTACK_LIMIT_MS, expectRefused, runAttack } from '../helpers/attack';
import { cliPath, repoRoot, temporaryDirectory } from '../helpers/paths';

const tmp = temporaryDirectory('paramscope-flags-');
afterAll(() => tmp.cleanup());

const model = path.join(tmp.dir, 'model.safetensors');
writeSafetensorsSync(model, [['layers.0.q_proj.weight', { dtype: 'F32', shape: [3, 2], data: new Float32Array([1, 2, 3, 4, 5, 6]) }]]);
const adapter = writeAdapter(path.join(tmp.dir, 'adapter'), { layout: 'peft', rank: 1 });

/** The positional arguments that let a command get as far as its flags (three checkpoints for the others). */
const steps = ['step-100', 'step-200'].map((step) => {
  fs.mkdirSync(path.join(tmp.dir, step));
  fs.copyFileSync(model, path.join(tmp.dir, step, 'model.safetensors'));
  return path.join(tmp.dir, step);
});
const POSITIONALS: Record<string, string[]> = { analyze: [model], diff: [model, model], lora: [adapter], plan: [model], inspect: [model], trajectory: [model, ...steps] };
/** Commands whose positionals are not checkpoints (merge takes partial reports): their flags are covered where they are shared. */
const SKIPPED = new Set(['merge']);

/** Every command of the CLI (from its usage), with the positionals it is run with. */
const COMMANDS: Record<string, string[]> = Object.fromEntries(
  [...spawnSync(process.execPath, [cliPath, '--help'], { encoding: 'utf8' }).stdout.matchAll(/^ {2}([a-z-]+) {2,}/gm)]
    .filter((m) => !SKIPPED.has(m[1] as string))
    .map((m) => [m[1] as string, POSITIONALS[m[1] as string] ?? [model, model, model]]),
);

/** `--flag <p>` of a command's usage whose placeholder stands for a number, by kind. */
function numericFlags(command: string): Array<{ flag: string; kind: 'integer' | 'real' | 'bytes' }> {
  const usage = spawnSync(process.execPath, [cliPath, command, '--help'], { encoding: 'utf8' }).stdout;
  const kinds: Record<string, 'integer' | 'real' | 'bytes'> = { k: 'integer', n: 'integer', q: 'integer', B: 'integer', t: 'real', s: 'real', level: 'real', b: 'bytes' };
  return [...usage.matchAll(/^\s+(--[a-z-]+) <([A-Za-z]+)>/gm)].filter((m) => kinds[m[2] as string]).map((m) => ({ flag: m[1] as string, kind: kinds[m[2] as string] as 'integer' | 'real' | 'bytes' }));
}

const BAD: Record<'integer' | 'real' | 'bytes', string[]> = {
  integer: ['NaN', '1e309', '-1', '0x10', '1.5', '', ' 8', '1e3', 'Infinity', '9007199254740993', '8 '],
  real: ['NaN', '1e309', 'Infinity', '-Infinity', '0x10', '', '1.2.3', '--', '1e'],
  bytes: ['NaN', '1e309', '-1', '0x10', '', 'Infinity', '9'.repeat(400), '99999999999999999999TiB', '1.5PiB'],
};

/** Runs many argument vectors through the built CLI's main() in one child; returns each exit code and stderr. */
function runBatch(argvs: string[][]): Array<{ code: number; stderr: string }> {
  const script = path.join(tmp.dir, 'batch.cjs');
  fs.writeFileSync(script, `
    const { main } = require(${JSON.stringify(path.join(repoRoot, 'dist', 'cli', 'main.js'))});
    const argvs = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
    (async () => {
      const out = [];
      const write = process.stderr.write.bind(process.stderr);
      for (const argv of argvs) {
        let stderr = '';
        process.stderr.write = (chunk) => { stderr += String(chunk); return true; };
        process.stdout.write = () => true;
        let code;
        try { code = await main(argv); } catch (error) { code = -1; stderr += 'THREW ' + String(error && error.stack); }
        process.stderr.write = write;
        out.push({ code, stderr });
      }
      require('fs').writeFileSync(process.argv[3], JSON.stringify(out));
    })();`);
  const input = path.join(tmp.dir, 'argvs.json');
  const output = path.join(tmp.dir, 'results.json');
  fs.writeFileSync(input, JSON.stringify(argvs));
  const cache = path.join(tmp.dir, 'cache');
  const run = spawnSync(process.execPath, [script, input, output], { encoding: 'utf8', timeout: 4 * ATTACK_LIMIT_MS, killSignal: 'SIGKILL', env: { ...process.env, PARAMSCOPE_CACHE_DIR: cache } });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(fs.readFileSync(output, 'utf8'));
}

describe('numeric flags', () => {
  it('the usage texts name the numeric flags this test loops over', () => {
    const all = new Set(Object.keys(COMMANDS).flatMap((c) => numericFlags(c).map((f) => f.flag)));
    expect(Object.keys(COMMANDS)).toEqual(expect.arrayContaining(['analyze', 'diff', 'lora', 'compare', 'plan']));
    for (const flag of ['--rank', '--tolerance', '--power-iterations', '--seed', '--threads', '--parallel-matrices', '--memory-budget', '--device-memory-budget', '--direction-rank', '--scale'])
      expect(all, flag).toContain(flag);
  });

  it('every numeric flag of every command refuses NaN, 1e309, -1, 0x10, 1.5 (integers), the empty string …: exit 2, one line naming the flag and the value', () => {
    const cases: Array<{ argv: string[]; flag: string; value: string }> = [];
    for (const [command, positionals] of Object.entries(COMMANDS))
      for (const { flag, kind } of numericFlags(command))
        for (const value of BAD[kind]) {
          // Where the value is valid only in truncated mode, ask for it: the flag must still be parsed.
          const mode = ['--rank', '--tolerance', '--power-iterations'].includes(flag) ? ['--mode', 'truncated'] : [];
          // diff reads --scale (and --config) only with --adapter; the comparison flags only with --out.
          const args = command === 'diff' && flag === '--scale' ? ['--adapter', adapter] : positionals;
          const out = ['--ci', '--bootstrap'].includes(flag) ? ['--out', path.join(tmp.dir, `out-${cases.length}`)] : [];
          cases.push({ argv: [command, ...args, ...mode, ...out, `${flag}=${value}`], flag, value });
        }
    expect(cases.length).toBeGreaterThan(200);
    const results = runBatch(cases.map((c) => c.argv));
    const wrong = results.flatMap((r, i) => {
      const { argv, flag, value } = cases[i] as (typeof cases)[number];
      const lines = r.stderr.split('\n').filter(Boolean);
      const shown = JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
      const ok = r.code === 2 && lines.length === 1 && lines[0]?.includes('INVALID_ARGUMENT') && lines[0]?.includes(flag) && lines[0]?.includes(shown);
      return ok ? [] : [`${argv.join(' ')} -> exit ${r.code}: ${r.stderr.slice(0, 300)}`];
    });
    expect(wrong).toEqual([]);
  });

  it('good values still work (decimal integers, decimals with exponents, byte sizes with units)', () => {
    const results = runBatch([
      ['analyze', model, '--mode', 'truncated', '--rank', '2', '--tolerance', '1e-3', '--power-iterations', '0', '--seed', '00042', '--threads', '1', '--parallel-matrices', '1', '--memory-budget', '1.5GiB', '--json', '--quiet'],
      ['lora', adapter, '--scale=-0.5', '--json', '--quiet'],
      ['diff', model, model, '--direction-rank', '1', '--json', '--quiet'],
    ]);
    expect(results.map((r) => [r.code, r.stderr])).toEqual([[0, ''], [0, ''], [0, '']]);
  });

  it(`iteration counts are capped (--power-iterations above ${MAX_POWER_ITERATIONS} would keep the engine busy for hours on a tiny matrix)`, () => {
    const line = expectRefused(runAttack(['analyze', model, '--mode', 'truncated', '--power-iterations', '100000000']), 'INVALID_ARGUMENT');
    expect(line).toContain(`from 0 to ${MAX_POWER_ITERATIONS}`);
  });

  it('through the real binary too', () => {
    expect(expectRefused(runAttack(['analyze', model, '--rank', '0x10']), 'INVALID_ARGUMENT')).toContain('--rank: expected a positive integer, got "0x10"');
    expect(expectRefused(runAttack(['lora', adapter, '--scale', 'NaN']), 'INVALID_ARGUMENT')).toContain('--scale');
    expect(expectRefused(runAttack(['diff', model, model, '--memory-budget', '1e309']), 'INVALID_ARGUMENT')).toContain('--memory-budget');
  });
});

/**
 * `--out` (issue 9, outputs), through the CLI in child processes with time limits:
 *  - checked before any work: an empty path, a regular file, /dev/null, a path under a file, a place where
 *    no directory can be made, a directory holding other files → OUTPUT_INVALID, exit 2, one line,
 *    nothing printed on stdout (nothing computed), nothing written;
 *  - all or nothing under SIGTERM: a child writing a report set is terminated at seeded random moments
 *    of its write (PARAMSCOPE_TEST_PAUSE_WRITE stretches the steps), once or twice (the second signal
 *    exits at once through the interrupt hook); the directory then holds the whole old set or the whole
 *    new one, never a mix, and no temporary is left beside it;
 *  - compare with two fine-tunes of the same file name: distinct per-arm files, and a true count.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensorsSync } from '../../lib/read/writer';
import { seededGaussian, seededRandom } from '../../lib/results/random';
import { runCli } from '../helpers/cli';
import { parseCsv } from '../helpers/csv';
import { cliPath, temporaryDirectory } from '../helpers/paths';

const LIMIT_MS = 60_000;
const SET = ['pairs.csv', 'report.html', 'report.json', 'summary.md'];

function writePair(base: string, tuned: string, seed: number): void {
  const next = seededGaussian(seed);
  const b: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  const t: typeof b = {};
  for (let l = 0; l < 6; l++)
    for (const m of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) {
      const name = `model.layers.${l}.self_attn.${m}.weight`;
      const w = Float32Array.from({ length: 256 }, () => next());
      b[name] = { dtype: 'F32', shape: [16, 16], data: w };
      t[name] = { dtype: 'F32', shape: [16, 16], data: Float32Array.from(w, (x) => x + 0.05 * next()) };
    }
  writeSafetensorsSync(base, b);
  if (tuned) writeSafetensorsSync(tuned, t);
}

/** The files of a directory and of its parent that are not the checkpoints (temporaries show up here). */
function listing(dir: string): { inside: string[] | null; beside: string[] } {
  return { inside: fs.existsSync(dir) ? fs.readdirSync(dir).sort() : null, beside: fs.readdirSync(path.dirname(dir)).sort() };
}

describe('--out is checked before any work', () => {
  let dir: string;
  let cleanup: () => void;
  let base: string;
  let tuned: string;

  beforeAll(() => {
    ({ dir, cleanup } = temporaryDirectory());
    base = path.join(dir, 'base.safetensors');
    tuned = path.join(dir, 'tuned.safetensors');
    writePair(base, tuned, 1);
    fs.writeFileSync(path.join(dir, 'a-file'), 'keep me\n');
    fs.mkdirSync(path.join(dir, 'someone-elses'));
    fs.writeFileSync(path.join(dir, 'someone-elses', 'notes.txt'), 'mine\n');
  });
  afterAll(() => cleanup());

  const cases: Array<[string, () => string, RegExp]> = [
    ['an empty path', () => '', /expected a directory path, got an empty one/],
    ['a regular file', () => path.join(dir, 'a-file'), /is a regular file, not a directory/],
    ['/dev/null', () => '/dev/null', /is a device, not a directory/],
    ['a path under a regular file', () => path.join(dir, 'a-file', 'sub', 'dir'), /is under .*a-file, which is a regular file/],
    ['a place where no directory can be created', () => '/proc/self/no-such/reports', /no directory can be created in \/proc/],
    ['a directory holding other files', () => path.join(dir, 'someone-elses'), /holds 1 entry that is not part of a paramscope report \("notes\.txt"\)/],
  ];
  for (const [what, out, message] of cases) {
    it(`${what}: OUTPUT_INVALID, exit 2, one line, nothing computed or written`, () => {
      const before = { top: fs.readdirSync(dir).sort(), file: fs.readFileSync(path.join(dir, 'a-file'), 'utf8'), other: fs.readdirSync(path.join(dir, 'someone-elses')) };
      for (const args of [['diff', base, tuned], ['compare', base, tuned, tuned]]) {
        const r = runCli([...args, '--out', out()], {}, LIMIT_MS);
        expect(r.status, r.stderr).toBe(2);
        expect(r.stdout).toBe('');
        const lines = r.stderr.trimEnd().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/OUTPUT_INVALID: --out /);
        expect(lines[0]).toMatch(message);
        expect(lines[0]).not.toMatch(/\bat .*\(|internal error/);
      }
      expect({ top: fs.readdirSync(dir).sort(), file: fs.readFileSync(path.join(dir, 'a-file'), 'utf8'), other: fs.readdirSync(path.join(dir, 'someone-elses')) }).toEqual(before);
    });
  }

  it('--jsonl: the stream is the one OUTPUT_INVALID error, with no plan (nothing computed)', () => {
    const r = runCli(['diff', base, tuned, '--jsonl', '--out', path.join(dir, 'a-file')], {}, LIMIT_MS);
    expect(r.status).toBe(2);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'error', scope: 'run', code: 'OUTPUT_INVALID' });
  });

  it('a new directory (with missing parents), then the same one again: replaced as a whole', () => {
    const out = path.join(dir, 'new', 'deeper', 'report');
    const first = runCli(['diff', base, tuned, '--mode', 'exact', '--out', out], {}, LIMIT_MS);
    expect(first.status, first.stderr).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(SET);
    const again = runCli(['diff', base, tuned, '--out', out], {}, LIMIT_MS);
    expect(again.status, again.stderr).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(SET);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')).options.mode).toBe('truncated');
    expect(fs.readdirSync(path.dirname(out))).toEqual(['report']); // no temporary beside it
  });
});

describe('report sets are all or nothing under SIGTERM', () => {
  let dir: string;
  let cleanup: () => void;
  let base: string;
  let tunedA: string;
  let tunedB: string;
  let out: string;

  beforeAll(() => {
    ({ dir, cleanup } = temporaryDirectory());
    base = path.join(dir, 'base.safetensors');
    tunedA = path.join(dir, 'tuned-a.safetensors');
    tunedB = path.join(dir, 'tuned-b.safetensors');
    writePair(base, tunedA, 2);
    fs.copyFileSync(tunedA, tunedB);
    out = path.join(dir, 'reports', 'run');
  });
  afterAll(() => cleanup());

  /** Which run's set the directory holds: every file must name the same run (createdAt, tuned file, matrix count). */
  function setIdentity(): string {
    // The result cache (<out>/cache) is carried from set to set; the reports are the set.
    expect(fs.readdirSync(out).filter((n) => n !== 'cache').sort()).toEqual(SET);
    const json = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    const md = fs.readFileSync(path.join(out, 'summary.md'), 'utf8');
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    const csvRows = parseCsv(fs.readFileSync(path.join(out, 'pairs.csv'), 'utf8')).length - 1;
    const tunedName = path.basename(json.tuned.path);
    expect(md).toContain(json.createdAt);
    expect(html).toContain(json.createdAt);
    expect(md).toContain(tunedName);
    expect(html).toContain(tunedName);
    expect(csvRows).toBe(json.pairs.length);
    expect(json.pairs.length).toBe(tunedName === 'tuned-a.safetensors' ? 24 : 20); // B excludes layer 0
    return `${tunedName} ${json.createdAt}`;
  }

  function expectNoTemporaries(): void {
    expect(fs.readdirSync(path.dirname(out))).toEqual(['run']);
  }

  /** Runs a diff writing into `out` and terminates it `signals` times once the write has begun plus `delayMs`. */
  function interruptedWrite(args: string[], delayMs: number, signals: number): Promise<{ status: number | null; stderr: string; sawWrite: boolean }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, PARAMSCOPE_TEST_PAUSE_WRITE: '120' }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      let sawWrite = false;
      const limit = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS);
      const watch = setInterval(() => {
        if (sawWrite) return;
        if (!fs.readdirSync(path.dirname(out)).some((n) => n.endsWith('.new'))) return;
        sawWrite = true;
        setTimeout(() => {
          child.kill('SIGTERM');
          if (signals > 1) setTimeout(() => child.kill('SIGTERM'), 15);
        }, delayMs);
      }, 5);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(limit);
        clearInterval(watch);
        // A second SIGTERM that lands while the process is already tearing down (its handlers gone, under a
        // loaded machine) ends it by the signal itself: the shell reports that as 143 too.
        resolve({ status: code ?? (signal === 'SIGTERM' ? 143 : null), stderr, sawWrite });
      });
    });
  }

  it('terminated at seeded random moments of the write, once or twice: the whole old set or the whole new one, no temporaries', async () => {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const first = runCli(['diff', base, tunedA, '--mode', 'exact', '--out', out], {}, LIMIT_MS);
    expect(first.status, first.stderr).toBe(0);
    let current = setIdentity();
    const random = seededRandom(9);
    const outcomes = new Set<string>();
    for (let trial = 0; trial < 8; trial++) {
      const useB = current.startsWith('tuned-a');
      const args = ['diff', base, useB ? tunedB : tunedA, '--mode', 'exact', '--out', out, ...(useB ? ['--exclude', 'model.layers.0.*'] : [])];
      // The write has 7 steps of 120 ms (directory, 4 files, move aside, move in): delays cover all of them.
      const delay = Math.floor(random() * 900);
      const signals = trial % 2 === 0 ? 1 : 2;
      const r = await interruptedWrite(args, delay, signals);
      expect(r.sawWrite, `trial ${trial}: the write never began: ${r.stderr}`).toBe(true);
      expect([0, 143], `trial ${trial} (delay ${delay} ms, ${signals} signals): ${r.stderr}`).toContain(r.status);
      const after = setIdentity();
      expectNoTemporaries();
      const replaced = after !== current;
      outcomes.add(replaced ? 'new' : 'old');
      if (!replaced) expect(r.status).toBe(143); // interrupted before the switch: the old set stays
      current = after;
    }
    // The seeded delays hit both sides of the switch.
    expect([...outcomes].sort()).toEqual(['new', 'old']);
  }, 8 * LIMIT_MS);
});

describe('compare: fine-tunes that share a file name', () => {
  let dir: string;
  let cleanup: () => void;

  beforeAll(() => {
    ({ dir, cleanup } = temporaryDirectory());
  });
  afterAll(() => cleanup());

  it('a/model.safetensors and b/model.safetensors get distinct names and files, and the count is true', () => {
    const base = path.join(dir, 'base.safetensors');
    fs.mkdirSync(path.join(dir, 'a'));
    fs.mkdirSync(path.join(dir, 'b'));
    writePair(base, path.join(dir, 'a', 'model.safetensors'), 3);
    fs.copyFileSync(path.join(dir, 'a', 'model.safetensors'), path.join(dir, 'b', 'model.safetensors'));
    const out = path.join(dir, 'out');
    const r = runCli(['compare', base, path.join(dir, 'a', 'model.safetensors'), path.join(dir, 'b', 'model.safetensors'), '--mode', 'exact', '--out', out], {}, LIMIT_MS);
    expect(r.status, r.stderr).toBe(0);
    const files = fs.readdirSync(out).filter((n) => n !== 'cache').sort();
    const comparison = ['comparison.csv', 'comparison.html', 'comparison.json', 'comparison.md'];
    expect(files).toEqual([...['a--model', 'b--model'].flatMap((p) => SET.map((f) => `${p}.${f}`)), ...comparison].sort());
    expect(r.stderr).toContain(`reports written: 12 files in ${out}`);
    expect(r.stdout).toMatch(/^a\/model\s/m);
    expect(r.stdout).toMatch(/^b\/model\s/m);
    for (const arm of ['a', 'b']) expect(JSON.parse(fs.readFileSync(path.join(out, `${arm}--model.report.json`), 'utf8')).tuned.path).toBe(path.join(dir, arm, 'model.safetensors'));
  });
});

/**
 * The result cache end to end (docs/cache.md): a diff killed with SIGKILL after its first matrices
 * resumes where it stopped — the resumed run computes only the matrices whose results were not stored,
 * says which came from the cache (`cached` on matrix events, `cache` on the summary), and writes the
 * report an uncached run writes (timings aside). Also: the default location under --out, --cache that
 * cannot be used, --cache with --no-cache, and analyze and lora served from the cache.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureExample } from '../../lib/example';
import { writeSafetensorsSync } from '../../lib/read/writer';
import type { MatrixEvent, RunEvent, SummaryEvent } from '../../lib/report/events';
import { runCli } from '../helpers/cli';
import { grammarErrors, schemaErrors, streamCli } from '../helpers/event-stream';
import { temporaryDirectory } from '../helpers/paths';

const MATRICES = 12;
const entries = (dir: string) => (fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.entry')) : []);
const matrixEvents = (events: RunEvent[]) => events.filter((e): e is MatrixEvent => e.type === 'matrix');
const summaryOf = (events: RunEvent[]) => events.find((e): e is SummaryEvent => e.type === 'summary' && e.run === undefined);

/** A report without what depends on when and how fast it ran. */
function timeless(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(timeless);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).filter(([k]) => !['seconds', 'createdAt', 'timing'].includes(k)).map(([k, v]) => [k, timeless(v)]));
  return value;
}

describe('paramscope result cache (CLI)', () => {
  let dir: string;
  let cleanup: () => void;
  let base: string;
  let tuned: string;

  beforeAll(() => {
    ({ dir, cleanup } = temporaryDirectory());
    // Exact spectra of 1024×1024 differences, one at a time on one thread: a few hundred milliseconds
    // each, so the run is certainly still going when its second matrix line is read.
    let s = 12345;
    const next = () => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s / 2 ** 32 - 0.5;
    };
    const b: Parameters<typeof writeSafetensorsSync>[1] = {};
    const t: Parameters<typeof writeSafetensorsSync>[1] = {};
    for (let i = 0; i < MATRICES; i++) {
      const w = Float32Array.from({ length: 1024 * 1024 }, next);
      b[`model.layers.${i}.mlp.up_proj.weight`] = { dtype: 'F32', shape: [1024, 1024], data: w };
      t[`model.layers.${i}.mlp.up_proj.weight`] = { dtype: 'F32', shape: [1024, 1024], data: w.map((x) => x + 0.01 * next()) };
    }
    base = path.join(dir, 'base.safetensors');
    tuned = path.join(dir, 'tuned.safetensors');
    writeSafetensorsSync(base, b);
    writeSafetensorsSync(tuned, t);
  });
  afterAll(() => cleanup());

  it('a diff killed with SIGKILL resumes where it stopped: only the missing matrices are computed, the report is an uncached run\'s', async () => {
    const cache = path.join(dir, 'resume-cache');
    const args = (...more: string[]) => ['diff', base, tuned, '--mode', 'exact', '--no-directions', '--threads', '1', '--parallel-matrices', '1', ...more];

    let seenBeforeKill = 0;
    const killed = await streamCli(args('--jsonl', '--cache', cache), (event, child) => {
      if (event.type !== 'matrix') return;
      seenBeforeKill++;
      if (seenBeforeKill === 2) child.kill('SIGKILL');
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.events.some((e) => e.type === 'summary')).toBe(false);
    // Every matrix the killed run reported was stored before it was reported; what was on its way is not.
    const stored = entries(cache).length;
    expect(stored).toBeGreaterThanOrEqual(2);
    expect(stored).toBeLessThan(MATRICES);
    expect(matrixEvents(killed.events).every((m) => m.cached === false)).toBe(true);

    const out = path.join(dir, 'resumed');
    const resumed = await streamCli(args('--jsonl', '--cache', cache, '--out', out));
    expect(resumed.status).toBe(0);
    expect(schemaErrors(resumed.events)).toEqual([]);
    expect(grammarErrors(resumed.events)).toEqual([]);
    const matrices = matrixEvents(resumed.events);
    expect(matrices).toHaveLength(MATRICES);
    // The killed run's matrices came from the cache; the others, and only they, were computed.
    const cachedNames = new Set(matrices.filter((m) => m.cached).map((m) => m.record.name));
    for (const m of matrixEvents(killed.events)) expect(cachedNames.has(m.record.name)).toBe(true);
    expect(matrices.filter((m) => m.cached)).toHaveLength(stored);
    expect(summaryOf(resumed.events)?.cache).toEqual({ hits: stored, misses: MATRICES - stored, written: MATRICES - stored, rejected: 0, writeErrors: 0 });
    expect(entries(cache)).toHaveLength(MATRICES);

    const fresh = path.join(dir, 'uncached');
    const uncached = runCli([...args('--no-cache', '--out', fresh), '--quiet']);
    expect(uncached.status).toBe(0);
    expect(fs.existsSync(path.join(fresh, 'cache'))).toBe(false);
    const report = (d: string) => JSON.parse(fs.readFileSync(path.join(d, 'report.json'), 'utf8')) as unknown;
    expect(timeless(report(out))).toEqual(timeless(report(fresh)));

    // A third run computes nothing.
    const again = runCli([...args('--jsonl', '--cache', cache)]);
    const events = again.stdout.trim().split('\n').map((l) => JSON.parse(l) as RunEvent);
    expect(matrixEvents(events).every((m) => m.cached === true)).toBe(true);
    expect(summaryOf(events)?.cache).toMatchObject({ hits: MATRICES, misses: 0 });
  });

  it('by default the cache is <out>/cache (PARAMSCOPE_CACHE_DIR unset), and a second run says what it reused', () => {
    const { concentrated, base: exampleBase } = ensureExample(path.join(dir, 'example'));
    const out = path.join(dir, 'default-out');
    const env = { PARAMSCOPE_CACHE_DIR: '', XDG_CACHE_HOME: path.join(dir, 'xdg') };
    const first = runCli(['diff', exampleBase, concentrated, '--mode', 'exact', '--out', out], env);
    expect(first.status).toBe(0);
    expect(entries(path.join(out, 'cache')).length).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(dir, 'xdg'))).toBe(false);
    const second = runCli(['diff', exampleBase, concentrated, '--mode', 'exact', '--out', out], env);
    expect(second.status).toBe(0);
    expect(second.stderr).toMatch(new RegExp(`result cache ${path.join(out, 'cache').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (\\d+) of \\1 spectra reused, 0 computed`));
    // Without --out: XDG_CACHE_HOME/paramscope.
    const analyzed = runCli(['analyze', exampleBase, '--include', '*.q_proj.*', '--jsonl'], env);
    expect(analyzed.status).toBe(0);
    expect(entries(path.join(dir, 'xdg', 'paramscope')).length).toBe(4);
  });

  it('analyze and lora are served from the cache too', () => {
    const { base: exampleBase } = ensureExample(path.join(dir, 'example'));
    const cache = path.join(dir, 'shared-cache');
    const run = (args: string[]) => {
      const r = runCli([...args, '--jsonl', '--cache', cache]);
      expect(r.status).toBe(0);
      return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as RunEvent);
    };
    const analyzeArgs = ['analyze', exampleBase, '--include', '*.mlp.*'];
    expect(matrixEvents(run(analyzeArgs)).map((m) => m.cached)).toEqual(Array(12).fill(false));
    expect(matrixEvents(run(analyzeArgs)).map((m) => m.cached)).toEqual(Array(12).fill(true));

    const adapter = path.join(dir, 'adapter');
    fs.mkdirSync(adapter, { recursive: true });
    const tensors: Parameters<typeof writeSafetensorsSync>[1] = {};
    const key = 'base_model.model.model.layers.1.self_attn.q_proj';
    tensors[`${key}.lora_A.weight`] = { dtype: 'F32', shape: [4, 256], data: Float32Array.from({ length: 1024 }, (_, i) => Math.sin(0.3 * i)) };
    tensors[`${key}.lora_B.weight`] = { dtype: 'F32', shape: [256, 4], data: Float32Array.from({ length: 1024 }, (_, i) => Math.cos(0.7 * i)) };
    writeSafetensorsSync(path.join(adapter, 'adapter_model.safetensors'), tensors);
    fs.writeFileSync(path.join(adapter, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 8 }));
    const loraArgs = ['lora', adapter, '--base', exampleBase];
    const first = run(loraArgs);
    expect(summaryOf(first)?.cache).toMatchObject({ hits: 0, misses: 3 }); // ΔW, the base weight, ΔW's vectors
    const second = run(loraArgs);
    expect(matrixEvents(second).map((m) => m.cached)).toEqual([true]);
    expect(summaryOf(second)?.cache).toMatchObject({ hits: 3, misses: 0 });
  });

  it('a --cache that cannot be used is WRITE_FAILED; --cache with --no-cache is bad input', () => {
    const { base: exampleBase } = ensureExample(path.join(dir, 'example'));
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'not a directory');
    const bad = runCli(['analyze', exampleBase, '--cache', path.join(file, 'cache')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/WRITE_FAILED: cannot use .*a-file\/cache as the result cache/);
    const both = runCli(['analyze', exampleBase, '--cache', path.join(dir, 'c'), '--no-cache']);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/INVALID_ARGUMENT/);
  });
});

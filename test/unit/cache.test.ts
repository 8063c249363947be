/**
 * The result cache (lib/engine/cache.ts, docs/cache.md): exact round trip of engine results, keys that
 * change with everything that determines a result and only with that, entries that are corrupt,
 * truncated, foreign, oversize or of the wrong shape ignored and rewritten (never trusted), atomic
 * writes, the in-memory cache's budget, and the default location.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxEntryBytes, ResultCache } from '../../lib/engine/cache';
import { decodeResult, encodeResult } from '../../lib/engine/cache-codec';
import { CacheKeyBuilder } from '../../lib/engine/cache-key';
import { defaultCacheDir } from '../../lib/engine/cache-location';
import type { MatrixJob } from '../../lib/engine/matrix-job';
import { engineOptions } from '../../lib/engine/options';
import { runSpectra } from '../../lib/engine/run';
import { isFailed, type SpectrumOptions, type SpectrumResult } from '../../lib/engine/types';
import { type Checkpoint, openCheckpoint } from '../../lib/read/checkpoint';
import { encodeFloat32, writeSafetensorsSync } from '../../lib/read/writer';
import { temporaryDirectory } from '../helpers/paths';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

const random = (n: number, seed: number) => {
  const next = seeded(seed);
  return Float32Array.from({ length: n }, next);
};

async function collect(jobs: MatrixJob[], options: SpectrumOptions): Promise<SpectrumResult[]> {
  const out: SpectrumResult[] = [];
  for await (const o of runSpectra(jobs, options)) {
    if (isFailed(o)) throw new Error(`${o.name}: ${o.error.message}`);
    out[o.index] = o;
  }
  return out;
}

/** A result without the fields that say when and how fast (and whether) it was computed. */
function numbers(r: SpectrumResult): Omit<SpectrumResult, 'seconds' | 'timing' | 'cached'> {
  const { seconds: _s, timing: _t, cached: _c, ...rest } = r;
  return rest;
}

describe('result cache', () => {
  let dir: string;
  let cleanup: () => void;
  let base: Checkpoint;
  let tuned: Checkpoint;
  let jobs: MatrixJob[];
  let cacheRuns = 0;
  const freshCache = () => path.join(dir, `cache-${++cacheRuns}`);

  beforeAll(async () => {
    ({ dir, cleanup } = temporaryDirectory());
    const tensors = (seed: number, shift: number) => ({
      'layers.0.q_proj.weight': { dtype: 'F32' as const, shape: [40, 24], data: random(960, seed).map((x, i) => x + shift * Math.sin(i)) },
      'layers.0.v_proj.weight': { dtype: 'BF16' as const, shape: [24, 40], data: encodeFloat32(random(960, seed + 1).map((x, i) => x + shift * Math.cos(i)), 'BF16') },
      'layers.1.q_proj.weight': { dtype: 'F32' as const, shape: [40, 24], data: random(960, seed + 2) },
    });
    writeSafetensorsSync(path.join(dir, 'base.safetensors'), tensors(1, 0));
    writeSafetensorsSync(path.join(dir, 'tuned.safetensors'), tensors(1, 0.01));
    base = await openCheckpoint(path.join(dir, 'base.safetensors'));
    tuned = await openCheckpoint(path.join(dir, 'tuned.safetensors'));
    const diffJob = (name: string): MatrixJob => ({ kind: 'diff', name, tuned: { checkpoint: tuned, tensor: name }, base: { checkpoint: base, tensor: name } });
    jobs = [
      diffJob('layers.0.q_proj.weight'),
      diffJob('layers.0.v_proj.weight'),
      { kind: 'dense', name: 'dense', source: { checkpoint: base, tensor: 'layers.1.q_proj.weight' } },
      { kind: 'lowrank', name: 'lowrank', rows: 30, cols: 20, rank: 3, b: random(90, 7), a: random(60, 8), scale: 0.5 },
    ];
  });
  afterAll(() => {
    base.close();
    tuned.close();
    cleanup();
  });

  it('round-trips results bit for bit, non-finite numbers and −0 included', async () => {
    const [result] = await collect(jobs.slice(0, 1), { mode: 'truncated', rank: 6, vectors: true });
    const probe = { ...(result as SpectrumResult), extra: { nan: NaN, inf: Infinity, ninf: -Infinity, nzero: -0, f32: Float32Array.of(1.5, -0, NaN) } };
    const back = decodeResult(encodeResult(probe)) as typeof probe;
    expect(back.values).toBeInstanceOf(Float64Array);
    expect(back.u).toBeInstanceOf(Float64Array);
    expect(back.extra.f32).toBeInstanceOf(Float32Array);
    expect(Buffer.from((back.u as Float64Array).buffer).equals(Buffer.from((probe.u as Float64Array).buffer))).toBe(true);
    expect(Object.is(back.extra.nan, NaN) && Object.is(back.extra.nzero, -0) && back.extra.inf === Infinity && back.extra.ninf === -Infinity).toBe(true);
    expect(back).toEqual(probe);
  });

  it('a second run finds every result, equal to the first to the bit, and computes nothing', async () => {
    const cache = freshCache();
    const first = await collect(jobs, { mode: 'exact', cache });
    expect(first.every((r) => !r.cached)).toBe(true);
    const shared = new ResultCache(cache);
    const second = await collect(jobs, { mode: 'exact', cache: shared });
    expect(second.every((r) => r.cached === true)).toBe(true);
    expect(shared.counts()).toEqual({ hits: 4, misses: 0, written: 0, rejected: 0, writeErrors: 0 });
    expect(second.map(numbers)).toEqual(first.map(numbers));
    // Names and positions are the run's own, not the entry's.
    expect(second.map((r) => [r.index, r.name])).toEqual(jobs.map((j, i) => [i, j.name]));
    // Writes are atomic: the finished entries, no temporary file left behind.
    const files = fs.readdirSync(cache, { recursive: true }) as string[];
    expect(files.filter((f) => f.endsWith('.entry'))).toHaveLength(4);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(fs.readFileSync(path.join(cache, 'CACHEDIR.TAG'), 'utf8')).toMatch(/^Signature: 8a477f597d28d172789f06886806bc55/);
  });

  it('keys change with every option that changes the numbers, and only with those', async () => {
    const keyOf = async (job: MatrixJob, options: SpectrumOptions) => (await new CacheKeyBuilder(engineOptions(options)).key(job))?.hash;
    const reference = { mode: 'truncated', rank: 8 } as const;
    const job = jobs[0] as MatrixJob;
    const k0 = await keyOf(job, reference);
    expect(k0).toMatch(/^[0-9a-f]{64}$/);
    const numeric: SpectrumOptions[] = [
      { mode: 'exact' }, { rank: 9 }, { oversampling: 3 }, { powerIterations: 5 }, { tolerance: 1e-3 }, { maxIterations: 7 },
      { seed: 42 }, { precision: 'f64' }, { exactRoute: 'direct' }, { vectors: true }, { backend: 'cpu' },
    ];
    const keys = await Promise.all(numeric.map((o) => keyOf(job, { ...reference, ...o })));
    expect(new Set([k0, ...keys]).size).toBe(numeric.length + 1);
    for (const o of [{ threads: 1 }, { parallelMatrices: 2 }, { memoryBudget: 2 ** 26 }] as SpectrumOptions[])
      expect(await keyOf(job, { ...reference, ...o })).toBe(k0);
    // The job's own `vectors` is the one that counts.
    expect(await keyOf({ ...job, vectors: true }, reference)).toBe(await keyOf(job, { ...reference, vectors: true }));
    // What is read: other rows, another tensor, a transposition, the other operand order.
    const d = job as Extract<MatrixJob, { kind: 'diff' }>;
    const variants: MatrixJob[] = [
      { ...d, rows: 20 },
      { ...d, tuned: { ...d.tuned, tensor: 'layers.1.q_proj.weight' } },
      { ...d, tuned: { ...d.tuned, transpose: true }, base: { ...d.base, transpose: true } },
      { ...d, tuned: d.base, base: d.tuned },
    ];
    const variantKeys = await Promise.all(variants.map((v) => keyOf(v, reference)));
    expect(new Set([k0, ...variantKeys]).size).toBe(variants.length + 1);
    // A low-rank job: its scale and the bytes of its factors; the job's name never.
    const lr = jobs[3] as Extract<MatrixJob, { kind: 'lowrank' }>;
    const l0 = await keyOf(lr, reference);
    const b = lr.b.slice();
    b[5] = (b[5] as number) + 2 ** -20;
    expect(await keyOf({ ...lr, scale: 0.25 }, reference)).not.toBe(l0);
    expect(await keyOf({ ...lr, b }, reference)).not.toBe(l0);
    expect(await keyOf({ ...lr, name: 'other' }, reference)).toBe(l0);
  });

  it('a rewritten file changes the key of every job that reads it (mtime, size or inode)', async () => {
    const file = path.join(dir, 'rewritten.safetensors');
    const write = (seed: number) => writeSafetensorsSync(file, { w: { dtype: 'F32', shape: [8, 8], data: random(64, seed) } });
    write(1);
    const keyNow = async () => {
      const ckpt = await openCheckpoint(file);
      try {
        return (await new CacheKeyBuilder(engineOptions({})).key({ kind: 'dense', name: 'w', source: { checkpoint: ckpt, tensor: 'w' } }))?.hash;
      } finally {
        ckpt.close();
      }
    };
    const before = await keyNow();
    expect(await keyNow()).toBe(before);
    write(2); // same size, same header: new content
    const old = new Date(Date.now() - 3_600_000);
    fs.utimesSync(file, old, old);
    expect(await keyNow()).not.toBe(before);
  });

  describe('entries that are not what they should be are ignored and rewritten', () => {
    const job = () => jobs[0] as MatrixJob;
    const options = { mode: 'truncated', rank: 6, vectors: true } as const;

    /** Fills a cache with the job's entry; returns its directory, the entry's path and the good result. */
    async function filled(): Promise<{ cache: string; entry: string; good: SpectrumResult }> {
      const cache = freshCache();
      const [good] = await collect([job()], { ...options, cache });
      const key = await new CacheKeyBuilder(engineOptions(options)).key(job());
      return { cache, entry: new ResultCache(cache).entryPath(key?.hash as string), good: good as SpectrumResult };
    }

    /** Runs again: the entry is rejected, the result recomputed (equal), the entry rewritten (the next run hits). */
    async function expectRejectedAndRewritten(cache: string, good: SpectrumResult, entry: string): Promise<void> {
      const shared = new ResultCache(cache);
      const [again] = await collect([job()], { ...options, cache: shared });
      expect(again?.cached).toBeFalsy();
      expect(shared.counts()).toMatchObject({ hits: 0, misses: 1, rejected: 1, written: 1 });
      expect(numbers(again as SpectrumResult)).toEqual(numbers(good));
      expect(fs.statSync(entry).isFile()).toBe(true);
      const [third] = await collect([job()], { ...options, cache });
      expect(third?.cached).toBe(true);
    }

    it('a flipped byte in the payload (checksum)', async () => {
      const { cache, entry, good } = await filled();
      const bytes = fs.readFileSync(entry);
      const at = bytes.indexOf('"frobeniusSquared":') + 20;
      bytes[at] = bytes[at] === 0x31 ? 0x32 : 0x31;
      fs.writeFileSync(entry, bytes);
      await expectRejectedAndRewritten(cache, good, entry);
    });

    it('a truncated entry', async () => {
      const { cache, entry, good } = await filled();
      const bytes = fs.readFileSync(entry);
      fs.writeFileSync(entry, bytes.subarray(0, Math.floor(bytes.length / 2)));
      await expectRejectedAndRewritten(cache, good, entry);
    });

    it('an empty entry, and one that is not JSON at all', async () => {
      for (const content of [Buffer.alloc(0), Buffer.from('\u0000\u0001garbage\n{]')]) {
        const { cache, entry, good } = await filled();
        fs.writeFileSync(entry, content);
        await expectRejectedAndRewritten(cache, good, entry);
      }
    });

    it('a foreign entry: another job\'s valid entry under this key', async () => {
      const { cache, entry, good } = await filled();
      await collect([jobs[2] as MatrixJob], { ...options, cache });
      const otherKey = await new CacheKeyBuilder(engineOptions(options)).key(jobs[2] as MatrixJob);
      fs.copyFileSync(new ResultCache(cache).entryPath(otherKey?.hash as string), entry);
      await expectRejectedAndRewritten(cache, good, entry);
    });

    it('a consistent entry (header, length, checksum, key) whose result has another shape', async () => {
      const { cache, entry, good } = await filled();
      const text = fs.readFileSync(entry, 'utf8');
      const header = JSON.parse(text.slice(0, text.indexOf('\n'))) as Record<string, unknown>;
      const payload = decodeResult(text.slice(text.indexOf('\n') + 1)) as { key: unknown; result: SpectrumResult };
      payload.result = { ...payload.result, rows: payload.result.rows + 1 };
      const body = Buffer.from(encodeResult(payload));
      const sha256 = (await import('node:crypto')).createHash('sha256').update(body).digest('hex');
      fs.writeFileSync(entry, Buffer.concat([Buffer.from(JSON.stringify({ ...header, bytes: body.length, sha256 }) + '\n'), body]));
      await expectRejectedAndRewritten(cache, good, entry);
    });

    it('an oversize entry is refused without being read, even when it is otherwise valid', async () => {
      const { cache, entry, good } = await filled();
      const key = await new CacheKeyBuilder(engineOptions(options)).key(job());
      const text = fs.readFileSync(entry, 'utf8');
      const header = JSON.parse(text.slice(0, text.indexOf('\n'))) as Record<string, unknown>;
      // JSON allows trailing white space: a valid payload, checksummed, just larger than any result of this job.
      const padding = maxEntryBytes(key?.expect as NonNullable<typeof key>['expect']);
      const body = Buffer.concat([Buffer.from(text.slice(text.indexOf('\n') + 1)), Buffer.alloc(padding, 0x20)]);
      const sha256 = (await import('node:crypto')).createHash('sha256').update(body).digest('hex');
      fs.writeFileSync(entry, Buffer.concat([Buffer.from(JSON.stringify({ ...header, bytes: body.length, sha256 }) + '\n'), body]));
      await expectRejectedAndRewritten(cache, good, entry);
    });

    it('a directory where the entry should be: refused, the write fails, the run still succeeds', async () => {
      const { cache, entry, good } = await filled();
      fs.rmSync(entry);
      fs.mkdirSync(entry);
      const shared = new ResultCache(cache);
      const [again] = await collect([job()], { ...options, cache: shared });
      expect(numbers(again as SpectrumResult)).toEqual(numbers(good));
      expect(shared.counts()).toMatchObject({ hits: 0, misses: 1, rejected: 1, written: 0, writeErrors: 1 });
      expect(shared.lastWriteError).toBeTruthy();
    });
  });

  it('failures are not cached: a matrix with a NaN is computed (and fails) again', async () => {
    const file = path.join(dir, 'nan.safetensors');
    const data = random(64, 3);
    data[10] = NaN;
    writeSafetensorsSync(file, { w: { dtype: 'F32', shape: [8, 8], data } });
    const ckpt = await openCheckpoint(file);
    try {
      const cache = new ResultCache(freshCache());
      const nanJob: MatrixJob = { kind: 'dense', name: 'w', source: { checkpoint: ckpt, tensor: 'w' } };
      for (let run = 0; run < 2; run++) {
        const outcomes = [];
        for await (const o of runSpectra([nanJob], { cache })) outcomes.push(o);
        expect(outcomes.map((o) => isFailed(o) && o.error.code)).toEqual(['NON_FINITE_INPUT']);
      }
      expect(cache.counts()).toMatchObject({ hits: 0, misses: 2, written: 0 });
    } finally {
      ckpt.close();
    }
  });

  it('in memory (no directory): results are found again within the budget, the oldest dropped beyond it', async () => {
    const cache = new ResultCache(null, { memoryBudget: 3 * 1024 + 2 * 24 * 8 + 2 * 20 * 8 + 100 });
    await collect(jobs.slice(0, 1), { mode: 'exact', cache });
    await collect(jobs.slice(0, 1), { mode: 'exact', cache });
    expect(cache.counts()).toMatchObject({ hits: 1, misses: 1 });
    await collect(jobs.slice(1, 4), { mode: 'exact', cache }); // three more: the budget holds two or three
    await collect(jobs.slice(0, 1), { mode: 'exact', cache });
    expect(cache.counts()).toMatchObject({ hits: 1, misses: 5 });
  });

  it('the default location: PARAMSCOPE_CACHE_DIR, else <out>/cache, else XDG_CACHE_HOME/paramscope, else ~/.cache/paramscope', () => {
    expect(defaultCacheDir('out', { PARAMSCOPE_CACHE_DIR: '/scratch/c', XDG_CACHE_HOME: '/x' })).toBe('/scratch/c');
    expect(defaultCacheDir('/r/out', { PARAMSCOPE_CACHE_DIR: '', XDG_CACHE_HOME: '/x' })).toBe('/r/out/cache');
    expect(defaultCacheDir(undefined, { XDG_CACHE_HOME: '/x' })).toBe('/x/paramscope');
    expect(defaultCacheDir(undefined, { XDG_CACHE_HOME: 'relative' })).toMatch(/\.cache\/paramscope$/);
    expect(defaultCacheDir(undefined, {})).toMatch(/\.cache\/paramscope$/);
  });
});

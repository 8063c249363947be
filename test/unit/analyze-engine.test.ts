/**
 * The engine seen from JS: streaming order and progress, determinism, AbortSignal, early break, NaN and
 * zero matrices, option validation, and the addon loaded and used inside worker_threads.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, analyzeCheckpoint } from '../../lib/analyze';
import { type EngineProgress } from '../../lib/engine/types';
import { ParamscopeError } from '../../lib/errors';
import { seededGaussian } from '../../lib/results/random';
import { writeSafetensorsSync } from '../../lib/read/writer';
import type { TensorAnalysis } from '../../lib/report/model';
import { repoRoot, temporaryDirectory } from '../helpers/paths';

function gaussian(rows: number, cols: number, seed: number): Float32Array {
  const next = seededGaussian(seed);
  return Float32Array.from({ length: rows * cols }, next);
}

describe('analysis engine', () => {
  let dir: string;
  let cleanup: () => void;
  let small: string;
  let large: string;

  beforeAll(() => {
    ({ dir, cleanup } = temporaryDirectory());
    small = path.join(dir, 'small.safetensors');
    const withNaN = gaussian(20, 30, 3);
    withNaN[17] = Number.NaN;
    withNaN[100] = Number.POSITIVE_INFINITY;
    writeSafetensorsSync(small, {
      'a.weight': { dtype: 'F32', shape: [40, 25], data: gaussian(40, 25, 1) },
      'b.weight': { dtype: 'F32', shape: [30, 60], data: gaussian(30, 60, 2) },
      'bad.weight': { dtype: 'F32', shape: [20, 30], data: withNaN },
      'zero.weight': { dtype: 'F32', shape: [8, 12], data: new Float32Array(96) },
      'conv.weight': { dtype: 'F32', shape: [6, 2, 3, 3], data: gaussian(6, 18, 4) },
      'norm.weight': { dtype: 'F32', shape: [25], data: gaussian(1, 25, 5) },
      'ids': { dtype: 'I64', shape: [4, 4], data: new BigInt64Array(16) },
    });
    large = path.join(dir, 'large.safetensors');
    const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
    for (let i = 0; i < 6; i++) tensors[`layers.${i}.weight`] = { dtype: 'F32', shape: [900, 1200], data: gaussian(900, 1200, 10 + i) };
    writeSafetensorsSync(large, tensors);
  });
  afterAll(() => cleanup());

  it('streams every matrix in order, reshapes higher-rank tensors, and lists what it skipped', async () => {
    const progress: EngineProgress[] = [];
    const report = await analyzeCheckpoint(small, { onProgress: (p) => progress.push(p) });
    expect(report.tensors.map((t) => t.name)).toEqual(['a.weight', 'b.weight', 'bad.weight', 'zero.weight', 'conv.weight']);
    const conv = report.tensors[4] as TensorAnalysis;
    expect([conv.rows, conv.cols, conv.reshaped]).toEqual([6, 18, true]);
    expect(report.skipped).toEqual([
      { name: 'norm.weight', reason: 'not-a-matrix' },
      { name: 'ids', reason: 'not-float' },
    ]);
    expect(progress.length).toBeGreaterThan(0);
    const last = progress[progress.length - 1] as EngineProgress;
    expect(last.jobsDone).toBe(5);
    expect(last.jobsTotal).toBe(5);
    for (let i = 1; i < progress.length; i++) expect((progress[i] as EngineProgress).jobsDone).toBeGreaterThanOrEqual((progress[i - 1] as EngineProgress).jobsDone);
  });

  it('reports NaN/Inf input as NON_FINITE_INPUT for that matrix only, and a zero matrix as zeros', async () => {
    const report = await analyzeCheckpoint(small);
    const bad = report.tensors.find((t) => t.name === 'bad.weight');
    expect(bad?.error?.code).toBe('NON_FINITE_INPUT');
    expect(bad?.error?.message).toContain('2 NaN or infinite value');
    const zero = report.tensors.find((t) => t.name === 'zero.weight');
    expect(Array.from(zero?.spectrum?.values ?? [1])).toEqual(new Array(8).fill(0));
    expect(zero?.metrics?.stableRank).toBe(0);
    expect(report.totals.failed).toBe(1);
  });

  it('is deterministic: the same seed gives bit-identical truncated spectra', async () => {
    const run = async (seed: number) => {
      const out: number[][] = [];
      for await (const t of analyze(large, { mode: 'truncated', rank: 8, seed, include: ['layers.0.*', 'layers.1.*'] })) out.push(Array.from(t.spectrum?.values ?? []));
      return out;
    };
    const first = await run(42);
    expect(await run(42)).toEqual(first);
    expect(first).toHaveLength(2);
    expect(first[0]).toHaveLength(8);
  });

  it('computes several matrices at once (largest first) and still streams them in job order, with the same spectra', async () => {
    // Shapes of different sizes, so the largest-first order differs from the job order.
    const mixed = path.join(dir, 'mixed.safetensors');
    const shapes: Array<[number, number]> = [[50, 40], [400, 300], [90, 700], [30, 30], [600, 200], [120, 120]];
    writeSafetensorsSync(mixed, Object.fromEntries(shapes.map(([r, c], i) => [`m${i}.weight`, { dtype: 'F32' as const, shape: [r, c], data: gaussian(r, c, 40 + i) }])));
    const run = async (parallelMatrices: number, mode: 'exact' | 'truncated') => {
      const names: string[] = [];
      const values: number[][] = [];
      let lastProgress: EngineProgress | undefined;
      for await (const t of analyze(mixed, { mode, rank: 8, parallelMatrices, onProgress: (p) => { lastProgress = p; } })) {
        names.push(t.name);
        values.push(Array.from(t.spectrum?.values ?? []).slice(0, 8));
      }
      return { names, values, lastProgress };
    };
    for (const mode of ['truncated', 'exact'] as const) {
      const one = await run(1, mode), two = await run(2, mode), three = await run(3, mode);
      const order = shapes.map((_, i) => `m${i}.weight`);
      for (const r of [one, two, three]) {
        expect(r.names).toEqual(order);
        expect(r.lastProgress?.jobsDone).toBe(6);
      }
      // One BLAS thread per matrix or all threads on one: the same spectra up to rounding.
      for (const r of [two, three])
        r.values.forEach((v, i) => v.forEach((x, j) => expect(Math.abs(x - (one.values[i] as number[])[j] as number)).toBeLessThanOrEqual(1e-9 * ((one.values[i] as number[])[0] as number))));
    }
    const invalid = await analyzeCheckpoint(small, { parallelMatrices: -1 }).catch((e: unknown) => e as ParamscopeError);
    expect((invalid as ParamscopeError).code).toBe('INVALID_ARGUMENT');
    expect((invalid as ParamscopeError).message).toContain('parallelMatrices');
  });

  it('AbortSignal stops the engine with ABORTED before all matrices are done', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    const run = (async () => {
      for await (const t of analyze(large, { mode: 'exact', signal: controller.signal })) {
        seen.push(t.name);
        controller.abort(new Error('enough'));
      }
    })();
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParamscopeError);
    expect((error as ParamscopeError).code).toBe('ABORTED');
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen.length).toBeLessThan(6);
  });

  it('breaking out of the loop cancels the remaining work', async () => {
    let count = 0;
    for await (const _ of analyze(large, { mode: 'exact' })) {
      count++;
      break;
    }
    expect(count).toBe(1);
    // The engine is free again: a new analysis runs to completion.
    const report = await analyzeCheckpoint(small, { include: ['a.weight'] });
    expect(report.tensors).toHaveLength(1);
  });

  it('validates options with one wording', async () => {
    const attempt = (options: object) => analyzeCheckpoint(small, options).catch((e: unknown) => e as ParamscopeError);
    const wrongMode = await attempt({ mode: 'fast' });
    expect(wrongMode).toBeInstanceOf(ParamscopeError);
    expect((wrongMode as ParamscopeError).code).toBe('INVALID_ARGUMENT');
    expect((wrongMode as ParamscopeError).message).toBe(`mode: expected 'exact' or 'truncated', got "fast"`);
    expect(((await attempt({ rank: 0 })) as ParamscopeError).code).toBe('INVALID_ARGUMENT');
    expect(((await attempt({ tolerance: -1 })) as ParamscopeError).code).toBe('INVALID_ARGUMENT');
  });

  it('loads and runs inside worker_threads, twice at once', async () => {
    const script = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { analyzeCheckpoint } = require(workerData.entry);
      analyzeCheckpoint(workerData.file, { include: ['a.weight', 'b.weight'] })
        .then((r) => parentPort.postMessage(r.tensors.map((t) => t.spectrum.values[0])))
        .catch((e) => parentPort.postMessage({ error: e.code + ': ' + e.message }));`;
    const entry = path.join(repoRoot, 'dist', 'index.js');
    const runWorker = () =>
      new Promise<unknown>((resolve, reject) => {
        const worker = new Worker(script, { eval: true, workerData: { entry, file: small } });
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    const inMain = (await analyzeCheckpoint(small, { include: ['a.weight', 'b.weight'] })).tensors.map((t) => t.spectrum?.values[0]);
    const [a, b] = await Promise.all([runWorker(), runWorker()]);
    expect(a).toEqual(inMain);
    expect(b).toEqual(inMain);
  });
});

/**
 * `trajectory` on generated full checkpoints with a planted growth (docs/trajectory.md): the update of
 * every matrix has rank 2, 4, 6 at steps 100, 200, 300, with growing strength. Against a float64
 * reference computed here from the stored values (one-sided Jacobi SVD): relative updates, energy
 * effective ranks, step updates, the number of directions compared and the overlap of consecutive top
 * singular subspaces on both sides. Also: the events validate and end with the trajectory document, the
 * report validates against docs/trajectory.schema.json, the base side is computed once (cache counts),
 * a second run over a disk cache computes nothing and reports the same, and the CLI's outputs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCache } from '../../lib/engine/cache';
import { writeSafetensorsSync } from '../../lib/read/writer';
import type { RunEvent, SummaryEvent } from '../../lib/report/events';
import type { TrajectoryReport } from '../../lib/report/trajectory-model';
import { trajectory } from '../../lib/trajectory';
import { runCli } from '../helpers/cli';
import { jacobiSvd, subspaceSimilarity } from '../helpers/dense-svd';
import { grammarErrors, schemaErrors } from '../helpers/event-stream';
import { validate } from '../helpers/json-schema';
import { repoRoot, temporaryDirectory } from '../helpers/paths';

const STEPS = [100, 200, 300];
const RANKS = [2, 4, 6];
const SHAPES: Record<string, [number, number]> = { 'self_attn.q_proj': [48, 40], 'mlp.down_proj': [40, 64] };
const LAYERS = 3;

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

interface Planted {
  name: string;
  rows: number;
  cols: number;
  base: Float32Array;
  steps: Float32Array[];
}

/** W_base random; W_s = W_base + Σ_{i<r_s} c_i(s)·x_i·y_iᵀ with r_s = 2, 4, 6 and c_i(s) = s·(1 − 0.12·i), stored in F32. */
function plant(): Planted[] {
  const next = seeded(2024);
  const out: Planted[] = [];
  for (let layer = 0; layer < LAYERS; layer++)
    for (const [module, [rows, cols]] of Object.entries(SHAPES)) {
      const base = Float32Array.from({ length: rows * cols }, () => next());
      const xs = Array.from({ length: 6 }, () => Float64Array.from({ length: rows }, next));
      const ys = Array.from({ length: 6 }, () => Float64Array.from({ length: cols }, next));
      const steps = RANKS.map((rank, s) => {
        const w = Float32Array.from(base);
        for (let i = 0; i < rank; i++) {
          const c = (s + 1) * (1 - 0.12 * i) * (1 + 0.3 * layer);
          for (let a = 0; a < rows; a++) for (let b = 0; b < cols; b++) w[a * cols + b] = (w[a * cols + b] as number) + c * (xs[i]![a] as number) * (ys[i]![b] as number);
        }
        return w;
      });
      out.push({ name: `model.layers.${layer}.${module}.weight`, rows, cols, base, steps });
    }
  return out;
}

const delta = (w: Float32Array, b: Float32Array) => Float64Array.from(w, (x, i) => x - (b[i] as number));
const frob2 = (a: ArrayLike<number>) => Array.from(a).reduce((s, x) => s + x * x, 0);
function energyEffectiveRank(values: readonly number[]): number {
  const total = values.reduce((s, v) => s + v * v, 0);
  let h = 0;
  for (const v of values) {
    const p = (v * v) / total;
    if (p > 0) h -= p * Math.log(p);
  }
  return Math.exp(h);
}

describe('trajectory: full checkpoints with a planted growth', () => {
  let dir: string;
  let cleanup: () => void;
  let planted: Planted[];
  let basePath: string;
  let runDir: string;
  let report: TrajectoryReport;
  let events: RunEvent[];
  let cache: ResultCache;

  beforeAll(async () => {
    ({ dir, cleanup } = temporaryDirectory());
    planted = plant();
    basePath = path.join(dir, 'base');
    fs.mkdirSync(basePath);
    writeSafetensorsSync(path.join(basePath, 'model.safetensors'), Object.fromEntries(planted.map((p) => [p.name, { dtype: 'F32' as const, shape: [p.rows, p.cols], data: p.base }])));
    runDir = path.join(dir, 'run');
    for (const [s, step] of STEPS.entries()) {
      const ckpt = path.join(runDir, `checkpoint-${step}`);
      fs.mkdirSync(ckpt, { recursive: true });
      writeSafetensorsSync(path.join(ckpt, 'model.safetensors'), Object.fromEntries(planted.map((p) => [p.name, { dtype: 'F32' as const, shape: [p.rows, p.cols], data: p.steps[s] as Float32Array }])));
    }
    fs.writeFileSync(path.join(runDir, 'checkpoint-200', 'trainer_state.json'), JSON.stringify({ global_step: 200, log_history: [] }));
    events = [];
    cache = new ResultCache(null);
    ({ report } = await trajectory(basePath, [runDir], { mode: 'exact', cache, onEvent: (e) => events.push(e) }));
  });
  afterAll(() => cleanup());

  it('reads the run directory in step order', () => {
    expect(report.steps.map((s) => s.step)).toEqual(STEPS);
    expect(report.steps.map((s) => s.stepSource)).toEqual(['name', 'trainer_state.json', 'name']);
    expect(report.steps[0]?.vsPrevious).toBeNull();
    expect(report.steps[0]?.settling).toBeNull();
    expect(report.matrices.map((m) => m.name)).toEqual(planted.map((p) => p.name));
  });

  it('relative updates, effective ranks and step updates equal the float64 reference', () => {
    for (const p of planted) {
      const m = report.matrices.find((x) => x.name === p.name);
      expect(m, p.name).toBeDefined();
      const ranks: number[] = [];
      p.steps.forEach((w, s) => {
        const d = delta(w, p.base);
        const svd = jacobiSvd(d, p.rows, p.cols);
        const eff = energyEffectiveRank(svd.values);
        ranks.push(eff);
        expect(m?.energyEffectiveRank[s]).toBeCloseTo(eff, 6);
        expect(m?.energyEffectiveRankRatio[s]).toBeCloseTo(eff / Math.min(p.rows, p.cols), 7);
        expect(Math.abs((m?.relativeUpdate[s] as number) / Math.sqrt(frob2(d) / frob2(p.base)) - 1)).toBeLessThan(1e-9);
        if (s === 0) expect(m?.stepUpdate[s]).toBeNull();
        else {
          const stepDelta = delta(w, p.steps[s - 1] as Float32Array);
          const expected = Math.sqrt(frob2(stepDelta) / frob2(delta(p.steps[s - 1] as Float32Array, p.base)));
          expect(Math.abs((m?.stepUpdate[s] as number) / expected - 1)).toBeLessThan(1e-9);
        }
      });
      // The planted growth: every step adds directions.
      expect(ranks[0]).toBeLessThan(ranks[1] as number);
      expect(ranks[1]).toBeLessThan(ranks[2] as number);
    }
  });

  it('the overlap of consecutive top-k subspaces equals the float64 reference, k the directions both steps have', () => {
    for (const p of planted) {
      const m = report.matrices.find((x) => x.name === p.name);
      const svds = p.steps.map((w) => jacobiSvd(delta(w, p.base), p.rows, p.cols));
      // The reference itself: U·Σ·Vᵀ is the matrix.
      const d0 = delta(p.steps[0] as Float32Array, p.base);
      let worst = 0;
      for (let a = 0; a < p.rows; a++)
        for (let b = 0; b < p.cols; b++) {
          let x = 0;
          svds[0]!.values.forEach((sv, k) => (x += sv * (svds[0]!.u[k * p.rows + a] as number) * (svds[0]!.v[k * p.cols + b] as number)));
          worst = Math.max(worst, Math.abs(x - (d0[a * p.cols + b] as number)));
        }
      expect(worst).toBeLessThan(1e-9);
      for (let s = 1; s < STEPS.length; s++) {
        const k = RANKS[s - 1] as number; // min(r_{s−1}, r_s): the planted ranks
        expect(m?.overlapK[s], `${p.name} step ${STEPS[s]}`).toBe(k);
        const left = subspaceSimilarity(svds[s]!.u, svds[s - 1]!.u, p.rows, k);
        const right = subspaceSimilarity(svds[s]!.v, svds[s - 1]!.v, p.cols, k);
        expect(Math.abs((m?.leftOverlap[s] as number) - left), `${p.name} left, step ${STEPS[s]}`).toBeLessThan(1e-5);
        expect(Math.abs((m?.rightOverlap[s] as number) - right), `${p.name} right, step ${STEPS[s]}`).toBeLessThan(1e-5);
        expect(left).toBeLessThan(0.999); // the planted directions move: the test is not of a trivial 1
        expect(m?.leftAnglesDeg[s]).toHaveLength(k);
      }
    }
    const steps = report.steps;
    for (let s = 1; s < steps.length; s++) {
      const lefts = report.matrices.map((m) => m.leftOverlap[s] as number).sort((a, b) => a - b);
      const median = lefts.length % 2 ? lefts[(lefts.length - 1) / 2] : ((lefts[lefts.length / 2 - 1] as number) + (lefts[lefts.length / 2] as number)) / 2;
      expect(steps[s]?.settling?.left.median).toBeCloseTo(median as number, 12);
      expect(steps[s]?.settling?.left.matrices).toBe(planted.length);
    }
  });

  it('per step: the verdict and model summary of diff against the base and the previous step; energy per layer and module', () => {
    for (const s of report.steps) {
      expect(s.vsBase.from).toBe(basePath);
      expect(s.vsBase.verdict.score).toBeGreaterThanOrEqual(0);
      expect(s.vsBase.verdict.score).toBeLessThanOrEqual(1);
      const total = planted.reduce((t, p) => t + frob2(delta(p.steps[report.steps.indexOf(s)] as Float32Array, p.base)), 0);
      expect(s.vsBase.updateEnergy / total).toBeCloseTo(1, 9);
    }
    expect(report.steps[1]?.vsPrevious?.from).toBe(path.join(runDir, 'checkpoint-100'));
    expect(report.byLayer.map((g) => g.key).sort()).toEqual(['0', '1', '2']);
    expect(report.byModule.map((g) => g.key).sort()).toEqual(['down', 'q']);
    for (const [i] of report.steps.entries()) expect(report.byLayer.reduce((t, g) => t + (g.energyShare[i] as number), 0)).toBeCloseTo(1, 12);
    // Layer 2 was planted 1.6× as strong as layer 0.
    const layer = (k: string) => report.byLayer.find((g) => g.key === k) as TrajectoryReport['byLayer'][number];
    expect(layer('2').energy[0] as number).toBeGreaterThan(layer('0').energy[0] as number);
  });

  it('the events validate, the summary is the report, and the report validates against docs/trajectory.schema.json', () => {
    const wire = events.map((e) => JSON.parse(JSON.stringify(e, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))) as RunEvent);
    expect(schemaErrors(wire)).toEqual([]);
    expect(grammarErrors(events)).toEqual([]);
    const plan = events[0] as Extract<RunEvent, { type: 'plan' }>;
    expect(plan.command).toBe('trajectory');
    expect(plan.runs?.map((r) => r.run)).toEqual(['step-100', 'step-100/directions', 'step-200', 'step-200-vs-100', 'step-200/directions', 'step-300', 'step-300-vs-200', 'step-300/directions']);
    const summary = events.at(-1) as SummaryEvent;
    expect((summary.report as TrajectoryReport).schema).toBe('paramscope.trajectory');
    const schema = JSON.parse(fs.readFileSync(path.join(repoRoot, 'docs', 'trajectory.schema.json'), 'utf8')) as Record<string, unknown>;
    expect(validate(JSON.parse(JSON.stringify(report)), schema, { closed: true })).toEqual([]);
  });

  it('the base side and each update\'s vectors are computed once (the in-memory cache of the run)', () => {
    const M = planted.length;
    // Per step: M spectra, 3M direction spectra, M step spectra (not the first), M vector spectra. Found
    // again: each step's vectors (the direction analysis computed them) and W_base's (from the second step).
    const total = STEPS.length * (M + 3 * M + M) + (STEPS.length - 1) * M;
    const hits = STEPS.length * M + (STEPS.length - 1) * M;
    expect(cache.counts()).toMatchObject({ hits, misses: total - hits });
    expect((events.at(-1) as SummaryEvent).cache).toMatchObject({ hits, misses: total - hits });
  });

  it('over a disk cache a second run computes nothing and reports the same; the CLI writes trajectory.json, .md, .csv', async () => {
    const cacheDir = path.join(dir, 'cache');
    const first = await trajectory(basePath, [runDir], { mode: 'exact', cache: cacheDir });
    const shared = new ResultCache(cacheDir);
    const second = await trajectory(basePath, [runDir], { mode: 'exact', cache: shared });
    expect(shared.counts().misses).toBe(0);
    const timeless = (r: TrajectoryReport) => JSON.parse(JSON.stringify({ ...r, createdAt: '' })) as unknown;
    expect(timeless(second.report)).toEqual(timeless(first.report));
    expect(timeless(first.report)).toEqual(timeless({ ...report }));

    const out = path.join(dir, 'out');
    const cli = runCli(['trajectory', basePath, path.join(runDir, 'checkpoint-300'), path.join(runDir, 'checkpoint-100'), path.join(runDir, 'checkpoint-200'), '--mode', 'exact', '--out', out]);
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/^3 checkpoints against .*base, in step order:/);
    expect(cli.stdout.split('\n').filter((l) => /^(100|200|300)\s/.test(l))).toHaveLength(3);
    const written = JSON.parse(fs.readFileSync(path.join(out, 'trajectory.json'), 'utf8')) as TrajectoryReport;
    expect(written.steps.map((s) => s.step)).toEqual(STEPS);
    expect(written.matrices[0]?.leftOverlap).toEqual(report.matrices[0]?.leftOverlap);
    const csv = fs.readFileSync(path.join(out, 'trajectory.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('step,checkpoint,name,layer,module,rows,cols,relative_update,update_energy,energy_effective_rank,energy_effective_rank_ratio,step_update,overlap_k,left_overlap,right_overlap');
    expect(csv).toHaveLength(1 + STEPS.length * planted.length);
    const md = fs.readFileSync(path.join(out, 'trajectory.md'), 'utf8');
    expect(md).toContain('## Energy per layer');
    expect(md.split('\n').filter((l) => /^\| (100|200|300) \|/.test(l))).toHaveLength(3);
    for (const f of ['step-100.report.json', 'step-200-vs-100.report.json', 'step-300.summary.md']) expect(fs.existsSync(path.join(out, f)), f).toBe(true);
  });
});

describe('trajectory: LoRA adapter checkpoints with their base', () => {
  it('relative updates against the base; the base weights\' spectra and each step\'s vectors are computed once', async () => {
    const { dir, cleanup } = temporaryDirectory();
    try {
      const next = seeded(99);
      const shapes: Record<string, [number, number]> = { q_proj: [32, 24], v_proj: [16, 24] };
      const base = path.join(dir, 'base.safetensors');
      const baseWeights = Object.fromEntries(Object.entries(shapes).map(([m, [r, c]]) => [`model.layers.0.self_attn.${m}.weight`, Float32Array.from({ length: r * c }, next)]));
      writeSafetensorsSync(base, Object.fromEntries(Object.entries(baseWeights).map(([n, data]) => [n, { dtype: 'F32' as const, shape: shapes[n.split('.')[4] as string] as [number, number], data }])));
      for (const step of [10, 20]) {
        const ckpt = path.join(dir, 'run', `checkpoint-${step}`);
        fs.mkdirSync(ckpt, { recursive: true });
        fs.writeFileSync(path.join(ckpt, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 4 }));
        const tensors: Parameters<typeof writeSafetensorsSync>[1] = {};
        for (const [m, [r, c]] of Object.entries(shapes)) {
          const key = `base_model.model.model.layers.0.self_attn.${m}`;
          tensors[`${key}.lora_A.weight`] = { dtype: 'F32', shape: [2, c], data: Float32Array.from({ length: 2 * c }, () => next() * step / 10) };
          tensors[`${key}.lora_B.weight`] = { dtype: 'F32', shape: [r, 2], data: Float32Array.from({ length: 2 * r }, next) };
        }
        writeSafetensorsSync(path.join(ckpt, 'adapter_model.safetensors'), tensors);
      }
      const cache = new ResultCache(null);
      const { report, steps } = await trajectory(base, [path.join(dir, 'run')], { cache });
      expect(report.kind).toBe('adapter');
      expect(report.steps.map((s) => s.step)).toEqual([10, 20]);
      const M = 2;
      // Per step: M spectra, M base spectra with vectors, M vectors, M settling vectors (found: `lora` computed them);
      // the second step's base spectra are found too; its step update: M spectra and M base spectra without vectors.
      expect(cache.counts()).toMatchObject({ hits: 3 * M, misses: 7 * M });
      for (const m of report.matrices) {
        const [r, c] = shapes[m.name.split('.')[4] as string] as [number, number];
        expect([m.rows, m.cols]).toEqual([r, c]);
        const pair = steps[1]?.vsBase.pairs.find((p) => p.name === m.name);
        const w = baseWeights[m.name] as Float32Array;
        expect(m.relativeUpdate[1]).toBeCloseTo((pair?.updateNorm as number) / Math.sqrt(frob2(w)), 6);
        expect(m.overlapK[1]).toBe(2);
      }
      expect(report.steps[1]?.vsBase.from).toBe(base);
    } finally {
      cleanup();
    }
  });
});

describe('trajectory docs', () => {
  it('docs/trajectory.schema.json and the field reference of docs/trajectory.md are generated from the schema and current', async () => {
    const { trajectorySchemaText } = await import('../../lib/report/trajectory-schema');
    const { updateTrajectoryDoc } = await import('../../lib/report/schema-doc');
    expect(fs.readFileSync(path.join(repoRoot, 'docs', 'trajectory.schema.json'), 'utf8')).toBe(trajectorySchemaText());
    const page = fs.readFileSync(path.join(repoRoot, 'docs', 'trajectory.md'), 'utf8');
    expect(updateTrajectoryDoc(page)).toBe(page);
    for (const field of ['vsPrevious', 'settling', 'leftOverlap', 'relativeToPreviousUpdate']) expect(page).toContain(`\`${field}\``);
  });
});

/**
 * Mixture-of-experts layouts (docs/formats.md, "Fused experts"): fused 3-D experts analysed per expert in
 * both orientations, fused against fused (transformers-v5 [out, in]; gpt-oss MXFP4 against its BF16
 * [in, out] re-upload, interleaved, with a square down_proj only the family can orient), fused against
 * unfused experts.N weights (Llama-4 [in, out] concatenated; an interleaved gate_up split into even and
 * odd rows), the MoE aggregates and routers; and planning a checkpoint pair of 100k tensors.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeCheckpoint } from '../../lib/analyze';
import { diff } from '../../lib/diff';
import { planAnalysis } from '../../lib/plan/analysis-plan';
import { diffJobs } from '../../lib/plan/jobs';
import { classifyTensor } from '../../lib/plan/modules';
import { pairCheckpoints } from '../../lib/plan/pairing';
import { openCheckpointSync } from '../../lib/read/checkpoint';
import { type TensorToWrite, writeSafetensorsSync } from '../../lib/read/writer';
import type { DiffReport } from '../../lib/report/model';
import { jacobiSingularValues } from '../helpers/dense-svd';
import { bf16, expert, gaussianMatrix, quantizeMxfp4, subtract, takeRows, transpose } from '../helpers/formats';
import { temporaryDirectory } from '../helpers/paths';

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = temporaryDirectory('paramscope-experts-')));
afterAll(() => cleanup());

function checkpoint(name: string, tensors: Record<string, TensorToWrite>, config?: unknown): string {
  const at = path.join(dir, name);
  fs.mkdirSync(at, { recursive: true });
  writeSafetensorsSync(path.join(at, 'model.safetensors'), tensors);
  if (config !== undefined) fs.writeFileSync(path.join(at, 'config.json'), JSON.stringify(config));
  return at;
}

const bf16Tensor = (values: Float64Array, shape: number[]): TensorToWrite => ({ dtype: 'BF16', shape, data: bf16(values).bits });
/** The BF16-rounded values the checkpoint holds. */
const stored = (values: Float64Array) => bf16(values).decoded;

function expectSpectrum(values: ArrayLike<number> | undefined, reference: number[], relative = 2e-6) {
  expect(values?.length).toBe(reference.length);
  const top = reference[0] ?? 1;
  for (let i = 0; i < reference.length; i++) expect(Math.abs(((values as ArrayLike<number>)[i] as number) - (reference[i] as number))).toBeLessThanOrEqual(relative * top + 1e-12);
}

const pairNamed = (report: DiffReport, name: string) => {
  const p = report.pairs.find((x) => x.name === name);
  if (!p) throw new Error(`no pair ${name}; pairs: ${report.pairs.map((x) => x.name).join(', ')}`);
  return p;
};

describe('fused experts, fused on both sides (transformers-v5 [E, 2I, H] / [E, H, I])', () => {
  const E = 4, I = 16, H = 24;
  const gu = [gaussianMatrix(E * 2 * I, H, 1, 0.02), gaussianMatrix(E * 2 * I, H, 2, 0.02)];
  const down = [gaussianMatrix(E * H, I, 3, 0.02), gaussianMatrix(E * H, I, 4, 0.02)];
  const tensors = (k: number): Record<string, TensorToWrite> => ({
    'model.embed_tokens.weight': bf16Tensor(gaussianMatrix(50, H, 9), [50, H]),
    'model.layers.0.mlp.gate.weight': bf16Tensor(gaussianMatrix(E, H, 10 + k, 0.1), [E, H]),
    'model.layers.0.mlp.experts.gate_up_proj': bf16Tensor(gu[k] as Float64Array, [E, 2 * I, H]),
    'model.layers.0.mlp.experts.down_proj': bf16Tensor(down[k] as Float64Array, [E, H, I]),
    'model.layers.0.mlp.shared_experts.up_proj.weight': bf16Tensor(gaussianMatrix(I, H, 20 + k, 0.02), [I, H]),
  });
  let base: string, tuned: string;
  beforeAll(() => {
    base = checkpoint('v5-base', tensors(0), { model_type: 'qwen3_moe', hidden_size: H });
    tuned = checkpoint('v5-tuned', tensors(1), { model_type: 'qwen3_moe', hidden_size: H });
  });

  it('analyze: one matrix per expert, named name[e] and classified as expert e', async () => {
    const report = await analyzeCheckpoint(base, { mode: 'exact' });
    const names = report.tensors.map((t) => t.name);
    for (let e = 0; e < E; e++) {
      expect(names).toContain(`model.layers.0.mlp.experts.gate_up_proj[${e}]`);
      const t = report.tensors.find((x) => x.name === `model.layers.0.mlp.experts.down_proj[${e}]`);
      expect([t?.rows, t?.cols, t?.module.expert, t?.module.type, t?.module.moe]).toEqual([H, I, e, 'down', 'routed']);
      expectSpectrum(t?.spectrum?.values, jacobiSingularValues(expert(stored(down[0] as Float64Array), e, H, I), H, I));
    }
    expect(names).not.toContain('model.layers.0.mlp.experts.gate_up_proj'); // never E × (m·n)
  });

  it('diff: ΔW per expert, aggregates per expert and per routed / shared / router', async () => {
    const report = await diff(base, tuned, { mode: 'exact', directions: false });
    for (let e = 0; e < E; e++) {
      const p = pairNamed(report, `model.layers.0.mlp.experts.gate_up_proj[${e}]`);
      expect([p.rows, p.cols, p.module.expert, p.module.type]).toEqual([2 * I, H, e, 'gate_up']);
      const delta = subtract(expert(stored(gu[1] as Float64Array), e, 2 * I, H), expert(stored(gu[0] as Float64Array), e, 2 * I, H));
      expectSpectrum(p.spectrum?.values, jacobiSingularValues(delta, 2 * I, H));
    }
    expect(report.aggregates.byExpert?.map((g) => [g.key, g.matrices])).toEqual([['0', 2], ['1', 2], ['2', 2], ['3', 2]]);
    expect(report.aggregates.byMoe?.map((g) => g.key).sort()).toEqual(['non-expert', 'routed-experts', 'router', 'shared-experts']);
    expect(pairNamed(report, 'model.layers.0.mlp.gate.weight').module.type).toBe('router');
    expect(report.pairing.notes.join('\n')).toContain('expert by expert');
  });
});

describe('gpt-oss: MXFP4 experts against the BF16 re-upload ([E, H, 2I] interleaved, square down_proj)', () => {
  const E = 3, H = 64, I = 64;
  // The BF16 model in transformers' layout: gate_up [E, H, 2I] (gate = even columns), down [E, I, H].
  const guInOut = gaussianMatrix(E * H, 2 * I, 31, 0.05), downInOut = gaussianMatrix(E * I, H, 32, 0.05);
  // The MXFP4 checkpoint stores [out, in] per expert: the transposes, quantized.
  const outIn = (m: Float64Array, rows: number, cols: number) => {
    const out = new Float64Array(m.length);
    for (let e = 0; e < E; e++) out.set(transpose(expert(m, e, rows, cols), rows, cols), e * rows * cols);
    return out;
  };
  const guMx = quantizeMxfp4(outIn(stored(guInOut), H, 2 * I), E, 2 * I, H);
  const downMx = quantizeMxfp4(outIn(stored(downInOut), I, H), E, H, I);
  const common = (seed: number): Record<string, TensorToWrite> => ({
    'model.embed_tokens.weight': bf16Tensor(gaussianMatrix(40, H, seed), [40, H]),
    'model.layers.0.mlp.router.weight': bf16Tensor(gaussianMatrix(E, H, seed + 1, 0.1), [E, H]),
    'model.layers.0.mlp.router.bias': bf16Tensor(gaussianMatrix(1, E, seed + 2), [E]),
    'model.layers.0.mlp.experts.gate_up_proj_bias': bf16Tensor(gaussianMatrix(E, 2 * I, seed + 3), [E, 2 * I]),
    'model.layers.0.mlp.experts.down_proj_bias': bf16Tensor(gaussianMatrix(E, H, seed + 4), [E, H]),
  });
  let bf16Dir: string, mxDir: string, unfusedDir: string;
  beforeAll(() => {
    bf16Dir = checkpoint('gptoss-bf16', {
      ...common(40),
      'model.layers.0.mlp.experts.gate_up_proj': bf16Tensor(guInOut, [E, H, 2 * I]),
      'model.layers.0.mlp.experts.down_proj': bf16Tensor(downInOut, [E, I, H]),
    });
    mxDir = checkpoint('gptoss-mxfp4', {
      ...common(40),
      'model.layers.0.mlp.experts.gate_up_proj_blocks': { dtype: 'U8', shape: [E, 2 * I, H / 32, 16], data: guMx.blocks },
      'model.layers.0.mlp.experts.gate_up_proj_scales': { dtype: 'U8', shape: [E, 2 * I, H / 32], data: guMx.scales },
      'model.layers.0.mlp.experts.down_proj_blocks': { dtype: 'U8', shape: [E, H, I / 32, 16], data: downMx.blocks },
      'model.layers.0.mlp.experts.down_proj_scales': { dtype: 'U8', shape: [E, H, I / 32], data: downMx.scales },
    }, { model_type: 'gpt_oss', hidden_size: H, quantization_config: { quant_method: 'mxfp4' } });
    // A (hypothetical) unfused save: experts.N.{gate,up,down}_proj.weight as [out, in].
    const unfused: Record<string, TensorToWrite> = { ...common(40) };
    for (let e = 0; e < E; e++) {
      const g = gaussianMatrix(I, H, 50 + e, 0.05), u = gaussianMatrix(I, H, 60 + e, 0.05), d = gaussianMatrix(H, I, 70 + e, 0.05);
      unfused[`model.layers.0.mlp.experts.${e}.gate_proj.weight`] = bf16Tensor(g, [I, H]);
      unfused[`model.layers.0.mlp.experts.${e}.up_proj.weight`] = bf16Tensor(u, [I, H]);
      unfused[`model.layers.0.mlp.experts.${e}.down_proj.weight`] = bf16Tensor(d, [H, I]);
    }
    unfusedDir = checkpoint('gptoss-unfused', unfused, { model_type: 'gpt_oss', hidden_size: H });
  });

  it('decodes the blocks per expert and pairs slice e with the transposed BF16 slice e', async () => {
    const report = await diff(bf16Dir, mxDir, { mode: 'exact', directions: false });
    for (let e = 0; e < E; e++) {
      const gu = pairNamed(report, `model.layers.0.mlp.experts.gate_up_proj[${e}]`);
      expect([gu.rows, gu.cols, gu.tunedLayout, gu.quantizationError]).toEqual([2 * I, H, 'MXFP4', 'tuned']);
      const guRef = subtract(expert(guMx.decoded, e, 2 * I, H), transpose(expert(stored(guInOut), e, H, 2 * I), H, 2 * I));
      expectSpectrum(gu.spectrum?.values, jacobiSingularValues(guRef, 2 * I, H));
      // down_proj is square (H = I): only the family tells that the BF16 side is [in, out].
      const d = pairNamed(report, `model.layers.0.mlp.experts.down_proj[${e}]`);
      const dRef = subtract(expert(downMx.decoded, e, H, I), transpose(expert(stored(downInOut), e, I, H), I, H));
      expectSpectrum(d.spectrum?.values, jacobiSingularValues(dRef, H, I));
    }
    expect(report.pairing.counts['extra-in-tuned'] + report.pairing.counts['missing-in-tuned']).toBe(0);
  });

  it('splits an interleaved fused gate_up into even (gate) and odd (up) rows to meet unfused experts', async () => {
    const report = await diff(mxDir, unfusedDir, { mode: 'exact', directions: false });
    const tunedCkpt = openCheckpointSync(path.join(unfusedDir, 'model.safetensors'));
    try {
      for (let e = 0; e < E; e++) {
        const gate = (await tunedCkpt.read(`model.layers.0.mlp.experts.${e}.gate_proj.weight`)).data;
        const up = (await tunedCkpt.read(`model.layers.0.mlp.experts.${e}.up_proj.weight`)).data;
        const fused = expert(guMx.decoded, e, 2 * I, H);
        for (const [name, half, offset] of [['gate_proj', gate, 0], ['up_proj', up, 1]] as const) {
          const p = pairNamed(report, `model.layers.0.mlp.experts.${e}.${name}.weight`);
          expect([p.rows, p.cols, p.module.expert]).toEqual([I, H, e]);
          const ref = subtract(Float64Array.from(half), takeRows(fused, H, offset, 2, I));
          expectSpectrum(p.spectrum?.values, jacobiSingularValues(ref, I, H));
        }
      }
    } finally {
      tunedCkpt.close();
    }
    expect(report.pairing.notes.join('\n')).toContain('split into its gate and up rows');
    expect(report.pairing.counts['extra-in-tuned']).toBe(0);
  });
});

describe('Llama-4: fused [in, out] experts (concatenated gate_up) against unfused experts.N weights', () => {
  const E = 2, H = 20, I = 12;
  const gu = gaussianMatrix(E * H, 2 * I, 80, 0.05), down = gaussianMatrix(E * I, H, 81, 0.05);
  const prefix = 'language_model.model.layers.0.feed_forward.experts';
  let fusedDir: string, unfusedDir: string;
  const unfused = new Map<string, Float64Array>();
  beforeAll(() => {
    fusedDir = checkpoint('llama4-fused', {
      'language_model.model.embed_tokens.weight': bf16Tensor(gaussianMatrix(30, H, 82), [30, H]),
      [`${prefix}.gate_up_proj`]: bf16Tensor(gu, [E, H, 2 * I]),
      [`${prefix}.down_proj`]: bf16Tensor(down, [E, I, H]),
      'language_model.model.layers.0.feed_forward.router.weight': bf16Tensor(gaussianMatrix(E, H, 83), [E, H]),
    });
    const tensors: Record<string, TensorToWrite> = {
      'language_model.model.embed_tokens.weight': bf16Tensor(gaussianMatrix(30, H, 82), [30, H]),
      'language_model.model.layers.0.feed_forward.router.weight': bf16Tensor(gaussianMatrix(E, H, 84), [E, H]),
    };
    for (let e = 0; e < E; e++)
      for (const [n, rows, cols] of [['gate_proj', I, H], ['up_proj', I, H], ['down_proj', H, I]] as const) {
        const w = stored(gaussianMatrix(rows, cols, 90 + e * 3 + rows, 0.05));
        unfused.set(`${e}.${n}`, w);
        tensors[`${prefix}.${e}.${n}.weight`] = bf16Tensor(w, [rows, cols]);
      }
    unfusedDir = checkpoint('llama4-unfused', tensors);
  });

  it('pairs the first and second half of gate_up[e]ᵀ with gate and up, down[e]ᵀ with down', async () => {
    const report = await diff(fusedDir, unfusedDir, { mode: 'exact', directions: false });
    for (let e = 0; e < E; e++) {
      const fusedOutIn = transpose(expert(stored(gu), e, H, 2 * I), H, 2 * I); // [2I, H]
      for (const [n, offset] of [['gate_proj', 0], ['up_proj', I]] as const) {
        const p = pairNamed(report, `${prefix}.${e}.${n}.weight`);
        const ref = subtract(unfused.get(`${e}.${n}`) as Float64Array, takeRows(fusedOutIn, H, offset, 1, I));
        expectSpectrum(p.spectrum?.values, jacobiSingularValues(ref, I, H));
      }
      const d = pairNamed(report, `${prefix}.${e}.down_proj.weight`);
      const dRef = subtract(unfused.get(`${e}.down_proj`) as Float64Array, transpose(expert(stored(down), e, I, H), I, H));
      expectSpectrum(d.spectrum?.values, jacobiSingularValues(dRef, H, I));
    }
    const entry = report.pairing.entries.find((x) => x.name === `${prefix}.1.up_proj.weight`);
    expect(entry?.base).toBe(`${prefix}.gate_up_proj[1]ᵀ rows ${I}:${2 * I}`);
  });

  it('analyze reads [in, out] experts as stored (the singular values do not depend on orientation)', async () => {
    const report = await analyzeCheckpoint(fusedDir, { mode: 'exact' });
    const t = report.tensors.find((x) => x.name === `${prefix}.gate_up_proj[1]`);
    expect([t?.rows, t?.cols]).toEqual([H, 2 * I]);
    expectSpectrum(t?.spectrum?.values, jacobiSingularValues(expert(stored(gu), 1, H, 2 * I), H, 2 * I));
  });
});

describe('classification of expert slices and routers', () => {
  it.each([
    ['model.layers.3.mlp.experts.gate_up_proj[7]', 7, 'gate_up', 'routed'],
    ['model.layers.3.block_sparse_moe.experts.2.w2.weight', 2, 'down', 'routed'],
    ['model.layers.3.mlp.shared_experts.down_proj.weight', null, 'down', 'shared'],
    ['model.layers.3.mlp.gate.weight', null, 'router', 'router'],
    ['model.layers.3.mlp.router.weight', null, 'router', 'router'],
    ['block.3.mlp.mlp1_weight[1]', 1, 'gate_up', 'routed'],
  ])('%s', (name, expertIndex, type, moe) => {
    const info = classifyTensor(name);
    expect([info.expert, info.type, info.moe, info.layer]).toEqual([expertIndex, type, moe, 3]);
  });
});

describe('planning checkpoints of 100k tensors', () => {
  it('pairs and plans 100k-tensor headers (unfused on both sides, and fused against unfused) in seconds', () => {
    const layers = 100, experts = 333, shape = [4, 4];
    const cell: TensorToWrite = { dtype: 'BF16', shape, data: new Uint16Array(16) };
    const unfused: Array<[string, TensorToWrite]> = [];
    const fused: Array<[string, TensorToWrite]> = [];
    for (let l = 0; l < layers; l++) {
      for (let e = 0; e < experts; e++)
        for (const p of ['gate_proj', 'up_proj', 'down_proj']) unfused.push([`model.layers.${l}.mlp.experts.${e}.${p}.weight`, cell]);
      fused.push([`model.layers.${l}.mlp.experts.gate_up_proj`, { dtype: 'BF16', shape: [experts, 8, 4], data: new Uint16Array(experts * 32) }]);
      fused.push([`model.layers.${l}.mlp.experts.down_proj`, { dtype: 'BF16', shape: [experts, 4, 4], data: new Uint16Array(experts * 16) }]);
      for (const [n, s] of [['self_attn.q_proj', [4, 4]], ['mlp.gate', [experts, 4]]] as const) {
        const t: TensorToWrite = { dtype: 'BF16', shape: [...s], data: new Uint16Array((s[0] as number) * (s[1] as number)) };
        unfused.push([`model.layers.${l}.${n}.weight`, t]);
        fused.push([`model.layers.${l}.${n}.weight`, t]);
      }
    }
    const emb: [string, TensorToWrite] = ['model.embed_tokens.weight', { dtype: 'BF16', shape: [8, 4], data: new Uint16Array(32) }];
    unfused.push(emb);
    fused.push(emb);
    const a = path.join(dir, 'big-a.safetensors'), b = path.join(dir, 'big-b.safetensors'), f = path.join(dir, 'big-fused.safetensors');
    writeSafetensorsSync(a, unfused);
    writeSafetensorsSync(b, unfused);
    writeSafetensorsSync(f, fused);
    const timings: Record<string, number> = {};
    const time = <T>(what: string, run: () => T): T => {
      const start = performance.now();
      const out = run();
      timings[what] = (performance.now() - start) / 1000;
      return out;
    };
    const [base, tuned, fusedCkpt] = [a, b, f].map((p) => time(`open ${path.basename(p)}`, () => openCheckpointSync(p)));
    try {
      expect(base?.tensors.length).toBeGreaterThan(100_000);
      const pairing = time('pair unfused/unfused', () => pairCheckpoints(base as never, tuned as never));
      const jobs = time('diff jobs', () => diffJobs(pairing));
      expect(jobs.length).toBe(base?.tensors.length);
      const plan = time('plan analysis', () => planAnalysis(tuned as never));
      expect(plan.matrices.length).toBe(base?.tensors.length);
      const joined = time('pair fused/unfused', () => pairCheckpoints(fusedCkpt as never, tuned as never));
      expect(joined.counts.paired).toBe(base?.tensors.length);
      console.log(`[100k tensors] ${Object.entries(timings).map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(', ')}`);
      expect(timings['pair unfused/unfused']).toBeLessThan(10);
      expect(timings['pair fused/unfused']).toBeLessThan(10);
      expect(timings['plan analysis']).toBeLessThan(10);
    } finally {
      for (const c of [base, tuned, fusedCkpt]) c?.close();
    }
  }, 120_000);
});

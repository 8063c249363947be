/**
 * Quantized layouts end to end (docs/formats.md): generated files in each layout, decoded by the engine,
 * against float64 references computed here from the bit definitions (test/helpers/formats.ts) and a
 * dense Jacobi SVD: FP8 E4M3 block scales with partial last blocks (from config.json's
 * weight_block_size, and the 128 × 128 default), per-tensor and per-channel scales, E5M2 and FNUZ codes,
 * E8M0 block scales, MXFP4; mixed pairs (an FP8 release against its BF16 original), the update sparsity
 * and the quantized noise grid; and the refusal of every unsupported quantization.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeCheckpoint } from '../../lib/analyze';
import { diff } from '../../lib/diff';
import { analyzeAdapter } from '../../lib/lora';
import { ParamscopeError } from '../../lib/errors';
import { openCheckpointSync } from '../../lib/read/checkpoint';
import { type TensorToWrite, writeSafetensorsSync } from '../../lib/read/writer';
import { jacobiSingularValues } from '../helpers/dense-svd';
import { failure } from '../helpers/failure';
import {
  bf16, f32, type Fp8Format, fp8Ulp, fp8Value, gaussianMatrix, quantizeFp8, quantizeMxfp4, subtract,
} from '../helpers/formats';
import { temporaryDirectory } from '../helpers/paths';

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = temporaryDirectory('paramscope-formats-')));
afterAll(() => cleanup());

/** A checkpoint directory with model.safetensors and, when given, config.json. */
function checkpoint(name: string, tensors: Record<string, TensorToWrite>, config?: unknown): string {
  const at = path.join(dir, name);
  fs.mkdirSync(at, { recursive: true });
  writeSafetensorsSync(path.join(at, 'model.safetensors'), tensors);
  if (config !== undefined) fs.writeFileSync(path.join(at, 'config.json'), JSON.stringify(config));
  return at;
}

function expectSpectrum(values: ArrayLike<number>, reference: number[], relative = 2e-6) {
  expect(values.length).toBe(reference.length);
  const top = reference[0] ?? 1;
  for (let i = 0; i < reference.length; i++) expect(Math.abs((values[i] as number) - (reference[i] as number))).toBeLessThanOrEqual(relative * top + 1e-12);
}

const fp8Tensor = (codes: Uint8Array, shape: number[], dtype: Fp8Format = 'F8_E4M3'): TensorToWrite => ({ dtype, shape, data: codes });
const f32Tensor = (values: Float32Array, shape: number[]): TensorToWrite => ({ dtype: 'F32', shape, data: values });

describe('FP8 block scales', () => {
  const rows = 150, cols = 200; // 128 × 128 blocks: a 2 × 2 grid, last blocks 22 rows and 72 columns
  const w = gaussianMatrix(rows, cols, 1, 0.02);
  const q = quantizeFp8(w, rows, cols, [128, 128]);

  it('decodes codes × scales with partial last blocks (config weight_block_size, and the 128 × 128 default without config)', async () => {
    const tensors = {
      'model.layers.0.mlp.down_proj.weight': fp8Tensor(q.codes, [rows, cols]),
      'model.layers.0.mlp.down_proj.weight_scale_inv': f32Tensor(q.scales, [2, 2]),
      'model.layers.0.input_layernorm.weight': { dtype: 'BF16', shape: [cols], data: bf16(new Float64Array(cols).fill(1)).bits },
    } satisfies Record<string, TensorToWrite>;
    const withConfig = checkpoint('fp8-block', tensors, { quantization_config: { quant_method: 'fp8', fmt: 'e4m3', activation_scheme: 'dynamic', weight_block_size: [128, 128] } });
    const bare = checkpoint('fp8-block-bare', tensors);
    const reference = jacobiSingularValues(q.decoded, rows, cols);
    for (const at of [withConfig, bare]) {
      const report = await analyzeCheckpoint(at, { mode: 'exact' });
      expect(report.tensors.map((t) => t.name)).toEqual(['model.layers.0.mlp.down_proj.weight']);
      const t = report.tensors[0];
      expect(t?.layout).toBe('FP8 block 128×128');
      expect(t?.dtype).toBe('F8_E4M3');
      expectSpectrum(t?.spectrum?.values ?? [], reference);
      expect(report.skipped).toContainEqual({ name: 'model.layers.0.mlp.down_proj.weight_scale_inv', reason: 'quantization-scale' });
      // The raw codes would give a spectrum hundreds of times larger: the scales were applied.
      expect((t?.metrics?.spectralNorm as number) / (reference[0] as number)).toBeCloseTo(1, 5);
    }
  });

  it('takes the block size from config.json (64 × 32 here) and refuses scales that fit no block', async () => {
    const q2 = quantizeFp8(w, rows, cols, [64, 32]);
    const at = checkpoint('fp8-block-64x32', {
      'w.weight': fp8Tensor(q2.codes, [rows, cols]),
      'w.weight_scale_inv': f32Tensor(q2.scales, [3, 7]),
    }, { quantization_config: { quant_method: 'fp8', weight_block_size: [64, 32] } });
    const report = await analyzeCheckpoint(at, { mode: 'exact' });
    expect(report.tensors[0]?.layout).toBe('FP8 block 64×32');
    expectSpectrum(report.tensors[0]?.spectrum?.values ?? [], jacobiSingularValues(q2.decoded, rows, cols));
    // The same scales without the config: no block explains a 3 × 7 grid of 150 × 200.
    const bare = checkpoint('fp8-block-64x32-bare', { 'w.weight': fp8Tensor(q2.codes, [rows, cols]), 'w.weight_scale_inv': f32Tensor(q2.scales, [3, 7]) });
    const e = await failure(analyzeCheckpoint(bare));
    expect(e.code).toBe('INVALID_QUANTIZATION');
    expect(e.message).toContain('weight_block_size');
    const d = await failure(diff(bare, bare));
    expect(d.code).toBe('INVALID_QUANTIZATION');
  });

  it('refuses an FP8 weight without its scale in a quantized checkpoint', async () => {
    const at = checkpoint('fp8-missing-scale', {
      'a.weight': fp8Tensor(q.codes, [rows, cols]),
      'a.weight_scale_inv': f32Tensor(q.scales, [2, 2]),
      'b.weight': fp8Tensor(q.codes, [rows, cols]),
    });
    const e = await failure(analyzeCheckpoint(at));
    expect(e.code).toBe('INVALID_QUANTIZATION');
    expect(e.message).toContain('b.weight');
  });
});

describe('FP8 per-tensor and per-channel scales, other code formats', () => {
  const rows = 40, cols = 56;
  const w = gaussianMatrix(rows, cols, 2, 0.05);

  it.each([
    ['per-tensor, F32 scalar scale (vLLM / ModelOpt)', 'F8_E4M3', [rows, cols], [] as number[], 'FP8 per-tensor'],
    ['per-tensor, scale of shape [1] (compressed-tensors)', 'F8_E4M3', [rows, cols], [1], 'FP8 per-tensor'],
    ['per-channel, scale [out, 1] (compressed-tensors channel, FBGEMM)', 'F8_E4M3', [1, cols], [rows, 1], 'FP8 per-channel'],
    ['per-channel, scale [out] (ModelOpt FP8_PC_PT)', 'F8_E4M3', [1, cols], [rows], 'FP8 per-channel'],
    ['E5M2 codes, per-tensor', 'F8_E5M2', [rows, cols], [], 'FP8 per-tensor'],
    ['E4M3FNUZ codes, per-channel', 'F8_E4M3FNUZ', [1, cols], [rows, 1], 'FP8 per-channel'],
    ['E5M2FNUZ codes, per-tensor', 'F8_E5M2FNUZ', [rows, cols], [], 'FP8 per-tensor'],
  ] as const)('%s', async (_what, format, block, scaleShape, label) => {
    const q = quantizeFp8(w, rows, cols, block as unknown as [number, number], format);
    const at = checkpoint(`fp8-${label}-${format}-${scaleShape.join('x')}`.replace(/[^\w-]/g, '_'), {
      'layer.weight': fp8Tensor(q.codes, [rows, cols], format),
      'layer.weight_scale': f32Tensor(q.scales, [...scaleShape]),
      'layer.input_scale': f32Tensor(new Float32Array([0.5]), []),
    });
    const report = await analyzeCheckpoint(at, { mode: 'exact' });
    expect(report.tensors.map((t) => [t.name, t.layout])).toEqual([['layer.weight', label]]);
    expectSpectrum(report.tensors[0]?.spectrum?.values ?? [], jacobiSingularValues(q.decoded, rows, cols));
  });

  it('BF16 and E8M0 (UE8M0) scales decode as values and as exponents', async () => {
    const q = quantizeFp8(w, rows, cols, [1, cols]);
    const bf16Scales = bf16(Float64Array.from(q.scales));
    const decodedWithBf16 = Float64Array.from(q.codes, (c, i) => f32(fp8Value('F8_E4M3', c) * (bf16Scales.decoded[Math.floor(i / cols)] as number)));
    const exponents = Uint8Array.from({ length: 4 }, (_, i) => 120 + i);  // 2^-7 … 2^-4 per 16-row block
    const decodedWithE8m0 = Float64Array.from(q.codes, (c, i) => fp8Value('F8_E4M3', c) * 2 ** ((exponents[Math.floor(Math.floor(i / cols) / 16) * 1] as number) - 127));
    const at = checkpoint('fp8-scale-dtypes', {
      'a.weight': fp8Tensor(q.codes, [rows, cols]), 'a.weight_scale': { dtype: 'BF16', shape: [rows, 1], data: bf16Scales.bits },
      'b.weight': fp8Tensor(q.codes, [rows, cols]), 'b.weight_scale_inv': { dtype: 'F8_E8M0', shape: [3, 1], data: exponents.slice(0, 3) },
    }, { quantization_config: { quant_method: 'fp8', weight_block_size: [16, 56], scale_fmt: 'ue8m0' } });
    const report = await analyzeCheckpoint(at, { mode: 'exact' });
    expect(report.tensors.map((t) => t.layout)).toEqual(['FP8 per-channel', 'FP8 block 16×56']);
    expectSpectrum(report.tensors[0]?.spectrum?.values ?? [], jacobiSingularValues(decodedWithBf16, rows, cols));
    expectSpectrum(report.tensors[1]?.spectrum?.values ?? [], jacobiSingularValues(decodedWithE8m0, rows, cols));
  });
});

describe('MXFP4 (OCP MX: E2M1 codes × E8M0 scales per 32 values)', () => {
  it('decodes DeepSeek-V4-style I8 [out, in/2] weights with an odd number of 32-value blocks', async () => {
    const rows = 24, cols = 96; // 3 blocks per row
    const w = gaussianMatrix(rows, cols, 3, 0.1);
    const mx = quantizeMxfp4(w, 1, rows, cols);
    const at = checkpoint('mxfp4-dense', {
      'layers.0.ffn.w2.weight': { dtype: 'I8', shape: [rows, cols / 2], data: new Int8Array(mx.blocks.buffer) },
      'layers.0.ffn.w2.scale': { dtype: 'F8_E8M0', shape: [rows, cols / 32], data: mx.scales },
    });
    const report = await analyzeCheckpoint(at, { mode: 'exact' });
    expect(report.tensors.map((t) => [t.name, t.layout, t.rows, t.cols])).toEqual([['layers.0.ffn.w2.weight', 'MXFP4', rows, cols]]);
    expectSpectrum(report.tensors[0]?.spectrum?.values ?? [], jacobiSingularValues(mx.decoded, rows, cols));
  });
});

describe('mixed and quantized pairs', () => {
  const rows = 64, cols = 96;
  const original = gaussianMatrix(rows, cols, 4, 0.03);
  const base = bf16(original);
  const q = quantizeFp8(base.decoded, rows, cols, [32, 32]);
  let fp8: string, bf16Dir: string;

  beforeAll(() => {
    bf16Dir = checkpoint('mixed-bf16', { 'model.layers.0.self_attn.q_proj.weight': { dtype: 'BF16', shape: [rows, cols], data: base.bits } });
    fp8 = checkpoint('mixed-fp8', {
      'model.layers.0.self_attn.q_proj.weight': fp8Tensor(q.codes, [rows, cols]),
      'model.layers.0.self_attn.q_proj.weight_scale_inv': f32Tensor(q.scales, [2, 3]),
    }, { quantization_config: { quant_method: 'fp8', weight_block_size: [32, 32] } });
  });

  it('an FP8 release against its BF16 original: ΔW is the quantization error, and the report says so', async () => {
    const report = await diff(bf16Dir, fp8, { mode: 'exact', directions: false });
    const pair = report.pairs[0];
    expect(pair?.tunedLayout).toBe('FP8 block 32×32');
    expect(pair?.baseLayout).toBeUndefined();
    expect(pair?.quantizationError).toBe('tuned');
    expectSpectrum(pair?.spectrum?.values ?? [], jacobiSingularValues(subtract(q.decoded, base.decoded), rows, cols));
    expect(report.quantization?.quantizationErrorPairs).toBe(1);
    expect(report.quantization?.tuned).toEqual({ 'FP8 block 32×32': 1 });
    expect(report.pairing.notes.join('\n')).toContain('quantization error');
    expect(report.pairing.entries.find((e) => e.name === 'model.layers.0.self_attn.q_proj.weight')?.note).toContain('quantization error');
    // The scale is part of the weight, not an extra tensor of the tuned side.
    expect(report.pairing.counts['extra-in-tuned']).toBe(0);
    // The noise floor uses the FP8 grid: Σ (ulp(code) · scale)² / 12 on the tuned side, plus BF16 rounding of the base.
    let expected = 0;
    for (let i = 0; i < rows * cols; i++) {
      const s = q.scales[Math.floor(Math.floor(i / cols) / 32) * 3 + Math.floor((i % cols) / 32)] as number;
      expected += (fp8Ulp('F8_E4M3', q.codes[i] as number) * s) ** 2 / 12;
    }
    expect(pair?.noise?.roundingEnergy).toBeGreaterThan(expected);
    expect(pair?.noise?.roundingEnergy).toBeLessThan(expected * 1.05);
    // A quantizer's error is what rounding to that grid leaves: no signal above the floor.
    expect(['no-signal', 'indeterminate']).toContain(report.verdict.label);
  });

  it('two FP8 checkpoints: the update sparsity counts unchanged and sub-step entries', async () => {
    const codes = q.codes.slice();
    const changed = [5, 100, 101, 2000, 6000];
    for (const i of changed) codes[i] = (codes[i] as number) ^ 0x04; // another code, same scale
    const tuned = checkpoint('fp8-tuned', {
      'model.layers.0.self_attn.q_proj.weight': fp8Tensor(codes, [rows, cols]),
      'model.layers.0.self_attn.q_proj.weight_scale_inv': f32Tensor(q.scales, [2, 3]),
    }, { quantization_config: { quant_method: 'fp8', weight_block_size: [32, 32] } });
    const report = await diff(fp8, tuned, { mode: 'exact', directions: false });
    const pair = report.pairs[0];
    expect(pair?.sparsity?.entries).toBe(rows * cols);
    expect(pair?.sparsity?.identical).toBe(rows * cols - changed.length);
    expect(pair?.sparsity?.belowSpacing).toBe(rows * cols - changed.length); // a changed code moves by at least one step
    expect(report.aggregates.model.sparsity?.identicalShare).toBeCloseTo(1 - changed.length / (rows * cols), 12);
    const delta = Float64Array.from(codes, (c, i) => f32(fp8Value('F8_E4M3', c) * (q.scales[Math.floor(Math.floor(i / cols) / 32) * 3 + Math.floor((i % cols) / 32)] as number)) - (q.decoded[i] as number));
    expectSpectrum(pair?.spectrum?.values ?? [], jacobiSingularValues(delta, rows, cols));
  });

  it('a code moved by exactly one step is not below spacing, with F32 scales that round code × scale', async () => {
    // The next code within the same binade (mantissa not all ones, and never into E4M3's NaN code 0x7F):
    // |Δ| is one step, ulp(code) · scale, up to the f32 rounding of each decoded value.
    expect(q.scales.some((s) => Math.log2(s) % 1 !== 0)).toBe(true); // the scales are not powers of two
    const codes = q.codes.slice();
    const moved: number[] = [];
    for (let i = 0; i < codes.length; i += 2) {
      const c = codes[i] as number;
      if ((c & 0x07) === 0x07 || (c & 0x7f) === 0x7e) continue;
      codes[i] = c + 1;
      moved.push(i);
    }
    const tuned = checkpoint('fp8-one-step', {
      'model.layers.0.self_attn.q_proj.weight': fp8Tensor(codes, [rows, cols]),
      'model.layers.0.self_attn.q_proj.weight_scale_inv': f32Tensor(q.scales, [2, 3]),
    }, { quantization_config: { quant_method: 'fp8', weight_block_size: [32, 32] } });
    const report = await diff(fp8, tuned, { mode: 'exact', directions: false });
    const sparsity = report.pairs[0]?.sparsity;
    expect(moved.length).toBeGreaterThan(1000);
    expect(sparsity?.identical).toBe(rows * cols - moved.length);
    expect(sparsity?.belowSpacing).toBe(rows * cols - moved.length);
  });
});

describe('unsupported quantizations are refused, never analysed as plain tensors', () => {
  const i32 = (n: number) => new Int32Array(n);
  const cases: Array<[string, Record<string, TensorToWrite>, unknown, string[]]> = [
    ['GPTQ (tensor markers)', {
      'model.layers.0.self_attn.q_proj.qweight': { dtype: 'I32', shape: [8, 64], data: i32(512) },
      'model.layers.0.self_attn.q_proj.qzeros': { dtype: 'I32', shape: [1, 8], data: i32(8) },
      'model.layers.0.self_attn.q_proj.scales': { dtype: 'F16', shape: [1, 64], data: new Uint16Array(64) },
      'model.layers.0.self_attn.q_proj.g_idx': { dtype: 'I32', shape: [64], data: i32(64) },
    }, { quantization_config: { quant_method: 'gptq', bits: 4, group_size: 128 } }, ['GPTQ', '*.qweight', 'quant_method "gptq"']],
    ['AWQ (config only)', { 'x.weight': { dtype: 'F16', shape: [4, 4], data: new Uint16Array(16) } },
      { quantization_config: { quant_method: 'awq', bits: 4, version: 'gemm' } }, ['AWQ', 'quant_method "awq"']],
    ['bitsandbytes 4-bit', {
      'model.layers.0.mlp.up_proj.weight': { dtype: 'U8', shape: [32, 1], data: new Uint8Array(32) },
      'model.layers.0.mlp.up_proj.weight.absmax': { dtype: 'F32', shape: [1], data: new Float32Array(1) },
      'model.layers.0.mlp.up_proj.weight.quant_map': { dtype: 'F32', shape: [16], data: new Float32Array(16) },
      'model.layers.0.mlp.up_proj.weight.quant_state.bitsandbytes__nf4': { dtype: 'U8', shape: [10], data: new Uint8Array(10) },
    }, undefined, ['bitsandbytes 4-bit', '*.absmax']],
    ['bitsandbytes 8-bit', {
      'lm.weight': { dtype: 'I8', shape: [4, 8], data: new Int8Array(32) },
      'lm.SCB': { dtype: 'F32', shape: [4], data: new Float32Array(4) },
      'lm.weight_format': { dtype: 'U8', shape: [], data: new Uint8Array(1) },
    }, undefined, ['bitsandbytes 8-bit', '*.SCB']],
    ['HQQ', { 'a.W_q': { dtype: 'U8', shape: [4, 4], data: new Uint8Array(16) } }, { quantization_config: { quant_method: 'hqq' } }, ['HQQ', '*.W_q']],
    ['compressed-tensors pack-quantized', {
      'a.weight_packed': { dtype: 'I32', shape: [8, 2], data: i32(16) },
      'a.weight_scale': { dtype: 'BF16', shape: [8, 1], data: new Uint16Array(8) },
      'a.weight_shape': { dtype: 'I32', shape: [2], data: i32(2) },
    }, { quantization_config: { quant_method: 'compressed-tensors', format: 'pack-quantized', config_groups: { group_0: { weights: { num_bits: 4, type: 'int' } } } } },
    ['compressed-tensors', 'pack-quantized', '*.weight_shape']],
    ['int8 weights with a weight_scale (W8A8)', {
      'a.weight': { dtype: 'I8', shape: [8, 8], data: new Int8Array(64) },
      'a.weight_scale': { dtype: 'F32', shape: [8, 1], data: new Float32Array(8) },
    }, undefined, ['int8', 'a.weight']],
    ['NVFP4 (ModelOpt)', {
      'a.weight': { dtype: 'U8', shape: [8, 16], data: new Uint8Array(128) },
      'a.weight_scale': { dtype: 'F8_E4M3', shape: [8, 2], data: new Uint8Array(16) },
      'a.weight_scale_2': { dtype: 'F32', shape: [], data: new Float32Array(1) },
    }, undefined, ['NVFP4', '*.weight_scale_2']],
    ['torchao', { 'a._weight_qdata': { dtype: 'F8_E4M3', shape: [4, 4], data: new Uint8Array(16) }, 'a._weight_scale': { dtype: 'F32', shape: [4], data: new Float32Array(4) } },
      undefined, ['torchao']],
    ['EETQ', { 'a.weight': { dtype: 'I8', shape: [4, 4], data: new Int8Array(16) }, 'a.weight_scales': { dtype: 'F16', shape: [4], data: new Uint16Array(4) } }, undefined, ['EETQ']],
  ];

  it.each(cases)('%s', async (what, tensors, config, fragments) => {
    const at = checkpoint(`refused-${what}`.replace(/[^\w-]/g, '_'), tensors, config);
    for (const run of [() => analyzeCheckpoint(at), () => diff(at, at, { directions: false })]) {
      const e = await failure(run());
      expect(e).toBeInstanceOf(ParamscopeError);
      expect(e.code).toBe('UNSUPPORTED_QUANTIZATION');
      for (const f of fragments) expect(e.message).toContain(f);
    }
    // Opening and inspecting still work: the refusal is for analysis.
    expect(openCheckpointSync(at).tensors.length).toBe(Object.keys(tensors).length);
  });
});

describe('a LoRA adapter over a quantized base', () => {
  const rows = 150, cols = 200, rank = 4;
  const w = gaussianMatrix(rows, cols, 7, 0.02);
  const q = quantizeFp8(w, rows, cols, [128, 128]);
  const module = 'model.layers.0.mlp.down_proj';

  /** A PEFT adapter (alpha 8, r 4) on the module, factors from a seeded Gaussian. */
  function adapter(name: string): string {
    const at = path.join(dir, name);
    fs.mkdirSync(at, { recursive: true });
    writeSafetensorsSync(path.join(at, 'adapter_model.safetensors'), {
      [`base_model.model.${module}.lora_A.weight`]: f32Tensor(Float32Array.from(gaussianMatrix(rank, cols, 8, 0.1)), [rank, cols]),
      [`base_model.model.${module}.lora_B.weight`]: f32Tensor(Float32Array.from(gaussianMatrix(rows, rank, 9, 0.1)), [rows, rank]),
    });
    fs.writeFileSync(path.join(at, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: rank, lora_alpha: 8, target_modules: ['down_proj'] }));
    return at;
  }

  it('reads the base as codes × scales: the same relative update and base spectrum as over the decoded base in F32', async () => {
    const fp8Base = checkpoint('lora-fp8-base', {
      [`${module}.weight`]: fp8Tensor(q.codes, [rows, cols]),
      [`${module}.weight_scale_inv`]: f32Tensor(q.scales, [2, 2]),
    }, { quantization_config: { quant_method: 'fp8', fmt: 'e4m3', weight_block_size: [128, 128] } });
    const f32Base = checkpoint('lora-f32-base', { [`${module}.weight`]: f32Tensor(Float32Array.from(q.decoded), [rows, cols]) });
    const ad = adapter('lora-over-fp8');
    const [overFp8, overF32] = await Promise.all([analyzeAdapter(ad, { base: fp8Base, mode: 'exact' }), analyzeAdapter(ad, { base: f32Base, mode: 'exact' })]);
    const [a, b] = [overFp8.pairs[0], overF32.pairs[0]];
    expect(b?.relativeUpdate).toBeGreaterThan(1e-3); // the adapter's update is a visible share of this base
    expect(Math.abs((a?.relativeUpdate as number) - (b?.relativeUpdate as number))).toBeLessThanOrEqual(1e-6 * (b?.relativeUpdate as number));
    expect(Math.abs((a?.baseNorm as number) - (b?.baseNorm as number))).toBeLessThanOrEqual(1e-6 * (b?.baseNorm as number));
  });

  it('refuses a base in a layout it cannot decode (GPTQ) with UNSUPPORTED_QUANTIZATION, not as an empty pairing', async () => {
    const gptq = checkpoint('lora-gptq-base', {
      [`${module}.qweight`]: { dtype: 'I32', shape: [cols / 8, rows], data: new Int32Array((cols / 8) * rows) },
      [`${module}.qzeros`]: { dtype: 'I32', shape: [1, Math.ceil(rows / 8)], data: new Int32Array(Math.ceil(rows / 8)) },
      [`${module}.scales`]: { dtype: 'F16', shape: [1, rows], data: new Uint16Array(rows) },
    }, { quantization_config: { quant_method: 'gptq', bits: 4, group_size: 128 } });
    const error = await failure(analyzeAdapter(adapter('lora-over-gptq'), { base: gptq }));
    expect((error as ParamscopeError).code).toBe('UNSUPPORTED_QUANTIZATION');
  });
});

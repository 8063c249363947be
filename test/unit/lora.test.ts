import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../lib/read/checkpoint';
import { ParamscopeError } from '../../lib/errors';
import { loraJobs } from '../../lib/plan/jobs';
import { openAdapter } from '../../lib/plan/lora/open-adapter';
import { peftPatternValue } from '../../lib/plan/lora/scales';
import type { Adapter, LoraModule } from '../../lib/plan/lora/types';
import { encodeFloat32, writeSafetensorsSync, type TensorToWrite } from '../../lib/read/writer';
import { denseLowRank, jacobiSingularValues, lowRankSingularValues } from '../helpers/dense-svd';
import { noteSkippedWithoutShared, realFixturesDir, temporaryDirectory } from '../helpers/paths';

const tmp = temporaryDirectory('paramscope-lora-');
afterAll(() => tmp.cleanup());

async function expectError(run: () => Promise<unknown>, code: string, ...fragments: string[]): Promise<ParamscopeError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(ParamscopeError);
    const e = error as ParamscopeError;
    expect(e.code, e.message).toBe(code);
    for (const f of fragments) expect(e.message).toContain(f);
    return e;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

const relativeError = (actual: number, expected: number) => Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);

/** ΔW[i][j] of a module, from its oriented factors. */
function deltaAt(m: LoraModule, i: number, j: number): number {
  let sum = 0;
  for (let k = 0; k < m.rank; k++) sum += (m.b[i * m.rank + k] as number) * (m.a[k * m.cols + j] as number);
  return m.scale * sum;
}

// ---------------------------------------------------------------------------------------------------
// The real adapters of ../shared/fixtures/real against REFERENCE.json's "lora" section

interface LoraReference {
  singular_values: number[];
  frobenius: number;
  scale: number;
  layout: string;
  shape: [number, number];
  rank: number;
}

noteSkippedWithoutShared('lora.test.ts (real adapters)');
const reference: Record<string, Record<string, LoraReference>> = realFixturesDir
  ? JSON.parse(fs.readFileSync(path.join(realFixturesDir, 'REFERENCE.json'), 'utf8')).lora
  : {};

/** What each real adapter must look like beyond REFERENCE.json: the name of its first module and its full tensors. */
const EXPECTED: Record<string, { firstName: string; fullTensors: Array<[string, string]> }> = {
  'mlx-lora-minicpm/adapters.safetensors': { firstName: 'model.layers.36.self_attn.q_proj.weight', fullTensors: [] },
  'mlx-lora-qwen2.5-0.5b-dpo-2steps/adapters.safetensors': { firstName: 'model.layers.22.self_attn.q_proj.weight', fullTensors: [] },
  'peft-lora-roberta-mrpc/checkpoint-230/adapter_model.safetensors': {
    firstName: 'roberta.encoder.layer.0.attention.self.query.weight',
    fullTensors: [['classifier.dense.bias', 'modules_to_save'], ['classifier.dense.weight', 'modules_to_save'], ['classifier.out_proj.bias', 'modules_to_save'], ['classifier.out_proj.weight', 'modules_to_save']],
  },
  'peft-lora-roberta-mrpc/checkpoint-460/adapter_model.safetensors': {
    firstName: 'roberta.encoder.layer.0.attention.self.query.weight',
    fullTensors: [['classifier.dense.bias', 'modules_to_save'], ['classifier.dense.weight', 'modules_to_save'], ['classifier.out_proj.bias', 'modules_to_save'], ['classifier.out_proj.weight', 'modules_to_save']],
  },
  'sd-lora-analog-svd-rank4-f16/analog_svd_rank4.safetensors': { firstName: 'text_encoder:0', fullTensors: [] },
  'sd-lora-disney-rank1/lora_disney.safetensors': { firstName: 'text_encoder:0', fullTensors: [['<s1>', 'token_embedding'], ['<s2>', 'token_embedding']] },
  'trl-kto-lora-gpt2/checkpoint-1000/adapter_model.safetensors': { firstName: 'transformer.h.0.attn.c_attn.weight', fullTensors: [] },
  'trl-kto-lora-gpt2/checkpoint-500/adapter_model.safetensors': { firstName: 'transformer.h.0.attn.c_attn.weight', fullTensors: [] },
};

describe.skipIf(!realFixturesDir)('real LoRA adapters match REFERENCE.json', () => {
  it('covers every adapter REFERENCE.json lists', () => {
    expect(Object.keys(reference).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  describe.each(Object.keys(EXPECTED))('%s', (file) => {
    const refModules = reference[file] ?? {};
    // Open the directory, as a user would: the weights file and adapter_config.json are found in it.
    const dir = path.join(realFixturesDir ?? '', path.dirname(file));
    const tolerance = file.includes('f16') ? 1e-3 : 1e-5;
    let adapter: Adapter;
    // If opening fails, every test below reports that error rather than a TypeError of its own.
    beforeAll(async () => {
      adapter = await openAdapter(dir);
    });

    it('opens, with the layout, module count, names and full tensors expected', () => {
      expect(adapter.path).toBe(path.join(realFixturesDir ?? '', file));
      expect(adapter.modules.length).toBe(Object.keys(refModules).length);
      expect(new Set(adapter.modules.map((m) => m.key))).toEqual(new Set(Object.keys(refModules)));
      expect(adapter.layout).toBe(Object.values(refModules)[0]?.layout);
      expect(adapter.modules[0]?.name).toBe(EXPECTED[file]?.firstName);
      expect(adapter.fullTensors.map((t) => [t.name, t.kind])).toEqual(EXPECTED[file]?.fullTensors);
      expect(adapter.needsBase).toBe(false);
    });

    it('gives every module the reference shape (out × in as stored), scale and rank', () => {
      for (const m of adapter.modules) {
        const ref = refModules[m.key] as LoraReference;
        expect([m.rows, m.cols, m.scale, m.rank, m.layout], m.key).toEqual([...ref.shape, ref.scale, ref.rank, ref.layout]);
        expect(m.b.length).toBe(m.rows * m.rank);
        expect(m.a.length).toBe(m.rank * m.cols);
      }
    });

    it(`has the reference singular values of scale·B·A (r×r core in double, ${tolerance} relative)`, () => {
      for (const m of adapter.modules) {
        const ref = refModules[m.key] as LoraReference;
        const values = lowRankSingularValues(m.b, m.a, m.rows, m.cols, m.rank, m.scale);
        expect(values.length).toBe(ref.singular_values.length);
        ref.singular_values.forEach((expected, i) => expect(relativeError(values[i] as number, expected), `${m.key} σ${i + 1}`).toBeLessThan(tolerance));
        const frobenius = Math.sqrt(values.reduce((s, v) => s + v * v, 0));
        expect(relativeError(frobenius, ref.frobenius), `${m.key} ‖ΔW‖_F`).toBeLessThan(tolerance);
      }
    });

    it('agrees with a dense Jacobi SVD of the formed ΔW for its smallest module', () => {
      const smallest = adapter.modules.reduce((a, b) => (a.rows * a.cols <= b.rows * b.cols ? a : b));
      // Jacobi on the formed matrix is O(n²·m) per sweep: run it where that takes a fraction of a second (the
      // 320×320 Stable Diffusion and 128×896 Qwen modules); the r×r route above covers the 768² and larger ones.
      if (smallest.rows * smallest.cols > 200_000) return;
      const ref = refModules[smallest.key] as LoraReference;
      const dense = jacobiSingularValues(denseLowRank(smallest.b, smallest.a, smallest.rows, smallest.cols, smallest.rank, smallest.scale), smallest.rows, smallest.cols);
      ref.singular_values.forEach((expected, i) => expect(relativeError(dense[i] as number, expected)).toBeLessThan(tolerance));
      // Beyond the rank, ΔW has nothing left.
      expect(dense[smallest.rank] ?? 0).toBeLessThan(1e-6 * (dense[0] as number));
    });

    it('makes one lowrank job per module', () => {
      const jobs = loraJobs(adapter);
      expect(jobs.length).toBe(adapter.modules.length);
      expect(jobs[0]).toMatchObject({ kind: 'lowrank', name: adapter.modules[0]?.name, rows: adapter.modules[0]?.rows, rank: adapter.modules[0]?.rank });
    });
  });

  it('orients PEFT fan_in_fan_out (GPT-2 Conv1D) as (B·A)ᵀ, the stored [768, 2304] weight', async () => {
    const dir = path.join(realFixturesDir ?? '', 'trl-kto-lora-gpt2', 'checkpoint-1000');
    const adapter = await openAdapter(dir);
    const m = adapter.modules[0] as LoraModule;
    expect([m.rows, m.cols, m.transposed, m.scaleSource]).toEqual([768, 2304, true, 'lora_alpha/r = 16/16']);
    const raw = await openCheckpoint(adapter.path);
    const A = (await raw.read(`${m.key}.lora_A.weight`)).data; // [16, 768]
    const B = (await raw.read(`${m.key}.lora_B.weight`)).data; // [2304, 16]
    raw.close();
    // Stored ΔW[i][j] (i over in = 768, j over out = 2304) = s · Σ_k B[j][k] · A[k][i].
    for (const [i, j] of [[0, 0], [5, 2000], [767, 2303]] as const) {
      let expected = 0;
      for (let k = 0; k < 16; k++) expected += (B[j * 16 + k] as number) * (A[k * 768 + i] as number);
      expect(deltaAt(m, i, j)).toBeCloseTo(expected, 6);
    }
  });

  it('orients MLX factors as s·(a·b)ᵀ with a [in, r] and b [r, out]', async () => {
    const adapter = await openAdapter(path.join(realFixturesDir ?? '', 'mlx-lora-qwen2.5-0.5b-dpo-2steps'));
    const m = adapter.modules.find((x) => x.key === 'model.layers.22.self_attn.v_proj') as LoraModule;
    expect([m.rows, m.cols, m.scale, m.transposed]).toEqual([128, 896, 20, false]);
    const raw = await openCheckpoint(adapter.path);
    const a = (await raw.read(`${m.key}.lora_a`)).data; // [896, 8]
    const b = (await raw.read(`${m.key}.lora_b`)).data; // [8, 128]
    raw.close();
    for (const [i, j] of [[0, 0], [127, 895], [64, 100]] as const) {
      let expected = 0;
      for (let k = 0; k < 8; k++) expected += (a[j * 8 + k] as number) * (b[k * 128 + i] as number);
      expect(deltaAt(m, i, j)).toBeCloseTo(20 * expected, 6);
    }
  });

  it('refuses a PEFT adapter without adapter_config.json, says which file and how to pass the scale', async () => {
    const dir = path.join(tmp.dir, 'peft-no-config');
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(realFixturesDir ?? '', 'peft-lora-roberta-mrpc', 'checkpoint-230', 'adapter_model.safetensors'), path.join(dir, 'adapter_model.safetensors'));
    const e = await expectError(() => openAdapter(dir), 'ADAPTER_CONFIG_MISSING', path.join(dir, 'adapter_config.json'), 'lora_alpha and r', 'options.scale');
    expect(e.file).toBe(path.join(dir, 'adapter_config.json'));
    const forced = await openAdapter(path.join(dir, 'adapter_model.safetensors'), { scale: 2 });
    expect(forced.modules.every((m) => m.scale === 2 && m.scaleSource === 'options.scale')).toBe(true);
    expect(forced.configPath).toBeNull();
    expect(forced.notes).toEqual(['no adapter_config.json: fan_in_fan_out is assumed false (set options.fanInFanOut for GPT-2 style Conv1D weights)']);
  });

  it('accepts a config named explicitly', async () => {
    const dir = path.join(tmp.dir, 'peft-no-config');
    const config = path.join(realFixturesDir ?? '', 'peft-lora-roberta-mrpc', 'checkpoint-230', 'adapter_config.json');
    const adapter = await openAdapter(dir, { config });
    expect(adapter.configPath).toBe(config);
    expect(adapter.modules[0]?.scale).toBe(2);
    expect(adapter.baseModel).toBe('roberta-base');
  });
});

// ---------------------------------------------------------------------------------------------------
// Synthetic adapters: every layout rule with values worked out by hand

let adapterCount = 0;
/** Writes `tensors` (F32 unless a TensorToWrite is given) and the config beside them; returns the directory. */
function writeAdapter(file: string, tensors: Record<string, { shape: number[]; values?: number[] } | TensorToWrite>, config?: unknown, metadata?: Record<string, string>): string {
  const dir = path.join(tmp.dir, `a${adapterCount++}`);
  fs.mkdirSync(dir);
  const entries = Object.entries(tensors).map(([name, t]) => {
    if ('dtype' in t) return [name, t] as const;
    const numel = t.shape.reduce((a, b) => a * b, 1);
    const values = t.values ?? Array.from({ length: numel }, (_, i) => ((i * 7) % 11) / 10 - 0.5);
    return [name, { dtype: 'F32' as const, shape: t.shape, data: Float32Array.from(values) }] as const;
  });
  writeSafetensorsSync(path.join(dir, file), entries, metadata);
  if (config !== undefined) fs.writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify(config));
  return dir;
}

const PEFT_CONFIG = { peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'], fan_in_fan_out: false, base_model_name_or_path: 'tiny' };
const peftPair = (module: string, rank: number, out: number, inFeatures: number) => ({
  [`base_model.model.${module}.lora_A.weight`]: { shape: [rank, inFeatures] },
  [`base_model.model.${module}.lora_B.weight`]: { shape: [out, rank] },
});

describe('PEFT adapters', () => {
  it('scales by lora_alpha/r, with rank_pattern and alpha_pattern per module (PEFT regex-suffix matching)', async () => {
    const dir = writeAdapter('adapter_model.safetensors', {
      ...peftPair('model.layers.0.self_attn.q_proj', 4, 6, 5),
      ...peftPair('model.layers.0.self_attn.v_proj', 2, 3, 5),
      ...peftPair('model.layers.1.self_attn.v_proj', 4, 3, 5),
    }, { ...PEFT_CONFIG, rank_pattern: { 'layers.0.self_attn.v_proj': 2 }, alpha_pattern: { '^model.layers.1.*v_proj': 2 } });
    const adapter = await openAdapter(dir);
    const byKey = Object.fromEntries(adapter.modules.map((m) => [m.key.replace('base_model.model.model.layers.', ''), m]));
    expect(byKey['0.self_attn.q_proj']).toMatchObject({ scale: 2, rank: 4, rows: 6, cols: 5, scaleSource: 'lora_alpha/r = 8/4', name: 'model.layers.0.self_attn.q_proj.weight' });
    expect(byKey['0.self_attn.v_proj']).toMatchObject({ scale: 4, rank: 2, scaleSource: 'lora_alpha/r = 8/2' });
    expect(byKey['1.self_attn.v_proj']).toMatchObject({ scale: 0.5, rank: 4, scaleSource: 'lora_alpha/r = 2/4' });
    expect(adapter.notes).toEqual([]);
  });

  it('matches pattern keys the way PEFT get_pattern_key does', () => {
    expect(peftPatternValue({ q_proj: 16 }, 'model.layers.0.self_attn.q_proj')).toBe(16);
    expect(peftPatternValue({ q_proj: 16 }, 'model.layers.0.self_attn.xq_proj')).toBeUndefined();
    expect(peftPatternValue({ 'layers\\.[01]\\.self_attn\\.q_proj': 16 }, 'model.layers.1.self_attn.q_proj')).toBe(16);
    expect(peftPatternValue({ a: 1, q_proj: 2 }, 'x.q_proj')).toBe(2);
  });

  it('scales by lora_alpha/√r with use_rslora', async () => {
    const dir = writeAdapter('adapter_model.safetensors', peftPair('model.layers.0.mlp.up_proj', 4, 6, 5), { ...PEFT_CONFIG, use_rslora: true });
    const [m] = (await openAdapter(dir)).modules;
    expect(m?.scale).toBe(4); // 8 / √4
    expect(m?.scaleSource).toBe('lora_alpha/√r = 8/√4 (use_rslora)');
  });

  it('notes a rank that disagrees with the config and assumes PEFT defaults for missing fields', async () => {
    const dir = writeAdapter('adapter_model.safetensors', peftPair('model.layers.0.mlp.up_proj', 2, 6, 5), { peft_type: 'LORA', lora_alpha: 16 });
    const adapter = await openAdapter(dir);
    expect(adapter.modules[0]?.scale).toBe(2); // 16 / default r 8
    expect(adapter.notes).toEqual([
      "adapter config has no r: PEFT's default r = 8 is assumed",
      "base_model.model.model.layers.0.mlp.up_proj: the config gives rank 8 but the factors have rank 2; the scale uses the config's 8, as PEFT would",
    ]);
  });

  it('transposes embeddings: lora_embedding_A [r, V] and lora_embedding_B [d, r] give ΔW [V, d] = s·(B·A)ᵀ', async () => {
    const A = [1, 2, 3, 4, 5, 6]; // r=2 × V=3
    const B = [1, 0, 0, 1, 1, 1, 2, -1]; // d=4 × r=2
    const dir = writeAdapter('adapter_model.safetensors', {
      'base_model.model.model.embed_tokens.lora_embedding_A': { shape: [2, 3], values: A },
      'base_model.model.model.embed_tokens.lora_embedding_B': { shape: [4, 2], values: B },
    }, { ...PEFT_CONFIG, r: 2 });
    const [m] = (await openAdapter(dir)).modules as [LoraModule];
    expect([m.name, m.rows, m.cols, m.rank, m.scale, m.transposed]).toEqual(['model.embed_tokens.weight', 3, 4, 2, 4, true]);
    // ΔW[v][e] = s · Σ_k B[e][k]·A[k][v]; e.g. v=2, e=3: 4·(2·3 + (−1)·6) = 0; v=0, e=2: 4·(1·1 + 1·4) = 20.
    expect(deltaAt(m, 2, 3)).toBeCloseTo(0, 12);
    expect(deltaAt(m, 0, 2)).toBeCloseTo(20, 12);
    expect(deltaAt(m, 1, 0)).toBeCloseTo(8, 12); // 4·(1·2 + 0·5)
  });

  it('flattens a convolution: A [r, in, 3, 3] and B [out, r, 1, 1] give ΔW [out, in·9]', async () => {
    const dir = writeAdapter('adapter_model.safetensors', {
      'base_model.model.unet.conv_in.lora_A.weight': { shape: [2, 4, 3, 3] },
      'base_model.model.unet.conv_in.lora_B.weight': { shape: [8, 2, 1, 1] },
    }, PEFT_CONFIG);
    const [m] = (await openAdapter(dir)).modules;
    expect([m?.rows, m?.cols, m?.rank, m?.name]).toEqual([8, 36, 2, 'unet.conv_in.weight']);
  });

  it('detects DoRA (use_dora, lora_magnitude_vector) as needing the base, and lists the magnitudes', async () => {
    const dir = writeAdapter('adapter_model.safetensors', {
      ...peftPair('model.layers.0.self_attn.q_proj', 4, 6, 5),
      'base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector': { shape: [6] },
    }, { ...PEFT_CONFIG, use_dora: true });
    const adapter = await openAdapter(dir);
    expect(adapter.needsBase).toBe(true);
    expect(adapter.fullTensors).toMatchObject([{ kind: 'magnitude', name: 'model.layers.0.self_attn.q_proj.lora_magnitude_vector', shape: [6] }]);
    expect(adapter.notes[0]).toMatch(/^DoRA \(use_dora\), 1 magnitude vectors: W′ = m ⊙ \(W \+ s·B·A\)/);
    expect(adapter.notes).toContain('without the base checkpoint, the ΔW reported for each module is only the low-rank part s·B·A');
    expect(adapter.modules.length).toBe(1);
  });

  it.each([['pissa_niter_4', 'PiSSA'], ['olora', 'OLoRA'], ['corda', 'CorDA'], ['loftq', 'LoftQ']])(
    'detects init_lora_weights=%s as needing the base', async (init, label) => {
      const dir = writeAdapter('adapter_model.safetensors', peftPair('model.layers.0.self_attn.q_proj', 4, 6, 5), { ...PEFT_CONFIG, init_lora_weights: init });
      const adapter = await openAdapter(dir);
      expect(adapter.needsBase).toBe(true);
      expect(adapter.notes[0]).toContain(`${label} initialisation (init_lora_weights="${init}")`);
    },
  );

  it('does not flag init_lora_weights true / "gaussian" or an empty loftq_config', async () => {
    const dir = writeAdapter('adapter_model.safetensors', peftPair('model.layers.0.self_attn.q_proj', 4, 6, 5), { ...PEFT_CONFIG, init_lora_weights: 'gaussian', loftq_config: {} });
    expect((await openAdapter(dir)).needsBase).toBe(false);
  });

  it('lists a lora_B bias as a full tensor', async () => {
    const dir = writeAdapter('adapter_model.safetensors', {
      ...peftPair('model.layers.0.self_attn.q_proj', 4, 6, 5),
      'base_model.model.model.layers.0.self_attn.q_proj.lora_B.bias': { shape: [6] },
    }, { ...PEFT_CONFIG, lora_bias: true });
    expect((await openAdapter(dir)).fullTensors).toMatchObject([{ kind: 'lora_bias', name: 'model.layers.0.self_attn.q_proj.bias' }]);
  });
});

describe('MLX, kohya, old diffusers and cloneofsimo adapters', () => {
  it('MLX: B = lora_bᵀ, A = lora_aᵀ, scale from lora_parameters.scale', async () => {
    const a = [1, 2, 3, 4, 5, 6]; // in=3 × r=2
    const b = [1, 0, 2, 0, 1, -1]; // r=2 × out=3
    const dir = writeAdapter('adapters.safetensors', {
      'model.layers.0.self_attn.q_proj.lora_a': { shape: [3, 2], values: a },
      'model.layers.0.self_attn.q_proj.lora_b': { shape: [2, 3], values: b },
    }, { lora_parameters: { rank: 2, scale: 10 } });
    const [m] = (await openAdapter(dir)).modules as [LoraModule];
    expect([m.layout, m.name, m.rows, m.cols, m.rank, m.scale]).toEqual(['mlx', 'model.layers.0.self_attn.q_proj.weight', 3, 3, 2, 10]);
    // ΔW = 10·(a·b)ᵀ, so ΔW[i][j] = 10·Σ_k a[j][k]·b[k][i]: ΔW[2][1] = 10·(3·2 + 4·(−1)) = 20, ΔW[0][2] = 10·(5·1 + 6·0) = 50.
    expect(deltaAt(m, 2, 1)).toBeCloseTo(20, 10);
    expect(deltaAt(m, 0, 2)).toBeCloseTo(50, 10);
  });

  it('MLX: no config → ADAPTER_CONFIG_MISSING; a config without lora_parameters.scale → ADAPTER_INVALID', async () => {
    const tensors = { 'l.q.lora_a': { shape: [3, 2] }, 'l.q.lora_b': { shape: [2, 3] } };
    await expectError(() => openAdapter(writeAdapter('adapters.safetensors', tensors)), 'ADAPTER_CONFIG_MISSING', 'lora_parameters.scale', 'options.scale');
    await expectError(() => openAdapter(writeAdapter('adapters.safetensors', tensors, { lora_parameters: { rank: 2 } })), 'ADAPTER_INVALID', 'lora_parameters.scale');
    expect((await openAdapter(writeAdapter('adapters.safetensors', tensors), { scale: 3 })).modules[0]?.scale).toBe(3);
  });

  it('MLX DoRA: fine_tune_type "dora" and `.m` magnitudes need the base', async () => {
    const dir = writeAdapter('adapters.safetensors', { 'l.q.lora_a': { shape: [3, 2] }, 'l.q.lora_b': { shape: [2, 3] }, 'l.q.m': { shape: [3] } },
      { fine_tune_type: 'dora', lora_parameters: { rank: 2, scale: 20 } });
    const adapter = await openAdapter(dir);
    expect(adapter.needsBase).toBe(true);
    expect(adapter.fullTensors).toMatchObject([{ tensor: 'l.q.m', kind: 'magnitude' }]);
  });

  it('kohya: s = alpha/r from the scalar .alpha, 1 without it; dora_scale needs the base', async () => {
    const file = path.join(writeAdapter('lora.safetensors', {
      'lora_unet_mid_block_attentions_0_proj_in.lora_down.weight': { shape: [4, 6] },
      'lora_unet_mid_block_attentions_0_proj_in.lora_up.weight': { shape: [5, 4] },
      'lora_unet_mid_block_attentions_0_proj_in.alpha': { shape: [], values: [2] },
      'lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight': { shape: [2, 6] },
      'lora_te_text_model_encoder_layers_0_mlp_fc1.lora_up.weight': { shape: [7, 2] },
      'lora_te_text_model_encoder_layers_0_mlp_fc1.dora_scale': { shape: [1, 6] },
    }), 'lora.safetensors');
    const adapter = await openAdapter(file);
    expect(adapter.layout).toBe('kohya');
    expect(adapter.modules.map((m) => [m.name, m.rows, m.cols, m.rank, m.scale, m.tensors.length])).toEqual([
      ['lora_unet_mid_block_attentions_0_proj_in', 5, 6, 4, 0.5, 3],
      ['lora_te_text_model_encoder_layers_0_mlp_fc1', 7, 6, 2, 1, 2],
    ]);
    expect(adapter.modules[1]?.scaleSource).toBe('no .alpha tensor: alpha = r');
    expect(adapter.needsBase).toBe(true);
    expect(adapter.fullTensors.map((t) => t.kind)).toEqual(['magnitude']);
  });

  it('old diffusers: maps `processor.to_out_lora` to the base `to_out.0.weight`, scale 1, F16 factors decoded', async () => {
    const f16 = (shape: number[]) => ({ dtype: 'F16' as const, shape, data: encodeFloat32(Float32Array.from({ length: shape[0]! * shape[1]! }, (_, i) => i / 8), 'F16') });
    const dir = writeAdapter('pytorch_lora_weights.safetensors', {
      'unet.mid_block.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.down.weight': f16([2, 8]),
      'unet.mid_block.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.up.weight': f16([8, 2]),
      'unet.mid_block.attentions.0.proj_in.lora.down.weight': f16([2, 8]),
      'unet.mid_block.attentions.0.proj_in.lora.up.weight': f16([4, 2]),
    });
    const adapter = await openAdapter(dir);
    expect(adapter.modules.map((m) => [m.layout, m.name, m.rows, m.cols, m.scale])).toEqual([
      ['diffusers', 'unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_out.0.weight', 8, 8, 1],
      ['diffusers', 'unet.mid_block.attentions.0.proj_in.weight', 4, 8, 1],
    ]);
    expect(adapter.modules[1]?.a[15]).toBe(15 / 8);
  });

  it('cloneofsimo: up·down with scale 1; `<s1>` embeddings listed as full tensors', async () => {
    const dir = writeAdapter('lora.safetensors', {
      'unet:0:down': { shape: [1, 4], values: [1, 2, 3, 4] },
      'unet:0:up': { shape: [3, 1], values: [1, -1, 2] },
      '<s1>': { shape: [4] },
    }, undefined, { '<s1>': '<embed>', 'unet:0:rank': '1' });
    const adapter = await openAdapter(dir);
    const m = adapter.modules[0] as LoraModule;
    expect([m.layout, m.name, m.rows, m.cols, m.rank, m.scale]).toEqual(['cloneofsimo', 'unet:0', 3, 4, 1, 1]);
    expect(deltaAt(m, 2, 3)).toBe(8);
    expect(lowRankSingularValues(m.b, m.a, 3, 4, 1, 1)[0]).toBeCloseTo(Math.sqrt(6) * Math.sqrt(30), 12);
    expect(adapter.fullTensors).toMatchObject([{ tensor: '<s1>', kind: 'token_embedding' }]);
  });
});

describe('openAdapter: bad input', () => {
  it('rejects an unpaired factor', async () => {
    const dir = writeAdapter('adapter_model.safetensors', { 'base_model.model.x.lora_A.weight': { shape: [2, 3] } }, PEFT_CONFIG);
    await expectError(() => openAdapter(dir), 'ADAPTER_INVALID', 'base_model.model.x.lora_A.weight has no up (B) partner');
  });

  it('rejects factors whose ranks disagree', async () => {
    const dir = writeAdapter('adapter_model.safetensors', { 'base_model.model.x.lora_A.weight': { shape: [2, 3] }, 'base_model.model.x.lora_B.weight': { shape: [4, 3] } }, PEFT_CONFIG);
    await expectError(() => openAdapter(dir), 'SHAPE_MISMATCH', 'disagree on the rank', 'gives 2', 'gives 3');
  });

  it('rejects PEFT types other than plain LoRA (AdaLoRA puts λ between B and A)', async () => {
    const dir = writeAdapter('adapter_model.safetensors', peftPair('model.layers.0.self_attn.q_proj', 4, 6, 5), { ...PEFT_CONFIG, peft_type: 'ADALORA' });
    await expectError(() => openAdapter(dir), 'ADAPTER_INVALID', 'peft_type "ADALORA"');
  });

  it('rejects a file without LoRA tensors', async () => {
    const dir = writeAdapter('adapter_model.safetensors', { 'model.layers.0.q_proj.weight': { shape: [2, 2] } }, PEFT_CONFIG);
    await expectError(() => openAdapter(dir), 'ADAPTER_INVALID', 'holds no LoRA factor pair');
  });

  it('explains a directory holding only a pickled adapter_model.bin', async () => {
    const dir = path.join(tmp.dir, 'pickle-only');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'adapter_model.bin'), 'not read');
    await expectError(() => openAdapter(dir), 'EMPTY_CHECKPOINT', 'adapter_model.bin is a pickle');
  });

  it('rejects a missing path and bad options', async () => {
    await expectError(() => openAdapter(path.join(tmp.dir, 'nope')), 'FILE_NOT_FOUND');
    await expectError(() => openAdapter(tmp.dir, { scale: Number.NaN }), 'INVALID_ARGUMENT', 'scale');
  });
});

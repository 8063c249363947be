/**
 * Multimodal naming (docs/formats.md, "Multimodal naming"): components and per-component layers for the
 * legacy and the transformers ≥ 4.52 names of LLaVA, Gemma 3, Qwen2/2.5/3-VL, Idefics3, mllama, InternVL,
 * Phi-3.5-vision, Qwen2-Audio, Qwen-Omni and Whisper; per-component layer and depth aggregates, evidence
 * and plots of a LLaVA- and a Qwen2-VL-named pair; the component filter (library and CLI); a text-only
 * model's output unchanged; `inspect` showing logical dtypes with `--json` kept compatible.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeCheckpoint } from '../../lib/analyze';
import { diff } from '../../lib/diff';
import { classifyTensor } from '../../lib/plan/modules';
import { type TensorToWrite, writeSafetensorsSync } from '../../lib/read/writer';
import { toHtml } from '../../lib/report/html';
import { runCli } from '../helpers/cli';
import { failure } from '../helpers/failure';
import { bf16, gaussianMatrix, quantizeFp8, quantizeMxfp4 } from '../helpers/formats';
import { temporaryDirectory } from '../helpers/paths';

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = temporaryDirectory('paramscope-multimodal-')));
afterAll(() => cleanup());

describe('components and layers of multimodal names', () => {
  const cases: Array<[string, string, number | null]> = [
    // LLaVA family, legacy and ≥ 4.52
    ['vision_tower.vision_model.encoder.layers.3.self_attn.q_proj.weight', 'vision', 3],
    ['model.vision_tower.vision_model.encoder.layers.3.mlp.fc1.weight', 'vision', 3],
    ['vision_tower.vision_model.post_layernorm.weight', 'vision', null],
    ['multi_modal_projector.linear_1.weight', 'projector', null],
    ['model.multi_modal_projector.linear_2.weight', 'projector', null],
    ['language_model.model.layers.3.self_attn.q_proj.weight', 'language', 3],
    ['model.language_model.layers.3.mlp.down_proj.weight', 'language', 3],
    ['image_newline', 'projector', null],
    // Gemma 3
    ['multi_modal_projector.mm_input_projection_weight', 'projector', null],
    // Pixtral / Mistral-3
    ['vision_tower.transformer.layers.5.attention.wq.weight', 'vision', 5],
    // Qwen2-VL / 2.5-VL / 3-VL
    ['visual.blocks.7.attn.qkv.weight', 'vision', 7],
    ['model.visual.blocks.7.mlp.linear_fc1.weight', 'vision', 7],
    ['visual.merger.mlp.0.weight', 'projector', null],
    ['model.visual.deepstack_merger_list.1.linear_fc2.weight', 'projector', null],
    ['visual.patch_embed.proj.weight', 'vision', null],
    ['model.layers.7.self_attn.q_proj.weight', 'language', 7],
    // Idefics3 / SmolVLM
    ['model.vision_model.encoder.layers.2.self_attn.k_proj.weight', 'vision', 2],
    ['model.connector.modality_projection.proj.weight', 'projector', null],
    ['model.text_model.layers.2.self_attn.k_proj.weight', 'language', 2],
    // mllama, Llama-4
    ['vision_model.transformer.layers.4.self_attn.q_proj.weight', 'vision', 4],
    ['vision_model.global_transformer.layers.1.mlp.fc1.weight', 'vision', 1],
    ['model.vision_model.model.layers.6.mlp.fc2.weight', 'vision', 6],
    ['vision_model.vision_adapter.mlp.fc1.weight', 'projector', null],
    // InternVL (remote code and HF)
    ['vision_model.encoder.layers.9.attn.qkv.weight', 'vision', 9],
    ['mlp1.1.weight', 'projector', null],
    ['model.vision_tower.encoder.layer.9.attention.q_proj.weight', 'vision', 9],
    // Phi-3.5-vision
    ['model.vision_embed_tokens.img_processor.vision_model.encoder.layers.11.mlp.fc1.weight', 'vision', 11],
    ['model.vision_embed_tokens.img_projection.0.weight', 'projector', null],
    // Qwen2-Audio, Qwen2.5/3-Omni
    ['audio_tower.layers.8.self_attn.q_proj.weight', 'audio', 8],
    ['thinker.audio_tower.layers.8.fc1.weight', 'audio', 8],
    ['thinker.visual.blocks.2.attn.qkv.weight', 'vision', 2],
    ['thinker.model.layers.2.mlp.up_proj.weight', 'language', 2],
    ['talker.model.layers.2.mlp.up_proj.weight', 'other', 2],
    // DeepSeek-V4 native
    ['vision.blocks.1.attn.wq.weight', 'vision', 1],
    ['layers.1.attn.wo_a.weight', 'language', 1],
  ];
  it.each(cases)('%s → %s, layer %s', (name, component, layer) => {
    const info = classifyTensor(name);
    expect([info.component, info.layer]).toEqual([component, layer]);
  });

  it('Whisper: model.encoder is audio when the checkpoint is a speech model, model.decoder is language', () => {
    expect(classifyTensor('model.encoder.layers.3.fc1.weight', { audioEncoder: true })).toMatchObject({ component: 'audio', layer: 3, type: 'up' });
    expect(classifyTensor('model.encoder.conv1.weight', { audioEncoder: true }).component).toBe('audio');
    expect(classifyTensor('model.decoder.layers.3.encoder_attn.q_proj.weight', { audioEncoder: true })).toMatchObject({ component: 'language', layer: 3, type: 'q' });
    expect(classifyTensor('model.encoder.layers.3.fc1.weight').component).toBe('language'); // BART-style encoders without the hint
  });
});

const bf16Tensor = (values: Float64Array, shape: number[]): TensorToWrite => ({ dtype: 'BF16', shape, data: bf16(values).bits });

/** A small multimodal checkpoint pair: `layers` blocks in each tower, vision changed strongly in its last block. */
function multimodalPair(name: string, naming: 'llava-legacy' | 'llava-new' | 'qwen2-vl', layers = 4): [string, string] {
  const names = (l: number) => naming === 'qwen2-vl'
    ? { vision: `visual.blocks.${l}.attn.qkv.weight`, language: `model.layers.${l}.self_attn.q_proj.weight`, projector: 'visual.merger.mlp.0.weight', embed: 'model.embed_tokens.weight' }
    : naming === 'llava-new'
      ? { vision: `model.vision_tower.vision_model.encoder.layers.${l}.self_attn.q_proj.weight`, language: `model.language_model.layers.${l}.self_attn.q_proj.weight`, projector: 'model.multi_modal_projector.linear_1.weight', embed: 'model.language_model.embed_tokens.weight' }
      : { vision: `vision_tower.vision_model.encoder.layers.${l}.self_attn.q_proj.weight`, language: `language_model.model.layers.${l}.self_attn.q_proj.weight`, projector: 'multi_modal_projector.linear_1.weight', embed: 'language_model.model.embed_tokens.weight' };
  const make = (tuned: boolean) => {
    const t: Record<string, TensorToWrite> = {};
    let seed = 100;
    for (let l = 0; l < layers; l++) {
      const v = gaussianMatrix(24, 24, seed++, 0.05), g = gaussianMatrix(32, 32, seed++, 0.05);
      if (tuned) {
        const bump = gaussianMatrix(24, 1, 500 + l, l === layers - 1 ? 0.2 : 0.01);
        for (let i = 0; i < 24; i++) for (let j = 0; j < 24; j++) v[i * 24 + j] = (v[i * 24 + j] as number) + (bump[i] as number) * (bump[j] as number);
        const lbump = gaussianMatrix(32, 1, 600 + l, 0.02);
        for (let i = 0; i < 32; i++) for (let j = 0; j < 32; j++) g[i * 32 + j] = (g[i * 32 + j] as number) + (lbump[i] as number) * (lbump[(j + 3) % 32] as number);
      }
      t[names(l).vision] = bf16Tensor(v, [24, 24]);
      t[names(l).language] = bf16Tensor(g, [32, 32]);
    }
    t[names(0).projector] = bf16Tensor(gaussianMatrix(32, 24, 900 + (tuned ? 1 : 0), 0.05), [32, 24]);
    t[names(0).embed] = bf16Tensor(gaussianMatrix(40, 32, 901, 0.05), [40, 32]);
    const at = path.join(dir, `${name}-${tuned ? 'tuned' : 'base'}.safetensors`);
    writeSafetensorsSync(at, t);
    return at;
  };
  return [make(false), make(true)];
}

describe('per-component layers, depth, evidence and plots', () => {
  it.each(['llava-legacy', 'llava-new', 'qwen2-vl'] as const)('%s naming: vision block 3 and language block 3 are different layers', async (naming) => {
    const [base, tuned] = multimodalPair(naming, naming);
    const report = await diff(base, tuned, { mode: 'exact', directions: false });
    const layerKeys = report.aggregates.byLayer.map((g) => g.key).sort();
    expect(layerKeys).toEqual(['language/0', 'language/1', 'language/2', 'language/3', 'vision/0', 'vision/1', 'vision/2', 'vision/3']);
    for (const g of report.aggregates.byLayer) expect(g.matrices).toBe(1);
    const depthKeys = report.aggregates.byDepth.map((g) => g.key);
    expect(depthKeys).toContain('vision/80-100%');
    expect(depthKeys).toContain('language/00-20%');
    expect(report.aggregates.byComponent.map((g) => g.key).sort()).toEqual(['language', 'projector', 'vision']);
    const evidence = report.verdict.evidence.map((e) => e.text).join('\n');
    expect(evidence).toContain('vision layer 3');
    expect(evidence).toMatch(/update energy by component: .*vision .*%/);
    const html = toHtml(report);
    for (const id of ['plot-depth-energy-vision', 'plot-depth-energy-language', 'plot-heatmap-energy-vision', 'plot-heatmap-energy-language']) expect(html).toContain(`id="${id}"`);
  });

  it('--component / component: only the chosen components, the others listed as excluded', async () => {
    const [base, tuned] = multimodalPair('filter', 'llava-new');
    const report = await diff(base, tuned, { mode: 'exact', directions: false, component: 'vision' });
    expect(report.pairs.every((p) => p.module.component === 'vision')).toBe(true);
    expect(report.pairs).toHaveLength(4);
    expect(report.pairing.counts.excluded).toBe(6);
    expect(report.aggregates.byLayer.map((g) => g.key).sort()).toEqual(['0', '1', '2', '3']); // one component: plain keys
    const analysis = await analyzeCheckpoint(tuned, { mode: 'exact', component: ['projector', 'language'] });
    expect(new Set(analysis.tensors.map((t) => t.module.component))).toEqual(new Set(['projector', 'language']));
    const none = await failure(diff(base, tuned, { component: 'audio' }));
    expect(none.code).toBe('EMPTY_PAIRING');
    expect(none.message).toContain('component filter');

    const cli = runCli(['diff', base, tuned, '--mode', 'exact', '--no-directions', '--component', 'vision,projector', '--json']);
    expect(cli.status).toBe(0);
    const doc = JSON.parse(cli.stdout) as { pairs: Array<{ module: { component: string } }> };
    expect(new Set(doc.pairs.map((p) => p.module.component))).toEqual(new Set(['vision', 'projector']));
    const bad = runCli(['analyze', tuned, '--component', 'eyes']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('--component');
  });

  it('a text-only model keeps plain layer keys and no component evidence', async () => {
    const make = (seed: number) => {
      const t: Record<string, TensorToWrite> = {};
      for (let l = 0; l < 3; l++) t[`model.layers.${l}.mlp.up_proj.weight`] = bf16Tensor(gaussianMatrix(16, 16, seed + l, 0.05), [16, 16]);
      t['model.embed_tokens.weight'] = bf16Tensor(gaussianMatrix(20, 16, 7, 0.05), [20, 16]);
      const at = path.join(dir, `text-${seed}.safetensors`);
      writeSafetensorsSync(at, t);
      return at;
    };
    const report = await diff(make(1), make(2), { mode: 'exact', directions: false });
    expect(report.aggregates.byLayer.map((g) => g.key)).toEqual(['0', '1', '2']);
    expect(report.aggregates.byDepth.every((g) => !g.key.includes('/'))).toBe(true);
    expect(report.aggregates.byExpert).toBeUndefined();
    expect(report.quantization).toBeUndefined();
    expect(report.verdict.evidence.some((e) => e.text.includes('by component'))).toBe(false);
    expect(toHtml(report)).toContain('id="plot-depth-energy"');
  });
});

describe('inspect shows logical dtypes', () => {
  it('FP8 block weights with their scales, MXFP4 experts, refused quantizations; --json keeps its fields and adds logical ones', () => {
    const at = path.join(dir, 'inspect');
    fs.mkdirSync(at, { recursive: true });
    const q = quantizeFp8(gaussianMatrix(130, 64, 5, 0.02), 130, 64, [128, 128]);
    const mx = quantizeMxfp4(gaussianMatrix(2 * 8 * 64, 1, 6, 0.1), 2, 8, 64);
    writeSafetensorsSync(path.join(at, 'model.safetensors'), {
      'model.layers.0.self_attn.q_proj.weight': { dtype: 'F8_E4M3', shape: [130, 64], data: q.codes },
      'model.layers.0.self_attn.q_proj.weight_scale_inv': { dtype: 'F32', shape: [2, 1], data: q.scales },
      'model.layers.0.mlp.experts.gate_up_proj_blocks': { dtype: 'U8', shape: [2, 8, 2, 16], data: mx.blocks },
      'model.layers.0.mlp.experts.gate_up_proj_scales': { dtype: 'U8', shape: [2, 8, 2], data: mx.scales },
    });
    const table = runCli(['inspect', at]);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/q_proj\.weight\s+F8_E4M3\s+\[130, 64\].*FP8 block 128×128/);
    expect(table.stdout).toMatch(/weight_scale_inv\s+F32.*scale of model\.layers\.0\.self_attn\.q_proj\.weight/);
    expect(table.stdout).toMatch(/gate_up_proj_blocks\s+U8.*MXFP4, 2 experts \[out, in\] gate\/up interleaved, logical model\.layers\.0\.mlp\.experts\.gate_up_proj/);
    const json = JSON.parse(runCli(['inspect', at, '--json']).stdout) as Record<string, unknown>;
    for (const key of ['path', 'kind', 'metadata', 'indexMetadata', 'warnings', 'tensors', 'totals']) expect(json).toHaveProperty(key);
    expect((json.tensors as unknown[]).length).toBe(4);
    const logical = json.logical as Array<{ name: string; layout: string; shape: number[] }>;
    expect(logical.map((t) => [t.name, t.layout, t.shape])).toEqual([
      ['model.layers.0.self_attn.q_proj.weight', 'FP8 block 128×128', [130, 64]],
      ['model.layers.0.mlp.experts.gate_up_proj', 'MXFP4', [2, 8, 64]],
    ]);

    const gptq = path.join(dir, 'inspect-gptq.safetensors');
    writeSafetensorsSync(gptq, { 'a.qweight': { dtype: 'I32', shape: [2, 4], data: new Int32Array(8) }, 'a.qzeros': { dtype: 'I32', shape: [1, 1], data: new Int32Array(1) } });
    const refused = runCli(['inspect', gptq]);
    expect(refused.status).toBe(0);
    expect(refused.stdout).toContain('GPTQ/AWQ');
    expect((JSON.parse(runCli(['inspect', gptq, '--json']).stdout) as { quantization: { refused: { method: string } } }).quantization.refused.method).toBe('GPTQ/AWQ');
  });
});

import { describe, expect, it } from 'vitest';
import { globMatcher, nameFilter } from '../../lib/plan/glob';
import { classifyTensor } from '../../lib/plan/modules';

describe('classifyTensor', () => {
  const cases: Array<[string, number | null, string]> = [
    ['model.layers.12.self_attn.q_proj.weight', 12, 'q'],
    ['model.layers.0.self_attn.k_proj.weight', 0, 'k'],
    ['model.layers.3.self_attn.v_proj.weight', 3, 'v'],
    ['model.layers.3.self_attn.o_proj.weight', 3, 'o'],
    ['model.layers.7.mlp.gate_proj.weight', 7, 'gate'],
    ['model.layers.7.mlp.up_proj.weight', 7, 'up'],
    ['model.layers.7.mlp.down_proj.weight', 7, 'down'],
    ['model.embed_tokens.weight', null, 'embedding'],
    ['lm_head.weight', null, 'lm_head'],
    ['model.layers.1.input_layernorm.weight', 1, 'norm'],
    ['transformer.h.5.attn.c_attn.weight', 5, 'qkv'],
    ['transformer.h.5.attn.c_proj.weight', 5, 'o'],
    ['transformer.h.5.mlp.c_fc.weight', 5, 'up'],
    ['transformer.h.5.mlp.c_proj.weight', 5, 'down'],
    ['transformer.wte.weight', null, 'embedding'],
    ['roberta.encoder.layer.4.attention.self.query.weight', 4, 'q'],
    ['roberta.encoder.layer.4.attention.output.dense.weight', 4, 'o'],
    ['roberta.encoder.layer.4.intermediate.dense.weight', 4, 'up'],
    ['roberta.encoder.layer.4.output.dense.weight', 4, 'down'],
    ['base_model.model.model.layers.2.self_attn.q_proj.lora_A.weight', 2, 'q'],
    ['model.layers.36.self_attn.v_proj.lora_b', 36, 'v'],
  ];
  it.each(cases)('%s → layer %s, type %s', (name, layer, type) => {
    const info = classifyTensor(name);
    expect(info.layer).toBe(layer);
    expect(info.type).toBe(type);
  });

  it('groups unknown modules by their pattern and finds components and experts', () => {
    const a = classifyTensor('model.layers.3.foo.bar.weight');
    const b = classifyTensor('model.layers.9.foo.bar.weight');
    expect(a.type).toBe('other');
    expect(a.group).toBe(b.group);
    expect(classifyTensor('vision_tower.encoder.layers.1.self_attn.q_proj.weight').component).toBe('vision');
    expect(classifyTensor('multi_modal_projector.linear_1.weight').component).toBe('projector');
    expect(classifyTensor('language_model.model.layers.1.mlp.up_proj.weight').component).toBe('language');
    expect(classifyTensor('model.layers.1.block_sparse_moe.experts.7.w1.weight').expert).toBe(7);
  });
});

describe('globs', () => {
  it('matches whole names with *, ? and {a,b}', () => {
    expect(globMatcher('model.layers.*.mlp.{up,down}_proj.weight')('model.layers.11.mlp.up_proj.weight')).toBe(true);
    expect(globMatcher('model.layers.*.mlp.{up,down}_proj.weight')('model.layers.11.mlp.gate_proj.weight')).toBe(false);
    expect(globMatcher('*.q_proj.weight')('model.layers.0.self_attn.q_proj.weight')).toBe(true);
    expect(globMatcher('layer?')('layer1')).toBe(true);
    expect(globMatcher('a+b(c)')('a+b(c)')).toBe(true);
    const keep = nameFilter(['*proj*'], ['*.k_proj.*']);
    expect(keep('x.q_proj.weight')).toBe(true);
    expect(keep('x.k_proj.weight')).toBe(false);
    expect(keep('x.norm.weight')).toBe(false);
    expect(nameFilter()('anything')).toBe(true);
  });
});

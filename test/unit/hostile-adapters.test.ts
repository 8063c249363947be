/**
 * Hostile adapter contents (docs/security.md, "Adapters"): config values that would give a wrong or
 * infinite scale, kohya alphas that are not finite, factors of rank 0 or with an empty side in every
 * layout, and hand-built low-rank jobs whose sizes overflow. Files are generated on the fly; the file
 * attacks run through the CLI in child processes under a time limit.
 */
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeAdapter } from '../../lib/lora';
import { runSpectra } from '../../lib/engine/run';
import type { Adapter } from '../../lib/plan/lora/types';
import { ADAPTER_LAYOUTS, adapterTensors, writeAdapter } from '../fixtures/adapters';
import { expectRefused, expectSucceeded, runAttack } from '../helpers/attack';
import { failure } from '../helpers/failure';
import { temporaryDirectory } from '../helpers/paths';

const tmp = temporaryDirectory('paramscope-hostile-adapters-');
afterAll(() => tmp.cleanup());
let count = 0;
const fresh = (name: string) => path.join(tmp.dir, `${++count}-${name}`);

const PEFT = '"peft_type": "LORA", "target_modules": ["q_proj"]';

describe('adapter config values, through the CLI', () => {
  // [config text (without braces), the key the message names, the value as it shows it]
  const cases: Array<[string, string, string]> = [
    ['"r": 0, "lora_alpha": 16', 'r', '0'],
    ['"r": 4.5, "lora_alpha": 16', 'r', '4.5'],
    ['"r": -2, "lora_alpha": 16', 'r', '-2'],
    ['"r": "8", "lora_alpha": 16', 'r', '"8"'],
    ['"r": NaN, "lora_alpha": 16', 'r', 'NaN'],
    ['"r": 1e400, "lora_alpha": 16', 'r', 'Infinity'],
    ['"r": true, "lora_alpha": 16', 'r', 'true'],
    ['"r": 2, "lora_alpha": NaN', 'lora_alpha', 'NaN'],
    ['"r": 2, "lora_alpha": -Infinity', 'lora_alpha', '-Infinity'],
    ['"r": 2, "lora_alpha": "16"', 'lora_alpha', '"16"'],
    ['"r": 2, "lora_alpha": [16]', 'lora_alpha', '[16]'],
    ['"r": 2, "lora_alpha": 16, "fan_in_fan_out": "yes"', 'fan_in_fan_out', '"yes"'],
    ['"r": 2, "lora_alpha": 16, "fan_in_fan_out": 1', 'fan_in_fan_out', '1'],
    ['"r": 2, "lora_alpha": 16, "use_rslora": "true"', 'use_rslora', '"true"'],
    ['"r": 2, "lora_alpha": 16, "use_dora": 0', 'use_dora', '0'],
    ['"r": 2, "lora_alpha": 16, "rank_pattern": {"q_proj": 0}', 'rank_pattern["q_proj"]', '0'],
    ['"r": 2, "lora_alpha": 16, "rank_pattern": {"q_proj": 4.5}', 'rank_pattern["q_proj"]', '4.5'],
    ['"r": 2, "lora_alpha": 16, "rank_pattern": {"other": "4"}', 'rank_pattern["other"]', '"4"'],
    ['"r": 2, "lora_alpha": 16, "alpha_pattern": {"q_proj": NaN}', 'alpha_pattern["q_proj"]', 'NaN'],
    ['"r": 2, "lora_alpha": 16, "alpha_pattern": {"q_proj": {"x": 1}}', 'alpha_pattern["q_proj"]', '{"x":1}'],
    ['"r": 2, "lora_alpha": 16, "alpha_pattern": {"q_proj": "' + 'x'.repeat(200) + '"}', 'alpha_pattern["q_proj"]', `"${'x'.repeat(39)}...`],
  ];
  it.each(cases)('PEFT {%s} is refused naming %s = %s', (body, key, shown) => {
    const dir = writeAdapter(fresh('peft'), { layout: 'peft', rank: 2, config: `{${PEFT}, ${body}}` });
    const line = expectRefused(runAttack(['lora', dir]), 'ADAPTER_INVALID');
    expect(line).toContain(path.join(dir, 'adapter_config.json'));
    expect(line).toContain(`${key} must be`);
    expect(line).toContain(`got ${shown}`);
  });

  it('rank_pattern and alpha_pattern that are not objects are refused', () => {
    for (const body of ['"rank_pattern": [4]', '"alpha_pattern": "q_proj"']) {
      const dir = writeAdapter(fresh('pattern'), { layout: 'peft', rank: 2, config: `{${PEFT}, "r": 2, "lora_alpha": 16, ${body}}` });
      expect(expectRefused(runAttack(['lora', dir]), 'ADAPTER_INVALID')).toMatch(/_pattern must be an object/);
    }
  });

  it.each([
    ['"lora_parameters": "x"', 'lora_parameters', '"x"'],
    ['"lora_parameters": {"scale": NaN}', 'lora_parameters.scale', 'NaN'],
    ['"lora_parameters": {"scale": "2"}', 'lora_parameters.scale', '"2"'],
    ['"lora_parameters": {"scale": 2, "rank": 2.5}', 'lora_parameters.rank', '2.5'],
  ])('MLX {%s} is refused naming %s = %s', (body, key, shown) => {
    const dir = writeAdapter(fresh('mlx'), { layout: 'mlx', rank: 2, config: `{${body}}` });
    const line = expectRefused(runAttack(['lora', dir]), 'ADAPTER_INVALID');
    expect(line).toContain(`${key} must be`);
    expect(line).toContain(`got ${shown}`);
  });

  it('valid values still work: rsLoRA, fan_in_fan_out false, null for PEFT defaults, a matching rank_pattern', () => {
    const dir = writeAdapter(fresh('fine'), {
      layout: 'peft',
      rank: 4,
      config: `{${PEFT}, "r": 8, "lora_alpha": 16, "use_rslora": true, "fan_in_fan_out": false, "use_dora": null, "rank_pattern": {"self_attn\\\\.q_proj": 4}}`,
    });
    const run = runAttack(['lora', dir, '--json', '--quiet']);
    expectSucceeded(run);
    // rank_pattern gives r = 4 for the module: s = 16/√4 = 8.
    expect(JSON.parse(run.stdout).pairs[0].tunedDtype).toBe('LoRA r=4 s=8');
  });
});

describe('kohya alphas', () => {
  it.each([NaN, Infinity, -Infinity])('an .alpha of %s is refused, naming the tensor', (alpha) => {
    const dir = writeAdapter(fresh('kohya'), { layout: 'kohya', rank: 2, alpha });
    const line = expectRefused(runAttack(['lora', dir]), 'ADAPTER_INVALID');
    expect(line).toContain('lora_unet_model_layers_0_self_attn_q_proj.alpha');
    expect(line).toContain(`is ${alpha}`);
  });
});

describe('factors of rank 0 or with an empty side: refused in every layout, naming the tensor', () => {
  const mlxConfig = { lora_parameters: { scale: 2 } };
  it.each(ADAPTER_LAYOUTS)('%s, rank 0', (layout) => {
    const spec = { layout, rank: 0, ...(layout === 'mlx' ? { config: mlxConfig } : {}) };
    const dir = writeAdapter(fresh(`rank0-${layout}`), spec);
    const down = adapterTensors(spec).find(([name]) => /lora_A|lora_embedding_A|lora_a$|down/.test(name))?.[0] as string;
    const line = expectRefused(runAttack(['lora', dir]), 'ADAPTER_INVALID');
    expect(line).toContain('rank 0');
    expect(line).toContain(down);
  });

  it.each(ADAPTER_LAYOUTS)('%s, no rows or no columns', (layout) => {
    for (const shape of [{ rows: 0 }, { cols: 0 }]) {
      const dir = writeAdapter(fresh(`empty-${layout}`), { layout, rank: 2, ...shape, ...(layout === 'mlx' ? { config: mlxConfig } : {}) });
      expect(expectRefused(runAttack(['lora', dir]), 'ADAPTER_INVALID')).toContain('empty');
    }
  });
});

describe('hand-built adapters and low-rank jobs (library)', () => {
  const adapterOf = (module: Partial<Adapter['modules'][number]>): Adapter => ({
    path: 'hand-built', configPath: null, config: null, layout: 'peft', baseModel: null, fullTensors: [], needsBase: false, notes: [],
    modules: [{ name: 'w', key: 'w', layout: 'peft', rows: 3, cols: 2, rank: 1, scale: 1, scaleSource: 'by hand', transposed: false, tensors: [], b: new Float32Array(3), a: new Float32Array(2), ...module }],
  });

  it('a module of rank 0 is the zero matrix (the engine does not abort on it)', async () => {
    const report = await analyzeAdapter(adapterOf({ rank: 0, b: new Float32Array(0), a: new Float32Array(0) }));
    expect([...(report.pairs[0]?.spectrum?.values ?? [1])]).toEqual([0, 0]);
  });

  it('sizes whose product wraps around in 64 bits (2^32 × 2^32 = 0) are refused before the engine sees them', async () => {
    const error = await failure(analyzeAdapter(adapterOf({ rows: 2 ** 32, cols: 0, rank: 2 ** 32, b: new Float32Array(0), a: new Float32Array(0) })));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('rows × rank');
  });

  it('factor lengths that disagree with the sizes, and a scale that is not finite, are refused', async () => {
    const job = { name: 'w', kind: 'lowrank' as const, rows: 3, cols: 2, rank: 1, b: new Float32Array(3), a: new Float32Array(2), scale: 1 };
    for (const bad of [{ b: new Float32Array(2) }, { a: new Float32Array(5) }, { scale: NaN }, { rank: -1 }, { rows: 1.5 }]) {
      const error = await failure((async () => {
        for await (const _ of runSpectra([{ ...job, ...bad }])) void _;
      })());
      expect(error.code, JSON.stringify(bad)).toBe('INVALID_ARGUMENT');
    }
  });
});

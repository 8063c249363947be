/**
 * What the restructure (issue 8) added or fixed beside the moves: the engine defaults defined once, an
 * already opened Adapter accepted by analyzeAdapter, one wording per verdict component everywhere.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGIME_COMPONENTS, REGIME_LEGEND } from '../../lib/aggregate/regime';
import { diff } from '../../lib/diff';
import { engineDefaults, engineOptions, reportedRank, spectrumMode } from '../../lib/engine/options';
import { ensureExample } from '../../lib/example';
import { analyzeAdapter } from '../../lib/lora';
import { openAdapter } from '../../lib/plan/lora/open-adapter';
import { writeSafetensorsSync } from '../../lib/read/writer';
import { toHtml } from '../../lib/report/html/index';
import { toMarkdown } from '../../lib/report/markdown';
import type { DiffReport } from '../../lib/report/model';
import { reportSchemaText } from '../../lib/report/schema';
import { runCli } from '../helpers/cli';
import { repoRoot, temporaryDirectory } from '../helpers/paths';

const tmp = temporaryDirectory('paramscope-house-');
afterAll(() => tmp.cleanup());

describe('engine defaults', () => {
  it('are the core\'s, one frozen object, and engineOptions fills every absent option from it', () => {
    const ENGINE_DEFAULTS = engineDefaults();
    expect(Object.isFrozen(ENGINE_DEFAULTS)).toBe(true);
    expect(ENGINE_DEFAULTS).toEqual({
      mode: 'exact', rank: 64, oversampling: 10, powerIterations: 2, tolerance: 0, maxIterations: 50, seed: 0x5eed,
      precision: 'f32', exactRoute: 'auto', memoryBudget: 2 ** 31, threads: 0, parallelMatrices: 0, backend: 'auto', deviceMemoryBudget: 0,
    });
    expect(engineOptions({})).toEqual({ ...ENGINE_DEFAULTS, vectors: false });
    expect(engineOptions({ rank: 8, mode: 'truncated' })).toMatchObject({ rank: 8, mode: 'truncated', seed: ENGINE_DEFAULTS.seed });
  });

  it('give the mode and the rank a report states', () => {
    const ENGINE_DEFAULTS = engineDefaults();
    expect(spectrumMode({})).toBe(ENGINE_DEFAULTS.mode);
    expect(reportedRank('truncated', {})).toBe(ENGINE_DEFAULTS.rank);
    expect(reportedRank('truncated', { rank: 12 })).toBe(12);
    expect(reportedRank('exact', { rank: 12 })).toBeNull();
  });
});

describe('analyzeAdapter', () => {
  let adapterDir: string;
  let base: string;
  beforeAll(() => {
    base = ensureExample(path.join(tmp.dir, 'example')).base;
    adapterDir = path.join(tmp.dir, 'adapter');
    fs.mkdirSync(adapterDir);
    const tensors: Parameters<typeof writeSafetensorsSync>[1] = {};
    for (const [m, rows] of [['q_proj', 256], ['v_proj', 64]] as const) {
      const key = `base_model.model.model.layers.1.self_attn.${m}`;
      tensors[`${key}.lora_A.weight`] = { dtype: 'F32', shape: [4, 256], data: Float32Array.from({ length: 1024 }, (_, i) => Math.sin(0.3 * i)) };
      tensors[`${key}.lora_B.weight`] = { dtype: 'F32', shape: [rows, 4], data: Float32Array.from({ length: rows * 4 }, (_, i) => Math.cos(0.7 * i)) };
    }
    writeSafetensorsSync(path.join(adapterDir, 'adapter_model.safetensors'), tensors);
    fs.writeFileSync(path.join(adapterDir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 6 }));
  });

  it('takes an opened Adapter as well as a path, with the same result', async () => {
    const strip = (r: DiffReport) => ({ ...r, createdAt: '', pairs: r.pairs.map((p) => ({ ...p, seconds: 0 })) });
    const fromPath = await analyzeAdapter(adapterDir, { base });
    const adapter = await openAdapter(adapterDir);
    const fromAdapter = await analyzeAdapter(adapter, { base });
    expect(strip(fromAdapter)).toEqual(strip(fromPath));
    expect(adapter.modules.map((m) => m.scale)).toEqual([1.5, 1.5]);
  });

  it('the lora command shows each module\'s scale (lora_alpha/r = 6/4)', () => {
    const r = runCli(['lora', adapterDir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/model\.layers\.1\.self_attn\.q_proj\.weight\s+256×256\s+4\s+1\.5\s/);
    expect(r.stdout).toMatch(/model\.layers\.1\.self_attn\.v_proj\.weight\s+64×256\s+4\s+1\.5\s/);
  });
});

describe('verdict components', () => {
  it('the reports, the schema and its docs describe D, L and C with the definitions of aggregate/regime.ts', async () => {
    const example = ensureExample(path.join(tmp.dir, 'example'));
    const report = await diff(example.base, example.concentrated, { mode: 'truncated', rank: 8, directions: false });
    const texts = { markdown: toMarkdown(report), html: toHtml(report), schema: reportSchemaText(), 'docs/schema.md': fs.readFileSync(path.join(repoRoot, 'docs', 'schema.md'), 'utf8') };
    for (const [where, text] of Object.entries(texts)) {
      expect(text, where).not.toMatch(/log rank cap|log\(rank cap\)/);
      // HTML escapes the apostrophe of "update's".
      const definition = where === 'html' ? REGIME_COMPONENTS.D.definition.replace(/'/g, '&#39;') : REGIME_COMPONENTS.D.definition;
      expect(text, where).toContain(definition);
    }
    expect(REGIME_LEGEND).toBe('D directional spread, L layer/module spread, C coverage');
  });
});

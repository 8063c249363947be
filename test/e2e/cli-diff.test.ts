/**
 * diff, lora, compare and demo end to end through the CLI: verdicts on planted structure, report files,
 * and bad input (different architectures, an adapter without its config or not matching its base, an
 * empty pairing) giving one line on stderr, exit code 2 and no report files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureExample } from '../../lib/example';
import { writeSafetensorsSync } from '../../lib/read/writer';
import { runCli } from '../helpers/cli';
import { noteSkippedWithoutShared, realFixturesDir, temporaryDirectory } from '../helpers/paths';

describe('paramscope diff / lora / compare / demo', () => {
  let dir: string;
  let cleanup: () => void;
  let example: ReturnType<typeof ensureExample>;

  beforeAll(() => {
    ({ dir, cleanup } = temporaryDirectory());
    example = ensureExample(path.join(dir, 'example'));
  });
  afterAll(() => cleanup());

  it('diff: the planted concentrated update reads concentrated, the dispersed one dispersed, with reports written', () => {
    const out = path.join(dir, 'out-concentrated');
    const concentrated = runCli(['diff', example.base, example.concentrated, '--mode', 'exact', '--out', out]);
    expect(concentrated.status).toBe(0);
    expect(concentrated.stdout).toMatch(/verdict: CONCENTRATED/);
    expect(concentrated.stdout).toContain('pairing: 29 paired');
    expect(fs.readdirSync(out).sort()).toEqual(['pairs.csv', 'report.html', 'report.json', 'summary.md']);
    const json = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(json.verdict.label).toBe('concentrated');
    // Only the four planted q/v matrices rise above bf16 rounding.
    expect(json.aggregates.model.matricesWithSignal).toBe(4);

    const dispersed = runCli(['diff', example.base, example.dispersed, '--rank', '16', '--json']);
    expect(dispersed.status).toBe(0);
    const report = JSON.parse(dispersed.stdout);
    expect(report.verdict.label).toBe('dispersed');
    expect(report.options.mode).toBe('truncated');
    expect(report.options.rank).toBe(16);
    expect(dispersed.stderr).toContain('verdict: DISPERSED'); // human summary goes to stderr with --json
  });

  it('compare ranks the fine-tunes from concentrated to dispersed', () => {
    const r = runCli(['compare', example.base, example.dispersed, example.concentrated, '--mode', 'exact']);
    expect(r.status).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => /^tuned-/.test(l));
    expect(rows[0]).toMatch(/^tuned-concentrated\s+concentrated/);
    expect(rows[1]).toMatch(/^tuned-dispersed\s+dispersed/);
  });

  it('demo writes the HTML reports and prints both verdicts', () => {
    const r = runCli(['demo', '--dir', path.join(dir, 'demo')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/tuned-concentrated[\s\S]*CONCENTRATED[\s\S]*tuned-dispersed[\s\S]*DISPERSED/);
    expect(fs.existsSync(path.join(dir, 'demo', 'report-concentrated.html'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'demo', 'report-dispersed.html'))).toBe(true);
  });

  it('different architectures: ARCHITECTURE_MISMATCH naming the first mismatches, exit 2, no report', () => {
    const other = path.join(dir, 'other.safetensors');
    const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
    for (let l = 0; l < 4; l++)
      for (const m of ['q_proj', 'k_proj', 'v_proj', 'o_proj'])
        tensors[`model.layers.${l}.self_attn.${m}.weight`] = { dtype: 'F32', shape: [32, 32], data: new Float32Array(1024) };
    writeSafetensorsSync(other, tensors);
    const out = path.join(dir, 'out-mismatch');
    const r = runCli(['diff', example.base, other, '--out', out]);
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('ARCHITECTURE_MISMATCH');
    expect(lines[0]).toContain('model.layers.0.self_attn.q_proj.weight');
    expect(fs.existsSync(out)).toBe(false);
  });

  it('an empty pairing is EMPTY_PAIRING, exit 2', () => {
    const unrelated = path.join(dir, 'unrelated.safetensors');
    writeSafetensorsSync(unrelated, { 'something.else': { dtype: 'F32', shape: [4, 4], data: new Float32Array(16) } });
    const r = runCli(['diff', example.base, unrelated]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/EMPTY_PAIRING/);
  });

  it('an adapter without its config is ADAPTER_CONFIG_MISSING, exit 2, and --scale makes it readable', () => {
    const adapterDir = path.join(dir, 'adapter');
    fs.mkdirSync(adapterDir);
    writeSafetensorsSync(path.join(adapterDir, 'adapter_model.safetensors'), {
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight': { dtype: 'F32', shape: [2, 256], data: Float32Array.from({ length: 512 }, (_, i) => Math.sin(i)) },
      'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight': { dtype: 'F32', shape: [256, 2], data: Float32Array.from({ length: 512 }, (_, i) => Math.cos(i)) },
    });
    const missing = runCli(['lora', adapterDir]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('ADAPTER_CONFIG_MISSING');
    const scaled = runCli(['lora', adapterDir, '--scale', '2', '--base', example.base]);
    expect(scaled.status).toBe(0);
    expect(scaled.stdout).toMatch(/model\.layers\.0\.self_attn\.q_proj\.weight\s+256×256\s+2\s+2\s/);
  });

  it('an adapter that does not fit its base is SHAPE_MISMATCH, exit 2', () => {
    const adapterDir = path.join(dir, 'adapter-wrong');
    fs.mkdirSync(adapterDir);
    writeSafetensorsSync(path.join(adapterDir, 'adapter_model.safetensors'), {
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight': { dtype: 'F32', shape: [2, 100], data: new Float32Array(200).fill(1) },
      'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight': { dtype: 'F32', shape: [100, 2], data: new Float32Array(200).fill(1) },
    });
    const r = runCli(['diff', '--adapter', adapterDir, '--base', example.base, '--scale', '1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('SHAPE_MISMATCH');
  });

  noteSkippedWithoutShared('lora CLI on a real adapter');
  it.skipIf(!realFixturesDir)('lora on a real PEFT adapter (GPT-2, fan_in_fan_out) prints every module', () => {
    const r = runCli(['lora', path.join(realFixturesDir as string, 'trl-kto-lora-gpt2', 'checkpoint-1000')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('peft adapter, 12 modules');
    expect(r.stdout.match(/c_attn\.weight\s+768×2304\s+16\s/g)).toHaveLength(12);
  });
});

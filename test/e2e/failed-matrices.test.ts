/**
 * Matrices that fail are never a silent "no signal, confidence high" with exit 0 (issue 9), through the
 * CLI in child processes with time limits:
 *  - every matrix failing — `--memory-budget 1` (OUT_OF_MEMORY), NaN factors (NON_FINITE_INPUT), a LoRA
 *    alpha so large that s·B·A overflows (NON_FINITE_INPUT) — fails the run: ALL_MATRICES_FAILED, exit 2,
 *    one line naming the first matrices and their codes with the count, no verdict, no report written;
 *  - some failing (a NaN in one matrix of a diff): listed with their codes on the terminal and in every
 *    report format (JSON model.failed, verdict.failed and pairs[].error; CSV error_code; Markdown; HTML),
 *    counted against the verdict's confidence, exit 2 with the report written;
 *  - nothing changed in the matrices that were analysed, but one failed: "no-signal" with low confidence,
 *    never "the checkpoints differ only by storage rounding" with high confidence.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensorsSync } from '../../lib/read/writer';
import { REPORT_JSON_SCHEMA } from '../../lib/report/schema';
import { runCli } from '../helpers/cli';
import { parseCsv } from '../helpers/csv';
import { validate } from '../helpers/json-schema';
import { temporaryDirectory } from '../helpers/paths';

const LIMIT_MS = 60_000;
const NAN_MATRIX = 'model.layers.3.self_attn.v_proj.weight';

type Tensors = Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }>;

/** 16 matrices 16×16; the tuned one changed by `step` everywhere, with a NaN in NAN_MATRIX when asked. */
function writePair(base: string, tuned: string, options: { step: number; nan: boolean }): void {
  const b: Tensors = {};
  const t: Tensors = {};
  for (let l = 0; l < 8; l++)
    for (const m of ['q_proj', 'v_proj']) {
      const name = `model.layers.${l}.self_attn.${m}.weight`;
      const w = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i * 0.37 + l));
      const d = Float32Array.from(w, (x, i) => x + options.step * Math.cos(i * 1.3 + l * 7));
      if (options.nan && name === NAN_MATRIX) d[7] = NaN;
      b[name] = { dtype: 'F32', shape: [16, 16], data: w };
      t[name] = { dtype: 'F32', shape: [16, 16], data: d };
    }
  writeSafetensorsSync(base, b);
  writeSafetensorsSync(tuned, t);
}

/** A PEFT adapter of 4 modules with lora_alpha `alpha`; `nan` puts a NaN into every lora_A. */
function writeAdapter(dir: string, alpha: number, nan: boolean): void {
  fs.mkdirSync(dir, { recursive: true });
  const t: Tensors = {};
  for (const m of ['q_proj', 'v_proj'])
    for (let l = 0; l < 2; l++) {
      const key = `base_model.model.model.layers.${l}.self_attn.${m}`;
      const a = Float32Array.from({ length: 64 }, (_, i) => Math.sin(0.3 * i + l));
      if (nan) a[3] = NaN;
      t[`${key}.lora_A.weight`] = { dtype: 'F32', shape: [4, 16], data: a };
      t[`${key}.lora_B.weight`] = { dtype: 'F32', shape: [16, 4], data: Float32Array.from({ length: 64 }, (_, i) => Math.cos(0.7 * i + l)) };
    }
  writeSafetensorsSync(path.join(dir, 'adapter_model.safetensors'), t);
  fs.writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: alpha }));
}

describe('failed matrices', () => {
  let dir: string;
  let cleanup: () => void;
  const file = (name: string) => path.join(dir, name);

  beforeAll(() => {
    ({ dir, cleanup } = temporaryDirectory());
    writePair(file('base.safetensors'), file('tuned.safetensors'), { step: 0.01, nan: false });
    writePair(file('nan-base.safetensors'), file('nan-tuned.safetensors'), { step: 0.01, nan: true });
    writePair(file('still-base.safetensors'), file('still-tuned.safetensors'), { step: 0, nan: true });
    writeAdapter(file('adapter-nan'), 8, true);
    writeAdapter(file('adapter-huge-alpha'), 1e300, false);
  });
  afterAll(() => cleanup());

  function expectAllFailed(r: ReturnType<typeof runCli>, code: string, count: number): void {
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).not.toMatch(/NO-SIGNAL|verdict|confidence high/i);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`ALL_MATRICES_FAILED: all ${count} matrices of .* failed \\(${code} ×${count}\\): .*\\(${code}\\), .*\\(${code}\\), .*\\(${code}\\) and ${count - 3} more; there is no result to report`));
  }

  it('every matrix out of memory: diff, analyze and compare fail with ALL_MATRICES_FAILED, nothing written', () => {
    const out = file('out-oom');
    expectAllFailed(runCli(['diff', file('base.safetensors'), file('tuned.safetensors'), '--memory-budget', '1', '--out', out], {}, LIMIT_MS), 'OUT_OF_MEMORY', 16);
    expect(fs.existsSync(out)).toBe(false);
    expectAllFailed(runCli(['analyze', file('base.safetensors'), '--memory-budget', '1'], {}, LIMIT_MS), 'OUT_OF_MEMORY', 16);
    expectAllFailed(runCli(['compare', file('base.safetensors'), file('tuned.safetensors'), file('nan-tuned.safetensors'), '--memory-budget', '1'], {}, LIMIT_MS), 'OUT_OF_MEMORY', 16);
    const jsonl = runCli(['diff', file('base.safetensors'), file('tuned.safetensors'), '--memory-budget', '1', '--jsonl'], {}, LIMIT_MS);
    const events = jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.filter((e) => e.type === 'summary')).toEqual([]);
    expect(events.at(-1)).toMatchObject({ type: 'error', scope: 'run', code: 'ALL_MATRICES_FAILED' });
  });

  it('an adapter whose every factor holds a NaN, and one whose alpha overflows s·B·A: ALL_MATRICES_FAILED', () => {
    expectAllFailed(runCli(['lora', file('adapter-nan')], {}, LIMIT_MS), 'NON_FINITE_INPUT', 4);
    const huge = runCli(['lora', file('adapter-huge-alpha')], {}, LIMIT_MS);
    expectAllFailed(huge, 'NON_FINITE_INPUT', 4);
    expect(runCli(['diff', '--adapter', file('adapter-huge-alpha')], {}, LIMIT_MS).stderr).toMatch(/ALL_MATRICES_FAILED/);
  });

  it('one NaN matrix in a diff: listed with its code everywhere, against the confidence, exit 2, reports written', () => {
    const out = file('out-nan');
    const r = runCli(['diff', file('nan-base.safetensors'), file('nan-tuned.safetensors'), '--mode', 'exact', '--out', out], {}, LIMIT_MS);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('failed: 1 of 16 matrices could not be analysed (NON_FINITE_INPUT ×1)');
    expect(r.stderr).toContain(`${NAN_MATRIX}: NON_FINITE_INPUT`);
    expect(r.stdout).toContain('(1 more failed)');
    expect(r.stdout).toMatch(/confidence (medium|low)/);
    expect(r.stdout).not.toMatch(/confidence high/);
    expect(r.stdout).toContain('1 of 16 matrices failed (NON_FINITE_INPUT ×1) and are not in the verdict');

    const json = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(validate(json, REPORT_JSON_SCHEMA, { closed: true })).toEqual([]);
    expect(json.aggregates.model.failed).toEqual({ matrices: 1, byCode: { NON_FINITE_INPUT: 1 } });
    expect(json.aggregates.model.matrices).toBe(15);
    expect(json.verdict.failed).toBe(1);
    expect(json.verdict.confidence).not.toBe('high');
    expect(json.pairs.find((p: { name: string }) => p.name === NAN_MATRIX).error.code).toBe('NON_FINITE_INPUT');
    const rows = parseCsv(fs.readFileSync(path.join(out, 'pairs.csv'), 'utf8'));
    const header = rows[0] as string[];
    const nanRow = rows.find((row) => row[0] === NAN_MATRIX) as string[];
    expect(nanRow[header.indexOf('error_code')]).toBe('NON_FINITE_INPUT');
    const md = fs.readFileSync(path.join(out, 'summary.md'), 'utf8');
    expect(md).toContain('matrices that could not be analysed (not in the verdict) | 1: NON_FINITE_INPUT ×1');
    expect(md).toMatch(/## Matrices that could not be analysed[\s\S]*model\.layers\.3\.self\\_attn\.v\\_proj\.weight \| NON_FINITE_INPUT/);
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('NON_FINITE_INPUT');
    expect(html).toContain('1 of 16 matrices failed');

    // The same through --json and --jsonl: the summary carries the failure, the run ends with it, exit 2.
    const stream = runCli(['diff', file('nan-base.safetensors'), file('nan-tuned.safetensors'), '--mode', 'exact', '--jsonl'], {}, LIMIT_MS);
    expect(stream.status).toBe(2);
    const events = stream.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.filter((e) => e.type === 'error' && e.scope === 'matrix').map((e) => e.code)).toEqual(['NON_FINITE_INPUT']);
    expect(events.at(-1)).toMatchObject({ type: 'summary' });
    expect(events.at(-1).report.verdict.failed).toBe(1);
  });

  it('nothing changed where it could be measured, one matrix failed: no-signal with low confidence, not "storage rounding"', () => {
    const r = runCli(['diff', file('still-base.safetensors'), file('still-tuned.safetensors'), '--mode', 'exact', '--json'], {}, LIMIT_MS);
    expect(r.status, r.stderr).toBe(2);
    const report = JSON.parse(r.stdout);
    expect(report.verdict.label).toBe('no-signal');
    expect(report.verdict.confidence).toBe('low');
    expect(report.verdict.confidenceNote).toMatch(/but 1 of 16 matrices failed \(NON_FINITE_INPUT ×1\)/);
    expect(r.stderr).not.toMatch(/confidence high/);
  });

  it('compare: a fine-tune with a failed matrix shows the count in the ranking and exits 2', () => {
    const r = runCli(['compare', file('nan-base.safetensors'), file('nan-tuned.safetensors'), file('tuned.safetensors'), '--mode', 'exact'], {}, LIMIT_MS);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toMatch(/^nan-tuned\s+\S+\s+\S+\s+(medium|low)\s+1\s/m);
    expect(r.stdout).toMatch(/^tuned\s+\S+\s+\S+\s+\S+\s+0\s/m);
    expect(r.stderr).toContain('failed: 1 of 16 matrices could not be analysed (NON_FINITE_INPUT ×1)');
  });
});

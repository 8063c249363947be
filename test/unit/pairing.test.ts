import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Checkpoint, openCheckpointSync } from '../../lib/read/checkpoint';
import type { Dtype } from '../../lib/read/dtypes';
import { ParamscopeError } from '../../lib/errors';
import { parseRenameRule } from '../../lib/cli/flags/rename-rule';
import { diffJobs } from '../../lib/plan/jobs';
import { pairCheckpoints } from '../../lib/plan/pairing';
import type { PairingEntry, PairingReport } from '../../lib/plan/pairing-entry';
import { detectPrefix } from '../../lib/plan/prefix';
import { renameTensor } from '../../lib/plan/rename';
import { vectorChanges } from '../../lib/results/vector-changes';
import { encodeFloat32, writeSafetensorsSync, type TensorToWrite } from '../../lib/read/writer';
import { temporaryDirectory } from '../helpers/paths';

const tmp = temporaryDirectory('paramscope-pairing-');
const opened: Checkpoint[] = [];
afterAll(() => {
  for (const c of opened) c.close();
  tmp.cleanup();
});

type Spec = readonly number[] | { shape: readonly number[]; dtype?: Dtype; values?: readonly number[] };

/** A tensor of `shape` filled with 0.01·(i+1) + offset (or the given values), stored as `dtype`. */
function tensor(spec: Spec, offset: number): TensorToWrite {
  const { shape, dtype = 'F32', values } = Array.isArray(spec) ? { shape: spec as readonly number[] } : (spec as Exclude<Spec, readonly number[]>);
  const numel = shape.reduce((a, b) => a * b, 1);
  const f32 = Float32Array.from(values ?? Array.from({ length: numel }, (_, i) => 0.01 * (i + 1) + offset));
  switch (dtype) {
    case 'F32': return { dtype, shape, data: f32 };
    case 'BF16': case 'F16': return { dtype, shape, data: encodeFloat32(f32, dtype) };
    case 'I32': return { dtype, shape, data: Int32Array.from(f32, Math.round) };
    default: throw new Error(`test helper: no encoder for ${dtype}`);
  }
}

let fileCount = 0;
/** Writes a checkpoint with the given tensors (values differ between calls via `offset`) and opens it. */
function checkpoint(tensors: Record<string, Spec>, offset = 0): Checkpoint {
  const file = path.join(tmp.dir, `c${fileCount++}.safetensors`);
  writeSafetensorsSync(file, Object.entries(tensors).map(([name, spec]) => [name, tensor(spec, offset)] as const));
  const c = openCheckpointSync(file);
  opened.push(c);
  return c;
}

const entry = (report: PairingReport, name: string): PairingEntry => {
  const found = report.entries.find((e) => e.name === name);
  if (!found) throw new Error(`no entry ${name} in ${report.entries.map((e) => e.name).join(', ')}`);
  return found;
};

function expectError(run: () => unknown, code: string, ...fragments: string[]): ParamscopeError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ParamscopeError);
    const e = error as ParamscopeError;
    expect(e.code).toBe(code);
    for (const f of fragments) expect(e.message).toContain(f);
    return e;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

/** Every tensor of both checkpoints appears in the report (nothing dropped silently). */
function expectEveryTensorListed(report: PairingReport): void {
  const baseListed = new Set(report.entries.map((e) => e.base?.tensor));
  const tunedListed = new Set(report.entries.map((e) => e.tuned?.tensor));
  for (const t of report.base.tensors) expect(baseListed.has(t.name), t.name).toBe(true);
  for (const t of report.tuned.tensors) expect(tunedListed.has(t.name), t.name).toBe(true);
}

const LLAMA_LIKE = {
  'model.embed_tokens.weight': [10, 4],
  'model.layers.0.self_attn.q_proj.weight': [4, 4],
  'model.layers.0.mlp.up_proj.weight': [8, 4],
  'model.layers.0.input_layernorm.weight': [4],
  'model.norm.weight': [4],
  'lm_head.weight': [10, 4],
} as const;

describe('pairCheckpoints: names', () => {
  it('pairs identical names and lists every tensor', () => {
    const report = pairCheckpoints(checkpoint(LLAMA_LIKE), checkpoint(LLAMA_LIKE, 1));
    expect(report.prefix).toEqual({ base: '', tuned: '' });
    expect(report.counts).toMatchObject({ paired: 4, 'not-a-matrix': 2, 'missing-in-tuned': 0, 'extra-in-tuned': 0 });
    expect(entry(report, 'model.norm.weight')).toMatchObject({ fate: 'not-a-matrix', note: 'skipped for the spectrum: a vector' });
    expectEveryTensorListed(report);
  });

  it('detects a `model.` prefix on one side and still matches lm_head, which has none on either', () => {
    const tunedNames = Object.fromEntries(Object.entries(LLAMA_LIKE).map(([k, v]) => [k.replace(/^model\./, ''), v]));
    const report = pairCheckpoints(checkpoint(LLAMA_LIKE), checkpoint(tunedNames, 1));
    expect(report.prefix).toEqual({ base: 'model.', tuned: '' });
    expect(report.counts).toMatchObject({ paired: 4, 'not-a-matrix': 2, 'missing-in-tuned': 0, 'extra-in-tuned': 0 });
    expect(entry(report, 'model.layers.0.self_attn.q_proj.weight').tuned?.tensor).toBe('layers.0.self_attn.q_proj.weight');
    expect(report.notes[0]).toBe('prefix removed before matching: "model." (base), "" (tuned)');
  });

  it('detects `language_model.` of a multimodal tuned checkpoint and lists its vision tower as extra', () => {
    const tunedNames: Record<string, Spec> = Object.fromEntries(Object.entries(LLAMA_LIKE).map(([k, v]) => [`language_model.${k}`, v]));
    tunedNames['vision_tower.blocks.0.attn.qkv.weight'] = [12, 4];
    tunedNames['multi_modal_projector.linear_1.weight'] = [4, 6];
    const report = pairCheckpoints(checkpoint(LLAMA_LIKE), checkpoint(tunedNames, 1));
    expect(report.prefix).toEqual({ base: '', tuned: 'language_model.' });
    expect(report.counts).toMatchObject({ paired: 4, 'extra-in-tuned': 2, 'missing-in-tuned': 0 });
    expect(entry(report, 'vision_tower.blocks.0.attn.qkv.weight')).toMatchObject({ fate: 'extra-in-tuned', base: null });
    expectEveryTensorListed(report);
  });

  it('finds the prefix pair that matches the most names', () => {
    expect(detectPrefix(['a.x', 'a.y', 'b'], ['x', 'y', 'b'])).toEqual({ base: 'a.', tuned: '' });
    expect(detectPrefix(['base_model.model.model.l.0.w', 'base_model.model.model.l.1.w'], ['model.l.0.w', 'model.l.1.w']))
      .toEqual({ base: 'base_model.model.', tuned: '' });
    expect(detectPrefix(['x', 'y'], ['x', 'y'])).toEqual({ base: '', tuned: '' });
  });

  it('lists tensors missing in tuned and extra in tuned', () => {
    const tunedNames: Record<string, Spec> = { ...LLAMA_LIKE, 'model.layers.0.mlp.new_gate.weight': [8, 4] };
    delete tunedNames['model.layers.0.mlp.up_proj.weight'];
    const report = pairCheckpoints(checkpoint(LLAMA_LIKE), checkpoint(tunedNames, 1));
    expect(entry(report, 'model.layers.0.mlp.up_proj.weight')).toMatchObject({ fate: 'missing-in-tuned', tuned: null });
    expect(entry(report, 'model.layers.0.mlp.new_gate.weight')).toMatchObject({ fate: 'extra-in-tuned', base: null });
    expect(report.notes.at(-1)).toBe('1 missing-in-tuned, 1 extra-in-tuned, 2 not-a-matrix');
  });
});

describe('pairCheckpoints: tied heads, resized vocabularies, dtypes, non-matrices', () => {
  it('pairs a tuned lm_head with the base embedding when the base ties them', () => {
    const baseNames: Record<string, Spec> = { ...LLAMA_LIKE };
    delete baseNames['lm_head.weight'];
    const report = pairCheckpoints(checkpoint(baseNames), checkpoint(LLAMA_LIKE, 1));
    const tied = entry(report, 'lm_head.weight');
    expect(tied).toMatchObject({ fate: 'tied', base: { tensor: 'model.embed_tokens.weight' }, tuned: { tensor: 'lm_head.weight' } });
    expect(tied.note).toBe('base has no lm_head.weight: its output head is tied to model.embed_tokens.weight, so lm_head.weight is compared with that embedding');
    expect(report.counts).toMatchObject({ tied: 1, paired: 3, 'extra-in-tuned': 0 });
    const job = diffJobs(report).find((j) => j.name === 'lm_head.weight');
    expect(job).toMatchObject({ kind: 'diff', base: { tensor: 'model.embed_tokens.weight' }, tuned: { tensor: 'lm_head.weight' } });
  });

  it('pairs a base lm_head with the tuned GPT-2 wte when the tuned side ties them', () => {
    const gpt2 = { 'transformer.wte.weight': [10, 4], 'transformer.h.0.attn.c_attn.weight': [4, 12], 'lm_head.weight': [10, 4] } as const;
    const tunedNames: Record<string, Spec> = { ...gpt2 };
    delete tunedNames['lm_head.weight'];
    const report = pairCheckpoints(checkpoint(gpt2), checkpoint(tunedNames, 1));
    expect(entry(report, 'lm_head.weight')).toMatchObject({ fate: 'tied', base: { tensor: 'lm_head.weight' }, tuned: { tensor: 'transformer.wte.weight' } });
    expect(report.counts['missing-in-tuned']).toBe(0);
  });

  it('compares the shared rows of a resized vocabulary and reports the added rows', () => {
    const tunedNames = { ...LLAMA_LIKE, 'model.embed_tokens.weight': [12, 4], 'lm_head.weight': [12, 4] };
    const report = pairCheckpoints(checkpoint(LLAMA_LIKE), checkpoint(tunedNames, 1));
    expect(entry(report, 'model.embed_tokens.weight')).toMatchObject({
      fate: 'resized', sharedRows: 10, note: '2 rows added in tuned (10 → 12); the first 10 rows are compared',
    });
    expect(diffJobs(report).find((j) => j.name === 'lm_head.weight')).toMatchObject({ kind: 'diff', rows: 10 });
    expect(report.counts).toMatchObject({ resized: 2, paired: 2, 'shape-mismatch': 0 });
  });

  it('handles a tied head whose vocabulary was resized', () => {
    const baseNames: Record<string, Spec> = { ...LLAMA_LIKE };
    delete baseNames['lm_head.weight'];
    const report = pairCheckpoints(checkpoint(baseNames), checkpoint({ ...LLAMA_LIKE, 'lm_head.weight': [11, 4], 'model.embed_tokens.weight': [11, 4] }, 1));
    expect(entry(report, 'lm_head.weight')).toMatchObject({ fate: 'tied', sharedRows: 10 });
    expect(entry(report, 'lm_head.weight').note).toContain('1 rows added in tuned (10 → 11)');
  });

  it('pairs a BF16 base with an F32 tuned checkpoint and says so', () => {
    const bf16 = Object.fromEntries(Object.entries(LLAMA_LIKE).map(([k, shape]) => [k, { shape, dtype: 'BF16' as const }]));
    const report = pairCheckpoints(checkpoint(bf16), checkpoint(LLAMA_LIKE, 1));
    const q = entry(report, 'model.layers.0.self_attn.q_proj.weight');
    expect(q).toMatchObject({ fate: 'paired', base: { dtype: 'BF16' }, tuned: { dtype: 'F32' }, note: 'dtype BF16 (base) → F32 (tuned)' });
    expect(report.notes).toContain('6 pair(s) change dtype BF16 → F32 (base → tuned)');
  });

  it('lists integer matrices, vectors and scalars as not-a-matrix', () => {
    const names = { 'w.weight': [3, 3], 'position_ids': { shape: [1, 5], dtype: 'I32' as const }, 'b.bias': [3], 'temperature': [] };
    const report = pairCheckpoints(checkpoint(names), checkpoint(names, 1));
    expect(entry(report, 'position_ids')).toMatchObject({ fate: 'not-a-matrix', note: 'skipped for the spectrum: not floating point' });
    expect(entry(report, 'b.bias').note).toBe('skipped for the spectrum: a vector');
    expect(entry(report, 'temperature').note).toBe('skipped for the spectrum: a scalar');
    expect(diffJobs(report).map((j) => j.name)).toEqual(['w.weight']);
  });

  it('gives the relative change of the float vectors it skipped', async () => {
    const base = checkpoint({ 'w.weight': [2, 2], 'norm.weight': { shape: [4], values: [1, 1, 1, 1] }, 'ids': { shape: [2], dtype: 'I32' } });
    const tuned = checkpoint({ 'w.weight': [2, 2], 'norm.weight': { shape: [4], values: [1, 1, 1, 2] }, 'ids': { shape: [2], dtype: 'I32' } });
    const changes = await vectorChanges(pairCheckpoints(base, tuned));
    expect(changes).toEqual([{ name: 'norm.weight', relativeChange: 0.5, deltaNorm: 1, baseNorm: 2 }]);
  });
});

describe('pairCheckpoints: shape mismatches and bad input', () => {
  it('lists a minority of shape mismatches, and rejects them with strictShapes', () => {
    const tunedNames = { ...LLAMA_LIKE, 'model.layers.0.mlp.up_proj.weight': [8, 5] };
    const base = checkpoint(LLAMA_LIKE);
    const tuned = checkpoint(tunedNames, 1);
    const report = pairCheckpoints(base, tuned);
    expect(entry(report, 'model.layers.0.mlp.up_proj.weight')).toMatchObject({ fate: 'shape-mismatch', note: 'shape [8, 4] (base) vs [8, 5] (tuned)' });
    expect(diffJobs(report).map((j) => j.name)).not.toContain('model.layers.0.mlp.up_proj.weight');
    expectError(() => pairCheckpoints(base, tuned, { strictShapes: true }), 'SHAPE_MISMATCH', 'model.layers.0.mlp.up_proj.weight [8, 4] vs [8, 5]');
  });

  it('rejects checkpoints of different architectures, naming the first mismatches', () => {
    const names: Record<string, Spec> = {};
    const other: Record<string, Spec> = {};
    for (let i = 0; i < 8; i++) {
      names[`model.layers.${i}.self_attn.q_proj.weight`] = [4, 4];
      other[`model.layers.${i}.self_attn.q_proj.weight`] = [6, 6];
    }
    names['model.norm.weight'] = [4];
    other['model.norm.weight'] = [4];
    const e = expectError(() => pairCheckpoints(checkpoint(names), checkpoint(other, 1)), 'ARCHITECTURE_MISMATCH',
      '8 of the 9 tensor names they share differ in shape',
      'model.layers.0.self_attn.q_proj.weight [4, 4] vs [6, 6]; model.layers.1.self_attn.q_proj.weight [4, 4] vs [6, 6]',
      'and 3 more');
    expect(e.tensor).toBe('model.layers.0.self_attn.q_proj.weight');
  });

  it('rejects a pairing with no common name, suggesting rename rules', () => {
    expectError(() => pairCheckpoints(checkpoint({ 'a.weight': [2, 2] }), checkpoint({ 'b.weight': [2, 2] }, 1)), 'EMPTY_PAIRING',
      'no tensor name is common to both', 'a.weight', 'b.weight', '--map from=to');
  });

  it('rejects a pairing whose common tensors are all vectors', () => {
    expectError(() => pairCheckpoints(checkpoint({ 'n.weight': [4] }), checkpoint({ 'n.weight': [4] }, 1)), 'EMPTY_PAIRING', '1 not-a-matrix');
  });

  it('rejects malformed options', () => {
    const c = checkpoint(LLAMA_LIKE);
    expectError(() => pairCheckpoints(c, c, { map: [['a'] as unknown as [string, string]] }), 'INVALID_ARGUMENT', 'map rule');
    expectError(() => pairCheckpoints(c, c, { include: 'x' as unknown as string[] }), 'INVALID_ARGUMENT', 'include');
  });
});

describe('pairCheckpoints: rename rules and filters', () => {
  const GPT2_STYLE = { 'transformer.h.0.attn.q.weight': [4, 4], 'transformer.h.1.attn.q.weight': [4, 4], 'transformer.ln_f.weight': [4] } as const;
  const LLAMA_STYLE = { 'model.layers.0.self_attn.q.weight': [4, 4], 'model.layers.1.self_attn.q.weight': [4, 4], 'model.norm.weight': [4] } as const;

  it('renames tuned names with prefix and glob rules before matching', () => {
    const report = pairCheckpoints(checkpoint(LLAMA_STYLE), checkpoint(GPT2_STYLE, 1), {
      map: [['transformer.h.*.attn.', 'model.layers.*.self_attn.'], ['transformer.ln_f.', 'model.norm.']],
    });
    expect(report.counts).toMatchObject({ paired: 2, 'not-a-matrix': 1, 'missing-in-tuned': 0, 'extra-in-tuned': 0 });
    expect(entry(report, 'model.layers.1.self_attn.q.weight').tuned?.tensor).toBe('transformer.h.1.attn.q.weight');
    expect(report.notes[0]).toBe('2 rename rule(s) applied to the tuned names');
  });

  it('rewrites names: prefix rules, glob captures, first match wins, unmatched unchanged', () => {
    expect(renameTensor('h.3.attn.c_attn.weight', [['h.*.attn.', 'layers.*.self_attn.']])).toBe('layers.3.self_attn.c_attn.weight');
    expect(renameTensor('a.b', [['a.', 'x.'], ['a.', 'y.']])).toBe('x.b');
    expect(renameTensor('blocks.2.ff.w1.weight', [['blocks.?.ff.w1', 'layers.?.mlp.gate_proj']])).toBe('layers.2.mlp.gate_proj.weight');
    expect(renameTensor('other.weight', [['h.*.', 'layers.*.']])).toBe('other.weight');
    expect(parseRenameRule('model.=language_model.model.')).toEqual(['model.', 'language_model.model.']);
    expectError(() => parseRenameRule('no-equals'), 'INVALID_ARGUMENT', '"from=to"');
  });

  it('rejects rules that send two tuned tensors to one name', () => {
    const c = checkpoint({ 'a.weight': [2, 2], 'b.weight': [2, 2] });
    expectError(() => pairCheckpoints(c, c, { map: [['a.', 'c.'], ['b.', 'c.']] }), 'INVALID_ARGUMENT', '"a.weight" and "b.weight"', '"c.weight"');
  });

  it('lists what include / exclude leave out as excluded, and an empty result is an error', () => {
    const base = checkpoint(LLAMA_LIKE);
    const tuned = checkpoint(LLAMA_LIKE, 1);
    const report = pairCheckpoints(base, tuned, { include: ['*.layers.*'], exclude: ['*.mlp.*'] });
    expect(diffJobs(report).map((j) => j.name)).toEqual(['model.layers.0.self_attn.q_proj.weight']);
    expect(entry(report, 'lm_head.weight')).toMatchObject({ fate: 'excluded', note: 'excluded by include/exclude (was paired)' });
    expect(report.counts.excluded).toBe(4);
    expectEveryTensorListed(report);
    expectError(() => pairCheckpoints(base, tuned, { include: ['nothing.*'] }), 'EMPTY_PAIRING', 'include/exclude left no pair (6 excluded)');
  });

  it('makes one diff job per matrix entry, base and tuned from their checkpoints', () => {
    const base = checkpoint(LLAMA_LIKE);
    const tuned = checkpoint(LLAMA_LIKE, 1);
    const jobs = diffJobs(pairCheckpoints(base, tuned));
    expect(jobs.map((j) => j.name)).toEqual(['model.embed_tokens.weight', 'model.layers.0.self_attn.q_proj.weight', 'model.layers.0.mlp.up_proj.weight', 'lm_head.weight']);
    for (const job of jobs) {
      if (job.kind !== 'diff') throw new Error('expected diff jobs');
      expect(job.base.checkpoint).toBe(base);
      expect(job.tuned.checkpoint).toBe(tuned);
      expect(job.rows).toBeUndefined();
    }
  });
});

/**
 * Small checkpoints for the shard and merge tests, generated (seeded) on the fly: a Llama-shaped base
 * with a 512-row embedding and lm_head (the long poles) and two layers of attention and MLP, two
 * fine-tunes of it (a low-rank update of q/v; a small dense update of everything), and a PEFT LoRA
 * adapter on q/v of both layers. 16 matrices per checkpoint, 4 adapter modules.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { merge } from '../../lib/merge';
import { writeSafetensorsSync } from '../../lib/read/writer';
import { type PartialReport, serializePartial } from '../../lib/report/partial';
import { seededGaussian } from '../../lib/results/random';

export interface ShardFixtures {
  base: string;
  concentrated: string;
  dispersed: string;
  adapter: string;
  /** Matrices of each checkpoint; modules of the adapter. */
  matrices: number;
  modules: number;
}

const HIDDEN = 64, FFN = 128, VOCAB = 512, LAYERS = 2;

function shapes(): Array<[string, number[]]> {
  const list: Array<[string, number[]]> = [['model.embed_tokens.weight', [VOCAB, HIDDEN]]];
  for (let l = 0; l < LAYERS; l++) {
    const p = `model.layers.${l}`;
    for (const m of ['q', 'k', 'v', 'o']) list.push([`${p}.self_attn.${m}_proj.weight`, [HIDDEN, HIDDEN]]);
    list.push([`${p}.mlp.gate_proj.weight`, [FFN, HIDDEN]], [`${p}.mlp.up_proj.weight`, [FFN, HIDDEN]], [`${p}.mlp.down_proj.weight`, [HIDDEN, FFN]]);
    list.push([`${p}.input_layernorm.weight`, [HIDDEN]]);
  }
  list.push(['model.norm.weight', [HIDDEN]], ['lm_head.weight', [VOCAB, HIDDEN]]);
  return list;
}

function write(file: string, tensors: Map<string, { shape: number[]; data: Float32Array }>): void {
  writeSafetensorsSync(file, [...tensors].map(([name, t]) => [name, { dtype: 'F32' as const, shape: t.shape, data: t.data }]));
}

/** Writes the fixtures into `dir` (once; later calls reuse them). */
export function writeShardFixtures(dir: string): ShardFixtures {
  fs.mkdirSync(dir, { recursive: true });
  const out: ShardFixtures = {
    base: path.join(dir, 'base.safetensors'), concentrated: path.join(dir, 'sft-concentrated.safetensors'),
    dispersed: path.join(dir, 'sft-dispersed.safetensors'), adapter: path.join(dir, 'adapter'), matrices: 16, modules: 4,
  };
  if (fs.existsSync(path.join(out.adapter, 'adapter_config.json'))) return out;
  const next = seededGaussian(7);
  const base = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of shapes()) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = shape.length === 1 ? 1 + 0.01 * next() : next() * 0.05;
    base.set(name, { shape, data });
  }
  write(out.base, base);
  const tuned = (edit: (name: string, t: { shape: number[]; data: Float32Array }) => void) => {
    const copy = new Map([...base].map(([name, t]) => [name, { shape: t.shape, data: Float32Array.from(t.data) }]));
    for (const [name, t] of copy) edit(name, t);
    return copy;
  };
  write(out.concentrated, tuned((name, t) => {
    if (!/(q|v)_proj/.test(name)) return;
    const [rows, cols] = t.shape as [number, number];
    for (let k = 0; k < 2; k++) {
      const u = Array.from({ length: rows }, next), v = Array.from({ length: cols }, next);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t.data[r * cols + c]! += (0.02 / (k + 1)) * (u[r] as number) * (v[c] as number);
    }
  }));
  write(out.dispersed, tuned((_name, t) => {
    for (let i = 0; i < t.data.length; i++) t.data[i]! += 0.002 * next();
  }));
  fs.mkdirSync(out.adapter, { recursive: true });
  const factors = new Map<string, { shape: number[]; data: Float32Array }>();
  const rank = 4;
  for (let l = 0; l < LAYERS; l++)
    for (const m of ['q', 'v']) {
      const key = `base_model.model.model.layers.${l}.self_attn.${m}_proj`;
      factors.set(`${key}.lora_A.weight`, { shape: [rank, HIDDEN], data: Float32Array.from({ length: rank * HIDDEN }, () => next() * 0.1) });
      factors.set(`${key}.lora_B.weight`, { shape: [HIDDEN, rank], data: Float32Array.from({ length: HIDDEN * rank }, () => next() * 0.1) });
    }
  write(path.join(out.adapter, 'adapter_model.safetensors'), factors);
  fs.writeFileSync(path.join(out.adapter, 'adapter_config.json'),
    JSON.stringify({ peft_type: 'LORA', r: rank, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'], fan_in_fan_out: false }));
  // Real fine-tunes are written minutes apart; these within a second. Their headers are the same, so
  // what tells them apart in a plan's identity is the modification time (plan/plan-identity.ts).
  const now = Date.now() / 1000;
  [out.base, out.concentrated, out.dispersed].forEach((file, i) => fs.utimesSync(file, now - 300 + 60 * i, now - 300 + 60 * i));
  return out;
}

/** A report's JSON without what may differ between two runs of the same plan: timestamps and timings. */
export function withoutTimings(json: string): unknown {
  return JSON.parse(json, (key, value: unknown) => (key === 'createdAt' || key === 'seconds' || key === 'timing' ? undefined : value));
}

let partsWritten = 0;
/**
 * Runs every shard of `count`, writes each partial to its own file in a new folder under `dir`, and
 * merges the files in reverse order (the merge puts results back in plan order).
 */
export async function shardAndMerge(dir: string, count: number, run: (shard: { index: number; count: number }) => Promise<PartialReport>) {
  const parts = path.join(dir, `parts-${partsWritten++}`);
  fs.mkdirSync(parts);
  const partials: PartialReport[] = [];
  const files: string[] = [];
  for (let index = 0; index < count; index++) {
    const partial = await run({ index, count });
    partials.push(partial);
    const file = path.join(parts, `part-${index}.json`);
    fs.writeFileSync(file, serializePartial(partial));
    files.push(file);
  }
  return { merged: await merge([...files].reverse()), partials, files };
}

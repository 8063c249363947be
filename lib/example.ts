/**
 * The bundled example: a small Llama-shaped base checkpoint and two fine-tunes of it, generated
 * deterministically (seeded) on first use, stored as BF16 like real checkpoints.
 *  - `tuned-concentrated`: a rank-4 update of q/v projections in two layers (benchmark-aligned shape).
 *  - `tuned-dispersed`: a small full-rank update of every projection in every layer (coverage shape).
 * Both updates have about the same total energy, so what tells them apart is structure, not size.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeFloat32, type TensorToWrite, writeSafetensorsSync } from './read/writer';
import { seededGaussian } from './results/random';

export const EXAMPLE_SHAPE = { hidden: 256, intermediate: 688, layers: 4, vocab: 1024 } as const;

interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

function gaussianMatrix(rows: number, cols: number, scale: number, next: () => number): Matrix {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = next() * scale;
  return { rows, cols, data };
}

/** Adds s · Σ_j u_j v_jᵀ with random unit u, v (a rank-`rank` update of Frobenius norm ≈ s·√rank). */
function addLowRank(target: Matrix, rank: number, scale: number, next: () => number) {
  for (let j = 0; j < rank; j++) {
    const u = Array.from({ length: target.rows }, next);
    const v = Array.from({ length: target.cols }, next);
    const nu = Math.hypot(...u), nv = Math.hypot(...v);
    const weight = scale / (nu * nv) / (j + 1);
    for (let r = 0; r < target.rows; r++) {
      const ur = (u[r] as number) * weight;
      for (let c = 0; c < target.cols; c++) target.data[r * target.cols + c]! += ur * (v[c] as number);
    }
  }
}

function projections(): Array<[string, number, number]> {
  const { hidden: h, intermediate: f, layers } = EXAMPLE_SHAPE;
  const list: Array<[string, number, number]> = [];
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`;
    list.push([`${p}.self_attn.q_proj.weight`, h, h], [`${p}.self_attn.k_proj.weight`, h / 4, h], [`${p}.self_attn.v_proj.weight`, h / 4, h],
      [`${p}.self_attn.o_proj.weight`, h, h], [`${p}.mlp.gate_proj.weight`, f, h], [`${p}.mlp.up_proj.weight`, f, h], [`${p}.mlp.down_proj.weight`, h, f]);
  }
  return list;
}

function toBf16(m: Matrix): TensorToWrite {
  return { dtype: 'BF16', shape: [m.rows, m.cols], data: encodeFloat32(m.data, 'BF16') };
}

function norms(h: number): TensorToWrite {
  return { dtype: 'BF16', shape: [h], data: encodeFloat32(new Float32Array(h).fill(1), 'BF16') };
}

export interface ExamplePaths {
  dir: string;
  base: string;
  concentrated: string;
  dispersed: string;
}

/** Writes the example into `dir` (once: existing complete files are reused) and returns the paths. */
export function ensureExample(dir: string): ExamplePaths {
  const paths: ExamplePaths = {
    dir,
    base: path.join(dir, 'base.safetensors'),
    concentrated: path.join(dir, 'tuned-concentrated.safetensors'),
    dispersed: path.join(dir, 'tuned-dispersed.safetensors'),
  };
  if ([paths.base, paths.concentrated, paths.dispersed].every((p) => fs.existsSync(p))) return paths;
  fs.mkdirSync(dir, { recursive: true });
  const { hidden: h, vocab } = EXAMPLE_SHAPE;
  const next = seededGaussian(20261129);
  const base = new Map<string, Matrix>();
  base.set('model.embed_tokens.weight', gaussianMatrix(vocab, h, 0.02, next));
  for (const [name, rows, cols] of projections()) base.set(name, gaussianMatrix(rows, cols, 1 / Math.sqrt(cols), next));

  const write = (file: string, matrices: Map<string, Matrix>, kind: string) => {
    const tensors: Record<string, TensorToWrite> = {};
    for (const [name, m] of matrices) tensors[name] = toBf16(m);
    for (let l = 0; l < EXAMPLE_SHAPE.layers; l++) {
      tensors[`model.layers.${l}.input_layernorm.weight`] = norms(h);
      tensors[`model.layers.${l}.post_attention_layernorm.weight`] = norms(h);
    }
    tensors['model.norm.weight'] = norms(h);
    writeSafetensorsSync(file, tensors, { format: 'pt', paramscope_example: kind });
  };
  const copy = () => new Map([...base].map(([k, m]) => [k, { ...m, data: m.data.slice() }]));

  // Equal total update energy E for both fine-tunes.
  const energy = 4.0;
  const concentrated = copy();
  const targets = [...concentrated.keys()].filter((n) => /layers\.[23]\.self_attn\.[qv]_proj/.test(n));
  for (const name of targets) addLowRank(concentrated.get(name)!, 4, Math.sqrt(energy / targets.length), next);
  const dispersed = copy();
  const all = [...dispersed.keys()].filter((n) => n.includes('layers.'));
  const totalElements = all.reduce((s, n) => s + dispersed.get(n)!.data.length, 0);
  const sigma = Math.sqrt(energy / totalElements);
  for (const name of all) {
    const m = dispersed.get(name)!;
    for (let i = 0; i < m.data.length; i++) m.data[i]! += next() * sigma;
  }
  write(paths.base, base, 'base');
  write(paths.concentrated, concentrated, 'concentrated');
  write(paths.dispersed, dispersed, 'dispersed');
  return paths;
}

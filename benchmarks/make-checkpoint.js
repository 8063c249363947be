#!/usr/bin/env node
'use strict';
/**
 * Synthetic LLM-shaped safetensors checkpoints for the benchmarks: a Llama-style tensor list, sharded,
 * with a `model.safetensors.index.json`, filled with seeded Gaussian-like data generated on the fly in
 * bounded memory (one 8 MiB chunk at a time). Node only: the benchmarks must not need Python.
 *
 * Presets (shapes follow ../shared/peers/make_pair.py so our numbers compare with the peer scripts):
 *   tiny            4 layers, hidden 256: a few MB, for smoke tests.
 *   1b              22 layers, hidden 2048, ffn 5632, vocab 32000 (TinyLlama-shaped): ~2.5 GB of real data, 4 shards.
 *   7b              32 layers, hidden 4096, ffn 11008, vocab 32000 (Llama-2-7B-shaped): 291 tensors, 3 shards,
 *                   ~13.5 GB of real data: a pair of them does not fit this machine's page cache.
 *   7b-header-only  the same shapes declared but written sparse (ftruncate): only the headers are real; for
 *                   header-open timing.
 *
 * Every tensor's values depend only on (seed, tensor name), never on the shard layout, so two layouts of
 * one seed hold the same tensors, and a `fill` hook lets a suite plant structure (e.g. a low-rank update).
 *
 * CLI:    node benchmarks/make-checkpoint.js <preset> [--out DIR] [--seed N] [--shards K] [--force]
 * Module: const { ensureCheckpoint } = require('./make-checkpoint');
 *         const ckpt = await ensureCheckpoint('1b', { seed: 1 });   // { dir, indexPath, files, totalBytes, reused }
 */
const fs = require('node:fs');
const path = require('node:path');

const GENERATOR_VERSION = 1;
const DATA_DIR = path.join(__dirname, 'data');
const CHUNK_BYTES = 8 << 20;

const PRESETS = {
  tiny: { layers: 4, hidden: 256, intermediate: 688, vocab: 1024, shards: 2, sparse: false },
  '1b': { layers: 22, hidden: 2048, intermediate: 5632, vocab: 32000, shards: 4, sparse: false },
  '7b': { layers: 32, hidden: 4096, intermediate: 11008, vocab: 32000, shards: 3, sparse: false },
  '7b-header-only': { layers: 32, hidden: 4096, intermediate: 11008, vocab: 32000, shards: 3, sparse: true },
};

const DTYPE_BYTES = { BF16: 2, F16: 2, F32: 4 };

/** The Llama-style tensor list of a shape: embeddings, per-layer attention + MLP + norms, final norm, lm_head. */
function llamaTensors({ layers, hidden: d, intermediate: ff, vocab: V }, dtype = 'BF16') {
  const weight = (name, shape) => ({ name, dtype, shape, init: 'normal', std: 0.02 });
  const norm = (name) => ({ name, dtype, shape: [d], init: 'ones' });
  const list = [weight('model.embed_tokens.weight', [V, d])];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}.`;
    for (const n of ['q', 'k', 'v', 'o']) list.push(weight(`${p}self_attn.${n}_proj.weight`, [d, d]));
    list.push(weight(`${p}mlp.gate_proj.weight`, [ff, d]), weight(`${p}mlp.up_proj.weight`, [ff, d]), weight(`${p}mlp.down_proj.weight`, [d, ff]));
    list.push(norm(`${p}input_layernorm.weight`), norm(`${p}post_attention_layernorm.weight`));
  }
  list.push(norm('model.norm.weight'), weight('lm_head.weight', [V, d]));
  return list;
}

const numelOf = (shape) => shape.reduce((a, b) => a * b, 1);
const bytesOf = (t) => numelOf(t.shape) * DTYPE_BYTES[t.dtype];

// ---------------------------------------------------------------------------------------------------
// Random numbers: a 32-bit xorshift per tensor, seeded from (seed, name); values come from a 65,536-entry
// table of Gaussian quantiles, so generating one value costs a shift and a table load (~1 ns), which
// keeps a 2.5 GB checkpoint to seconds. The tails are clipped at ±4.3σ, irrelevant for benchmarks.

function hashSeed(seed, name) {
  let h = (0x811c9dc5 ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0; // FNV-1a over the name, mixed with the seed
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b) >>> 0; h ^= h >>> 13;
  return h || 0x9e3779b9;
}

/** xorshift32: returns a function giving uint32s. */
function xorshift32(state) {
  let s = state >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

/** Acklam's rational approximation of the inverse standard normal CDF (relative error < 1.2e-9). */
function normalQuantile(p) {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5, r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float → BF16 bits, round to nearest even. */
function toBf16(x) {
  f32[0] = x;
  const u = u32[0];
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float → IEEE half bits, round to nearest even (subnormals included; |x| beyond 65504 → inf). */
function toF16(x) {
  f32[0] = x;
  const u = u32[0];
  const sign = (u >>> 16) & 0x8000;
  const abs = u & 0x7fffffff;
  if (abs >= 0x7f800000) return sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 : 0);
  if (abs >= 0x477ff000) return sign | 0x7c00;
  if (abs < 0x38800000) {
    f32[0] = Math.abs(x) * 16777216;
    const v = f32[0];
    const r = Math.round(v);
    return sign | (r - v === 0.5 && r % 2 === 1 ? r - 1 : r);
  }
  return sign | (((abs + 0xfff + ((abs >>> 13) & 1)) - 0x38000000) >>> 13);
}

const tableCache = new Map();

/** Stored-bits table of 65,536 Gaussian quantiles × std, for a dtype (Uint16Array for 16-bit, Uint32Array for F32). */
function gaussianTable(dtype, std) {
  const key = `${dtype}:${std}`;
  let table = tableCache.get(key);
  if (table) return table;
  table = dtype === 'F32' ? new Uint32Array(65536) : new Uint16Array(65536);
  for (let i = 0; i < 65536; i++) {
    const v = std * normalQuantile((i + 0.5) / 65536);
    if (dtype === 'BF16') table[i] = toBf16(v);
    else if (dtype === 'F16') table[i] = toF16(v);
    else { f32[0] = v; table[i] = u32[0]; }
  }
  tableCache.set(key, table);
  return table;
}

/**
 * The default fill: `out` (Uint16Array for BF16/F16, Uint32Array for F32) receives the stored bits of
 * elements [start, start + out.length) of `tensor`. Elements are drawn in order from one generator per
 * tensor, so chunking does not change them.
 */
function defaultFill(tensor, start, out, rng) {
  if (tensor.init === 'ones') {
    const one = tensor.dtype === 'BF16' ? 0x3f80 : tensor.dtype === 'F16' ? 0x3c00 : 0x3f800000;
    out.fill(one);
    return;
  }
  drawFromTable(gaussianTable(tensor.dtype, tensor.std ?? 1), out, rng);
}

/** Fills `out` with table entries indexed by 16-bit halves of the generator's draws: two values a draw. */
function drawFromTable(table, out, rng) {
  const n = out.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const r = rng();
    out[i] = table[r & 0xffff];
    out[i + 1] = table[r >>> 16];
  }
  if (i < n) out[i] = table[rng() & 0xffff];
}

// ---------------------------------------------------------------------------------------------------
// Writing.

/** The 8-byte length prefix + JSON header, padded with spaces so the data starts 8-byte aligned. */
function encodeHeader(tensors, metadata) {
  const header = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const bytes = bytesOf(t);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return { header: Buffer.concat([prefix, json]), dataBytes: offset };
}

/**
 * Writes one safetensors file (via a temporary file and a rename). `sparse`: write only the header and
 * extend the file with ftruncate (reads of tensor bytes return zeros). `fill(tensor, start, out, rng)`
 * overrides the default data. Returns { path, bytes, headerBytes }.
 */
function writeSafetensorsFile(file, tensors, { seed = 0, sparse = false, fill = defaultFill, metadata } = {}) {
  const { header, dataBytes } = encodeHeader(tensors, metadata);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, header);
    if (sparse) {
      fs.ftruncateSync(fd, header.length + dataBytes);
    } else {
      const chunk = new ArrayBuffer(CHUNK_BYTES);
      for (const t of tensors) {
        const width = DTYPE_BYTES[t.dtype];
        const View = width === 4 ? Uint32Array : Uint16Array;
        const perChunk = CHUNK_BYTES / width;
        const numel = numelOf(t.shape);
        const rng = xorshift32(hashSeed(seed, t.name));
        for (let start = 0; start < numel; start += perChunk) {
          const out = new View(chunk, 0, Math.min(perChunk, numel - start));
          fill(t, start, out, rng);
          fs.writeSync(fd, new Uint8Array(chunk, 0, out.byteLength));
        }
      }
    }
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (error) {
    try { fs.closeSync(fd); } catch { /* already closed */ }
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  return { path: file, bytes: header.length + dataBytes, headerBytes: header.length };
}

/** Splits tensors (kept in order) into `shards` runs of about equal bytes. */
function planShards(tensors, shards) {
  const total = tensors.reduce((s, t) => s + bytesOf(t), 0);
  const groups = [[]];
  let acc = 0;
  for (const t of tensors) {
    const target = (total * groups.length) / shards;
    if (groups.length < shards && groups[groups.length - 1].length > 0 && acc + bytesOf(t) / 2 > target) groups.push([]);
    groups[groups.length - 1].push(t);
    acc += bytesOf(t);
  }
  return groups;
}

/**
 * Writes a sharded checkpoint: `model-0000i-of-0000k.safetensors` files plus `model.safetensors.index.json`
 * (metadata.total_size and weight_map), and a manifest used to reuse it. Returns a description.
 */
function writeCheckpoint(dir, tensors, { shards = 1, seed = 0, sparse = false, fill = defaultFill, label = 'custom' } = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const groups = planShards(tensors, shards);
  const files = [];
  const weightMap = {};
  const metadata = { format: 'pt', generator: 'paramscope benchmarks/make-checkpoint.js', preset: label, seed: String(seed) };
  groups.forEach((group, i) => {
    const name = `model-${String(i + 1).padStart(5, '0')}-of-${String(groups.length).padStart(5, '0')}.safetensors`;
    files.push(writeSafetensorsFile(path.join(dir, name), group, { seed, sparse, fill, metadata }));
    for (const t of group) weightMap[t.name] = name;
  });
  const totalBytes = tensors.reduce((s, t) => s + bytesOf(t), 0);
  const indexPath = path.join(dir, 'model.safetensors.index.json');
  fs.writeFileSync(indexPath, JSON.stringify({ metadata: { total_size: totalBytes }, weight_map: weightMap }, null, 1));
  return { dir, indexPath, files: files.map((f) => f.path), totalBytes, tensorCount: tensors.length, reused: false };
}

function manifestPath(dir) {
  return path.join(dir, '.make-checkpoint.json');
}

/**
 * The checkpoint of a preset and seed under `out` (default benchmarks/data/<preset>-seed<seed>), generated
 * unless an identical one is already there. `fill` replaces the data (give it a `fillKey` so the reuse
 * check can tell fills apart).
 */
function ensureCheckpoint(preset, { seed = 0, out, shards, force = false, fill, fillKey = 'default', dtype = 'BF16', log = () => {} } = {}) {
  const shape = PRESETS[preset];
  if (!shape) throw new Error(`unknown preset "${preset}" (one of ${Object.keys(PRESETS).join(', ')})`);
  const dir = out ?? path.join(DATA_DIR, `${preset}-seed${seed}${fillKey === 'default' ? '' : `-${fillKey}`}`);
  const tensors = llamaTensors(shape, dtype);
  const spec = { version: GENERATOR_VERSION, preset, seed, shards: shards ?? shape.shards, sparse: shape.sparse, fillKey, dtype };
  if (!force) {
    try {
      const manifest = JSON.parse(fs.readFileSync(manifestPath(dir), 'utf8'));
      if (JSON.stringify(manifest.spec) === JSON.stringify(spec) && manifest.files.every((f) => fs.statSync(f.path).size === f.bytes))
        return { ...manifest.result, reused: true };
    } catch { /* absent or stale: regenerate */ }
  }
  fs.rmSync(manifestPath(dir), { force: true });
  const started = Date.now();
  log(`generating ${preset} checkpoint (seed ${seed}) in ${dir} ...`);
  const result = writeCheckpoint(dir, tensors, { shards: spec.shards, seed, sparse: spec.sparse, fill: fill ?? defaultFill, label: preset });
  const files = result.files.map((f) => ({ path: f, bytes: fs.statSync(f).size }));
  fs.writeFileSync(manifestPath(dir), JSON.stringify({ spec, files, result }, null, 1));
  log(`  ${result.tensorCount} tensors, ${(result.totalBytes / 1e9).toFixed(2)} GB${spec.sparse ? ' (sparse)' : ''}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

module.exports = {
  PRESETS,
  DATA_DIR,
  llamaTensors,
  ensureCheckpoint,
  writeCheckpoint,
  writeSafetensorsFile,
  planShards,
  defaultFill,
  drawFromTable,
  gaussianTable,
  xorshift32,
  hashSeed,
  toBf16,
  toF16,
  bytesOf,
  numelOf,
};

if (require.main === module) {
  const { values, positionals } = require('node:util').parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string' }, seed: { type: 'string', default: '0' }, shards: { type: 'string' }, force: { type: 'boolean', default: false } },
  });
  const { out, shards, force } = values;
  const seed = Number(values.seed);
  const preset = positionals[0];
  if (!preset || !PRESETS[preset] || !Number.isInteger(seed)) {
    console.error(`usage: node benchmarks/make-checkpoint.js <${Object.keys(PRESETS).join('|')}> [--out DIR] [--seed N] [--shards K] [--force]`);
    process.exit(2);
  }
  const result = ensureCheckpoint(preset, { seed, out: out && path.resolve(out), shards: shards && Number(shards), force, log: (m) => console.error(m) });
  console.log(JSON.stringify(result, null, 1));
}

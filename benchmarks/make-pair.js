#!/usr/bin/env node
'use strict';
/**
 * Synthetic base/tuned checkpoint pairs for the `diff` benchmark: the base is make-checkpoint.js's preset
 * (so the 1B base is the very checkpoint the `spectrum` suite analyses), the tuned side is base + a planted
 * update, both BF16, sharded, with an index. Node only, deterministic by (seed, tensor name), bounded memory.
 *
 * The update mirrors ../shared/peers/make_pair.py, so paramscope's numbers compare with the peer scripts:
 *   aligned   every 2-D weight gets a rank-8 update, σ = geomspace(1, 0.3, 8), D = U·diag(σ)·V / √max(m, n)
 *             with Gaussian U, V, plus a weak isotropic floor 0.02·N(0, 1); ΔW = 0.002·(D + floor).
 *   coverage  every 2-D weight of ≤ 64 M elements gets a full-rank update with a slowly decaying spectrum
 *             σᵢ = i^−0.35 (i = 1..min(m, n)), scaled to ‖ΔW‖_F = 0.3·0.002·√min(m, n); the embedding and
 *             lm_head (> 64 M elements) get the aligned update, as in make_pair.py.
 *   Norm vectors (both regimes): 1 + 0.01·N(0, 1).
 * The tuned value is round_bf16(b + δ) where b is the base value *before* its own BF16 rounding (the base
 * stores round_bf16(b)), exactly as make_pair.py does: updates smaller than a BF16 ulp then survive as
 * dithered rounding, not as zeros.
 *
 * Differences from make_pair.py (stated so the comparison is honest):
 *  - the random numbers are make-checkpoint.js's xorshift32 + Gaussian-quantile table, not numpy's, so
 *    the values differ; the distributions and scales are the same;
 *  - coverage's singular vectors come from products of random Givens rotations (random pairings, random
 *    angles, ⌈log2 d⌉ + 3 layers per side) instead of QR of Gaussian matrices: the singular values are the
 *    planted ones exactly (orthogonal transforms), the vectors are dense but not Haar-distributed. A QR
 *    of a 5632×2048 Gaussian matrix per tensor would take minutes in JS; the rotations take ~0.3 s.
 *
 * CLI:    node benchmarks/make-pair.js <tiny|1b|7b> <aligned|coverage> [--seed N] [--force]
 * Module: const { ensurePair } = require('./make-pair');
 *         const { base, tuned } = ensurePair('1b', 'aligned', { seed: 0, log: console.error });
 */
const { ensureCheckpoint, PRESETS, xorshift32, hashSeed, gaussianTable, defaultFill, drawFromTable, numelOf } = require('./make-checkpoint');

const PAIR_VERSION = 1;
const SCALE = 0.002;
const ALIGNED_RANK = 8;
const FLOOR = 0.02;
const NORM_NOISE = 0.01;
const BIG_NUMEL = 64_000_000;

/** Float32 table of 65,536 N(0, std²) quantiles (the same quantiles as make-checkpoint's BF16 table, unrounded). */
function continuousTable(std) {
  const bits = gaussianTable('F32', std);
  return new Float32Array(bits.buffer, bits.byteOffset, bits.length);
}

const STD1 = continuousTable(1);

/** A second, independent stream per tensor for the update (the base stream must stay the default one). */
function deltaRng(seed, name) {
  return xorshift32(hashSeed(seed ^ 0x7e57ed, `delta:${name}`));
}

function gaussian(rng) {
  return STD1[rng() & 0xffff];
}

function geomspace(a, b, count) {
  return Array.from({ length: count }, (_, i) => a * (b / a) ** (count === 1 ? 0 : i / (count - 1)));
}

/** Aligned update state of an m×n tensor: Us (m×r, pre-scaled) and V (r×n), drawn from the delta stream. */
function alignedState(m, n, rng) {
  const r = ALIGNED_RANK;
  const sigma = geomspace(1, 0.3, r);
  const norm = SCALE / Math.sqrt(Math.max(m, n));
  const us = new Float64Array(m * r);
  for (let i = 0; i < m; i++) for (let k = 0; k < r; k++) us[i * r + k] = gaussian(rng) * sigma[k] * norm;
  const v = new Float64Array(r * n);
  for (let i = 0; i < v.length; i++) v[i] = gaussian(rng);
  return { kind: 'aligned', m, n, us, v, rng };
}

/** One layer set of random Givens rotations on d coordinates: pairs (a[i], b[i]) with (c[i], s[i]). */
function givensLayers(d, layers, rng) {
  const out = [];
  const perm = new Int32Array(d);
  for (let l = 0; l < layers; l++) {
    for (let i = 0; i < d; i++) perm[i] = i;
    for (let i = d - 1; i > 0; i--) {
      const j = rng() % (i + 1);
      const t = perm[i]; perm[i] = perm[j]; perm[j] = t;
    }
    const half = d >> 1;
    const a = new Int32Array(half), b = new Int32Array(half), c = new Float64Array(half), s = new Float64Array(half);
    for (let i = 0; i < half; i++) {
      a[i] = perm[2 * i]; b[i] = perm[2 * i + 1];
      const theta = (rng() / 4294967296) * 2 * Math.PI;
      c[i] = Math.cos(theta); s[i] = Math.sin(theta);
    }
    out.push({ a, b, c, s });
  }
  return out;
}

/**
 * Coverage update of an m×n tensor, materialised (m·n doubles: 92 MB for 5632×2048, one tensor at a time):
 * ΔW = L·[diag(σ) 0]·R with L, R products of random Givens rotations, σᵢ = i^−0.35, scaled as in make_pair.py.
 */
function coverageState(m, n, rng) {
  const p = Math.min(m, n);
  const sigma = new Float64Array(p);
  let ss = 0;
  for (let i = 0; i < p; i++) { sigma[i] = (i + 1) ** -0.35; ss += sigma[i] ** 2; }
  const scale = (SCALE * 0.3 * Math.sqrt(p)) / Math.sqrt(ss);
  const layersFor = (d) => Math.ceil(Math.log2(d)) + 3;
  const right = givensLayers(n, layersFor(n), rng);
  const left = givensLayers(m, layersFor(m), rng);
  const w = new Float64Array(m * n);
  // Rows i < p start as σᵢ·scale·eᵢ; the column rotations (R) act within each row.
  for (let i = 0; i < p; i++) {
    const row = w.subarray(i * n, (i + 1) * n);
    row[i] = sigma[i] * scale;
    for (const { a, b, c, s } of right) {
      for (let k = 0; k < a.length; k++) {
        const x = row[a[k]], y = row[b[k]];
        row[a[k]] = c[k] * x - s[k] * y;
        row[b[k]] = s[k] * x + c[k] * y;
      }
    }
  }
  // The row rotations (L) mix whole rows: contiguous over n.
  for (const { a, b, c, s } of left) {
    for (let k = 0; k < a.length; k++) {
      const ra = a[k] * n, rb = b[k] * n, ck = c[k], sk = s[k];
      for (let j = 0; j < n; j++) {
        const x = w[ra + j], y = w[rb + j];
        w[ra + j] = ck * x - sk * y;
        w[rb + j] = sk * x + ck * y;
      }
    }
  }
  return { kind: 'coverage', m, n, w };
}

/**
 * The tuned side's fill for make-checkpoint's writer: base values from the default stream (unrounded),
 * plus the update, rounded to BF16 once.
 */
function tunedFill(regime, seed) {
  if (regime !== 'aligned' && regime !== 'coverage') throw new Error(`unknown regime "${regime}" (aligned | coverage)`);
  const states = new Map();
  let scratch = new Float32Array(0);
  const table02 = continuousTable(0.02);
  return function fill(tensor, start, out, rng) {
    if (tensor.dtype !== 'BF16') throw new Error('make-pair writes BF16 pairs only');
    const count = out.length;
    if (scratch.length < count) scratch = new Float32Array(count);
    const vals = scratch.subarray(0, count);
    let state = states.get(tensor.name);
    if (!state) {
      const drng = deltaRng(seed, tensor.name);
      if (tensor.init === 'ones' || tensor.shape.length !== 2) state = { kind: 'norm', rng: drng };
      else {
        const [m, n] = tensor.shape;
        const big = m * n > BIG_NUMEL;
        state = regime === 'aligned' || big ? alignedState(m, n, drng) : coverageState(m, n, drng);
      }
      states.set(tensor.name, state);
    }
    if (state.kind === 'norm') {
      // Norms: base 1 exactly (the default fill), tuned 1 + 0.01·N(0, 1).
      for (let i = 0; i < count; i++) vals[i] = 1 + NORM_NOISE * gaussian(state.rng);
    } else {
      // Base values, unrounded: the default fill's draws, from the same per-tensor stream.
      drawFromTable(table02, vals, rng);
      const { n } = state;
      if (state.kind === 'aligned') {
        const { us, v, rng: drng } = state;
        const r = ALIGNED_RANK, floor = SCALE * FLOOR;
        for (let e = 0; e < count; e++) {
          const idx = start + e, row = (idx / n) | 0, col = idx - row * n;
          const ub = row * r;
          let d = 0;
          for (let k = 0; k < r; k++) d += us[ub + k] * v[k * n + col];
          vals[e] += d + floor * STD1[drng() & 0xffff];
        }
      } else {
        const w = state.w;
        for (let e = 0; e < count; e++) vals[e] += w[start + e];
      }
    }
    // Round to BF16 (nearest even) once.
    const bits = new Uint32Array(vals.buffer, vals.byteOffset, count);
    for (let i = 0; i < count; i++) {
      const u = bits[i];
      out[i] = ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
    }
    if (start + count >= numelOf(tensor.shape)) states.delete(tensor.name);
  };
}

/**
 * The base and tuned checkpoints of a pair under benchmarks/data (generated unless already there):
 * base = `<preset>-seed<seed>` (make-checkpoint's default data), tuned = `<preset>-seed<seed>-tuned-<regime>-v<version>`.
 */
function ensurePair(preset, regime, { seed = 0, force = false, log = () => {} } = {}) {
  if (!PRESETS[preset] || PRESETS[preset].sparse) throw new Error(`make-pair needs a dense preset (tiny | 1b | 7b), got "${preset}"`);
  const base = ensureCheckpoint(preset, { seed, force, log });
  const tuned = ensureCheckpoint(preset, { seed, force, log, fill: tunedFill(regime, seed), fillKey: `tuned-${regime}-v${PAIR_VERSION}` });
  return { base, tuned, regime, preset, seed };
}

module.exports = { ensurePair, tunedFill, PAIR_VERSION, defaultFill };

if (require.main === module) {
  const { values, positionals } = require('node:util').parseArgs({
    allowPositionals: true,
    options: { seed: { type: 'string', default: '0' }, force: { type: 'boolean', default: false } },
  });
  const seed = Number(values.seed), force = values.force;
  const [preset, regime] = positionals;
  if (!preset || !regime || !Number.isInteger(seed)) {
    console.error('usage: node benchmarks/make-pair.js <tiny|1b|7b> <aligned|coverage> [--seed N] [--force]');
    process.exit(2);
  }
  const t0 = Date.now();
  const pair = ensurePair(preset, regime, { seed, force, log: (m) => console.error(m) });
  console.log(JSON.stringify({ base: pair.base.dir, tuned: pair.tuned.dir, baseReused: pair.base.reused, tunedReused: pair.tuned.reused, seconds: (Date.now() - t0) / 1000 }, null, 1));
}

/**
 * Spectra and metrics of the real fixtures against REFERENCE.json (numpy/LAPACK in float64, computed
 * outside paramscope): every 2-D float tensor through `analyze` in exact mode, and every LoRA module of
 * every adapter through `analyzeAdapter` (ΔW from the r×r core of its factors).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCheckpoint } from '../../lib/analyze';
import { analyzeAdapter } from '../../lib/lora';
import { midpoint } from '../../lib/results/metrics';
import { noteSkippedWithoutShared, realFixturesDir } from '../helpers/paths';

noteSkippedWithoutShared('spectra vs REFERENCE.json');

interface ReferenceMatrix {
  dtype?: string;
  shape: number[];
  singular_values?: number[];
  frobenius?: number;
  spectral_norm?: number;
  stable_rank?: number;
  effective_rank_sigma?: number;
  effective_rank_energy?: number;
}

const reference = realFixturesDir
  ? (JSON.parse(fs.readFileSync(path.join(realFixturesDir, 'REFERENCE.json'), 'utf8')) as {
      files: Record<string, Record<string, ReferenceMatrix>>;
      lora: Record<string, Record<string, ReferenceMatrix>>;
    })
  : null;

function expectClose(actual: number, expected: number, relative: number, what: string) {
  const tolerance = relative * Math.max(Math.abs(expected), 1e-30);
  if (!(Math.abs(actual - expected) <= tolerance)) throw new Error(`${what}: ${actual} vs reference ${expected} (tolerance ${tolerance.toExponential(2)})`);
}

/** Singular values to 1e-5·σ₁ absolute (the bound the engine states), scalar metrics to the relative tolerance. */
function compare(name: string, ref: ReferenceMatrix, values: ArrayLike<number>, metrics: { frobeniusNorm: number; spectralNorm: number; stableRank: number; effectiveRank: unknown; energyEffectiveRank: unknown }, relative: number) {
  const sv = ref.singular_values ?? [];
  const sigma1 = sv[0] ?? 0;
  sv.forEach((s, i) => {
    const v = values[i] as number;
    if (!(Math.abs(v - s) <= Math.max(relative * sigma1, 1e-12))) throw new Error(`${name} σ${i + 1}: ${v} vs reference ${s}`);
  });
  if (ref.frobenius !== undefined) expectClose(metrics.frobeniusNorm, ref.frobenius, relative, `${name} frobenius`);
  if (ref.spectral_norm !== undefined) expectClose(metrics.spectralNorm, ref.spectral_norm, relative, `${name} spectral norm`);
  if (ref.stable_rank !== undefined && sigma1 > 0) expectClose(metrics.stableRank, ref.stable_rank, relative * 10, `${name} stable rank`);
  if (ref.effective_rank_sigma !== undefined && sigma1 > 0)
    expectClose(midpoint(metrics.effectiveRank as number), ref.effective_rank_sigma, relative * 10, `${name} effective rank`);
  if (ref.effective_rank_energy !== undefined && sigma1 > 0)
    expectClose(midpoint(metrics.energyEffectiveRank as number), ref.effective_rank_energy, relative * 10, `${name} energy effective rank`);
}

describe.skipIf(!reference)('spectra of the real fixtures match REFERENCE.json', () => {
  const files = reference ? Object.entries(reference.files) : [];
  it.each(files)('%s (exact mode)', async (file, tensors) => {
    const report = await analyzeCheckpoint(path.join(realFixturesDir as string, file), { mode: 'exact' });
    const byName = new Map(report.tensors.map((t) => [t.name, t]));
    let compared = 0;
    for (const [name, ref] of Object.entries(tensors)) {
      if (!ref.singular_values || ref.shape.length !== 2) continue;
      const t = byName.get(name);
      expect(t, `${file}: ${name} was analysed`).toBeDefined();
      expect(t?.error).toBeUndefined();
      compare(`${file}:${name}`, ref, t?.spectrum?.values as Float64Array, t?.metrics as never, ref.dtype === 'F16' ? 1e-3 : 1e-5);
      compared++;
    }
    expect(compared).toBe(Object.values(tensors).filter((r) => r.singular_values && r.shape.length === 2).length);
  });

  const adapters = reference ? Object.entries(reference.lora) : [];
  it.each(adapters)('LoRA %s', async (file, modules) => {
    const report = await analyzeAdapter(path.join(realFixturesDir as string, file));
    const f16 = file.includes('f16');
    const adapterModules = new Map(report.pairing.entries.map((e) => [e.tuned, e.name]));
    const byName = new Map(report.pairs.map((p) => [p.name, p]));
    for (const [key, ref] of Object.entries(modules)) {
      const pair = byName.get(adapterModules.get(key) ?? key);
      expect(pair, `${file}: module ${key}`).toBeDefined();
      expect([pair?.rows, pair?.cols]).toEqual(ref.shape);
      compare(`${file}:${key}`, ref, pair?.spectrum?.values as Float64Array, pair?.metrics as never, f16 ? 1e-3 : 1e-5);
    }
    expect(report.pairs.length).toBe(Object.keys(modules).length);
  });
});

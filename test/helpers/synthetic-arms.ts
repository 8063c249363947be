/**
 * Synthetic reports for comparison tests, made directly (no engine, no files): Llama-named matrices of
 * `layers` blocks × 7 module types, each with an exponentially decaying spectrum whose e-folding length
 * is `spread` × its rank (small: a few directions; near 1: all of them), an energy that follows a depth
 * profile and a seeded log-normal jitter. Metrics are computed from the values (energy effective rank,
 * stable rank), so the aggregates and the verdict are the real code's on these records.
 */
import { assembleReport } from '../../lib/report/assemble';
import { summarizeTensors } from '../../lib/aggregate/tensors';
import { classifyTensor } from '../../lib/plan/modules';
import type { AnalysisReport, DiffReport, PairResult, SpectrumSummary, TensorAnalysis } from '../../lib/report/model';
import type { SpectrumMetrics } from '../../lib/results/metrics';
import { seededGaussian } from '../../lib/results/random';

export const MODULES: ReadonlyArray<readonly [string, string, number, number]> = [
  ['self_attn.q_proj', 'q', 96, 96], ['self_attn.k_proj', 'k', 32, 96], ['self_attn.v_proj', 'v', 32, 96], ['self_attn.o_proj', 'o', 96, 96],
  ['mlp.gate_proj', 'gate', 160, 96], ['mlp.up_proj', 'up', 160, 96], ['mlp.down_proj', 'down', 96, 160],
];

export interface SyntheticSpec {
  label: string;
  layers: number;
  /** e-folding length of the spectrum as a fraction of the rank. */
  spread: number;
  /** ‖ΔW‖_F² of a matrix relative to ‖W‖_F² = 1 (before the depth profile and the jitter). */
  scale?: number;
  /** Relative energy per layer at relative depth d ∈ [0, 1] (default flat). */
  depthProfile?: (d: number) => number;
  /** Standard deviation of the log-normal jitter of each matrix's energy and spread (default 0.3). */
  jitter?: number;
  seed?: number;
  /** Drop these module types (another architecture). */
  without?: readonly string[];
  /** Matrices with no update at all (energy 0): every n-th (0: none). */
  untouchedEvery?: number;
}

function metricsOf(values: Float64Array, rows: number, cols: number): SpectrumMetrics {
  const energy = values.reduce((s, v) => s + v * v, 0);
  let h = 0;
  for (const v of values) if (v > 0) { const p = (v * v) / energy; h -= p * Math.log(p); }
  const minDim = Math.min(rows, cols);
  const eff = energy > 0 ? Math.exp(h) : 0;
  const first = values[0] ?? 0;
  const rankAt = (q: number) => { let acc = 0; for (let i = 0; i < values.length; i++) { acc += (values[i] as number) ** 2; if (acc >= q * energy) return i + 1; } return values.length; };
  return {
    minDim, knownValues: values.length, complete: true, frobeniusNorm: Math.sqrt(energy), spectralNorm: first,
    stableRank: first > 0 ? energy / first ** 2 : 0, effectiveRank: eff, effectiveRankRatio: eff / minDim,
    energyEffectiveRank: eff, energyEffectiveRankRatio: eff / minDim, numericalRank: values.filter((v) => v > 1e-7 * first).length,
    numericalRankTolerance: 1e-7 * first, energyRank: { '50': rankAt(0.5), '90': rankAt(0.9), '95': rankAt(0.95), '99': rankAt(0.99) },
    topK: 8, topKEnergyShare: energy > 0 ? values.slice(0, 8).reduce((s, v) => s + v * v, 0) / energy : 0, participationRatio: eff,
    conditionNumber: null, powerLaw: { valid: true, alpha: 2 + 3 * (1 - eff / minDim) }, noiseEdge: null, aboveNoiseEdge: null,
  };
}

function spectrum(rows: number, cols: number, energy: number, spread: number): Float64Array {
  const n = Math.min(rows, cols);
  const length = Math.max(0.3, spread * n);
  const raw = Float64Array.from({ length: n }, (_, i) => Math.exp(-i / length));
  const total = raw.reduce((s, v) => s + v * v, 0);
  return raw.map((v) => v * Math.sqrt(energy / total));
}

function summary(values: Float64Array): SpectrumSummary {
  return { values, errorBounds: new Float64Array(values.length), frobeniusSquared: values.reduce((s, v) => s + v * v, 0), complete: true, converged: true, method: 'synthetic', passes: 1, powerIterations: 0 };
}

/** The matrices of a spec: name, shape, energy, spread. */
function* matrices(spec: SyntheticSpec): Generator<{ name: string; rows: number; cols: number; energy: number; spread: number }> {
  const next = seededGaussian(spec.seed ?? 1);
  const jitter = spec.jitter ?? 0.3;
  let index = 0;
  for (let l = 0; l < spec.layers; l++) {
    const d = spec.layers > 1 ? l / (spec.layers - 1) : 0;
    for (const [suffix, group, rows, cols] of MODULES) {
      if (spec.without?.includes(group)) continue;
      index++;
      const untouched = spec.untouchedEvery ? index % spec.untouchedEvery === 0 : false;
      const energy = untouched ? 0 : (spec.scale ?? 1e-4) * (spec.depthProfile?.(d) ?? 1) * Math.exp(jitter * next());
      const spread = Math.min(1, spec.spread * Math.exp(jitter * next()));
      yield { name: `model.layers.${l}.${suffix}.weight`, rows, cols, energy, spread };
    }
  }
}

/** A diff report of synthetic ΔW (base norms 1). */
export function syntheticDiffReport(spec: SyntheticSpec): DiffReport {
  const pairs: PairResult[] = [];
  for (const m of matrices(spec)) {
    const values = m.energy > 0 ? spectrum(m.rows, m.cols, m.energy, m.spread) : new Float64Array(Math.min(m.rows, m.cols));
    const s = summary(values);
    pairs.push({
      name: m.name, fate: 'paired', module: classifyTensor(m.name), rows: m.rows, cols: m.cols, parameters: m.rows * m.cols,
      baseDtype: 'F32', tunedDtype: 'F32', seconds: 0, spectrum: s, metrics: metricsOf(values, m.rows, m.cols),
      baseNorm: 1, tunedNorm: 1, updateNorm: Math.sqrt(s.frobeniusSquared), relativeUpdate: Math.sqrt(s.frobeniusSquared),
    });
  }
  return assembleReport({
    kind: 'checkpoints', base: { path: 'synthetic/base', tensors: pairs.length }, tuned: { path: `synthetic/${spec.label}`, tensors: pairs.length },
    options: { mode: 'exact', rank: null, directions: { enabled: false, rank: 16, reason: 'synthetic' } },
    pairing: { prefix: { base: '', tuned: '' }, counts: { paired: pairs.length, resized: 0, tied: 0, 'not-a-matrix': 0, 'shape-mismatch': 0, 'missing-in-tuned': 0, 'extra-in-tuned': 0, excluded: 0 }, notes: [], entries: [] },
    pairs, vectors: [],
  });
}

/** An analysis report of synthetic weights W (spread near 1 is a noise-like, high-rank weight). */
export function syntheticAnalysisReport(spec: SyntheticSpec): AnalysisReport {
  const tensors: TensorAnalysis[] = [];
  for (const m of matrices({ ...spec, scale: spec.scale ?? 1 })) {
    const values = spectrum(m.rows, m.cols, m.energy, m.spread);
    tensors.push({
      name: m.name, dtype: 'F32', shape: [m.rows, m.cols], rows: m.rows, cols: m.cols, reshaped: false, parameters: m.rows * m.cols,
      module: classifyTensor(m.name), seconds: 0, spectrum: summary(values), metrics: metricsOf(values, m.rows, m.cols),
    });
  }
  const { byLayer, byModule } = summarizeTensors(tensors);
  return { path: `synthetic/${spec.label}`, mode: 'exact', tensors, skipped: [], byLayer, byModule, totals: { matrices: tensors.length, failed: 0, parameters: tensors.reduce((s, t) => s + t.parameters, 0), seconds: 0 } };
}

/**
 * Turning what the engine returned for one matrix into the report's per-matrix result: a TensorAnalysis
 * (`analyze`), a PairResult of ΔW = W_tuned − W_base (`diff`) or of ΔW = s·B·A (an adapter module).
 */
import { isFailed, type SpectrumOutcome, type SpectrumResult } from '../engine/types';
import type { LoraModule } from '../plan/lora/types';
import { type ClassifyContext, classifyTensor, type ModuleInfo } from '../plan/modules';
import { type PairingEntry, quantizedSide } from '../plan/pairing-entry';
import type { TensorInfo } from '../read/checkpoint';
import type { PairResult, SpectrumSummary, TensorAnalysis } from '../report/model';
import { adapterDirections } from './direction-analysis';
import { noiseFloor } from './noise';
import { updateSparsity } from './sparsity';

/** The spectrum part of a result: values, bounds and how they were computed (no metrics, no vectors). */
export function summarizeSpectrum(r: SpectrumResult): SpectrumSummary {
  const { values, errorBounds, frobeniusSquared, complete, converged, method, passes, powerIterations } = r;
  return { values, errorBounds, frobeniusSquared, complete, converged, method, passes, powerIterations };
}

/**
 * The outcome, or a failure when the engine computed a spectrum that is not finite: finite factors whose
 * product overflows (a LoRA scale of 1e300), or values past the float range. Such a matrix has no
 * metrics to report; counting it as a result would make the verdict read Infinity as "no signal".
 */
export function finiteOutcome(outcome: SpectrumOutcome): SpectrumOutcome {
  if (isFailed(outcome)) return outcome;
  const first = outcome.values.length ? (outcome.values[0] as number) : 0;
  if (Number.isFinite(outcome.frobeniusSquared) && Number.isFinite(first)) return outcome;
  const what = !Number.isFinite(outcome.frobeniusSquared) ? `‖·‖_F² = ${outcome.frobeniusSquared}` : `σ₁ = ${first}`;
  return {
    index: outcome.index, name: outcome.name, rows: outcome.rows, cols: outcome.cols, seconds: outcome.seconds,
    error: { code: 'NON_FINITE_INPUT', message: `the spectrum of ${outcome.name} is not finite (${what}): its entries (or a scale times its factors) overflow the computation's range` },
  };
}

/** One matrix of `analyze` (a planned matrix carries its module and, when quantized, its layout). */
export function tensorAnalysis(info: TensorInfo & { module?: ModuleInfo; layout?: string }, computed: SpectrumOutcome): TensorAnalysis {
  const outcome = finiteOutcome(computed);
  const base = {
    name: info.name,
    dtype: info.dtype,
    ...(info.layout ? { layout: info.layout } : {}),
    shape: info.shape,
    rows: outcome.rows,
    cols: outcome.cols,
    reshaped: info.shape.length !== 2,
    parameters: info.numel,
    module: info.module ?? classifyTensor(info.name),
    seconds: outcome.seconds,
  };
  if (isFailed(outcome)) return { ...base, error: outcome.error };
  return { ...base, spectrum: summarizeSpectrum(outcome), metrics: outcome.metrics };
}

/**
 * One matrix pair of `diff`: ΔW's spectrum and metrics, the norms, the relative update, the noise floor,
 * how sparse the update is, and the layouts (a quantized side; ΔW as quantization error when only one side is).
 */
export function pairResult(computed: SpectrumOutcome, entry: PairingEntry, context: ClassifyContext = {}): PairResult {
  const outcome = finiteOutcome(computed);
  const quantized = entry.base && entry.tuned ? quantizedSide(entry.base, entry.tuned) : null;
  const base: PairResult = {
    name: entry.name,
    fate: entry.fate,
    module: classifyTensor(entry.name, context),
    rows: outcome.rows,
    cols: outcome.cols,
    parameters: outcome.rows * outcome.cols,
    baseDtype: entry.base?.dtype ?? '',
    tunedDtype: entry.tuned?.dtype ?? '',
    ...(entry.base?.layout ? { baseLayout: entry.base.layout } : {}),
    ...(entry.tuned?.layout ? { tunedLayout: entry.tuned.layout } : {}),
    ...(quantized ? { quantizationError: quantized } : {}),
    ...(entry.sharedRows === undefined ? {} : { sharedRows: entry.sharedRows }),
    seconds: outcome.seconds,
  };
  if (isFailed(outcome)) return { ...base, error: outcome.error };
  const baseNorm = Math.sqrt(outcome.baseFrobeniusSquared ?? NaN);
  const updateNorm = Math.sqrt(outcome.frobeniusSquared);
  const noise = noiseFloor(outcome);
  const sparsity = updateSparsity(outcome);
  return {
    ...base,
    spectrum: summarizeSpectrum(outcome),
    metrics: outcome.metrics,
    baseNorm,
    tunedNorm: Math.sqrt(outcome.tunedFrobeniusSquared ?? NaN),
    updateNorm,
    relativeUpdate: baseNorm > 0 ? updateNorm / baseNorm : updateNorm === 0 ? 0 : Infinity,
    ...(noise ? { noise } : {}),
    ...(sparsity ? { sparsity } : {}),
  };
}

/**
 * One adapter module: ΔW = s·B·A's spectrum and metrics; with the base weight's spectrum, the relative
 * update and (when both have vectors) the overlap of their directions. The rank cap is the adapter rank.
 */
export function adapterPairResult(m: LoraModule, computed: SpectrumOutcome, baseOutcome: SpectrumOutcome | undefined): PairResult {
  const outcome = finiteOutcome(computed);
  const result: PairResult = {
    name: m.name,
    fate: 'paired',
    module: classifyTensor(m.name),
    rows: m.rows,
    cols: m.cols,
    parameters: m.rank * (m.rows + m.cols),
    baseDtype: baseOutcome ? 'base' : '',
    tunedDtype: `LoRA r=${m.rank} s=${m.scale}`,
    rankCap: m.rank,
    seconds: outcome.seconds,
  };
  if (isFailed(outcome)) return { ...result, error: outcome.error };
  const updateNorm = Math.sqrt(outcome.frobeniusSquared);
  const withBase: Partial<PairResult> = {};
  if (baseOutcome && !isFailed(baseOutcome)) {
    const baseNorm = Math.sqrt(baseOutcome.frobeniusSquared);
    withBase.baseNorm = baseNorm;
    withBase.relativeUpdate = baseNorm > 0 ? updateNorm / baseNorm : Infinity;
    const directions = adapterDirections(outcome, baseOutcome, m);
    if (directions) withBase.directions = directions;
  }
  return { ...result, spectrum: summarizeSpectrum(outcome), metrics: outcome.metrics, updateNorm, ...withBase };
}

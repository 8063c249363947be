/**
 * `analyze`: the spectrum and spectral metrics of every weight matrix of a checkpoint. Every float tensor
 * of two or more dimensions is a matrix (higher-rank tensors are reshaped to [d0, d1·…·dk] and reported
 * as such); vectors, scalars and integer tensors are listed as skipped with the reason.
 *
 * @example
 * for await (const t of analyze('model.safetensors', { mode: 'truncated', rank: 32 }))
 *   console.log(t.name, t.metrics?.stableRank);
 * const report = await analyzeCheckpoint('model.safetensors');   // everything, plus per-layer summaries
 */
import { type GroupSummary, summarizeGroups } from './aggregate/groups';
import { type Checkpoint, openCheckpoint, type TensorInfo } from './read/checkpoint';
import { DECODABLE_DTYPES, type Dtype, FLOAT_DTYPES } from './read/dtypes';
import { isFailed, type MatrixJob, runSpectra, type SpectrumOptions, type SpectrumOutcome } from './engine/run';
import type { ErrorCode } from './errors';
import { nameFilter } from './plan/glob';
import { midpoint, type SpectrumMetrics } from './results/metrics';
import { classifyTensor, type ModuleInfo } from './plan/modules';

export interface AnalyzeOptions extends SpectrumOptions {
  /** Tensor-name globs to include (all when empty) and exclude; see lib/glob.ts. */
  include?: readonly string[];
  exclude?: readonly string[];
  /** When `checkpoint` is a path: memory-map it (default true). */
  mmap?: boolean;
}

export interface SpectrumSummary {
  /** Singular values, descending (all, or the top k in truncated mode). */
  values: Float64Array;
  /** |values[i] − σᵢ| ≤ errorBounds[i]. */
  errorBounds: Float64Array;
  frobeniusSquared: number;
  complete: boolean;
  converged: boolean;
  method: string;
  passes: number;
  powerIterations: number;
}

export interface TensorAnalysis {
  name: string;
  dtype: Dtype;
  /** The stored shape. */
  shape: readonly number[];
  /** The matrix analysed: rows × cols (the stored shape when 2-D, else reshaped). */
  rows: number;
  cols: number;
  reshaped: boolean;
  parameters: number;
  module: ModuleInfo;
  seconds: number;
  spectrum?: SpectrumSummary;
  metrics?: SpectrumMetrics;
  /** Set when this matrix could not be analysed (e.g. NON_FINITE_INPUT); the others still were. */
  error?: { code: ErrorCode; message: string };
}

export interface SkippedTensor {
  name: string;
  reason: 'not-a-matrix' | 'not-float' | 'empty' | 'excluded' | 'undecodable';
}

export interface AnalysisPlan {
  matrices: TensorInfo[];
  skipped: SkippedTensor[];
}

/** Which tensors are matrices to analyse, and why the others are not. */
export function planAnalysis(ckpt: Checkpoint, options: Pick<AnalyzeOptions, 'include' | 'exclude'> = {}): AnalysisPlan {
  const keep = nameFilter(options.include, options.exclude);
  const matrices: TensorInfo[] = [];
  const skipped: SkippedTensor[] = [];
  for (const t of ckpt.tensors) {
    if (!keep(t.name)) skipped.push({ name: t.name, reason: 'excluded' });
    else if (!FLOAT_DTYPES.has(t.dtype)) skipped.push({ name: t.name, reason: 'not-float' });
    else if (!DECODABLE_DTYPES.has(t.dtype)) skipped.push({ name: t.name, reason: 'undecodable' });
    else if (t.shape.length < 2) skipped.push({ name: t.name, reason: 'not-a-matrix' });
    else if (t.numel === 0) skipped.push({ name: t.name, reason: 'empty' });
    else matrices.push(t);
  }
  return { matrices, skipped };
}

function toAnalysis(info: TensorInfo, outcome: SpectrumOutcome): TensorAnalysis {
  const base = {
    name: info.name,
    dtype: info.dtype,
    shape: info.shape,
    rows: outcome.rows,
    cols: outcome.cols,
    reshaped: info.shape.length !== 2,
    parameters: info.numel,
    module: classifyTensor(info.name),
    seconds: outcome.seconds,
  };
  if (isFailed(outcome)) return { ...base, error: outcome.error };
  const { values, errorBounds, frobeniusSquared, complete, converged, method, passes, powerIterations, metrics } = outcome;
  return { ...base, spectrum: { values, errorBounds, frobeniusSquared, complete, converged, method, passes, powerIterations }, metrics };
}

/**
 * Analyses every weight matrix, yielding each result as the engine finishes it (in checkpoint order).
 * When `checkpoint` is a path it is opened here and closed when the iteration ends.
 */
export async function* analyze(checkpoint: string | Checkpoint, options: AnalyzeOptions = {}): AsyncGenerator<TensorAnalysis> {
  const ckpt = typeof checkpoint === 'string' ? await openCheckpoint(checkpoint, { mmap: options.mmap ?? true }) : checkpoint;
  try {
    const { matrices } = planAnalysis(ckpt, options);
    const jobs: MatrixJob[] = matrices.map((t) => ({ name: t.name, kind: 'dense', source: { checkpoint: ckpt, tensor: t.name } }));
    if (jobs.length === 0) return;
    for await (const outcome of runSpectra(jobs, options)) yield toAnalysis(matrices[outcome.index] as TensorInfo, outcome);
  } finally {
    if (typeof checkpoint === 'string') ckpt.close();
  }
}

export interface AnalysisReport {
  path: string;
  mode: 'exact' | 'truncated';
  tensors: TensorAnalysis[];
  skipped: SkippedTensor[];
  /** Per layer index and per module type (q/k/v/o, gate/up/down, embedding, lm_head, other groups). */
  byLayer: GroupSummary[];
  byModule: GroupSummary[];
  totals: { matrices: number; failed: number; parameters: number; seconds: number };
}

/** The numeric metrics that group summaries average (bounded ones by their midpoint). */
export function summaryMetrics(t: TensorAnalysis): Record<string, number | undefined> {
  const m = t.metrics;
  if (!m) return {};
  return {
    stableRank: m.stableRank,
    stableRankRatio: m.stableRank / m.minDim,
    effectiveRankRatio: midpoint(m.effectiveRankRatio),
    energyEffectiveRankRatio: midpoint(m.energyEffectiveRankRatio),
    topKEnergyShare: midpoint(m.topKEnergyShare),
    spectralNorm: m.spectralNorm,
    alpha: m.powerLaw.valid ? m.powerLaw.alpha : undefined,
  };
}

/** Collects {@link analyze} into one report with per-layer and per-module summaries. */
export async function analyzeCheckpoint(checkpoint: string | Checkpoint, options: AnalyzeOptions = {}): Promise<AnalysisReport> {
  const ckpt = typeof checkpoint === 'string' ? await openCheckpoint(checkpoint, { mmap: options.mmap ?? true }) : checkpoint;
  try {
    const { skipped } = planAnalysis(ckpt, options);
    const tensors: TensorAnalysis[] = [];
    for await (const t of analyze(ckpt, options)) tensors.push(t);
    const items = tensors
      .filter((t) => t.metrics)
      .map((t) => ({ ...t, energy: t.spectrum?.frobeniusSquared ?? 0, metrics: summaryMetrics(t), module: t.module }));
    return {
      path: ckpt.path,
      mode: options.mode ?? 'exact',
      tensors,
      skipped,
      byLayer: summarizeGroups(items, (t) => (t.module.layer === null ? null : String(t.module.layer))),
      byModule: summarizeGroups(items, (t) => t.module.group),
      totals: {
        matrices: tensors.length,
        failed: tensors.filter((t) => t.error).length,
        parameters: tensors.reduce((s, t) => s + t.parameters, 0),
        seconds: tensors.reduce((s, t) => s + t.seconds, 0),
      },
    };
  } finally {
    if (typeof checkpoint === 'string') ckpt.close();
  }
}

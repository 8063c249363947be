/**
 * `analyze`: the spectrum and spectral metrics of every weight matrix of a checkpoint. Every float tensor
 * of two or more dimensions is a matrix (higher-rank tensors are reshaped to [d0, d1·…·dk] and reported
 * as such); vectors, scalars and integer tensors are listed as skipped with the reason.
 * plan/analysis-plan.ts → plan/jobs.ts → engine/run.ts → results/pair-result.ts → aggregate/tensors.ts.
 *
 * @example
 * for await (const t of analyze('model.safetensors', { mode: 'truncated', rank: 32 }))
 *   console.log(t.name, t.metrics?.stableRank);
 * const report = await analyzeCheckpoint('model.safetensors');   // everything, plus per-layer summaries
 */
import { summarizeTensors } from './aggregate/tensors';
import { spectrumMode } from './engine/options';
import { runSpectra } from './engine/run';
import type { SpectrumOptions } from './engine/types';
import { planAnalysis } from './plan/analysis-plan';
import type { NameFilterOptions } from './plan/glob';
import { analysisJobs } from './plan/jobs';
import { type Checkpoint, openCheckpoint, type TensorInfo } from './read/checkpoint';
import type { AnalysisReport, TensorAnalysis } from './report/model';
import { tensorAnalysis } from './results/pair-result';

/** `include` / `exclude`: tensor-name globs (lib/plan/glob.ts) choosing the matrices analysed. */
export interface AnalyzeOptions extends SpectrumOptions, NameFilterOptions {
  /** When `checkpoint` is a path: memory-map it (default true). */
  mmap?: boolean;
}

/**
 * Analyses every weight matrix, yielding each result as the engine finishes it (in checkpoint order).
 * When `checkpoint` is a path it is opened here and closed when the iteration ends.
 */
export async function* analyze(checkpoint: string | Checkpoint, options: AnalyzeOptions = {}): AsyncGenerator<TensorAnalysis> {
  const ckpt = typeof checkpoint === 'string' ? await openCheckpoint(checkpoint, { mmap: options.mmap ?? true }) : checkpoint;
  try {
    const { matrices } = planAnalysis(ckpt, options);
    const jobs = analysisJobs(ckpt, matrices);
    if (jobs.length === 0) return;
    for await (const outcome of runSpectra(jobs, options)) yield tensorAnalysis(matrices[outcome.index] as TensorInfo, outcome);
  } finally {
    if (typeof checkpoint === 'string') ckpt.close();
  }
}

/** Collects {@link analyze} into one report with per-layer and per-module summaries. */
export async function analyzeCheckpoint(checkpoint: string | Checkpoint, options: AnalyzeOptions = {}): Promise<AnalysisReport> {
  const ckpt = typeof checkpoint === 'string' ? await openCheckpoint(checkpoint, { mmap: options.mmap ?? true }) : checkpoint;
  try {
    const { skipped } = planAnalysis(ckpt, options);
    const tensors: TensorAnalysis[] = [];
    for await (const t of analyze(ckpt, options)) tensors.push(t);
    const { byLayer, byModule } = summarizeTensors(tensors);
    return {
      path: ckpt.path,
      mode: spectrumMode(options),
      tensors,
      skipped,
      byLayer,
      byModule,
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

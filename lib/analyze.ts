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
import { reportedRank, spectrumMode } from './engine/options';
import { runSpectra } from './engine/run';
import { type CacheOptions, withSharedCache } from './engine/cache';
import { isFailed, type SpectrumOptions } from './engine/types';
import { type AnalysisPlan, type AnalysisPlanOptions, type PlannedMatrix, planAnalysis } from './plan/analysis-plan';
import { analysisJobs } from './plan/jobs';
import { type Checkpoint, checkpointArgument } from './read/checkpoint';
import { type AnalysisFrame, assembleAnalysis } from './report/assemble';
import { analysisSummary, EventStream, phasePlan } from './report/event-stream';
import type { EventOptions } from './report/events';
import type { AnalysisReport, TensorAnalysis } from './report/model';
import { tensorAnalysis } from './results/pair-result';

/**
 * `include` / `exclude`: tensor-name globs (lib/plan/glob.ts) choosing the matrices analysed; `component`:
 * only the matrices of these components ('vision', 'language', …; plan/modules.ts). `onEvent`
 * gets the event stream (docs/events.md); `onProgress` its progress events.
 */
export interface AnalyzeOptions extends Omit<SpectrumOptions, 'onProgress'>, CacheOptions, AnalysisPlanOptions, EventOptions {
  /** When `checkpoint` is a path: memory-map it (default true). */
  mmap?: boolean;
}

const open = async (checkpoint: string | Checkpoint, options: AnalyzeOptions) =>
  (await checkpointArgument('analyze: checkpoint', checkpoint, { mmap: options.mmap ?? true })).checkpoint;

/** The plan event, then every matrix's spectrum as the engine finishes it, each also as a `matrix` event. */
export async function* analysisTensors(ckpt: Checkpoint, plan: AnalysisPlan, options: AnalyzeOptions, stream: EventStream): AsyncGenerator<TensorAnalysis> {
  const jobs = analysisJobs(ckpt, plan.matrices);
  const mode = spectrumMode(options);
  stream.plan({
    command: 'analyze', inputs: [{ role: 'checkpoint', path: ckpt.path }], mode, rank: reportedRank(mode, options),
    matrices: jobs.length, skipped: plan.skipped.length, phases: [phasePlan('spectra', jobs, options)],
  });
  if (jobs.length === 0) return;
  const records = stream.records<TensorAnalysis>('tensor', (i) => plan.matrices[i]?.file);
  for await (const outcome of runSpectra(jobs, { ...options, onProgress: stream.progressFor('spectra') })) {
    const t = tensorAnalysis(plan.matrices[outcome.index] as PlannedMatrix, outcome);
    records.complete(outcome.index, t, !isFailed(outcome) && outcome.cached === true);
    yield t;
  }
}

/** The parts of an analysis report besides its tensors (a shard's partial report carries them to the merge). */
export function analysisFrame(ckpt: Checkpoint, options: AnalyzeOptions, plan: AnalysisPlan): AnalysisFrame {
  return { path: ckpt.path, mode: spectrumMode(options), skipped: plan.skipped };
}

/**
 * Analyses every weight matrix, yielding each result as the engine finishes it (in checkpoint order).
 * When `checkpoint` is a path it is opened here and closed when the iteration ends. With `onEvent`, the
 * stream ends with the summary {@link analyzeCheckpoint} would return once the iteration is complete.
 */
export async function* analyze(checkpoint: string | Checkpoint, given: AnalyzeOptions = {}): AsyncGenerator<TensorAnalysis> {
  const stream = EventStream.root(given);
  let ckpt: Checkpoint | undefined;
  try {
    const options = withSharedCache(given);
    stream.trackCache(options.cache);
    ckpt = await open(checkpoint, options);
    const plan = planAnalysis(ckpt, options);
    const tensors: TensorAnalysis[] = [];
    for await (const t of analysisTensors(ckpt, plan, options, stream)) {
      if (options.onEvent) tensors.push(t); // for the summary, only when someone listens
      yield t;
    }
    if (options.onEvent) stream.summary(analysisSummary(assembleAnalysis(analysisFrame(ckpt, options, plan), tensors)));
  } catch (error) {
    stream.fail(error);
    throw error;
  } finally {
    if (typeof checkpoint === 'string') ckpt?.close();
  }
}

/** Collects {@link analyze} into one report with per-layer and per-module summaries. */
export async function analyzeCheckpoint(checkpoint: string | Checkpoint, given: AnalyzeOptions = {}): Promise<AnalysisReport> {
  const stream = EventStream.root(given);
  return stream.guard(async () => {
    const options = withSharedCache(given);
    stream.trackCache(options.cache);
    const ckpt = await open(checkpoint, options);
    try {
      const plan = planAnalysis(ckpt, options);
      const tensors: TensorAnalysis[] = [];
      for await (const t of analysisTensors(ckpt, plan, options, stream)) tensors.push(t);
      const report = assembleAnalysis(analysisFrame(ckpt, options, plan), tensors);
      stream.summary(analysisSummary(report));
      return report;
    } finally {
      if (typeof checkpoint === 'string') ckpt.close();
    }
  });
}

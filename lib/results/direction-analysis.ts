/**
 * The direction analysis: do the directions a fine-tune changed line up with the base weight's own? Per
 * matrix it runs three truncated spectra with vectors (ΔW, W_base, W_tuned) and compares their top
 * singular subspaces (directions.ts). For an adapter, ΔW's vectors come from the r×r core and only the
 * base's spectrum is run.
 */
import type { Checkpoint } from '../read/checkpoint';
import type { CacheOptions } from '../engine/cache';
import { inheritedRunOptions } from '../engine/options';
import { runSpectra } from '../engine/run';
import { isFailed, type SpectrumOptions, type SpectrumOutcome, type SpectrumResult } from '../engine/types';
import { directionJobNames, directionJobs } from '../plan/jobs';
import { MATRIX_FATES, type PairingEntry, type PairingReport } from '../plan/pairing-entry';
import type { DirectionAnalysis, PairResult } from '../report/model';
import { compareSubspaces, intruderDimensions } from './directions';

/** Whether `diff` compares directions, and why: on request, or by default when the base is at most 1 GB. */
export function resolveDirections(option: boolean | 'auto', base: Checkpoint): { enabled: boolean; reason: string } {
  if (option === true) return { enabled: true, reason: 'requested' };
  if (option === false) return { enabled: false, reason: 'not requested (directions: true / --directions)' };
  const bytes = base.totalBytes;
  return bytes <= 1e9
    ? { enabled: true, reason: 'auto: base checkpoint ≤ 1 GB' }
    : { enabled: false, reason: `auto: base checkpoint is ${(bytes / 1e9).toFixed(1)} GB (> 1 GB); pass directions: true / --directions to compare directions` };
}

/** The top k columns of a column-major block of n-vectors. */
const take = (block: Float64Array, n: number, k: number) => block.subarray(0, n * k);

/**
 * Runs the three truncated spectra with vectors per matrix and sets `directions` on each pair that has
 * them. `onDone` is called for each pair the analysis concerns as soon as its three spectra are in (with
 * `directions` set, or left out when one of them failed), and whether all three came from the cache.
 */
export async function analyzeDirections(
  pairing: PairingReport, pairs: PairResult[], rank: number, threshold: number, options: SpectrumOptions & CacheOptions,
  onDone: (pair: PairResult, cached: boolean) => void = () => undefined,
): Promise<void> {
  const targets = pairs.filter((p) => p.spectrum && MATRIX_FATES.has(p.fate));
  const byName = new Map(pairing.entries.map((e) => [e.name, e]));
  const jobs = directionJobs(pairing, targets.map((p) => byName.get(p.name) as PairingEntry));
  if (jobs.length === 0) return;
  const targetOf = new Map<string, PairResult>();
  for (const p of targets) for (const job of Object.values(directionJobNames(p.name))) targetOf.set(job, p);
  const outcomes = new Map<string, SpectrumOutcome>();
  const arrived = new Map<PairResult, number>();
  for await (const o of runSpectra(jobs, { mode: 'truncated', rank, vectors: true, ...inheritedRunOptions(options) })) {
    outcomes.set(o.name, o);
    const p = targetOf.get(o.name);
    if (!p) continue;
    const count = (arrived.get(p) ?? 0) + 1;
    arrived.set(p, count);
    if (count < 3) continue;
    const directions = compareDirections(outcomes, p.name, threshold);
    if (directions) p.directions = directions;
    const cached = Object.values(directionJobNames(p.name)).every((job) => {
      const outcome = outcomes.get(job);
      return outcome !== undefined && !isFailed(outcome) && outcome.cached === true;
    });
    for (const job of Object.values(directionJobNames(p.name))) outcomes.delete(job); // their vectors are no longer needed
    onDone(p, cached);
  }
}

/** The direction analysis of one matrix from its three spectra, or undefined when one failed or has no vectors. */
function compareDirections(outcomes: ReadonlyMap<string, SpectrumOutcome>, name: string, threshold: number): DirectionAnalysis | undefined {
  const names = directionJobNames(name);
  const update = outcomes.get(names.update), base = outcomes.get(names.base), tuned = outcomes.get(names.tuned);
  if (!update || !base || !tuned || isFailed(update) || isFailed(base) || isFailed(tuned)) return undefined;
  const k = Math.min(update.vectorCount ?? 0, base.vectorCount ?? 0, tuned.vectorCount ?? 0);
  if (k === 0 || !update.u || !update.v || !base.u || !base.v || !tuned.u) return undefined;
  // The base and tuned matrices may have more rows than ΔW (resized vocabulary): compare input
  // directions (V, same length) fully, output directions only when the row counts agree.
  const sameRows = update.rows === base.rows && base.rows === tuned.rows;
  const inputs = () => compareSubspaces(take(update.v as Float64Array, update.cols, k), take(base.v as Float64Array, base.cols, k), update.cols, k);
  return {
    updateVsBaseInputs: inputs(),
    updateVsBaseOutputs: sameRows ? compareSubspaces(take(update.u, update.rows, k), take(base.u, base.rows, k), update.rows, k) : inputs(),
    intruders: sameRows
      ? intruderDimensions(take(tuned.u, tuned.rows, k), take(base.u, base.rows, k), tuned.rows, k, threshold)
      : intruderDimensions(take(tuned.v as Float64Array, tuned.cols, k), take(base.v, base.cols, k), tuned.cols, k, threshold),
  };
}

/**
 * An adapter module's ΔW = s·B·A against its base weight: input and output subspaces (no intruders: W_tuned
 * is not formed). Undefined when either spectrum has no vectors.
 */
export function adapterDirections(update: SpectrumResult, base: SpectrumResult, m: { rows: number; cols: number; rank: number }): DirectionAnalysis | undefined {
  const k = Math.min(update.vectorCount ?? 0, base.vectorCount ?? 0, m.rank);
  if (k === 0 || !update.u || !update.v || !base.u || !base.v) return undefined;
  return {
    updateVsBaseInputs: compareSubspaces(take(update.v, m.cols, k), take(base.v, m.cols, k), m.cols, k),
    updateVsBaseOutputs: compareSubspaces(take(update.u, m.rows, k), take(base.u, m.rows, k), m.rows, k),
  };
}

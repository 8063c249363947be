/**
 * `diff`: what a fine-tune did to a model's parameters. Pairs the base and tuned checkpoints by name
 * (plan/pairing.ts), computes the spectrum of every ΔW = W_tuned − W_base on the native engine, and reports
 * per pair the spectral metrics of ΔW, the relative update ‖ΔW‖_F/‖W_base‖_F, how much of ΔW rises above
 * the storage-noise floor of the two dtypes (results/noise.ts), optionally how ΔW's directions relate to
 * W_base's (results/direction-analysis.ts), then aggregates per layer / module / depth / component and
 * gives the regime verdict (aggregate/pairs.ts, aggregate/regime.ts).
 *
 * @example
 * const report = await diff('base/', 'tuned/', { mode: 'truncated', rank: 64 });
 * console.log(report.verdict.label, report.verdict.score);
 */
import { reportedRank } from './engine/options';
import { runSpectra } from './engine/run';
import type { SpectrumOptions } from './engine/types';
import { invalidArgument, ParamscopeError } from './errors';
import { diffJobs } from './plan/jobs';
import { pairCheckpoints } from './plan/pairing';
import type { PairingEntry, PairingOptions } from './plan/pairing-entry';
import { type Checkpoint, openCheckpoint } from './read/checkpoint';
import { assembleReport } from './report/assemble';
import type { DiffReport, PairResult } from './report/model';
import { analyzeDirections, resolveDirections } from './results/direction-analysis';
import { DIRECTION_DEFAULTS } from './results/directions';
import { pairResult } from './results/pair-result';
import { vectorChanges } from './results/vector-changes';

/** `map`, `include`, `exclude`: how the tensors are paired (plan/pairing.ts). */
export interface DiffOptions extends SpectrumOptions, Pick<PairingOptions, 'map' | 'include' | 'exclude'> {
  /**
   * Compare ΔW's and W_tuned's top singular directions with W_base's (subspace overlap, intruder
   * dimensions). Costs three more truncated spectra per matrix. 'auto' (default): on when the base is
   * at most 1 GB.
   */
  directions?: boolean | 'auto';
  /** How many directions to compare (default 16). */
  directionRank?: number;
  /** |cosine| below which a tuned direction is an intruder (default 0.5). */
  intruderThreshold?: number;
  mmap?: boolean;
}

/** `diff` computes truncated spectra unless told otherwise: full checkpoints are large. */
const DIFF_DEFAULT_MODE = 'truncated';

/**
 * Compares two checkpoints (paths or open Checkpoints). Paths are opened here and closed at the end.
 * Throws ARCHITECTURE_MISMATCH / EMPTY_PAIRING when there is nothing meaningful to compare.
 */
export async function diff(base: string | Checkpoint, tuned: string | Checkpoint, options: DiffOptions = {}): Promise<DiffReport> {
  const directionRank = options.directionRank ?? DIRECTION_DEFAULTS.rank;
  const threshold = options.intruderThreshold ?? DIRECTION_DEFAULTS.intruderThreshold;
  if (!Number.isSafeInteger(directionRank) || directionRank < 1) invalidArgument('directionRank', 'a positive integer', directionRank);
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold < 1)) invalidArgument('intruderThreshold', 'a number in (0, 1)', threshold);
  const opened: Checkpoint[] = [];
  const open = async (c: string | Checkpoint) => {
    if (typeof c !== 'string') return c;
    const ckpt = await openCheckpoint(c, { mmap: options.mmap ?? true });
    opened.push(ckpt);
    return ckpt;
  };
  try {
    const baseCkpt = await open(base);
    const tunedCkpt = await open(tuned);
    const pairing = pairCheckpoints(baseCkpt, tunedCkpt, { map: options.map, include: options.include, exclude: options.exclude });
    const jobs = diffJobs(pairing);
    if (jobs.length === 0)
      throw new ParamscopeError(`no matrix pairs to compare between ${baseCkpt.path} and ${tunedCkpt.path}`, { code: 'EMPTY_PAIRING', file: tunedCkpt.path });
    const entries = new Map(pairing.entries.map((e) => [e.name, e]));
    const pairs: PairResult[] = [];
    const mode = options.mode ?? DIFF_DEFAULT_MODE;
    for await (const outcome of runSpectra(jobs, { ...options, mode })) pairs.push(pairResult(outcome, entries.get(outcome.name) as PairingEntry));
    const dirs = resolveDirections(options.directions ?? 'auto', baseCkpt);
    if (dirs.enabled) await analyzeDirections(pairing, pairs, directionRank, threshold, options);
    const vectors = await vectorChanges(pairing, { signal: options.signal });
    return assembleReport({
      kind: 'checkpoints',
      base: { path: baseCkpt.path, tensors: baseCkpt.tensors.length },
      tuned: { path: tunedCkpt.path, tensors: tunedCkpt.tensors.length },
      options: {
        mode,
        rank: reportedRank(mode, options),
        directions: { enabled: dirs.enabled, rank: directionRank, reason: dirs.reason },
      },
      pairing: {
        prefix: pairing.prefix,
        counts: pairing.counts,
        notes: pairing.notes,
        entries: pairing.entries.map((e) => ({ name: e.name, fate: e.fate, base: e.base?.tensor ?? null, tuned: e.tuned?.tensor ?? null, ...(e.note ? { note: e.note } : {}) })),
      },
      pairs,
      vectors,
    });
  } finally {
    for (const c of opened) c.close();
  }
}

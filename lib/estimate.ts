/**
 * `estimate`: what a run of `analyze` (one checkpoint) or `diff` (a base and a tuned checkpoint) will
 * cost, from the headers alone, for any checkpoint size: per matrix and in total the stored bytes to
 * read, the floating-point operations (plan/cost.ts), the memory it holds while computing, and a time on
 * this machine from a short calibration (engine/calibrate.ts). Nothing but headers is read from the
 * checkpoints, so a 70B pair can be planned on a laptop (`paramscope plan`, `--dry-run`).
 *
 * @example
 * const e = await estimate(['base/', 'tuned/'], { mode: 'truncated', rank: 64 });
 * console.log(e.totals.seconds, e.totals.memoryBytes);
 */
import { planDiff, type DiffOptions } from './diff';
import { native } from './engine/binding';
import { calibrate, type Calibration } from './engine/calibrate';
import type { MatrixJob } from './engine/matrix-job';
import { engineOptions } from './engine/options';
import { invalidArgument } from './errors';
import { planAnalysis } from './plan/analysis-plan';
import { jobCost, jobMemory, matrixShape } from './plan/cost';
import { analysisJobs } from './plan/jobs';
import { type Checkpoint, openCheckpoint } from './read/checkpoint';

export type EstimateOptions = Omit<DiffOptions, 'onEvent' | 'signal' | 'onProgress'> & {
  /** Skip the calibration (no time estimates): for a quick plan or where the engine should not run. */
  calibrate?: boolean;
};

export interface JobEstimate {
  name: string;
  /** 'spectra' (the matrices themselves) or 'directions' (diff's direction analysis). */
  phase: string;
  rows: number;
  cols: number;
  bytes: number;
  flops: number;
  /** Memory held while the job computes, in its lane's share of the budget (bytes). */
  memoryBytes: number;
  /** Estimated seconds of one lane (null without calibration). */
  seconds: number | null;
}

export interface RunEstimate {
  kind: 'analyze' | 'diff';
  inputs: string[];
  mode: 'exact' | 'truncated';
  rank: number | null;
  /** Matrices computed at once, and each one's share of the memory budget. */
  lanes: number;
  laneBytes: number;
  jobs: JobEstimate[];
  totals: {
    matrices: number;
    bytes: number;
    flops: number;
    /** The most the lanes hold at once: the largest jobs side by side (bytes). */
    memoryBytes: number;
    /** Estimated wall time: the jobs, largest first, on `lanes` lanes (null without calibration). */
    seconds: number | null;
  };
  calibration: Calibration | null;
  notes: string[];
}

function shapeOf(job: MatrixJob): [number, number] {
  if (job.kind === 'lowrank') return [job.rows, job.cols];
  return job.kind === 'dense' ? matrixShape(job.source) : matrixShape(job.tuned, job.rows);
}

/** Largest first on the lane that frees first, as the engine takes them: the time the last lane ends. */
export function scheduledSeconds(seconds: number[], lanes: number): number {
  const free = new Array<number>(lanes).fill(0);
  for (const s of [...seconds].sort((a, b) => b - a)) {
    let at = 0;
    for (let i = 1; i < lanes; i++) if ((free[i] as number) < (free[at] as number)) at = i;
    free[at] = (free[at] as number) + s;
  }
  return free.reduce((a, b) => Math.max(a, b), 0);
}

/** Estimates the run of analyze (one checkpoint) or diff (two). Paths are opened (headers only) and closed here. */
export async function estimate(checkpoints: readonly string[], options: EstimateOptions = {}): Promise<RunEstimate> {
  if (!Array.isArray(checkpoints) || checkpoints.length < 1 || checkpoints.length > 2) invalidArgument('estimate: checkpoints', 'one (analyze) or two (diff) paths', checkpoints);
  const opened: Checkpoint[] = [];
  try {
    for (const path of checkpoints) opened.push(await openCheckpoint(path, { mmap: options.mmap ?? true }));
    const kind = opened.length === 2 ? 'diff' : 'analyze';
    let phases: Array<{ name: string; jobs: MatrixJob[]; options: EstimateOptions }>;
    let mode: 'exact' | 'truncated';
    if (kind === 'diff') {
      const plan = planDiff(opened[0] as Checkpoint, opened[1] as Checkpoint, options);
      mode = plan.mode;
      phases = [{ name: 'spectra', jobs: plan.jobs, options: { ...options, mode } }];
      if (plan.directions.enabled)
        phases.push({ name: 'directions', jobs: plan.directionJobs, options: { ...options, mode: 'truncated', rank: plan.directions.rank, vectors: true } });
    } else {
      const ckpt = opened[0] as Checkpoint;
      mode = options.mode ?? 'exact';
      phases = [{ name: 'spectra', jobs: analysisJobs(ckpt, planAnalysis(ckpt, options).matrices), options: { ...options, mode } }];
    }
    const main = engineOptions(phases[0]?.options ?? options);
    const lanes = Math.max(1, native().laneCount(main, phases[0]?.jobs.length ?? 1));
    const laneBytes = Math.floor(main.memoryBudget / lanes);
    const eigenSolver = native().buildInfo().lapackProvider !== 'openblas';
    const jobs: JobEstimate[] = [];
    const seconds: number[] = [];
    const notes: string[] = [];
    let calibration: Calibration | null = null;
    for (const phase of phases) {
      const settings = engineOptions(phase.options);
      const rates = options.calibrate === false ? null : await calibrate(phase.options);
      calibration ??= rates;
      for (const job of phase.jobs) {
        const cost = jobCost(job, settings);
        const [rows, cols] = shapeOf(job);
        const s = rates ? cost.flops / rates.flopsPerLaneSecond + (rates.bytesPerLaneSecond ? cost.bytes / rates.bytesPerLaneSecond : 0) : null;
        if (s !== null) seconds.push(s);
        jobs.push({ name: job.name, phase: phase.name, rows, cols, bytes: cost.bytes, flops: cost.flops, memoryBytes: jobMemory(job, settings, laneBytes, eigenSolver), seconds: s });
      }
    }
    const largest = jobs.map((j) => j.memoryBytes).sort((a, b) => b - a).slice(0, lanes);
    const bytes = jobs.reduce((s, j) => s + j.bytes, 0);
    if (calibration)
      notes.push(`time from a ${calibration.seconds.toFixed(1)} s calibration (${(calibration.flopsPerLaneSecond / 1e9).toFixed(0)} GFLOP/s${calibration.bytesPerLaneSecond ? ` and ${(calibration.bytesPerLaneSecond / 1e9).toFixed(2)} GB/s decoded` : ''} per lane); reading from a cold disk adds what the read-ahead cannot hide: at least ${(bytes / 1e9).toFixed(1)} GB at the disk's rate`);
    return {
      kind,
      inputs: opened.map((c) => c.path),
      mode,
      rank: mode === 'truncated' ? main.rank : null,
      lanes,
      laneBytes,
      jobs,
      totals: {
        matrices: jobs.length,
        bytes,
        flops: jobs.reduce((s, j) => s + j.flops, 0),
        memoryBytes: largest.reduce((a, b) => a + b, 0),
        seconds: calibration ? scheduledSeconds(seconds, lanes) : null,
      },
      calibration,
      notes,
    };
  } finally {
    for (const c of opened) c.close();
  }
}

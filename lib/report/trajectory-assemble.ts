/**
 * The last step of `trajectory`: each step's parts — the report parts of its updates against the base
 * and against the previous step (as diffParts / adapterParts compute them) and the settling of its
 * matrices' directions — become the step reports (assembleReport, as `diff` ends) and the trajectory
 * report (aggregate/trajectory.ts). A single run and the merge of its shards' partial reports
 * (lib/merge.ts) both end here, so a merged trajectory is computed by the same code as a single run's.
 */
import { trajectoryBody } from '../aggregate/trajectory';
import type { TrajectoryCheckpoint } from '../plan/trajectory-steps';
import type { Settling } from '../results/settling';
import { assembleReport, type ReportParts } from './assemble';
import { trajectoryHeader } from './header';
import type { DiffReport } from './model';
import type { TrajectoryReport } from './trajectory-model';

/** One step: its reports against the base and against the previous step (what the comparison report reads, like compare's arms). */
export interface TrajectoryStepResult {
  step: number;
  name: string;
  path: string;
  vsBase: DiffReport;
  vsPrevious: DiffReport | null;
}

export interface TrajectoryResult {
  report: TrajectoryReport;
  /** In step order. */
  steps: TrajectoryStepResult[];
}

/** The trajectory report's parts besides its steps' results: what every shard computes alike. */
export interface TrajectoryFrame {
  kind: TrajectoryReport['kind'];
  base: string | null;
  overlapRank: number;
  notes: string[];
  /** In step order. */
  checkpoints: TrajectoryCheckpoint[];
}

/** A matrix's settling at a step: its directions against the previous step's (null: no signal direction at one of them). */
export interface SettlingResult {
  name: string;
  settling: Settling | null;
}

/** What one step computed, before its reports are assembled. */
export interface TrajectoryStepParts {
  vsBase: ReportParts;
  /** Null for the first step. */
  vsPrevious: ReportParts | null;
  /** In the order of the step's matrices; null for the first step. */
  settling: SettlingResult[] | null;
}

/** The trajectory of its parts, one per checkpoint of the frame. Throws ALL_MATRICES_FAILED as assembleReport does. */
export function assembleTrajectory(frame: TrajectoryFrame, parts: readonly TrajectoryStepParts[]): TrajectoryResult {
  const steps = parts.map((p, i) => {
    const c = frame.checkpoints[i] as TrajectoryCheckpoint;
    return {
      checkpoint: c,
      vsBase: assembleReport(p.vsBase),
      vsPrevious: p.vsPrevious ? assembleReport(p.vsPrevious) : null,
      settling: p.settling ? new Map(p.settling.flatMap((s) => (s.settling ? [[s.name, s.settling] as const] : []))) : null,
    };
  });
  const first = (steps[0] as (typeof steps)[number]).vsBase.options;
  const report: TrajectoryReport = {
    ...trajectoryHeader(),
    ...trajectoryBody({
      kind: frame.kind, base: frame.base, notes: frame.notes,
      options: { mode: first.mode, rank: first.rank, directions: first.directions, overlapRank: frame.overlapRank },
      steps,
    }),
  };
  return { report, steps: steps.map((s) => ({ step: s.checkpoint.step, name: s.checkpoint.name, path: s.checkpoint.path, vsBase: s.vsBase, vsPrevious: s.vsPrevious })) };
}

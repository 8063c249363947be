/**
 * The trajectory report (`paramscope trajectory`, docs/trajectory.md): a run's checkpoints in step order,
 * each against the base and against the previous one, as series over the steps. Types only;
 * trajectory-schema.ts ties each to its JSON Schema. Every series is indexed like `steps` (entry i is
 * step i's); null where a value does not exist (no previous step, no base, a failed matrix).
 */
import type { RegimeVerdict } from '../aggregate/regime';
import type { ModelSummary } from './model';

/** The footprint of one update: ΔW from a reference (the base, or the previous step) to a step. */
export interface StepFootprint {
  /** The reference: the base's path, the previous step's, or null (adapters without their base: ΔW = s·B·A itself). */
  from: string | null;
  /** The regime verdict of this update, as `diff` computes it (score, D / L / C, label, confidence). */
  verdict: RegimeVerdict;
  /** The model summary of this update, as `diff` reports it (relative update, energy spread, median ranks, signal share). */
  model: ModelSummary;
  /** Σ ‖ΔW‖_F² over the matrices. */
  updateEnergy: number;
  /** vsPrevious only: ‖ΔW_k − ΔW_{k−1}‖_F / ‖ΔW_{k−1}‖_F over all matrices together (how much the update moved in this step). */
  relativeToPreviousUpdate?: number | null;
}

/** One side (left: outputs, U; right: inputs, V) of where the update's directions settle between two steps. */
export interface SettlingSide {
  /** Median over the matrices compared of ‖U_kᵀU_{k−1}‖²_F / k. */
  median: number | null;
  /** The same, weighted by each matrix's share of the step's update energy. */
  energyWeighted: number | null;
  /** Matrices compared (those with at least one signal direction at both steps). */
  matrices: number;
}

/** How much the top singular subspaces of ΔW_base→k overlap those of ΔW_base→(k−1). */
export interface StepSettling {
  /** The top-k asked for (the overlap rank); each matrix compares min(k, its signal directions at both steps). */
  k: number;
  left: SettlingSide;
  right: SettlingSide;
}

export interface TrajectoryStep {
  step: number;
  /** The checkpoint's directory or file name. */
  name: string;
  path: string;
  stepSource: 'trainer_state.json' | 'name';
  vsBase: StepFootprint;
  /** Against the previous step (null for the first step: its previous is the base, that is vsBase). */
  vsPrevious: StepFootprint | null;
  /** Against the previous step's directions (null for the first step). */
  settling: StepSettling | null;
}

/** A layer or a module type over the steps (updates against the base). */
export interface TrajectoryGroupSeries {
  key: string;
  /** Σ ‖ΔW‖_F² of the group's matrices. */
  energy: Array<number | null>;
  /** Its share of the step's update energy. */
  energyShare: Array<number | null>;
  /** √(Σ‖ΔW‖_F² / Σ‖W_base‖_F²) over the group (null without a base). */
  relativeUpdate: Array<number | null>;
  /** Median energy effective-rank ratio of the group's matrices (midpoints of bounded values). */
  medianEnergyEffectiveRankRatio: Array<number | null>;
}

/** One matrix over the steps. */
export interface TrajectoryMatrixSeries {
  name: string;
  layer: number | null;
  /** Its module type (q, k, v, o, gate, up, down, …). */
  module: string;
  rows: number;
  cols: number;
  /** ‖ΔW‖_F / ‖W_base‖_F (null without a base). */
  relativeUpdate: Array<number | null>;
  /** ‖ΔW‖_F². */
  updateEnergy: Array<number | null>;
  /** Energy effective rank of ΔW (exp of the entropy of σᵢ²/‖ΔW‖²; midpoint when bounded) and its ratio to min(m, n). */
  energyEffectiveRank: Array<number | null>;
  energyEffectiveRankRatio: Array<number | null>;
  /** ‖ΔW_k − ΔW_{k−1}‖_F / ‖ΔW_{k−1}‖_F (null for the first step). */
  stepUpdate: Array<number | null>;
  /** Directions compared with the previous step: min(overlap rank, signal directions at both steps). */
  overlapK: Array<number | null>;
  /** ‖U_kᵀU_{k−1}‖²_F / k of the top-k left (output) and right (input) singular vectors of ΔW_base→k. */
  leftOverlap: Array<number | null>;
  rightOverlap: Array<number | null>;
  /** Principal angles between those subspaces, degrees, ascending. */
  leftAnglesDeg: Array<number[] | null>;
  rightAnglesDeg: Array<number[] | null>;
}

export interface TrajectoryReport {
  schema: 'paramscope.trajectory';
  schemaVersion: number;
  tool: { name: 'paramscope'; version: string };
  createdAt: string;
  /** 'checkpoints': full checkpoints (ΔW = W_step − W_base); 'adapter': LoRA adapters (ΔW = s·B·A). */
  kind: 'checkpoints' | 'adapter';
  /** The base checkpoint (null for adapters analysed without it). */
  base: string | null;
  options: {
    mode: 'exact' | 'truncated';
    rank: number | null;
    /** Whether the updates against the base compared their directions with the base's (as diff does). */
    directions: { enabled: boolean; rank: number; reason: string };
    /** The top-k of the settling overlap. */
    overlapRank: number;
  };
  steps: TrajectoryStep[];
  byLayer: TrajectoryGroupSeries[];
  byModule: TrajectoryGroupSeries[];
  matrices: TrajectoryMatrixSeries[];
  notes: string[];
}

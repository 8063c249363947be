/**
 * The comparison report's types: what goes in (arms, each with the single report it already has) and
 * what comes out (the comparison document that comparison.json holds and the HTML, Markdown and CSV are
 * rendered from). Types only. Any command that has several reports of one kind builds a ComparisonInput:
 * `compare` (fine-tunes of one base), `compare --weights` / `analyze --out` (checkpoints' own weights),
 * and a trajectory (checkpoints of one run, with `step` and `axis`).
 */
import type { ArmKind } from '../../aggregate/arm-statistics';
import type { AnalysisReport, DiffReport } from '../model';

/** One arm: a name, what kind of report it has, and that report (its per-matrix records and aggregates). */
export type ComparisonArm =
  | { label: string; kind: 'diff' | 'lora'; report: DiffReport; /** Position on the axis (a training step). */ step?: number }
  | { label: string; kind: 'weights'; report: AnalysisReport; step?: number };

export interface ComparisonInput {
  /** All of one family: update arms ('diff' / 'lora') or weights arms, never mixed. */
  arms: ComparisonArm[];
  /** For trajectories: what each arm's `step` counts (e.g. "step"); arms are then shown in step order. */
  axis?: { name: string };
  /** Page title. */
  title?: string;
}

/** An estimate and its bootstrap percentile interval (NaN ends: no interval). */
export interface Interval {
  estimate: number;
  lo: number;
  hi: number;
}

export interface ComparisonArmSummary {
  label: string;
  kind: ArmKind;
  path: string;
  /** The base the update was taken against (null for weights and adapters without base). */
  base: string | null;
  step?: number;
  mode: 'exact' | 'truncated';
  /** The matrices the statistics are computed over (and resampled). */
  matrices: number;
  verdict?: { label: string; score: number; scoreRange: [number, number]; confidence: string };
  /** One interval per statistic of the document's `statistics`, by key. */
  statistics: Record<string, Interval>;
}

export interface ArmDifference {
  a: string;
  b: string;
  /** paired: the same resampled indices on the matrices both arms have (same name and shape); independent: each arm resampled on its own. */
  pairing: 'paired' | 'independent';
  sharedMatrices: number;
  /** Per statistic: b − a (over the shared matrices when paired), its interval, and whether it excludes 0. */
  statistics: Record<string, Interval & { differs: boolean }>;
}

/** One point of a depth curve: a layer of one module type of one arm. */
export interface DepthPoint {
  layer: number;
  /** layer / (layers of the component − 1), in [0, 1]. */
  depth: number;
  /** Energy-weighted mean energy effective-rank ratio of the cell's matrices (midpoints of bounds); null without metrics. */
  effRankRatio: number | null;
  /** The cell's share of the arm's total energy (‖ΔW‖² for updates, ‖W‖² for weights). */
  energyShare: number;
  /** Updates: some matrix of the cell rises above the storage-noise floor (weights: always true). */
  signal: boolean;
}

export interface DepthCurve {
  arm: string;
  component: string;
  module: string;
  points: DepthPoint[];
}

/** A module type's typical spectrum in one arm: medians over its matrices at common values of k/r. */
export interface SpectrumCurve {
  arm: string;
  module: string;
  matrices: number;
  /** x = k/r (r the largest rank the matrix can have); sigma = σ_k/σ₁; energy = E_k = Σ_{i≤k} σᵢ² / ‖A‖_F². */
  points: Array<{ x: number; sigma: number | null; energy: number | null }>;
  /** The smallest x on the grid at which the median E_k reaches 0.9 (null when it does not within the known values). */
  energy90: number | null;
}

export interface HeatmapCell {
  component: string;
  layer: number;
  module: string;
  /** The two arms' values (null where an arm has no matrix there). */
  a: { energyShare: number; effRankRatio: number | null } | null;
  b: { energyShare: number; effRankRatio: number | null } | null;
}

export interface ComparisonHeatmap {
  a: string;
  b: string;
  cells: HeatmapCell[];
}

export interface ComparisonDocument {
  schema: 'paramscope.comparison';
  schemaVersion: number;
  tool: { name: 'paramscope'; version: string };
  createdAt: string;
  /** updates: ΔW of fine-tunes or adapters; weights: the checkpoints' own W. */
  family: 'updates' | 'weights';
  title: string;
  axis: { name: string } | null;
  bootstrap: { replicates: number; seed: number; level: number; unit: 'matrix'; method: 'percentile' };
  /** What each statistic key means, in display order. */
  statistics: Array<{ key: string; name: string; description: string; range: 'unit' | 'positive' }>;
  arms: ComparisonArmSummary[];
  differences: ArmDifference[];
  depth: DepthCurve[];
  spectra: SpectrumCurve[];
  /** The layer × module difference of two arms, or null with the reason in `heatmapNote`. */
  heatmap: ComparisonHeatmap | null;
  heatmapNote: string;
}

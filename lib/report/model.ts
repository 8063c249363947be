/**
 * The report model: the types of what `analyze`, `diff` and the LoRA route produce, from one matrix's
 * spectrum to the whole report. Types only: every stage names them from here, and report/schema.ts ties
 * each to its JSON Schema so a field added here without a schema entry fails to type-check.
 */
import type { GroupSummary } from '../aggregate/groups';
import type { FailureCounts } from '../aggregate/failures';
import type { RegimeVerdict } from '../aggregate/regime';
import type { ErrorCode } from '../errors';
import type { SkippedTensor } from '../plan/analysis-plan';
import type { ModuleInfo } from '../plan/modules';
import type { PairingFate } from '../plan/pairing-entry';
import type { Dtype } from '../read/dtypes';
import type { IntruderAnalysis, SubspaceComparison } from '../results/directions';
import type { SpectrumMetrics } from '../results/metrics';
import type { NoiseFloor } from '../results/noise';
import type { UpdateSparsity } from '../results/sparsity';
import type { VectorChange } from '../results/vector-changes';

/** The singular values of one matrix as computed (a SpectrumResult without its metrics and vectors). */
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

// ---- analyze ------------------------------------------------------------------------------------------

/** One matrix of `analyze`. */
export interface TensorAnalysis {
  name: string;
  dtype: Dtype;
  /** A quantized weight's logical dtype ("FP8 block 128×128", "MXFP4"); `dtype` is then its codes'. */
  layout?: string;
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

// ---- diff and the LoRA route -------------------------------------------------------------------------

export interface DirectionAnalysis {
  /** Top right singular subspaces of ΔW and W_base (input directions). */
  updateVsBaseInputs: SubspaceComparison;
  /** Top left singular subspaces of ΔW and W_base (output directions). */
  updateVsBaseOutputs: SubspaceComparison;
  /** Top left singular vectors of W_tuned against W_base's (not for adapters: W_tuned is not formed). */
  intruders?: IntruderAnalysis;
}

export interface PairResult {
  name: string;
  fate: PairingFate;
  module: ModuleInfo;
  rows: number;
  cols: number;
  parameters: number;
  baseDtype: string;
  tunedDtype: string;
  /** A quantized side's logical dtype ("FP8 block 128×128", "MXFP4"; its codes are `baseDtype`). */
  baseLayout?: string;
  tunedLayout?: string;
  /** Only this side is quantized: ΔW is then its quantization error (plus any fine-tuning). */
  quantizationError?: 'base' | 'tuned';
  /** For a resized vocabulary: rows compared (the shared ones). */
  sharedRows?: number;
  /** The largest rank ΔW could have when less than min(rows, cols): the LoRA rank r. */
  rankCap?: number;
  seconds: number;
  spectrum?: SpectrumSummary;
  metrics?: SpectrumMetrics;
  baseNorm?: number;
  tunedNorm?: number;
  updateNorm?: number;
  /** ‖ΔW‖_F / ‖W_base‖_F. */
  relativeUpdate?: number;
  noise?: NoiseFloor;
  /** How many entries did not change, or changed by less than one storage step (absent for adapters). */
  sparsity?: UpdateSparsity;
  directions?: DirectionAnalysis;
  error?: { code: ErrorCode; message: string };
}

export interface ModelSummary {
  /** Matrices analysed (failed ones are counted in `failed`). */
  matrices: number;
  matricesWithSignal: number;
  /** ‖ΔW‖_F / ‖W_base‖_F over all compared matrices together. */
  relativeUpdate: number;
  /** How the update energy (Σ‖ΔW‖_F²) spreads: normalised entropy (1 even) and Gini (0 even) over layers and module types. */
  layerEnergyEntropy: number;
  layerEnergyGini: number;
  moduleEnergyEntropy: number;
  moduleEnergyGini: number;
  /** Medians over the matrices changed beyond storage noise (untouched matrices would pull them to 0). */
  medianEnergyEffectiveRankRatio: number;
  medianStableRank: number;
  medianTopKEnergyShare: number;
  /** Share of all update energy above the storage-noise floor. */
  energyShareAboveNoise: number;
  /**
   * Share of all update energy that storage rounding cannot account for: above the noise edge, or hidden
   * below it (NoiseFloor.hiddenShare). The verdict reads the update's shape only when this is ≥ 1/2.
   */
  signalShare: number;
  /** Over all compared matrices: entries bit-identical in both checkpoints, and below one storage step (absent for adapters). */
  sparsity?: UpdateSparsity;
  /** Matrices that could not be analysed (each pair's `error` says why): in no aggregate, and counted against the verdict's confidence. */
  failed: FailureCounts;
}

export interface DiffReport {
  schema: 'paramscope.diff';
  schemaVersion: number;
  tool: { name: 'paramscope'; version: string };
  createdAt: string;
  /** 'checkpoints': base vs tuned; 'adapter': a LoRA adapter's ΔW = s·B·A, with or without its base. */
  kind: 'checkpoints' | 'adapter';
  /** The base checkpoint (null for an adapter analysed without its base). */
  base: { path: string; tensors: number } | null;
  /** The tuned checkpoint, or the adapter file. */
  tuned: { path: string; tensors: number };
  /** For kind 'adapter': what was read from the adapter. */
  adapter?: { layout: string; modules: number; needsBase: boolean; notes: string[]; fullTensors: Array<{ tensor: string; kind: string; note: string }> };
  options: {
    mode: 'exact' | 'truncated';
    rank: number | null;
    directions: { enabled: boolean; rank: number; reason: string };
  };
  pairing: {
    prefix: { base: string; tuned: string };
    counts: Record<PairingFate, number>;
    notes: string[];
    entries: Array<{ name: string; fate: PairingFate; base: string | null; tuned: string | null; note?: string }>;
  };
  pairs: PairResult[];
  vectors: VectorChange[];
  aggregates: {
    byLayer: GroupSummary[];
    byModule: GroupSummary[];
    byDepth: GroupSummary[];
    byComponent: GroupSummary[];
    /** Per routed expert index (MoE models only). */
    byExpert?: GroupSummary[];
    /** Routed experts, shared experts, routers and the rest (MoE models only). */
    byMoe?: GroupSummary[];
    model: ModelSummary;
  };
  verdict: RegimeVerdict;
  /**
   * Present when a side holds quantized weights: their logical dtypes per side, and how many pairs
   * compare a quantized weight with an unquantized one (whose ΔW is the quantization error).
   */
  quantization?: { base: Record<string, number>; tuned: Record<string, number>; quantizationErrorPairs: number; note: string };
}

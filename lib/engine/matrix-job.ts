/** The engine's input: one matrix to analyse, and where its stored tensors are. */
import type { Checkpoint } from '../read/checkpoint';

/**
 * A stored matrix: a tensor of a checkpoint read as [d0, d1·…·dk], or, for the layouts of
 * docs/formats.md, quantized codes times their scales, one expert of a fused 3-D tensor, its transpose
 * (layouts that store [in, out]) and a subset of its rows (lib/plan/layouts builds these).
 */
export interface TensorSource {
  checkpoint: Checkpoint;
  /** The plain tensor, or the codes. */
  tensor: string;
  /** Codes times one scale per block of `block` (rows × cols of one stored expert matrix). */
  quantized?: { encoding: 'scaled' | 'mxfp4'; scale: string; block: readonly [number, number] };
  /** Slice `expert` of the leading dimension. */
  expert?: number;
  /** The transpose of what is stored. */
  transpose?: boolean;
  /** Rows offset, offset + stride, … (count of them) of the (transposed) matrix. */
  rows?: { offset: number; stride: number; count: number };
}

/** One matrix to analyse: a stored tensor, the difference of two, or a low-rank product s·B·A. */
export type MatrixJob = (
  | { name: string; kind: 'dense'; source: TensorSource }
  | { name: string; kind: 'diff'; tuned: TensorSource; base: TensorSource; /** compare only the first `rows` rows */ rows?: number }
  | { name: string; kind: 'lowrank'; rows: number; cols: number; rank: number; /** rows×rank, row-major */ b: Float32Array; /** rank×cols, row-major */ a: Float32Array; scale: number }
) & { /** Singular vectors for this job (overrides SpectrumOptions.vectors). */ vectors?: boolean };

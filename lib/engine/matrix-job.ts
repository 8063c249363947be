/** The engine's input: one matrix to analyse, and where its stored tensors are. */
import type { Checkpoint } from '../read/checkpoint';

export interface TensorSource {
  checkpoint: Checkpoint;
  tensor: string;
}

/** One matrix to analyse: a stored tensor, the difference of two, or a low-rank product s·B·A. */
export type MatrixJob = (
  | { name: string; kind: 'dense'; source: TensorSource }
  | { name: string; kind: 'diff'; tuned: TensorSource; base: TensorSource; /** compare only the first `rows` rows */ rows?: number }
  | { name: string; kind: 'lowrank'; rows: number; cols: number; rank: number; /** rows×rank, row-major */ b: Float32Array; /** rank×cols, row-major */ a: Float32Array; scale: number }
) & { /** Singular vectors for this job (overrides SpectrumOptions.vectors). */ vectors?: boolean };

/**
 * Which tensors of a checkpoint `analyze` treats as matrices: every float tensor of two or more
 * dimensions (higher-rank ones are read as [d0, d1·…·dk]); the others are listed as skipped, with why.
 */
import type { Checkpoint, TensorInfo } from '../read/checkpoint';
import { DECODABLE_DTYPES, FLOAT_DTYPES } from '../read/dtypes';
import { nameFilter, type NameFilterOptions } from './glob';

export interface SkippedTensor {
  name: string;
  reason: 'not-a-matrix' | 'not-float' | 'empty' | 'excluded' | 'undecodable';
}

export interface AnalysisPlan {
  matrices: TensorInfo[];
  skipped: SkippedTensor[];
}

/** Which tensors are matrices to analyse, and why the others are not. */
export function planAnalysis(ckpt: Checkpoint, options: NameFilterOptions = {}): AnalysisPlan {
  const keep = nameFilter(options.include, options.exclude);
  const matrices: TensorInfo[] = [];
  const skipped: SkippedTensor[] = [];
  for (const t of ckpt.tensors) {
    if (!keep(t.name)) skipped.push({ name: t.name, reason: 'excluded' });
    else if (!FLOAT_DTYPES.has(t.dtype)) skipped.push({ name: t.name, reason: 'not-float' });
    else if (!DECODABLE_DTYPES.has(t.dtype)) skipped.push({ name: t.name, reason: 'undecodable' });
    else if (t.shape.length < 2) skipped.push({ name: t.name, reason: 'not-a-matrix' });
    else if (t.numel === 0) skipped.push({ name: t.name, reason: 'empty' });
    else matrices.push(t);
  }
  return { matrices, skipped };
}

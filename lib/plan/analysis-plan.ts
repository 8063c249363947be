/**
 * Which tensors of a checkpoint `analyze` treats as matrices: every float tensor of two or more
 * dimensions (higher-rank ones are read as [d0, d1·…·dk]); a quantized weight with its scale as one
 * matrix of codes × scales; a fused 3-D expert tensor as one matrix per expert (`name[e]`). The others
 * are listed as skipped, with why (a quantized weight's scale is skipped as `quantization-scale`).
 * Quantized layouts paramscope cannot decode exactly are refused (UNSUPPORTED_QUANTIZATION).
 */
import type { TensorSource } from '../engine/matrix-job';
import type { Checkpoint, TensorInfo } from '../read/checkpoint';
import { DECODABLE_DTYPES, FLOAT_DTYPES } from '../read/dtypes';
import { nameFilter, type NameFilterOptions } from './glob';
import { layoutLabel, logicalView, matrixSource, requireSupported, sliceShape } from './layouts/logical';
import { classifyTensor, type Component, type ModuleInfo } from './modules';
import { componentFilter } from './pairing-checks';

export interface SkippedTensor {
  name: string;
  reason: 'not-a-matrix' | 'not-float' | 'empty' | 'excluded' | 'undecodable' | 'quantization-scale';
}

/** A matrix of the plan: its tensor (an expert slice: `name[e]` with its [rows, cols]) and what the engine reads. */
export interface PlannedMatrix extends TensorInfo {
  /** The stored matrix the engine reads (scale, expert); absent: the whole tensor `name`. */
  source?: Omit<TensorSource, 'checkpoint'>;
  /** A quantized layout's logical dtype ("FP8 block 128×128", "MXFP4"). */
  layout?: string;
  module: ModuleInfo;
}

export interface AnalysisPlan {
  matrices: PlannedMatrix[];
  skipped: SkippedTensor[];
}

export interface AnalysisPlanOptions extends NameFilterOptions {
  /** Analyse only the matrices of these components (plan/modules.ts). */
  component?: Component | readonly Component[];
}

/** Which tensors are matrices to analyse, and why the others are not. */
export function planAnalysis(ckpt: Checkpoint, options: AnalysisPlanOptions = {}): AnalysisPlan {
  const view = logicalView(ckpt);
  requireSupported(view, ckpt);
  const byName = nameFilter(options.include, options.exclude);
  const byComponent = componentFilter(options.component, view.context);
  const keep = (name: string) => byName(name) && (!byComponent || byComponent(name));
  const logicalOf = new Map(view.tensors.map((t) => [t.tensor, t]));
  const matrices: PlannedMatrix[] = [];
  const skipped: SkippedTensor[] = [];
  for (const stored of ckpt.tensors) {
    if (view.companions.has(stored.name)) {
      skipped.push({ name: stored.name, reason: 'quantization-scale' });
      continue;
    }
    const t = logicalOf.get(stored.name);
    if (!t) continue;
    const module = classifyTensor(t.name, view.context);
    const plain = !t.quantized;
    if (t.experts) {
      const shape = sliceShape(t, { expert: 0 });
      const bytes = Math.round(t.bytes / t.experts.count);
      for (let e = 0; e < t.experts.count; e++) {
        const name = `${t.name}[${e}]`;
        if (!keep(name)) skipped.push({ name, reason: 'excluded' });
        else if (plain && !FLOAT_DTYPES.has(t.dtype)) skipped.push({ name, reason: 'not-float' });
        else if (plain && !DECODABLE_DTYPES.has(t.dtype)) skipped.push({ name, reason: 'undecodable' });
        else if (shape[0] * shape[1] === 0) skipped.push({ name, reason: 'empty' });
        else
          matrices.push({
            ...stored, name, shape, numel: shape[0] * shape[1], bytes, source: matrixSource(t, { expert: e }),
            ...(t.quantized ? { layout: layoutLabel(t) } : {}), module: classifyTensor(name, view.context),
          });
      }
      continue;
    }
    const name = t.name;
    if (!keep(name)) skipped.push({ name, reason: 'excluded' });
    else if (plain && !FLOAT_DTYPES.has(t.dtype)) skipped.push({ name, reason: 'not-float' });
    else if (plain && !DECODABLE_DTYPES.has(t.dtype)) skipped.push({ name, reason: 'undecodable' });
    else if (t.shape.length < 2) skipped.push({ name, reason: 'not-a-matrix' });
    else if (t.numel === 0) skipped.push({ name, reason: 'empty' });
    else if (plain) matrices.push({ ...stored, module });
    else matrices.push({ ...stored, name, shape: t.shape, numel: t.numel, bytes: t.bytes, source: matrixSource(t), layout: layoutLabel(t), module });
  }
  return { matrices, skipped };
}

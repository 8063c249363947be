/**
 * A checkpoint as the model sees it: logical tensors made of stored ones. A quantized weight (codes and
 * its scale) is one logical tensor; its scale is not a tensor of its own. A fused 3-D expert tensor is one
 * logical tensor that the plan reads per expert. Everything here is from headers and config.json; the
 * engine reads the bytes (native/include/paramscope/stored_matrix.hpp). Layout rules: docs/formats.md.
 *
 * @example
 * const view = logicalView(checkpoint);
 * requireSupported(view, checkpoint);        // UNSUPPORTED_QUANTIZATION / INVALID_QUANTIZATION
 * for (const t of view.tensors) console.log(t.name, layoutLabel(t), t.experts?.count);
 */
import type { TensorSource } from '../../engine/matrix-job';
import type { Checkpoint } from '../../read/checkpoint';
import { type ModelConfig, readModelConfig } from '../../read/config';
import type { Dtype } from '../../read/dtypes';
import { ParamscopeError } from '../../errors';
import { type FusedExperts, fusedExperts, type ModelContext, modelContext, outInShape } from './experts';
import { type QuantizedLayout, scanQuantization } from './quantization';
import { findRefusal, type Refusal } from './refusals';

export interface LogicalTensor {
  /** Its name (a quantized weight's name; MXFP4 without `_blocks`). */
  name: string;
  /** The stored tensor read: the plain tensor, or the codes. */
  tensor: string;
  /** The stored dtype of that tensor. */
  dtype: Dtype;
  /** The logical shape (MXFP4 unpacked to one entry per value). */
  shape: readonly number[];
  numel: number;
  /** Stored bytes of all its parts. */
  bytes: number;
  /** The stored tensors it is made of (the codes and their scale). */
  parts: readonly string[];
  quantized?: QuantizedLayout;
  experts?: FusedExperts;
}

export interface LogicalView {
  tensors: LogicalTensor[];
  byName: Map<string, LogicalTensor>;
  /** Stored tensors that are part of a logical tensor or of the quantization, with what each is. */
  companions: Map<string, string>;
  refusal: Refusal | null;
  problems: Array<{ tensor: string; message: string }>;
  model: ModelConfig;
  context: ModelContext;
}

const cache = new WeakMap<Checkpoint, LogicalView>();

/** The logical tensors of a checkpoint, in checkpoint order (computed once per checkpoint). */
export function logicalView(checkpoint: Checkpoint): LogicalView {
  const known = cache.get(checkpoint);
  if (known) return known;
  const model = readModelConfig(checkpoint);
  const stored = checkpoint.tensors;
  const scan = scanQuantization(stored, model);
  const context = modelContext(stored, model);
  const byStored = new Map<string, QuantizedLayout>();
  const logicalNameOf = new Map<string, string>();
  for (const [name, layout] of scan.layouts) {
    byStored.set(layout.codes, layout);
    logicalNameOf.set(layout.codes, name);
  }
  const bytesOf = new Map(stored.map((t) => [t.name, t.bytes]));
  const tensors: LogicalTensor[] = [];
  for (const t of stored) {
    if (scan.companions.has(t.name)) continue;
    const layout = byStored.get(t.name);
    const name = logicalNameOf.get(t.name) ?? t.name;
    const shape = layout ? layout.shape : t.shape;
    const logical: LogicalTensor = {
      name, tensor: t.name, dtype: t.dtype, shape, numel: shape.reduce((a, b) => a * b, 1),
      bytes: t.bytes + (layout ? bytesOf.get(layout.scale) ?? 0 : 0),
      parts: layout ? [t.name, layout.scale] : [t.name],
    };
    if (layout) logical.quantized = layout;
    const experts = fusedExperts(name, shape, layout?.encoding === 'mxfp4', context);
    if (experts) logical.experts = experts;
    tensors.push(logical);
  }
  const view: LogicalView = {
    tensors, byName: new Map(tensors.map((t) => [t.name, t])), companions: scan.companions,
    refusal: findRefusal(stored, model, checkpoint.metadata), problems: scan.problems, model, context,
  };
  cache.set(checkpoint, view);
  return view;
}

/** How many problems a message lists before "and N more". */
const FIRST_FEW = 5;

/** Throws UNSUPPORTED_QUANTIZATION for a refused layout, INVALID_QUANTIZATION for scales that do not fit. */
export function requireSupported(view: LogicalView, checkpoint: Checkpoint): void {
  if (view.refusal) {
    const { method, found } = view.refusal;
    throw new ParamscopeError(
      `${checkpoint.path} is quantized with ${method}, which paramscope does not decode exactly (its packed or integer codes are not the weights); ` +
        `found: ${found.join('; ')}. Dequantize it (e.g. to BF16) to analyse it (docs/formats.md)`,
      { code: 'UNSUPPORTED_QUANTIZATION', file: checkpoint.path },
    );
  }
  if (view.problems.length) {
    const shown = view.problems.slice(0, FIRST_FEW).map((p) => p.message);
    const more = view.problems.length > FIRST_FEW ? `; and ${view.problems.length - FIRST_FEW} more` : '';
    throw new ParamscopeError(`${checkpoint.path}: quantized weights that cannot be decoded: ${shown.join('; ')}${more}`, {
      code: 'INVALID_QUANTIZATION', file: checkpoint.path, tensor: view.problems[0]?.tensor as string,
    });
  }
}

/** The logical dtype for people: "FP8 block 128×128", "MXFP4", or the stored dtype. */
export function layoutLabel(t: LogicalTensor): string {
  return t.quantized?.label ?? t.dtype;
}

/** Which part of a logical tensor a matrix is: one expert, transposed, a subset of its rows. */
export interface MatrixSlice {
  expert?: number;
  transpose?: boolean;
  rows?: { offset: number; stride: number; count: number };
}

/** What the engine reads for `t` (or a slice of it): TensorSource without its checkpoint. */
export function matrixSource(t: LogicalTensor, slice: MatrixSlice = {}): Omit<TensorSource, 'checkpoint'> {
  return {
    tensor: t.tensor,
    ...(t.quantized ? { quantized: { encoding: t.quantized.encoding, scale: t.quantized.scale, block: t.quantized.block } } : {}),
    ...(slice.expert === undefined ? {} : { expert: slice.expert }),
    ...(slice.transpose ? { transpose: true } : {}),
    ...(slice.rows ? { rows: slice.rows } : {}),
  };
}

/** The shape of a slice as the engine presents it: [rows, cols]. */
export function sliceShape(t: LogicalTensor, slice: MatrixSlice): [number, number] {
  let rows: number, cols: number;
  if (slice.expert !== undefined) [rows, cols] = [t.shape[1] as number, t.shape.slice(2).reduce((a, b) => a * b, 1)];
  else [rows, cols] = [t.shape[0] ?? 1, t.shape.slice(1).reduce((a, b) => a * b, 1)];
  if (slice.transpose) [rows, cols] = [cols, rows];
  if (slice.rows) rows = slice.rows.count;
  return [rows, cols];
}

/** `name[e]`, and how the slice is taken, for labels: "x.experts.gate_up_proj[3] rows 0::2 of [in, out]ᵀ". */
export function sliceLabel(name: string, slice: MatrixSlice): string {
  let label = slice.expert === undefined ? name : `${name}[${slice.expert}]`;
  if (slice.transpose) label += 'ᵀ';
  if (slice.rows) {
    const { offset, stride, count } = slice.rows;
    label += stride === 1 ? ` rows ${offset}:${offset + count}` : ` rows ${offset}::${stride}`;
  }
  return label;
}

/** The per-expert [out, in] shape of a fused logical tensor. */
export function expertShape(t: LogicalTensor): [number, number] {
  return outInShape(t.shape, t.experts as FusedExperts);
}

export type { FusedExperts, ModelContext, QuantizedLayout, Refusal };

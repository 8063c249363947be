/**
 * What a pairing produces: one entry per tensor fate, and the report that holds them. Also the small
 * helpers every pairing step builds entries with (sides, shapes, notes).
 */
import type { TensorSource } from '../engine/matrix-job';
import type { Checkpoint } from '../read/checkpoint';
import type { Dtype } from '../read/dtypes';
import type { NameFilterOptions } from './glob';
import { type LogicalTensor, type MatrixSlice, matrixSource, sliceLabel, sliceShape } from './layouts/logical';
import type { Component } from './modules';
import type { RenameRule } from './rename';

/** `include` / `exclude`: globs on the entry's name; only matching pairs become jobs, the others are listed as `excluded`. */
export interface PairingOptions extends NameFilterOptions {
  /** Rename rules applied to the tuned checkpoint's names before matching; the first rule that matches a name wins. */
  map?: readonly RenameRule[];
  /** Detect and remove a prefix difference automatically (default true). */
  detectPrefix?: boolean;
  /** Make any shape mismatch an error (SHAPE_MISMATCH) instead of a listed entry (default false). */
  strictShapes?: boolean;
  /** Compare only the matrices of these components (vision, language, …; plan/modules.ts); the others are `excluded`. */
  component?: Component | readonly Component[];
}

/**
 * What happened to a tensor:
 * - `paired`: same name on both sides, same shape, a float matrix (ndim ≥ 2): ΔW is analysed. Dtypes may differ (see `note`).
 * - `resized`: same name, same trailing dimensions, a different number of rows (a resized vocabulary): the
 *   first `sharedRows` rows are compared, the added (or removed) rows are reported in `note`.
 * - `tied`: an output head (`lm_head.weight`, …) present on one side only, while the other side has the
 *   input embedding it is tied to: the head is compared with that embedding.
 * - `not-a-matrix`: paired, but a scalar, a vector (norms, biases) or not floating point: no spectrum;
 *   {@link vectorChanges} gives the relative change of the float vectors.
 * - `shape-mismatch`: same name, shapes that cannot be compared.
 * - `missing-in-tuned` / `extra-in-tuned`: the name exists on one side only.
 * - `excluded`: left out by `include` / `exclude` (would otherwise have been analysed or listed).
 */
export type PairingFate =
  | 'paired' | 'resized' | 'tied' | 'not-a-matrix' | 'shape-mismatch' | 'missing-in-tuned' | 'extra-in-tuned' | 'excluded';

export const PAIRING_FATES: readonly PairingFate[] = [
  'paired', 'resized', 'tied', 'not-a-matrix', 'shape-mismatch', 'missing-in-tuned', 'extra-in-tuned', 'excluded',
];

/** Fates whose ΔW is a matrix the engine analyses. */
export const MATRIX_FATES: ReadonlySet<PairingFate> = new Set<PairingFate>(['paired', 'resized', 'tied']);

/** One side of an entry, as stored in its checkpoint. */
export interface TensorSide {
  /** The tensor's name in its own checkpoint (before any renaming); for a quantized weight, its codes. */
  tensor: string;
  dtype: Dtype;
  /** The shape compared: the stored (logical) shape, or an expert slice's [rows, cols]. */
  shape: readonly number[];
  /** A quantized layout's logical dtype ("FP8 block 128×128", "MXFP4"); absent for plain tensors. */
  layout?: string;
  /** What part of the tensor the side is, when not all of it: "…experts.gate_up_proj[3] rows 0:768". */
  label?: string;
  /** What the engine reads (scale, expert, transposition, rows); absent: the whole tensor `tensor`. */
  source?: Omit<TensorSource, 'checkpoint'>;
}

export interface PairingEntry {
  fate: PairingFate;
  /** The name results are reported under: the base tensor's name, or the tuned one's (after renaming) when the base has none. */
  name: string;
  base: TensorSide | null;
  tuned: TensorSide | null;
  /** `resized` (and a resized `tied` head): the leading rows both sides have; only these are compared. */
  sharedRows?: number;
  /** Why the entry has its fate, in words: dtype change, tying, rows added, the reason for a skip or an exclusion. */
  note?: string;
}

export interface PairingReport {
  base: Checkpoint;
  tuned: Checkpoint;
  /** The prefixes removed before matching ('' when none). */
  prefix: { base: string; tuned: string };
  /** One entry per tensor fate, base order first, then tensors only the tuned side has. */
  entries: PairingEntry[];
  counts: Record<PairingFate, number>;
  /** Summary lines for people: the prefix used, dtype changes, ties, resizes. */
  notes: string[];
}

/** One side of an entry: a logical tensor (plan/layouts/logical.ts), or a slice of one. */
export function side(t: LogicalTensor, slice?: MatrixSlice): TensorSide {
  return {
    tensor: t.tensor,
    dtype: t.dtype,
    shape: slice ? sliceShape(t, slice) : t.shape,
    ...(t.quantized ? { layout: t.quantized.label } : {}),
    ...(slice ? { label: sliceLabel(t.name, slice) } : {}),
    ...(t.quantized || slice ? { source: matrixSource(t, slice) } : {}),
  };
}

/** The side as the report names it: its label, or its tensor. */
export const sideName = (s: TensorSide) => s.label ?? s.tensor;

/** The side quantized while the other is not: ΔW is then (mostly) that side's quantization error. */
export function quantizedSide(base: TensorSide, tuned: TensorSide): 'base' | 'tuned' | null {
  if (Boolean(base.layout) === Boolean(tuned.layout)) return null;
  return base.layout ? 'base' : 'tuned';
}

export const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
export const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Same trailing dimensions and both matrices: the leading (vocabulary) dimension alone differs. */
export function isRowResize(base: TensorSide, tuned: TensorSide): boolean {
  return base.shape.length >= 2 && base.shape.length === tuned.shape.length && sameShape(base.shape.slice(1), tuned.shape.slice(1));
}

export function dtypeNote(base: TensorSide, tuned: TensorSide): string | undefined {
  const what = (s: TensorSide) => s.layout ?? s.dtype;
  if (base.dtype === tuned.dtype && what(base) === what(tuned)) return undefined;
  const quantized = quantizedSide(base, tuned);
  return `dtype ${what(base)} (base) → ${what(tuned)} (tuned)` +
    (quantized ? `; only the ${quantized} side is quantized: ΔW is its quantization error (plus any fine-tuning)` : '');
}

export function joinNotes(...notes: Array<string | undefined>): string | undefined {
  const present = notes.filter((n): n is string => Boolean(n));
  return present.length ? present.join('; ') : undefined;
}

export function resizeNote(baseRows: number, tunedRows: number): string {
  const delta = tunedRows - baseRows;
  return delta > 0
    ? `${delta} rows added in tuned (${baseRows} → ${tunedRows}); the first ${baseRows} rows are compared`
    : `${-delta} rows removed in tuned (${baseRows} → ${tunedRows}); the first ${tunedRows} rows are compared`;
}

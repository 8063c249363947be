/**
 * What a pairing produces: one entry per tensor fate, and the report that holds them. Also the small
 * helpers every pairing step builds entries with (sides, shapes, notes).
 */
import type { Checkpoint, TensorInfo } from '../read/checkpoint';
import type { Dtype } from '../read/dtypes';
import type { NameFilterOptions } from './glob';
import type { RenameRule } from './rename';

/** `include` / `exclude`: globs on the entry's name; only matching pairs become jobs, the others are listed as `excluded`. */
export interface PairingOptions extends NameFilterOptions {
  /** Rename rules applied to the tuned checkpoint's names before matching; the first rule that matches a name wins. */
  map?: readonly RenameRule[];
  /** Detect and remove a prefix difference automatically (default true). */
  detectPrefix?: boolean;
  /** Make any shape mismatch an error (SHAPE_MISMATCH) instead of a listed entry (default false). */
  strictShapes?: boolean;
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
  /** The tensor's name in its own checkpoint (before any renaming). */
  tensor: string;
  dtype: Dtype;
  shape: readonly number[];
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

export function side(info: TensorInfo): TensorSide {
  return { tensor: info.name, dtype: info.dtype, shape: info.shape };
}

export const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
export const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Same trailing dimensions and both matrices: the leading (vocabulary) dimension alone differs. */
export function isRowResize(base: TensorSide, tuned: TensorSide): boolean {
  return base.shape.length >= 2 && base.shape.length === tuned.shape.length && sameShape(base.shape.slice(1), tuned.shape.slice(1));
}

export function dtypeNote(base: TensorSide, tuned: TensorSide): string | undefined {
  return base.dtype === tuned.dtype ? undefined : `dtype ${base.dtype} (base) → ${tuned.dtype} (tuned)`;
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

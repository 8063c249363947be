/**
 * How sparse an update is: RL fine-tunes change only a small share of the entries (Mukherjee et al.
 * 2025), yet their ΔW can be nearly full-rank, so the spectrum alone does not show it. Counted by the
 * engine in the pass that decodes both checkpoints (no extra read): entries whose two stored values are
 * bit-identical, and entries that moved by less than one storage step (|ΔW| below the larger of the two
 * grid spacings at that entry: the code's ulp times its scale for quantized layouts). docs/metrics.md.
 */
import type { SpectrumResult } from '../engine/types';

export interface UpdateSparsity {
  /** Entries compared: rows × cols of ΔW. */
  entries: number;
  /** Entries whose two stored values are bit-identical (for equal dtypes: the same stored bits). */
  identical: number;
  /** identical / entries, in [0, 1]. */
  identicalShare: number;
  /** Entries with |ΔW| below one storage step there (the identical ones included); absent when a side has no rounding grid. */
  belowSpacing?: number;
  /** belowSpacing / entries, in [0, 1]. */
  belowSpacingShare?: number;
}

function shares(entries: number, identical: number, belowSpacing: number | undefined): UpdateSparsity {
  return {
    entries,
    identical,
    identicalShare: entries > 0 ? identical / entries : 0,
    ...(belowSpacing === undefined ? {} : { belowSpacing, belowSpacingShare: entries > 0 ? belowSpacing / entries : 0 }),
  };
}

/** The sparsity of one difference job's ΔW (undefined when the engine did not count it). */
export function updateSparsity(r: SpectrumResult): UpdateSparsity | undefined {
  if (r.identicalEntries === undefined) return undefined;
  return shares(r.rows * r.cols, r.identicalEntries, r.belowSpacingEntries);
}

/** Over several matrices: counts added (the below-spacing share only when every matrix has one). */
export function totalSparsity(list: ReadonlyArray<UpdateSparsity | undefined>): UpdateSparsity | undefined {
  const known = list.filter((s): s is UpdateSparsity => s !== undefined);
  if (known.length === 0) return undefined;
  const entries = known.reduce((s, x) => s + x.entries, 0);
  const identical = known.reduce((s, x) => s + x.identical, 0);
  const below = known.every((x) => x.belowSpacing !== undefined) ? known.reduce((s, x) => s + (x.belowSpacing as number), 0) : undefined;
  return shares(entries, identical, below);
}

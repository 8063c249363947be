/**
 * Matrices that could not be analysed (an `error` on their result: OUT_OF_MEMORY, NON_FINITE_INPUT,
 * NOT_CONVERGED, …). They are never left out silently: the model summary counts them by code, the
 * verdict counts them against its confidence (regime.ts), every report lists them, the CLI exits 2 when
 * any failed — and when none succeeded the run fails with ALL_MATRICES_FAILED: an empty result is not
 * reported as a result ("no signal" would read as "the checkpoints are the same").
 */
import { type ErrorCode, ParamscopeError } from '../errors';

export interface FailedMatrix {
  name: string;
  code: ErrorCode;
}

/** How many matrices failed and with which codes (the model summary's and the verdict's `failed`). */
export interface FailureCounts {
  /** Matrices that could not be analysed: not in any aggregate or in the verdict. */
  matrices: number;
  /** How many failed with each error code. */
  byCode: Partial<Record<ErrorCode, number>>;
}

/** The failed ones among results (each with an optional `error`). */
export function failedMatrices(results: ReadonlyArray<{ name: string; error?: { code: ErrorCode } }>): FailedMatrix[] {
  const failed: FailedMatrix[] = [];
  for (const r of results) if (r.error) failed.push({ name: r.name, code: r.error.code });
  return failed;
}

export function failureCounts(failed: readonly FailedMatrix[]): FailureCounts {
  const byCode: Partial<Record<ErrorCode, number>> = {};
  for (const f of failed) byCode[f.code] = (byCode[f.code] ?? 0) + 1;
  return { matrices: failed.length, byCode };
}

/** "OUT_OF_MEMORY ×3, NON_FINITE_INPUT ×1". */
export function codesText(counts: FailureCounts): string {
  return Object.entries(counts.byCode).map(([code, n]) => `${code} ×${n}`).join(', ');
}

/** How many failed matrices a message names before "… and N more". */
export const NAMED_FAILURES = 3;

/** "a.weight (OUT_OF_MEMORY), b.weight (NON_FINITE_INPUT) and 5 more". */
export function failuresText(failed: readonly FailedMatrix[], limit = NAMED_FAILURES): string {
  const named = failed.slice(0, limit).map((f) => `${f.name} (${f.code})`).join(', ');
  return failed.length > limit ? `${named} and ${failed.length - limit} more` : named;
}

/**
 * Throws ALL_MATRICES_FAILED when there were matrices to analyse and every one failed, naming the first
 * few with their codes, the count per code, and `file` (the checkpoint, or the adapter).
 */
export function throwIfAllFailed(results: ReadonlyArray<{ name: string; error?: { code: ErrorCode } }>, file: string): void {
  if (results.length === 0) return;
  const failed = failedMatrices(results);
  if (failed.length < results.length) return;
  throw new ParamscopeError(
    `all ${failed.length} matri${failed.length === 1 ? 'x' : 'ces'} of ${file} failed (${codesText(failureCounts(failed))}): ${failuresText(failed)}; there is no result to report`,
    { code: 'ALL_MATRICES_FAILED', file, tensor: failed[0]?.name },
  );
}

/**
 * The change of the paired float vectors and scalars (norm scales, biases), which have no spectrum of
 * interest: read whole (they are small) after the matrices, once the pairing has listed them.
 */
import { DECODABLE_DTYPES, FLOAT_DTYPES } from '../read/dtypes';
import type { PairingReport } from '../plan/pairing-entry';

/** The change of a paired float vector or scalar (a norm's scale, a bias), which has no spectrum of interest. */
export interface VectorChange {
  name: string;
  /** ‖tuned − base‖₂ / ‖base‖₂ (Infinity when the base is all zero and the tuned is not; 0 when both are zero). */
  relativeChange: number;
  deltaNorm: number;
  baseNorm: number;
}

/**
 * Reads the `not-a-matrix` entries that are floating point and of equal shape (norm weights, biases,
 * scalars) and returns their relative change. They are small, so this reads them whole.
 */
export async function vectorChanges(report: PairingReport, options: { signal?: AbortSignal } = {}): Promise<VectorChange[]> {
  const changes: VectorChange[] = [];
  for (const entry of report.entries) {
    if (entry.fate !== 'not-a-matrix' || !entry.base || !entry.tuned) continue;
    if (![entry.base.dtype, entry.tuned.dtype].every((d) => FLOAT_DTYPES.has(d) && DECODABLE_DTYPES.has(d))) continue;
    const readOptions = options.signal ? { signal: options.signal } : {};
    const [b, t] = await Promise.all([report.base.read(entry.base.tensor, readOptions), report.tuned.read(entry.tuned.tensor, readOptions)]);
    changes.push(relativeChangeOf(entry.name, b.data, t.data));
  }
  return changes;
}

function relativeChangeOf(name: string, base: Float32Array, tuned: Float32Array): VectorChange {
  let delta2 = 0;
  let base2 = 0;
  for (let i = 0; i < base.length; i++) {
    const b = base[i] as number;
    const d = (tuned[i] as number) - b;
    delta2 += d * d;
    base2 += b * b;
  }
  const deltaNorm = Math.sqrt(delta2);
  const baseNorm = Math.sqrt(base2);
  const relativeChange = baseNorm > 0 ? deltaNorm / baseNorm : deltaNorm > 0 ? Infinity : 0;
  return { name, relativeChange, deltaNorm, baseNorm };
}

/**
 * The last step of `diff` and of the LoRA route: the pair results and what was read become the report —
 * header, inputs, options, pairing, pairs, vectors, then the aggregates and the verdict computed here.
 * A run whose every matrix failed has no result: it fails (aggregate/failures.ts).
 */
import { throwIfAllFailed } from '../aggregate/failures';
import { aggregatePairs } from '../aggregate/pairs';
import type { VectorChange } from '../results/vector-changes';
import { reportHeader } from './header';
import type { DiffReport, PairResult } from './model';

export interface ReportParts {
  kind: DiffReport['kind'];
  base: DiffReport['base'];
  tuned: DiffReport['tuned'];
  /** For kind 'adapter'. */
  adapter?: DiffReport['adapter'];
  options: DiffReport['options'];
  pairing: DiffReport['pairing'];
  pairs: PairResult[];
  vectors: VectorChange[];
  quantization?: DiffReport['quantization'];
}

/** The report of the parts; throws ALL_MATRICES_FAILED when there were matrices and none could be analysed. */
export function assembleReport(parts: ReportParts): DiffReport {
  throwIfAllFailed(parts.pairs, parts.tuned.path);
  const { verdict, ...aggregates } = aggregatePairs(parts.pairs);
  const { kind, base, tuned, adapter, options, pairing, pairs, vectors, quantization } = parts;
  return { ...reportHeader(kind), base, tuned, ...(adapter ? { adapter } : {}), options, pairing, pairs, vectors, aggregates, verdict, ...(quantization ? { quantization } : {}) };
}

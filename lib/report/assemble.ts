/**
 * The last step of `diff` and of the LoRA route: the pair results and what was read become the report —
 * header, inputs, options, pairing, pairs, vectors, then the aggregates and the verdict computed here.
 */
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

export function assembleReport(parts: ReportParts): DiffReport {
  const { verdict, ...aggregates } = aggregatePairs(parts.pairs);
  const { kind, base, tuned, adapter, options, pairing, pairs, vectors, quantization } = parts;
  return { ...reportHeader(kind), base, tuned, ...(adapter ? { adapter } : {}), options, pairing, pairs, vectors, aggregates, verdict, ...(quantization ? { quantization } : {}) };
}

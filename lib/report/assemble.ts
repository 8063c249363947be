/**
 * The last step of `diff` and of the LoRA route: the pair results and what was read become the report —
 * header, inputs, options, pairing, pairs, vectors, then the aggregates and the verdict computed here.
 * Likewise `analyze`'s tensors become its report. A single run and the merge of shards' partial reports
 * (lib/merge.ts) both end here, so a merged report is computed by the same code as a single run's.
 * A run whose every matrix failed has no result: it fails (aggregate/failures.ts).
 */
import { throwIfAllFailed } from '../aggregate/failures';
import { aggregatePairs } from '../aggregate/pairs';
import { summarizeTensors } from '../aggregate/tensors';
import type { VectorChange } from '../results/vector-changes';
import { reportHeader } from './header';
import type { AnalysisReport, DiffReport, PairResult, TensorAnalysis } from './model';

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

/** An analysis report's parts besides its tensors. */
export type AnalysisFrame = Pick<AnalysisReport, 'path' | 'mode' | 'skipped'>;

/** `analyze`'s report: the tensors in plan order, their per-layer and per-module summaries and totals. */
export function assembleAnalysis(frame: AnalysisFrame, tensors: TensorAnalysis[]): AnalysisReport {
  throwIfAllFailed(tensors, frame.path); // no result is not a result
  const { byLayer, byModule } = summarizeTensors(tensors);
  return {
    path: frame.path,
    mode: frame.mode,
    tensors,
    skipped: frame.skipped,
    byLayer,
    byModule,
    totals: {
      matrices: tensors.length,
      failed: tensors.filter((t) => t.error).length,
      parameters: tensors.reduce((s, t) => s + t.parameters, 0),
      seconds: tensors.reduce((s, t) => s + t.seconds, 0),
    },
  };
}

/**
 * The JSON Schema (draft 2020-12) of one event of the stream (events.ts), written once here with the
 * report schema's helpers and on top of its $defs: a `matrix` record is the report's `pairResult` (or
 * the `tensorAnalysis` defined here), a diff `summary` is the report's schema without `pairs`. Each
 * object schema is tied to its TypeScript type by `obj<T>()`, so an event field added without a schema
 * entry fails to type-check. docs/events.schema.json and the field reference in docs/events.md are
 * generated from it (scripts/gen-report-schema.js); a test checks both are current and that real streams
 * validate against the committed schema.
 */
import type { AnalysisReport, TensorAnalysis } from './model';
import type { SkippedTensor } from '../plan/analysis-plan';
import type { CacheCounts } from '../engine/cache';
import { ERROR_CODES } from '../errors';
import {
  type AnalysisSummary, type CompareSummary, type ErrorEvent, EVENT_STREAM_VERSION, type EventType, type PairMatrixEvent,
  type PlanEvent, type PlanInput, type PlanPhase, type PlanRun, type ProgressEvent, type SummaryEvent, type TensorMatrixEvent, type WarningEvent,
} from './events';
import { ANALYSIS_SCHEMA_VERSION, COMPARE_SCHEMA_VERSION } from './header';
import { TRAJECTORY_SCHEMA_DEFS } from './trajectory-schema';
import { arrayOf, bool, count, type JsonSchema, nullable, num, obj, oneOfStrings, opt, ref, REPORT_JSON_SCHEMA, str } from './schema';

const PHASES = ['spectra', 'directions', 'base', 'vectors'] as const;
const COMMANDS = ['analyze', 'diff', 'lora', 'compare', 'trajectory', 'merge'] as const;
const WARNING_CODES = ['PAIRING_NOTE', 'ADAPTER_NOTE', 'NOT_CONVERGED'] as const;
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

const fraction = (description: string): JsonSchema => ({ type: 'number', minimum: 0, maximum: 1, description });
const seconds = (description: string): JsonSchema => ({ type: 'number', minimum: 0, description });

/** The fields every event has. */
function envelope<T extends EventType>(type: T, description: string) {
  return {
    type: { const: type, description } as JsonSchema,
    v: { const: EVENT_STREAM_VERSION, description: 'Stream version (docs/events.md: bumped on any incompatible change).' } as JsonSchema,
    seq: count('Sequence number: 0 for the first event of the stream, then +1 for each (a gap means a lost line).'),
    t: count('Milliseconds since the run began (monotonic clock).'),
    run: opt(str('For commands that run several analyses in one stream: the one this event belongs to (compare: the fine-tune\'s name; trajectory: step-N, step-N-vs-M, step-N/directions).')),
  };
}

const planInput = obj<PlanInput>('A file or directory the run reads.', {
  role: oneOfStrings(['checkpoint', 'base', 'tuned', 'adapter', 'partial'], 'What it is to the command.'),
  path: str('Path as given or opened.'),
});

const planPhase = obj<PlanPhase>('One engine run of the plan.', {
  name: oneOfStrings(PHASES, 'spectra: the matrices reported (W, ΔW or s·B·A); directions: diff\'s ΔW, W_base and W_tuned with vectors; base, vectors: an adapter\'s base weights, then ΔW\'s vectors.'),
  jobs: count('Spectra computed in the phase.'),
  bytes: count('Stored bytes the engine reads in the phase (the bytesTotal its progress events report).'),
  flops: count('Estimated floating-point operations (docs/events.md, "Cost").'),
});

const planRun = obj<PlanRun>('One analysis of a stream with several (compare): its own plan event follows with `run` set.', {
  run: str('Its name, the `run` of its events.'),
  path: str('The fine-tune\'s path.'),
  matrices: count('Matrix events it will emit.'),
  bytes: count('Stored bytes it reads.'),
  flops: count('Estimated floating-point operations.'),
});

const plan = obj<PlanEvent>('What will be computed, from the headers, before any tensor byte is read: the first event of a run.', {
  ...envelope('plan', 'Event type.'),
  command: oneOfStrings(COMMANDS, 'The command or library verb (diff --adapter and analyzeAdapter: lora).'),
  startedAt: { type: 'string', format: 'date-time', description: 'When the run began (ISO 8601, UTC).' },
  inputs: arrayOf(ref('planInput'), 'What is read, in command-line order.'),
  mode: oneOfStrings(['exact', 'truncated'], 'Spectrum mode of the matrices reported.'),
  rank: nullable(count('k.'), 'Truncated mode: singular values per matrix; null in exact mode.'),
  matrices: count('Matrix events to come (all runs together for compare).'),
  skipped: count('Tensors not analysed: analyze\'s vectors, integer and excluded tensors; diff\'s pairing entries that are not matrix pairs; an adapter\'s full tensors.'),
  bytes: count('Stored bytes read, all phases (and runs) together.'),
  flops: count('Estimated floating-point operations, all phases (and runs) together.'),
  phases: arrayOf(ref('planPhase'), 'The engine runs, in order (empty for compare: each run has its own plan).'),
  directions: opt(obj<NonNullable<PlanEvent['directions']>>('Whether the direction analysis runs.', {
    enabled: bool('Whether it runs.'),
    rank: count('Directions compared per matrix.'),
    reason: str('Why it runs or not.'),
  })),
  runs: opt(arrayOf(ref('planRun'), 'compare: the analyses of the stream, in order.')),
});

const progress = obj<ProgressEvent>('How far the run is: at most five a second, and at the end of every phase. jobsDone … current are the current phase\'s, as the engine counts them (the fields of EngineProgress); the rest cover the stream.', {
  ...envelope('progress', 'Event type.'),
  phase: oneOfStrings(PHASES, 'The phase (planPhase.name).'),
  jobsDone: count('Spectra of the phase finished.'),
  jobsTotal: count('Spectra of the phase.'),
  bytesDone: count('Stored bytes of the phase\'s finished spectra.'),
  bytesTotal: count('Stored bytes of the phase (its planPhase.bytes).'),
  flopsDone: { type: 'number', minimum: 0, description: 'Floating-point operations done in the phase, as the engine counts them (finished and in-flight spectra).' },
  current: str('A matrix being computed (its job name).'),
  matricesDone: count('Matrix events emitted so far by this run.'),
  matricesTotal: count('Matrix events this run emits in all.'),
  fraction: fraction('Estimated share of the whole stream\'s work done, in [0, 1]: phases (and runs) weighted by their estimated flops, each by its share of bytes (or spectra) done.'),
  elapsedSeconds: seconds('Seconds since the stream began.'),
  bytesPerSecond: count('Stored bytes read per second over the stream so far.'),
  etaSeconds: nullable(seconds('Seconds.'), 'Estimated seconds left (elapsed · (1 − fraction) / fraction); null until 1 % is done.'),
});

const tensorAnalysis = obj<TensorAnalysis>('One matrix of analyze: the spectrum and metrics of a stored weight W (the analysis report\'s tensors[]).', {
  name: str('Tensor name (an expert of a fused expert tensor: name[e]). Arbitrary text from the checkpoint.'),
  dtype: str('Storage dtype (of the codes, for a quantized weight).'),
  layout: opt(str('A quantized weight\'s logical dtype: "FP8 block 128×128", "FP8 per-channel", "MXFP4", … (docs/formats.md).')),
  shape: arrayOf(count('Dimension.'), 'The stored shape (an expert slice: its [rows, cols]).'),
  rows: count('Rows of the matrix analysed.'),
  cols: count('Columns of the matrix analysed (higher-rank tensors are reshaped to [d0, d1·…·dk]).'),
  reshaped: bool('True when the stored tensor has more than two dimensions.'),
  parameters: count('Elements of the tensor.'),
  module: ref('moduleInfo', 'Layer, module type and component parsed from the name.'),
  seconds: num('Wall time of this matrix\'s spectrum, seconds.'),
  spectrum: opt(ref('spectrumSummary', 'Singular values of W (absent when the matrix failed).')),
  metrics: opt(ref('spectrumMetrics', 'Spectral metrics of W (absent when the matrix failed).')),
  error: opt(ref('errorInfo', 'Set when this matrix could not be analysed.')),
});

const matrixFields = {
  index: count('Position of the record in the report\'s pairs[] (tensors[] for analyze).'),
  of: count('Records the report holds.'),
  cached: opt(bool('Present when the run uses a result cache (docs/cache.md): true when every spectrum of this matrix came from the cache, nothing was computed.')),
};

const cacheCounts = obj<CacheCounts>('What the result cache did for the run, counted in spectra (engine jobs: a diff matrix with directions takes four). Not part of the report.', {
  hits: count('Spectra found in the cache (not computed).'),
  misses: count('Spectra not found: computed.'),
  written: count('Results stored.'),
  rejected: count('Entries found but refused (corrupt, truncated, foreign or oversize): ignored, recomputed and rewritten.'),
  writeErrors: count('Results that could not be stored (the run goes on; a later run recomputes them).'),
});

const pairMatrix = obj<PairMatrixEvent>('One finished matrix of diff, lora or compare: the report\'s pairs[] record, serialised as the report serialises it (failed matrices too, with error).', {
  ...envelope('matrix', 'Event type.'),
  ...matrixFields,
  kind: { const: 'pair', description: 'The record is a pair.' },
  record: ref('pairResult', 'The record, exactly as in the report.'),
});

const tensorMatrix = obj<TensorMatrixEvent>('One finished matrix of analyze: the report\'s tensors[] record.', {
  ...envelope('matrix', 'Event type.'),
  ...matrixFields,
  kind: { const: 'tensor', description: 'The record is a tensor analysis.' },
  record: ref('tensorAnalysis', 'The record, exactly as in the report.'),
});

const where = {
  file: opt(str('The file concerned (for a matrix: the shard holding it; for ΔW, the tuned checkpoint\'s).')),
  tensor: opt(str('The tensor concerned.')),
};

const warning = obj<WarningEvent>('Something the caller should know that does not stop the run.', {
  ...envelope('warning', 'Event type.'),
  code: oneOfStrings(WARNING_CODES, 'PAIRING_NOTE: a note of the pairing (prefixes, dtype changes, ties, resizes, unpaired tensors); ADAPTER_NOTE: how the adapter was read; NOT_CONVERGED: a truncated spectrum stopped before its tolerance (its bounds still hold).'),
  message: str('Human-readable message.'),
  ...where,
});

const error = obj<ErrorEvent>('A failure. Scope matrix: one matrix failed (its matrix event carries the same error) and the run goes on. Scope run: the run stopped, and this is the stream\'s last event; an interruption is code ABORTED with its signal.', {
  ...envelope('error', 'Event type.'),
  scope: oneOfStrings(['matrix', 'run'], 'What failed.'),
  code: oneOfStrings(ERROR_CODES, 'Stable error code (docs/errors.md).'),
  message: str('Human-readable message.'),
  ...where,
  signal: opt(oneOfStrings(SIGNALS, 'The signal that interrupted the run (the CLI then exits with 130 for SIGINT, 143 for SIGTERM).')),
});

const reportProperties = REPORT_JSON_SCHEMA.properties as Record<string, JsonSchema>;
const diffSummary: JsonSchema = {
  type: 'object',
  description: 'A diff report (docs/schema.md) without its pairs: they are the matrix events. {...summary.report, pairs: [matrix records]} is the report.',
  properties: Object.fromEntries(Object.entries(reportProperties).filter(([key]) => key !== 'pairs')),
  required: (REPORT_JSON_SCHEMA.required as string[]).filter((key) => key !== 'pairs'),
};

const skippedTensor = obj<SkippedTensor>('A tensor analyze does not treat as a matrix.', {
  name: str('Tensor name.'),
  reason: oneOfStrings(['not-a-matrix', 'not-float', 'empty', 'excluded', 'undecodable'], 'Why.'),
});

const analysisSummary = obj<AnalysisSummary>('The analyze report without its tensors: they are the matrix events.', {
  schema: { const: 'paramscope.analysis', description: 'Document type.' },
  schemaVersion: { const: ANALYSIS_SCHEMA_VERSION, description: 'Version of the analyze document.' },
  path: str('The checkpoint.'),
  mode: oneOfStrings(['exact', 'truncated'], 'Spectrum mode.'),
  skipped: arrayOf(ref('skippedTensor'), 'Tensors not analysed, with why.'),
  byLayer: arrayOf(ref('groupSummary'), 'Per transformer block.'),
  byModule: arrayOf(ref('groupSummary'), 'Per module type.'),
  totals: obj<AnalysisReport['totals']>('Totals.', {
    matrices: count('Matrices analysed.'),
    failed: count('Matrices that failed (the CLI then exits with 2).'),
    parameters: count('Parameters of the matrices.'),
    seconds: num('Spectrum seconds, summed over the matrices.'),
  }),
});

const compareSummary = obj<CompareSummary>('The ranking of compare: the fine-tunes from the most concentrated update to the most dispersed (each one\'s own summary came before, with its run).', {
  schema: { const: 'paramscope.compare', description: 'Document type.' },
  schemaVersion: { const: COMPARE_SCHEMA_VERSION, description: 'Version of the compare document.' },
  base: str('The base checkpoint.'),
  ranking: arrayOf(obj<CompareSummary['ranking'][number]>('One fine-tune.', {
    name: str('Its name (the run of its events).'),
    path: str('Its path.'),
    verdict: ref('verdict', 'Its regime verdict.'),
  }), 'Ascending verdict score.'),
});

const summary = obj<SummaryEvent>('The result without its per-matrix records: the last event of a run that finished (of each run, with its run tag, in compare).', {
  ...envelope('summary', 'Event type.'),
  report: { oneOf: [ref('diffSummary'), ref('analysisSummary'), ref('compareSummary'), ref('trajectoryReport')], description: 'By report.schema: paramscope.diff (diff, lora, a run of compare or trajectory), paramscope.analysis (analyze), paramscope.compare (compare\'s ranking), paramscope.trajectory (trajectory\'s report, docs/trajectory.md).' },
  cache: opt(ref('cacheCounts', 'Present when the run uses a result cache: its counts for this run (for a run of compare, that run\'s).')),
});

/** The JSON Schema of one event (one line of --jsonl). Objects are open: consumers must ignore unknown fields. */
export const EVENTS_JSON_SCHEMA: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: `urn:paramscope:events:${EVENT_STREAM_VERSION}`,
  title: `paramscope event stream, version ${EVENT_STREAM_VERSION}: one event`,
  description: 'One line of `--jsonl` output (or one object given to onEvent): plan, progress, matrix, warning, error or summary.',
  oneOf: ['plan', 'progress', 'pairMatrix', 'tensorMatrix', 'warning', 'error', 'summary'].map((name) => ref(name)),
  $defs: {
    ...(REPORT_JSON_SCHEMA.$defs as Record<string, JsonSchema>),
    plan, planInput, planPhase, planRun, progress, pairMatrix, tensorMatrix, tensorAnalysis, warning, error,
    summary, cacheCounts, diffSummary, analysisSummary, skippedTensor, compareSummary,
    ...TRAJECTORY_SCHEMA_DEFS,
  },
};

/** The event definitions (docs/events.md documents these; the others are the report's, in docs/schema.md). */
export const EVENT_DEFS: readonly string[] = [
  'plan', 'planInput', 'planPhase', 'planRun', 'progress', 'pairMatrix', 'tensorMatrix', 'tensorAnalysis', 'warning', 'error',
  'summary', 'cacheCounts', 'diffSummary', 'analysisSummary', 'skippedTensor', 'compareSummary',
];

/** docs/events.schema.json's text. */
export function eventsSchemaText(): string {
  return JSON.stringify(EVENTS_JSON_SCHEMA, null, 2) + '\n';
}

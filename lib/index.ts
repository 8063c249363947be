/** paramscope: parameter footprints of model checkpoints. Public API re-exports only. */
export { ParamscopeError, ERROR_CODES, type ErrorCode } from './errors';
export { DTYPES, DTYPE_BITS, FLOAT_DTYPES, DECODABLE_DTYPES, type Dtype, type RawArray } from './read/dtypes';
export {
  openCheckpoint,
  openCheckpointSync,
  Checkpoint,
  type CheckpointKind,
  type OpenOptions,
  type ReadOptions,
  type ShardInfo,
  type TensorData,
  type TensorInfo,
} from './read/checkpoint';
export {
  writeSafetensors,
  writeSafetensorsSync,
  encodeFloat32,
  decodeToFloat32,
  type TensorToWrite,
  type TensorsToWrite,
} from './read/writer';
export { buildInfo, type BuildInfo } from './engine/build-info';
export {
  analyze,
  analyzeCheckpoint,
  planAnalysis,
  type AnalyzeOptions,
  type AnalysisReport,
  type TensorAnalysis,
  type SkippedTensor,
  type SpectrumSummary,
} from './analyze';
export {
  runSpectra,
  type MatrixJob,
  type SpectrumOptions,
  type SpectrumResult,
  type FailedSpectrum,
  type SpectrumOutcome,
  type EngineProgress,
  type TensorSource,
} from './engine/run';
export { formatBounded, midpoint, bounds, type Bounded, type SpectrumMetrics, type PowerLawFit } from './results/metrics';
export { classifyTensor, type ModuleInfo, type ModuleType, type Component } from './plan/modules';
export { diff, type DiffOptions, type DiffReport, type PairResult, type NoiseFloor, type DirectionAnalysis, type ModelSummary } from './diff';
export { regimeVerdict, type RegimeVerdict, type RegimeMatrix } from './aggregate/regime';
export { pairCheckpoints, diffJobs, type PairingReport, type PairingEntry, type PairingFate, type RenameRule } from './plan/pairing';
export { openAdapter, loraJobs, type Adapter, type LoraModule, type LoraLayout } from './plan/lora/open-adapter';
export { analyzeAdapter, type AdapterOptions } from './lora';
export { ensureExample, type ExamplePaths } from './example';
export { writeReports, renderReport, type ReportPaths, type ReportFormat } from './report/write';
export { serializeReport, reportDocument, REPORT_JSON_SCHEMA } from './report/schema';
export { toHtml } from './report/html/index';
export { toMarkdown } from './report/markdown';
export { diffToCsv } from './report/diff-csv';

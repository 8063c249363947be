/** paramscope: parameter footprints of model checkpoints. Public API re-exports only. */
export { ParamscopeError, ERROR_CODES, type ErrorCode } from './errors';
export { DTYPES, DTYPE_BITS, FLOAT_DTYPES, DECODABLE_DTYPES, type Dtype, type RawArray } from './dtypes';
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
} from './checkpoint';
export {
  writeSafetensors,
  writeSafetensorsSync,
  encodeFloat32,
  decodeToFloat32,
  type TensorToWrite,
  type TensorsToWrite,
} from './writer';
export { buildInfo, type BuildInfo } from './build-info';
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
} from './engine';
export { formatBounded, midpoint, bounds, type Bounded, type SpectrumMetrics, type PowerLawFit } from './metrics';
export { classifyTensor, type ModuleInfo, type ModuleType, type Component } from './modules';
export { diff, type DiffOptions, type DiffReport, type PairResult, type NoiseFloor, type DirectionAnalysis, type ModelSummary } from './diff';
export { regimeVerdict, type RegimeVerdict, type RegimeMatrix } from './regime';
export { pairCheckpoints, diffJobs, type PairingReport, type PairingEntry, type PairingFate, type RenameRule } from './pairing';
export { openAdapter, loraJobs, type Adapter, type LoraModule, type LoraLayout } from './lora';
export { analyzeAdapter, type AdapterOptions } from './lora-analysis';
export { ensureExample, type ExamplePaths } from './example';
export { writeReports, renderReport, type ReportPaths, type ReportFormat } from './report/write';
export { serializeReport, reportDocument, REPORT_JSON_SCHEMA } from './report/schema';
export { toHtml } from './report/html';
export { toMarkdown } from './report/markdown';
export { diffToCsv } from './report/diff-csv';

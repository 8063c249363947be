/** paramscope: parameter footprints of model checkpoints. Public API re-exports only. */
export { ParamscopeError, ERROR_CODES, type ErrorCode } from './errors';
export { DTYPES, DTYPE_BITS, DTYPE_TABLE, FLOAT_DTYPES, DECODABLE_DTYPES, type Dtype, type DtypeInfo, type RawArray } from './read/dtypes';
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
export { analyze, analyzeCheckpoint, type AnalyzeOptions } from './analyze';
export { planAnalysis, type SkippedTensor } from './plan/analysis-plan';
export type { AnalysisReport, TensorAnalysis, SpectrumSummary } from './report/model';
export { runSpectra } from './engine/run';
export { ResultCache, type CacheCounts } from './engine/cache';
export { CACHE_FORMAT_VERSION } from './engine/cache-key';
export { defaultCacheDir } from './engine/cache-location';
export type { MatrixJob, TensorSource } from './engine/matrix-job';
export type { SpectrumOptions, SpectrumResult, FailedSpectrum, SpectrumOutcome, EngineProgress } from './engine/types';
export { formatBounded, midpoint, bounds, type Bounded, type SpectrumMetrics, type PowerLawFit } from './results/metrics';
export { classifyTensor, type ModuleInfo, type ModuleType, type Component } from './plan/modules';
export { diff, type DiffOptions } from './diff';
export type { DiffReport, PairResult, DirectionAnalysis, ModelSummary } from './report/model';
export type { NoiseFloor } from './results/noise';
export { regimeVerdict, type RegimeVerdict, type RegimeMatrix } from './aggregate/regime';
export { pairCheckpoints } from './plan/pairing';
export type { PairingReport, PairingEntry, PairingFate } from './plan/pairing-entry';
export type { RenameRule } from './plan/rename';
export { diffJobs, loraJobs } from './plan/jobs';
export { vectorChanges, type VectorChange } from './results/vector-changes';
export { openAdapter } from './plan/lora/open-adapter';
export type { Adapter, LoraModule, LoraLayout } from './plan/lora/types';
export { analyzeAdapter, type AdapterOptions } from './lora';
export { ensureExample, type ExamplePaths } from './example';
export { writeReports, renderReport, type ReportPaths, type ReportFormat } from './report/write';
export { serializeReport, reportDocument, REPORT_JSON_SCHEMA } from './report/schema';
export { toHtml } from './report/html/index';
export { toMarkdown } from './report/markdown';
export { diffToCsv } from './report/diff-csv';
export { compare, armNames, type CompareOptions, type CompareResult, type CompareArm } from './compare';
export { trajectory, trajectoryShard, trajectoryRunNames, type TrajectoryOptions, type TrajectoryResult, type TrajectoryStepResult } from './trajectory';
export { trajectoryCheckpoints, stepFromName, type TrajectoryCheckpoint } from './plan/trajectory-steps';
export type {
  TrajectoryReport, TrajectoryStep, StepFootprint, StepSettling, SettlingSide, TrajectoryGroupSeries, TrajectoryMatrixSeries,
} from './report/trajectory-model';
export { TRAJECTORY_JSON_SCHEMA } from './report/trajectory-schema';
export { trajectoryJson, trajectoryMarkdown, trajectoryCsv, writeTrajectoryReports } from './report/trajectory-render';
export { analyzeEvents, diffEvents, adapterEvents, compareEvents } from './events';
export {
  EVENT_STREAM_VERSION,
  serializeEvent,
  type RunEvent,
  type EventOptions,
  type EventCommand,
  type EventType,
  type EventEnvelope,
  type PlanEvent,
  type PlanInput,
  type PlanPhase,
  type PlanRun,
  type PhaseName,
  type ProgressEvent,
  type MatrixEvent,
  type PairMatrixEvent,
  type TensorMatrixEvent,
  type WarningEvent,
  type WarningCode,
  type ErrorEvent,
  type SummaryEvent,
  type DiffSummary,
  type AnalysisSummary,
  type CompareSummary,
} from './report/events';
export { EVENTS_JSON_SCHEMA } from './report/events-schema';
export { compareWeights, type WeightsArm } from './compare-weights';
export { buildComparison, type ComparisonOptions } from './report/comparison/build';
export { writeComparison, COMPARISON_FILES } from './report/comparison/write';
export { comparisonToHtml } from './report/comparison/html';
export { COMPARISON_JSON_SCHEMA, serializeComparison } from './report/comparison/schema';
export type { ComparisonArm, ComparisonInput, ComparisonDocument, ComparisonArmSummary, ArmDifference, Interval } from './report/comparison/model';
export { bootstrap, pairedBootstrap, BOOTSTRAP_DEFAULTS, type BootstrapOptions, type BootstrapInterval } from './aggregate/bootstrap';
export { diffShard, analyzeShard, adapterShard, compareShard, type ShardSpec } from './shard';
export { merge, type MergeResult, type MergeOptions } from './merge';
export { selectShard, balanceShards, estimatedSeconds, type ShardUnit, type ShardAssignment } from './plan/shard';
export { planIdentity, checkpointIdentity, type PlanDescription } from './plan/plan-identity';
export { serializePartial, parsePartial, type PartialReport, type PartialRun } from './report/partial';

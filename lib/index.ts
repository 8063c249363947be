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

/**
 * One error model end to end: every failure of paramscope — a malformed file, a wrong argument, an
 * impossible pairing — is a `ParamscopeError` with a stable `code` and, where known, the `file` and
 * `tensor` it concerns. The codes mirror `native/include/paramscope/error_codes.def` (a test checks).
 *
 * @example
 * try { await openCheckpoint('model.safetensors'); }
 * catch (e) { if (e instanceof ParamscopeError && e.code === 'FILE_SIZE_MISMATCH') ... }
 */
export const ERROR_CODES = [
  'FILE_NOT_FOUND',
  'NOT_A_REGULAR_FILE',
  'IO_ERROR',
  'FILE_CHANGED',
  'WRITE_FAILED',
  'FILE_TOO_SMALL',
  'HEADER_TOO_LARGE',
  'HEADER_OUT_OF_BOUNDS',
  'HEADER_NOT_UTF8',
  'HEADER_INVALID_JSON',
  'HEADER_INVALID_ENTRY',
  'UNKNOWN_DTYPE',
  'INVALID_SHAPE',
  'INVALID_OFFSETS',
  'INVALID_METADATA',
  'DUPLICATE_KEY',
  'INVALID_TENSOR_NAME',
  'OFFSETS_NOT_CONTIGUOUS',
  'SIZE_OVERFLOW',
  'TENSOR_SIZE_MISMATCH',
  'FILE_SIZE_MISMATCH',
  'TENSOR_NOT_FOUND',
  'SLICE_OUT_OF_RANGE',
  'UNSUPPORTED_DTYPE',
  'EMPTY_CHECKPOINT',
  'INDEX_INVALID',
  'SHARD_MISSING',
  'INDEX_TENSOR_MISSING',
  'DUPLICATE_TENSOR',
  'INVALID_ARGUMENT',
  'CLOSED',
  'ABORTED',
  'OUT_OF_MEMORY',
  'INTERNAL',
  'NON_FINITE_INPUT',
  'NOT_CONVERGED',
  'SHAPE_MISMATCH',
  'ARCHITECTURE_MISMATCH',
  'EMPTY_PAIRING',
  'ADAPTER_CONFIG_MISSING',
  'ADAPTER_INVALID',
  'LINK_OUTSIDE_CHECKPOINT',
  'BACKEND_UNAVAILABLE',
  'UNSUPPORTED_QUANTIZATION',
  'INVALID_QUANTIZATION',
  'INPUT_TOO_LARGE',
  'OUTPUT_INVALID',
  'ALL_MATRICES_FAILED',
  'SHARD_INVALID',
  'MERGE_INVALID_PARTIAL',
  'MERGE_PLAN_MISMATCH',
  'MERGE_DUPLICATE_SHARD',
  'MERGE_MISSING_SHARD',
  'TRAJECTORY_INVALID',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ParamscopeErrorOptions {
  code: ErrorCode;
  file?: string;
  tensor?: string;
  cause?: unknown;
}

export class ParamscopeError extends Error {
  /** Stable machine-readable code; see {@link ERROR_CODES}. */
  readonly code: ErrorCode;
  /** The file the error concerns, when there is one. */
  readonly file?: string;
  /** The tensor the error concerns, when there is one. */
  readonly tensor?: string;

  constructor(message: string, options: ParamscopeErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ParamscopeError';
    this.code = options.code;
    if (options.file !== undefined) this.file = options.file;
    if (options.tensor !== undefined) this.tensor = options.tensor;
  }
}

/** Throws INVALID_ARGUMENT with one wording for every option check: "<what>: expected <x>, got <y>". */
export function invalidArgument(what: string, expected: string, actual: unknown): never {
  throw new ParamscopeError(`${what}: expected ${expected}, got ${describeValue(actual)}`, {
    code: 'INVALID_ARGUMENT',
  });
}

export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? value.slice(0, 60) + '...' : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return `a ${typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value}`;
}

/**
 * INVALID_ARGUMENT unless `value` is a usable path: a non-empty string without NUL bytes (the system
 * would silently use only the part before the NUL).
 */
export function checkPath(what: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) invalidArgument(what, 'a non-empty string', value);
  if (value.includes('\0')) invalidArgument(what, 'a path without NUL bytes', `a string with a NUL at ${value.indexOf('\0')}`);
}

/** The ParamscopeError for an AbortSignal that fired. */
export function abortError(signal: AbortSignal): ParamscopeError {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
  return new ParamscopeError(`operation aborted: ${reason}`, { code: 'ABORTED', cause: signal.reason });
}

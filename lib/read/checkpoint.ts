/**
 * Opening checkpoints and reading tensors. A checkpoint is one `.safetensors` file, a directory of
 * shards, or a `*.safetensors.index.json`; every header is validated (SAFETENSORS.md §2, §3) before any
 * tensor byte is read. Reads decode off the event loop; the `*Sync` variants say so in their names.
 *
 * @example
 * import { openCheckpoint } from 'paramscope';
 * await using ckpt = await openCheckpoint('model.safetensors');   // or: const ckpt = ...; ckpt.close()
 * const { data } = await ckpt.read('lm_head.weight');             // Float32Array
 * const raw = await ckpt.read('lm_head.weight', { as: 'raw', zeroCopy: true }); // BF16 bits, a view of the file
 */
import { type Dtype, type RawArray, rawView } from './dtypes';
import { abortError, checkPath, invalidArgument, ParamscopeError } from '../errors';
import { parseJson } from './json';
import { native, type NativeCheckpoint, type NativeOpenOptions, type NativeReadResult } from '../engine/binding';

export interface OpenOptions {
  /** Memory-map the files (default true). false reads with pread, for file systems where mmap misbehaves. */
  mmap?: boolean;
  /**
   * Follow shards that are symbolic links to files outside the checkpoint's directory (default false:
   * LINK_OUTSIDE_CHECKPOINT). Links inside it, and a Hugging Face cache snapshot's links into its
   * blobs/, are always followed; so is the path given to openCheckpoint itself. docs/security.md.
   */
  followLinks?: boolean;
}

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: readonly number[];
  /** Number of elements (product of the shape; 1 for a scalar). */
  numel: number;
  /** Stored bytes. */
  bytes: number;
  /** The shard file holding it. */
  file: string;
  /** Absolute byte offset of its data in `file`. */
  offset: number;
}

export interface ShardInfo {
  path: string;
  bytes: number;
  headerBytes: number;
  /** Whether the file is memory-mapped (false with `mmap: false` or when mapping failed). */
  mapped: boolean;
  metadata: Readonly<Record<string, string>>;
}

export interface ReadOptions {
  /** 'f32' (default): decoded to Float32Array. 'raw': the stored bits in the dtype's natural typed array. */
  as?: 'f32' | 'raw';
  /** Rows [begin, end) of the leading dimension; the whole tensor by default. */
  rows?: readonly [number, number];
  /**
   * Decode into this array instead of a new one (as: 'f32' only; it must hold at least the read's
   * element count). `data` is then a view of its first elements. Reusing one buffer across reads avoids
   * allocating, and page-faulting, a fresh output each time.
   */
  into?: Float32Array;
  /**
   * Serve the stored bytes as a view of the memory-mapped file instead of a copy when they can be used
   * as they are (raw reads, and F32 read as f32) and are aligned for their type (default false). The
   * view keeps the file mapped while it lives and costs no copy; but if another process truncates the
   * file while the view is alive, touching the view faults (SIGBUS) — use it only on files nothing else
   * writes. Writing into a view changes this process's memory, never the file.
   */
  zeroCopy?: boolean;
  signal?: AbortSignal;
}

export interface TensorData<T> {
  name: string;
  dtype: Dtype;
  /** Shape of what was read (the leading dimension shortened when `rows` was given). */
  shape: readonly number[];
  data: T;
  /** True when `data` is a view of the mapped file (only with `zeroCopy: true`). The file stays mapped while it lives. */
  zeroCopy: boolean;
  /** NaN and ±Inf values among the decoded floats (0 for raw reads). */
  nonFinite: number;
}

interface ReadRequest {
  info: TensorInfo;
  mode: 'f32' | 'raw';
  rows: readonly [number, number] | undefined;
}

/** @internal the native handle of a Checkpoint, for the engine (not part of the public API). */
export const nativeHandleOf = (checkpoint: Checkpoint): NativeCheckpoint => checkpoint[NATIVE_HANDLE]();
const NATIVE_HANDLE = Symbol('paramscope.nativeHandle');

export type CheckpointKind = 'file' | 'directory' | 'index';

export class Checkpoint implements Disposable {
  readonly path: string;
  readonly kind: CheckpointKind;
  /** Tensors in shard order, then header order. */
  readonly tensors: readonly TensorInfo[];
  readonly shards: readonly ShardInfo[];
  /** `__metadata__` of the first shard (string values only, as the format allows). */
  readonly metadata: Readonly<Record<string, string>>;
  /** The index file's `metadata` object (null without an index). */
  readonly indexMetadata: Readonly<Record<string, unknown>> | null;
  /** Inconsistencies that do not stop reading: unlisted shards or tensors, a wrong total_size. */
  readonly warnings: readonly string[];

  #native: NativeCheckpoint | null;
  readonly #byName: Map<string, TensorInfo>;

  /** @internal use openCheckpoint / openCheckpointSync */
  constructor(handle: NativeCheckpoint) {
    const d = handle.describe();
    this.#native = handle;
    this.path = d.path;
    this.kind = d.kind;
    this.shards = d.shards.map((s) => Object.freeze({ ...s, metadata: Object.freeze({ ...s.metadata }) }));
    this.tensors = Object.freeze(
      d.tensors.map((t) =>
        Object.freeze({
          name: t.name,
          dtype: t.dtype as Dtype,
          shape: Object.freeze(t.shape),
          numel: t.numel,
          bytes: t.bytes,
          file: d.shards[t.shard]?.path ?? d.path,
          offset: t.offset,
        }),
      ),
    );
    this.metadata = this.shards[0]?.metadata ?? {};
    // The core re-serialises what it parsed; parsed again here into null-prototype objects (read/json.ts).
    this.indexMetadata = d.indexMetadata ? (parseJson(d.indexMetadata, { file: d.path, what: 'index metadata', code: 'INDEX_INVALID' }) as Record<string, unknown>) : null;
    this.warnings = Object.freeze(d.warnings);
    this.#byName = new Map(this.tensors.map((t) => [t.name, t]));
  }

  /** Total stored bytes of all tensors. */
  get totalBytes(): number {
    return this.tensors.reduce((sum, t) => sum + t.bytes, 0);
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** The tensor's description; TENSOR_NOT_FOUND when absent. */
  tensor(name: string): TensorInfo {
    const info = this.#byName.get(name);
    if (!info) throw new ParamscopeError(`no tensor "${name}" in ${this.path}`, { code: 'TENSOR_NOT_FOUND', file: this.path, tensor: name });
    return info;
  }

  read(name: string, options?: ReadOptions & { as?: 'f32' }): Promise<TensorData<Float32Array>>;
  read(name: string, options: ReadOptions & { as: 'raw' }): Promise<TensorData<RawArray>>;
  async read(name: string, options: ReadOptions = {}): Promise<TensorData<Float32Array | RawArray>> {
    const request = this.#request(name, options);
    if (options.signal?.aborted) throw abortError(options.signal);
    const result = await this.#handle().read(name, request.mode, request.rows?.[0], request.rows?.[1], options.into, options.zeroCopy === true);
    if (options.signal?.aborted) throw abortError(options.signal);
    return this.#wrap(request, result);
  }

  /** Like {@link read}, but blocks the calling thread while it decodes. */
  readSync(name: string, options?: Omit<ReadOptions, 'signal'> & { as?: 'f32' }): TensorData<Float32Array>;
  readSync(name: string, options: Omit<ReadOptions, 'signal'> & { as: 'raw' }): TensorData<RawArray>;
  readSync(name: string, options: Omit<ReadOptions, 'signal'> = {}): TensorData<Float32Array | RawArray> {
    const request = this.#request(name, options);
    const result = this.#handle().readSync(name, request.mode, request.rows?.[0], request.rows?.[1], options.into, options.zeroCopy === true);
    return this.#wrap(request, result);
  }

  /** Releases the files. Zero-copy arrays already handed out stay valid (they keep their mapping). */
  close(): void {
    this.#native?.close();
    this.#native = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal */
  [NATIVE_HANDLE](): NativeCheckpoint {
    return this.#handle();
  }

  get closed(): boolean {
    return this.#native === null;
  }

  #handle(): NativeCheckpoint {
    if (!this.#native) throw new ParamscopeError(`checkpoint ${this.path} was closed`, { code: 'CLOSED', file: this.path });
    return this.#native;
  }

  #request(name: string, options: ReadOptions): ReadRequest {
    if (typeof name !== 'string') invalidArgument('read: name', 'a string', name);
    if (typeof options !== 'object' || options === null) invalidArgument('read: options', 'an object', options);
    const mode = options.as ?? 'f32';
    if (mode !== 'f32' && mode !== 'raw') invalidArgument('read: as', "'f32' or 'raw'", mode);
    const rows = options.rows;
    if (rows !== undefined) {
      if (!Array.isArray(rows) || rows.length !== 2 || !rows.every((r) => Number.isSafeInteger(r) && r >= 0))
        invalidArgument('read: rows', '[begin, end] of non-negative integers', rows);
    }
    // Not over a SharedArrayBuffer: N-API cannot hand its memory to the decoder.
    if (options.zeroCopy !== undefined && typeof options.zeroCopy !== 'boolean') invalidArgument('read: zeroCopy', 'a boolean', options.zeroCopy);
    if (options.into !== undefined && (!(options.into instanceof Float32Array) || !(options.into.buffer instanceof ArrayBuffer) || mode !== 'f32'))
      invalidArgument('read: into', "a Float32Array over an ArrayBuffer (with as: 'f32')", options.into);
    const info = this.tensor(name);
    return { info, mode, rows };
  }

  #wrap(request: ReadRequest, result: NativeReadResult): TensorData<Float32Array | RawArray> {
    const { info, mode, rows } = request;
    const shape = rows && info.shape.length > 0 ? [rows[1] - rows[0], ...info.shape.slice(1)] : [...info.shape];
    const numel = shape.reduce((a, b) => a * b, 1);
    const data = mode === 'f32' ? new Float32Array(result.buffer, result.byteOffset, numel) : rawView(info.dtype, result.buffer);
    return { name: info.name, dtype: info.dtype, shape, data, zeroCopy: result.zeroCopy, nonFinite: result.nonFinite };
  }
}

function checkOpenArguments(path: unknown, options: unknown): NativeOpenOptions {
  checkPath('openCheckpoint: path', path);
  if (typeof options !== 'object' || options === null) invalidArgument('openCheckpoint: options', 'an object', options);
  const { mmap = true, followLinks = false } = options as OpenOptions;
  if (typeof mmap !== 'boolean') invalidArgument('openCheckpoint: mmap', 'a boolean', mmap);
  if (typeof followLinks !== 'boolean') invalidArgument('openCheckpoint: followLinks', 'a boolean', followLinks);
  return { mmap, followLinks };
}

/** Opens and validates a checkpoint without blocking the event loop. */
export async function openCheckpoint(path: string, options: OpenOptions = {}): Promise<Checkpoint> {
  const nativeOptions = checkOpenArguments(path, options);
  return new Checkpoint(await native().openCheckpoint(path, nativeOptions));
}

/** Opens and validates a checkpoint on the calling thread (headers only: fast, but it blocks). */
export function openCheckpointSync(path: string, options: OpenOptions = {}): Checkpoint {
  const nativeOptions = checkOpenArguments(path, options);
  return new Checkpoint(native().openCheckpointSync(path, nativeOptions));
}


/**
 * `checkpoint` itself when it is an open Checkpoint, else the checkpoint opened at that path (a verb's
 * argument: `what` names it in the INVALID_ARGUMENT for anything else). `opened` says which, so the
 * caller closes only what it opened.
 */
export async function checkpointArgument(what: string, checkpoint: unknown, options: OpenOptions): Promise<{ checkpoint: Checkpoint; opened: boolean }> {
  if (checkpoint instanceof Checkpoint) return { checkpoint, opened: false };
  if (typeof checkpoint !== 'string') invalidArgument(what, 'a path or an open Checkpoint', checkpoint);
  return { checkpoint: await openCheckpoint(checkpoint, options), opened: true };
}

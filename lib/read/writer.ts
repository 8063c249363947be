/**
 * Writing safetensors files that the reference reader accepts: header padded to a multiple of 8 and
 * the data laid out by decreasing element size (as the reference writer does), so every tensor is
 * aligned to its element size and can be read zero-copy; tensors contiguous, listed in the header in
 * the order given; written to a temporary file in the same directory and renamed, so a failed or
 * interrupted write never leaves a partial file.
 *
 * @example
 * await writeSafetensors('out.safetensors', {
 *   'w': { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
 *   'b': { dtype: 'BF16', shape: [4], data: encodeFloat32(new Float32Array([1, 2, 3, 4]), 'BF16') },
 * }, { format: 'pt' });
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DTYPE_BITS, type Dtype, isDtype } from './dtypes';
import { checkPath, invalidArgument, ParamscopeError } from '../errors';
import { native } from '../engine/binding';

export interface TensorToWrite {
  dtype: Dtype;
  shape: readonly number[];
  /** The stored bytes, little-endian: any typed array or Buffer whose byte length matches shape × dtype. */
  data: ArrayBufferView;
}

export type TensorsToWrite = Record<string, TensorToWrite> | ReadonlyArray<readonly [string, TensorToWrite]>;

interface Layout {
  header: Buffer;
  entries: Array<{ name: string; bytes: Uint8Array }>;
}

function layout(tensors: TensorsToWrite, metadata: Record<string, string> | undefined): Layout {
  const list: Array<readonly [string, TensorToWrite]> = Array.isArray(tensors)
    ? [...(tensors as ReadonlyArray<readonly [string, TensorToWrite]>)]
    : Object.entries(tensors as Record<string, TensorToWrite>);
  // No prototype: a tensor or metadata key named "__proto__" must become a JSON key, not a prototype.
  const header: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null) invalidArgument('writeSafetensors: metadata', 'an object of strings', metadata);
    for (const [key, value] of Object.entries(metadata))
      if (typeof value !== 'string') invalidArgument(`writeSafetensors: metadata["${key}"]`, 'a string', value);
    header.__metadata__ = metadata;
  }
  const entries: Array<Layout['entries'][number] & { dtype: Dtype; shape: readonly number[] }> = [];
  const seen = new Set<string>();
  for (const [name, tensor] of list) {
    if (typeof name !== 'string' || name === '' || name === '__metadata__')
      invalidArgument('writeSafetensors: tensor name', 'a non-empty name other than __metadata__', name);
    if (seen.has(name)) invalidArgument('writeSafetensors: tensor name', 'unique names', name);
    seen.add(name);
    if (!isDtype(tensor?.dtype)) invalidArgument(`writeSafetensors: "${name}".dtype`, 'a safetensors dtype', tensor?.dtype);
    if (!Array.isArray(tensor.shape) || !tensor.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      invalidArgument(`writeSafetensors: "${name}".shape`, 'an array of non-negative integers', tensor.shape);
    if (!ArrayBuffer.isView(tensor.data)) invalidArgument(`writeSafetensors: "${name}".data`, 'a typed array or Buffer', tensor.data);
    const numel = tensor.shape.reduce((a: number, b: number) => a * b, 1);
    const bits = numel * DTYPE_BITS[tensor.dtype];
    if (bits % 8 !== 0 || tensor.data.byteLength !== bits / 8)
      invalidArgument(`writeSafetensors: "${name}".data`, `${bits / 8} bytes for shape [${tensor.shape.join(', ')}] of ${tensor.dtype}`, `${tensor.data.byteLength} bytes`);
    const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    entries.push({ name, bytes, dtype: tensor.dtype, shape: tensor.shape });
  }
  // Widest elements first (a stable sort): each group's size is a multiple of its element size, so
  // after an 8-aligned header every tensor starts aligned for its type.
  const data = [...entries].sort((a, b) => DTYPE_BITS[b.dtype] - DTYPE_BITS[a.dtype]);
  const offsets = new Map<string, number>();
  let offset = 0;
  for (const entry of data) {
    offsets.set(entry.name, offset);
    offset += entry.bytes.byteLength;
  }
  for (const { name, dtype, shape, bytes } of entries) {
    const begin = offsets.get(name)!;
    header[name] = { dtype, shape, data_offsets: [begin, begin + bytes.byteLength] };
  }
  let json = JSON.stringify(header);
  const padded = Math.ceil((Buffer.byteLength(json) + 8) / 8) * 8 - 8;
  json += ' '.repeat(padded - Buffer.byteLength(json));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return { header: Buffer.concat([prefix, Buffer.from(json)]), entries: data };
}

// One write call takes at most 2 GiB - 1 bytes; large tensors go out in pieces.
const WRITE_CHUNK_BYTES = 1 << 30;

function* chunks(bytes: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += WRITE_CHUNK_BYTES) yield bytes.subarray(at, Math.min(bytes.byteLength, at + WRITE_CHUNK_BYTES));
}

// write(2) may write less than asked; loop until every byte is out.
async function writeAll(handle: fs.promises.FileHandle, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.byteLength; ) done += (await handle.write(bytes, done, bytes.byteLength - done)).bytesWritten;
}

function writeAllSync(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.byteLength; ) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done);
}

function temporaryPath(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
}

function writeFailed(target: string, error: unknown): ParamscopeError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ParamscopeError(`cannot write ${target}: ${reason}`, { code: 'WRITE_FAILED', file: target, cause: error });
}

/** Checks the target, lays the file out and picks the temporary file it is written to first. */
function prepareWrite(target: string, tensors: TensorsToWrite, metadata: Record<string, string> | undefined): Layout & { temporary: string } {
  checkPath('writeSafetensors: path', target);
  return { ...layout(tensors, metadata), temporary: temporaryPath(target) };
}

/** Writes a safetensors file atomically (temporary file + rename). */
export async function writeSafetensors(target: string, tensors: TensorsToWrite, metadata?: Record<string, string>): Promise<void> {
  const { header, entries, temporary } = prepareWrite(target, tensors, metadata);
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(temporary, 'wx');
    await writeAll(handle, header);
    for (const entry of entries) for (const chunk of chunks(entry.bytes)) await writeAll(handle, chunk);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.promises.rename(temporary, target);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await fs.promises.rm(temporary, { force: true });
    throw writeFailed(target, error);
  }
}

/** Synchronous {@link writeSafetensors}, for scripts and test-data generators. */
export function writeSafetensorsSync(target: string, tensors: TensorsToWrite, metadata?: Record<string, string>): void {
  const { header, entries, temporary } = prepareWrite(target, tensors, metadata);
  let fd: number | undefined;
  try {
    fd = fs.openSync(temporary, 'wx');
    writeAllSync(fd, header);
    for (const entry of entries) for (const chunk of chunks(entry.bytes)) writeAllSync(fd, chunk);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temporary, target);
  } catch (error) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(temporary, { force: true });
    throw writeFailed(target, error);
  }
}

/** Rounds f32 values to BF16 or F16 (nearest even) and returns the stored bytes, for writing. */
export function encodeFloat32(values: Float32Array, dtype: 'BF16' | 'F16'): Uint8Array {
  if (!(values instanceof Float32Array)) invalidArgument('encodeFloat32: values', 'a Float32Array', values);
  if (dtype !== 'BF16' && dtype !== 'F16') invalidArgument('encodeFloat32: dtype', "'BF16' or 'F16'", dtype);
  return native().encodeF32(values, dtype);
}

/** Decodes stored bytes of any decodable dtype to f32 (the same kernels as reads). */
export function decodeToFloat32(bytes: ArrayBufferView, dtype: Dtype): Float32Array {
  if (!ArrayBuffer.isView(bytes)) invalidArgument('decodeToFloat32: bytes', 'a typed array or Buffer', bytes);
  if (!isDtype(dtype)) invalidArgument('decodeToFloat32: dtype', 'a safetensors dtype', dtype);
  return native().decodeToF32(bytes, dtype);
}

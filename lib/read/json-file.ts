/**
 * Reading a small side file whole — adapter_config.json, config.json, the quantization configs — from a
 * path that may be hostile: a FIFO (a plain read waits for a writer forever), /dev/zero or a link to it
 * (a plain read never ends), a directory, a file of gigabytes. The file is stat'ed before it is opened
 * and only a regular file is opened, without blocking (O_NONBLOCK), then checked again on the open
 * descriptor (the path may have been swapped in between); at most the cap is read. Errors name the file,
 * the rule and the numbers, never the file's bytes.
 */
import * as fs from 'node:fs';
import { checkPath, type ErrorCode, ParamscopeError } from '../errors';
import { type JsonValue, parseJson } from './json';

/** Cap on a JSON config paramscope reads whole (adapter_config.json, config.json, …): real ones are kilobytes. */
export const MAX_CONFIG_BYTES = 16 * 2 ** 20;

function kindOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

function notRegular(file: string, what: string, stat: fs.Stats): ParamscopeError {
  return new ParamscopeError(`${what} ${file} is ${kindOf(stat)}, not a regular file`, { code: 'NOT_A_REGULAR_FILE', file });
}

function tooLarge(file: string, what: string, size: number | string, cap: number): ParamscopeError {
  return new ParamscopeError(`${what} ${file} is ${size} bytes, above the cap of ${cap} bytes for one`, { code: 'INPUT_TOO_LARGE', file });
}

function ioError(file: string, what: string, error: unknown): ParamscopeError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new ParamscopeError(`${what} ${file} does not exist`, { code: 'FILE_NOT_FOUND', file, cause: error });
  return new ParamscopeError(`cannot read ${what} ${file}: ${code ?? 'I/O error'}`, { code: 'IO_ERROR', file, cause: error });
}

/** The bytes of `file`, a regular file of at most `maxBytes`; see the file comment for what is refused. */
export function readBoundedFile(file: string, what: string, maxBytes: number): Buffer {
  checkPath(what, file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    throw ioError(file, what, error);
  }
  if (!stat.isFile()) throw notRegular(file, what, stat);
  if (stat.size > maxBytes) throw tooLarge(file, what, stat.size, maxBytes);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (error) {
    throw ioError(file, what, error);
  }
  try {
    const opened = fs.fstatSync(fd);
    if (!opened.isFile()) throw notRegular(file, what, opened);
    // One byte beyond the cap tells a file that grew past it since the stat from one that did not.
    const buffer = Buffer.alloc(Math.min(opened.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      const got = fs.readSync(fd, buffer, length, buffer.length - length, length);
      if (got === 0) break;
      length += got;
      if (length === buffer.length) {
        if (length > maxBytes) throw tooLarge(file, what, `more than ${maxBytes}`, maxBytes);
        break;
      }
    }
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof ParamscopeError) throw error;
    throw ioError(file, what, error);
  } finally {
    fs.closeSync(fd);
  }
}

/** Byte offset of the first invalid UTF-8 sequence, or -1 (for a message that names where, not what). */
function invalidUtf8At(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let i = 0; i < n; ) {
    const c = bytes[i] as number;
    if (c < 0x80) {
      ++i;
      continue;
    }
    const length = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (length === 0 || i + length > n) return i;
    const second = bytes[i + 1] as number;
    // The first continuation byte's range excludes overlong forms, surrogates and code points past U+10FFFF.
    const low = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const high = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    if (second < low || second > high) return i;
    for (let k = 2; k < length; ++k) if (((bytes[i + k] as number) & 0xc0) !== 0x80) return i;
    i += length;
  }
  return -1;
}

export interface JsonFileOptions {
  /** What the file is, for messages ("adapter config"). */
  what: string;
  /** The code of text that is not JSON (or not UTF-8). */
  code: ErrorCode;
  /** The cap (default MAX_CONFIG_BYTES). */
  maxBytes?: number;
  /** See JsonParseOptions.duplicates (default 'refuse'). */
  duplicates?: 'refuse' | 'last';
  /** See JsonParseOptions.maxValues. */
  maxValues?: number;
}

/** UTF-8 JSON text → data; `code` for text that is not UTF-8 or not JSON, with the position only. */
export function parseJsonBytes(bytes: Uint8Array, file: string, options: JsonFileOptions): JsonValue {
  const bad = invalidUtf8At(bytes);
  if (bad >= 0) throw new ParamscopeError(`${options.what} ${file} is not UTF-8 text (invalid byte sequence at byte ${bad})`, { code: options.code, file });
  return parseJson(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), {
    file, what: options.what, code: options.code, duplicates: options.duplicates ?? 'refuse', ...(options.maxValues === undefined ? {} : { maxValues: options.maxValues }),
  });
}

/** Reads and parses a JSON side file with the bounds and checks above. */
export function readJsonFile(file: string, options: JsonFileOptions): JsonValue {
  return parseJsonBytes(readBoundedFile(file, options.what, options.maxBytes ?? MAX_CONFIG_BYTES), file, options);
}

/** A plain (null-prototype) JSON object, or null for any other value. */
export function asJsonObject(value: JsonValue): { [key: string]: JsonValue } | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : null;
}

/**
 * Partial reports on disk. Reading is bounded and never blocks: the file is opened with O_NONBLOCK (a
 * FIFO or a device does not hang the open), refused unless it is a regular file, refused beyond
 * PARTIAL_MAX_BYTES before a byte is read, and read asynchronously up to that cap. Writing goes to a
 * temporary file in the target directory, fsynced, then renamed to part-<i>-of-<N>.json: shards that
 * share a directory (a cluster's shared volume) each place their own file in one atomic step, and a
 * killed shard leaves no half-written partial under that name.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onInterrupt } from '../engine/interrupt';
import { ParamscopeError } from '../errors';
import { parsePartial, partialFileName, type PartialReport, serializePartial } from './partial';
import { writeDurably } from './report-set';

/** The largest partial report merge reads: far above any real one (a 70B diff's is a few MB). */
export const PARTIAL_MAX_BYTES = 512 * 2 ** 20;

const invalid = (file: string, why: string): never => {
  throw new ParamscopeError(`${file}: ${why}; merge takes partial report files`, { code: 'MERGE_INVALID_PARTIAL', file });
};

/** Reads and checks one partial report. Throws MERGE_INVALID_PARTIAL, INPUT_TOO_LARGE or IO_ERROR. */
export async function readPartialFile(file: string, maxBytes = PARTIAL_MAX_BYTES): Promise<PartialReport> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') invalid(file, 'is a directory');
    throw new ParamscopeError(`cannot open ${file} (${code ?? String(error)})`, { code: code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'IO_ERROR', file, cause: error });
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) invalid(file, 'is a directory');
    if (!stat.isFile()) invalid(file, 'is not a regular file');
    if (stat.size > maxBytes)
      throw new ParamscopeError(`${file}: ${stat.size} bytes, more than the ${maxBytes} a partial report may take`, { code: 'INPUT_TOO_LARGE', file });
    // Read at most maxBytes + 1: a file that grew since the stat is still caught.
    const buffer = Buffer.alloc(Math.min(stat.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) break;
    }
    if (length > maxBytes) throw new ParamscopeError(`${file}: more than the ${maxBytes} bytes a partial report may take`, { code: 'INPUT_TOO_LARGE', file });
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, length));
    } catch {
      return invalid(file, 'is not UTF-8 text');
    }
    return parsePartial(text, file);
  } finally {
    await handle.close();
  }
}

/** Writes `partial` into `dir` (created when missing) as part-<i>-of-<N>.json, atomically; returns its path. */
export async function writePartialFile(dir: string, partial: PartialReport): Promise<string> {
  const target = path.join(path.resolve(dir), partialFileName(partial.shard));
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.paramscope-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  // A second SIGINT / SIGTERM exits at once: the temporary goes with it (lib/engine/interrupt.ts).
  const unhook = onInterrupt(() => fs.rmSync(temp, { force: true }));
  try {
    await fs.promises.mkdir(path.dirname(target), { recursive: true });
    await writeDurably(temp, serializePartial(partial));
    await fs.promises.rename(temp, target);
    return target;
  } catch (error) {
    await fs.promises.rm(temp, { force: true }).catch(() => undefined);
    const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    throw new ParamscopeError(`cannot write the partial report ${target} (${reason}); nothing was written under that name`, { code: 'WRITE_FAILED', file: target, cause: error });
  } finally {
    unhook();
  }
}

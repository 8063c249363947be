/**
 * Writes a report set (the files of `--out <dir>`) all or nothing, by switching directories:
 *  1. the new files are written into a fresh hidden directory beside the target
 *     (`.<dir>.paramscope-<pid>-<hex>.new`), each fsynced;
 *  2. when the target exists (holding only an earlier report set: output-directory.ts), it is renamed
 *     aside (`….old`), the new directory renamed into its place, and the old one removed;
 *     otherwise the new directory is renamed into place.
 * A rename is atomic, so the target always holds either the whole old set or the whole new one. Any
 * failure in between undoes what was done (the old directory renamed back, the new one removed): the
 * error is WRITE_FAILED and the old set is intact.
 *
 * Interruptions (SIGINT / SIGTERM under the CLI, through lib/engine/interrupt.ts): the run's AbortSignal
 * is checked between steps, and an abort undoes what was done before the interruption ends the command; a
 * hook registered with onInterrupt does the same synchronously when a second signal exits the process
 * at once. The switching renames are synchronous, so the hook always sees the state the file system is
 * in. Temporaries that a killed process left (SIGKILL, a power cut) are cleaned up by the next write
 * beside the same target: a `.new` is removed, an `.old` is put back when the target is missing.
 *
 * PARAMSCOPE_TEST_PAUSE_WRITE=<ms> pauses that long after each step (tests interrupt the writer there).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onInterrupt } from '../engine/interrupt';
import { ParamscopeError } from '../errors';
import { CACHE_ENTRY } from '../engine/cache-location';
import { checkReportDirectory, foreignEntries, isCacheEntry, isReportSetEntry, within } from './output-directory';

export interface ReportFile {
  /** A plain file name inside the set's directory. */
  name: string;
  text: string;
}

export interface WriteSetOptions {
  /** Stops the write between steps; what was done is undone. */
  signal?: AbortSignal;
}

const TEMPORARY = /^\.(.+)\.paramscope-(\d+)-[0-9a-f]+\.(new|old)$/;

async function pause(): Promise<void> {
  const ms = Number(process.env.PARAMSCOPE_TEST_PAUSE_WRITE ?? 0);
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Writes a new file (never an existing one) and fsyncs it: the first step of every all-or-nothing write. */
export async function writeDurably(file: string, text: string): Promise<void> {
  const handle = await fs.promises.open(file, 'wx', 0o644);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function syncDirectory(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some file systems refuse to fsync a directory; the renames are still atomic.
  }
}

/** Moves the result cache (--out's `cache/`) from one set directory to another when `from` has one and `to` none. */
function moveCache(from: string, to: string): boolean {
  const source = path.join(from, CACHE_ENTRY);
  try {
    if (!isCacheEntry(CACHE_ENTRY, fs.lstatSync(source)) || fs.existsSync(path.join(to, CACHE_ENTRY))) return false;
  } catch {
    return false;
  }
  fs.renameSync(source, path.join(to, CACHE_ENTRY));
  return true;
}

/** Removes a report directory: its report files, then the directory (never a file that is not one). */
function removeSetDirectory(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    if (isReportSetEntry(name, fs.lstatSync(file))) fs.unlinkSync(file);
  }
  fs.rmdirSync(dir);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Cleans up what a killed writer left beside `target`: `.new` removed, `.old` put back or removed. */
function recoverStale(target: string): void {
  const parent = path.dirname(target);
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const m = TEMPORARY.exec(name);
    if (!m || m[1] !== path.basename(target) || alive(Number(m[2]))) continue;
    const stale = path.join(parent, name);
    try {
      if (m[3] === 'old' && !fs.existsSync(target)) fs.renameSync(stale, target);
      else {
        if (fs.existsSync(target)) moveCache(stale, target); // a writer killed while it carried the cache
        removeSetDirectory(stale);
      }
    } catch {
      // Left for the user: it holds something that is not ours, or it went away meanwhile.
    }
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new ParamscopeError('the report write was aborted', { code: 'ABORTED' });
}

/**
 * Writes `files` as the report set in `dir` (checked again with checkReportDirectory: it may have changed
 * while the run computed). Returns the written paths. Throws OUTPUT_INVALID, WRITE_FAILED, or the
 * signal's reason when aborted; in every case the directory holds its old set, untouched.
 */
export async function writeReportSet(dir: string, files: readonly ReportFile[], options: WriteSetOptions = {}): Promise<string[]> {
  const names = new Set<string>();
  for (const f of files) {
    if (!f.name || f.name !== path.basename(f.name) || f.name === '.' || f.name === '..' || names.has(f.name) || !isReportSetEntry(f.name, { isFile: () => true } as fs.Stats))
      throw new ParamscopeError(`report file name ${JSON.stringify(f.name)} is not a plain, unique report file name`, { code: 'INVALID_ARGUMENT' });
    names.add(f.name);
  }
  let target = checkReportDirectory(dir);
  const parent = path.dirname(target);
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const fresh = path.join(parent, `.${path.basename(target)}.paramscope-${tag}.new`);
  const aside = path.join(parent, `.${path.basename(target)}.paramscope-${tag}.old`);
  // 'writing': fresh is being filled; 'aside': the old set is at `aside`; 'placed': fresh is the target.
  let state: 'idle' | 'writing' | 'aside' | 'placed' | 'done' = 'idle';
  let createdParent: string | undefined;
  // Whether the old set's result cache was moved into the new directory (and must go back on undo).
  let cacheCarried = false;

  /** Undoes what was done so far (synchronous: also the interrupt hook). */
  const undo = () => {
    if (state === 'aside') {
      if (!fs.existsSync(target)) fs.renameSync(aside, target);
      state = 'writing';
    }
    if (state === 'writing') {
      if (cacheCarried && fs.existsSync(target)) moveCache(fresh, target);
      fs.rmSync(fresh, { recursive: true, force: true });
    }
    if (state === 'placed') {
      // The new set is complete and in place: only the old one is left to remove.
      if (fs.existsSync(aside)) removeSetDirectory(aside);
      state = 'done';
      return;
    }
    if (createdParent) removeCreatedParents(createdParent, parent);
    state = 'done';
  };
  const unhook = onInterrupt(() => undo());
  const step = async () => {
    await pause();
    if (options.signal?.aborted) throw abortReason(options.signal);
  };
  try {
    recoverStale(target);
    createdParent = fs.mkdirSync(parent, { recursive: true });
    fs.mkdirSync(fresh, { mode: 0o755 });
    state = 'writing';
    await step();
    for (const f of files) {
      await writeDurably(path.join(fresh, f.name), f.text);
      await step();
    }
    syncDirectory(fresh);
    if (fs.existsSync(target)) {
      target = fs.realpathSync(target);
      const foreign = foreignEntries(target);
      if (foreign.length) throw new ParamscopeError(`--out ${target}: files that are not part of a paramscope report appeared while the run computed (${foreign.slice(0, 3).join(', ')}); the report was not written`, { code: 'OUTPUT_INVALID', file: target });
      cacheCarried = moveCache(target, fresh); // the cache stays with the results (docs/cache.md)
      fs.renameSync(target, aside);
      state = 'aside';
      await step();
    }
    fs.renameSync(fresh, target);
    state = 'placed';
    syncDirectory(parent);
    await step();
    if (fs.existsSync(aside)) removeSetDirectory(aside);
    state = 'done';
    return files.map((f) => path.join(target, f.name));
  } catch (error) {
    const placed = state === 'placed';
    try {
      undo();
    } catch {
      // Undoing is best effort; the error below says what failed first.
    }
    if (placed) return files.map((f) => path.join(target, f.name)); // only the old set's removal failed
    if (error instanceof ParamscopeError || (options.signal?.aborted && error === options.signal.reason)) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new ParamscopeError(`cannot write the report set to ${target}: ${reason}; no report was written and an earlier one is unchanged`, { code: 'WRITE_FAILED', file: target, cause: error });
  } finally {
    unhook();
  }
}

/** Removes the directories mkdir created for the set's parent, deepest first, while they are empty. */
function removeCreatedParents(first: string, deepest: string): void {
  for (let dir = deepest; within(dir, first); dir = path.dirname(dir)) {
    try {
      fs.rmdirSync(dir);
    } catch {
      return;
    }
    if (dir === first) return;
  }
}

/**
 * The directory a command writes its report set into (`--out <dir>`), checked before any work is done.
 *
 * The rule: the directory belongs to paramscope. It is new (its missing parents are created), empty, or
 * holds an earlier report set — the files `report.json`, `pairs.csv`, `summary.md`, `report.html`, each
 * possibly prefixed by a fine-tune's name (`compare`), and the hidden temporaries of an earlier version.
 * Anything else in it makes it invalid: a report set is replaced as a whole by renaming directories
 * (report-set.ts), and other files would be replaced with it. So `--out` is refused (OUTPUT_INVALID,
 * before anything is computed or written) when it is
 *  - empty, or names the working directory or one holding it (it cannot be renamed away from a shell);
 *  - not a directory (a regular file, /dev/null, a FIFO, a socket), or under something that is not one;
 *  - a directory holding files that are not part of a report set (they are named in the message);
 *  - in a place where no directory can be created (its parent, or its nearest existing ancestor, does not
 *    take a new entry: permissions, a read-only file system, /proc): tried with a probe directory that is
 *    removed at once.
 * A symbolic link to a directory is followed: the set replaces the directory it points to.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CACHE_ENTRY } from '../engine/cache-location';
import { ParamscopeError } from '../errors';
import { isSetFileName } from './set-files';

/** Temporaries the per-file writer of earlier versions left (`.report.json.paramscope-<pid>-<hex>.tmp`). */
const LEGACY_TEMPORARY = /^\..+\.paramscope-\d+-[0-9a-f]+\.(?:tmp|old)$/;

/** Whether an entry of a report directory belongs to a report set (and may be replaced with it). */
export function isReportSetEntry(name: string, entry: fs.Stats): boolean {
  return entry.isFile() && (isSetFileName(name) || LEGACY_TEMPORARY.test(name));
}

/** Whether an entry of a report directory is the result cache, which the set carries over when replaced. */
export function isCacheEntry(name: string, entry: fs.Stats): boolean {
  return name === CACHE_ENTRY && entry.isDirectory();
}

function invalid(dir: string, why: string): never {
  throw new ParamscopeError(`--out ${dir}: ${why}; nothing was computed or written`, { code: 'OUTPUT_INVALID', file: dir });
}

function kindOf(stat: fs.Stats): string {
  if (stat.isFile()) return 'a regular file';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  return 'not a directory';
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') return null; // the ancestor walk names the file in the way
    throw error;
  }
}

/** The entries of `dir` that are not part of a report set. */
export function foreignEntries(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => {
    const stat = fs.lstatSync(path.join(dir, name));
    return !isReportSetEntry(name, stat) && !isCacheEntry(name, stat);
  });
}

/** Whether `inner` is `outer` or inside it. */
export function within(inner: string, outer: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Creates and removes a probe directory in `dir`: whether a new entry can be made there. */
function probe(dir: string, target: string): void {
  let made: string | undefined;
  try {
    made = fs.mkdtempSync(path.join(dir, '.paramscope-probe-'));
  } catch (error) {
    invalid(target, `no directory can be created in ${dir} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  } finally {
    if (made) fs.rmdirSync(made);
  }
}

/**
 * Checks the report directory `dir` before any work (the rule at the top of this file) and returns it
 * resolved (through a symbolic link to a directory). Throws OUTPUT_INVALID.
 */
export function checkReportDirectory(dir: unknown): string {
  if (typeof dir !== 'string' || dir.length === 0) invalid(JSON.stringify(dir ?? ''), 'expected a directory path, got an empty one');
  if (dir.includes('\0')) invalid(JSON.stringify(dir), 'a path with a NUL byte');
  let target = path.resolve(dir);
  const stat = (() => {
    try {
      return statOrNull(target);
    } catch (error) {
      return invalid(target, `cannot be examined (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  })();
  if (stat) {
    if (!stat.isDirectory()) invalid(target, `is ${kindOf(stat)}, not a directory`);
    target = fs.realpathSync(target);
    if (within(process.cwd(), target)) invalid(target, 'is the working directory or holds it, which cannot be replaced in one step: name a directory of its own');
    const foreign = foreignEntries(target);
    if (foreign.length)
      invalid(target, `holds ${foreign.length} entr${foreign.length === 1 ? 'y' : 'ies'} that ${foreign.length === 1 ? 'is' : 'are'} not part of a paramscope report (${foreign.slice(0, 3).map((n) => JSON.stringify(n)).join(', ')}${foreign.length > 3 ? ', …' : ''}): --out takes a directory of its own (new, empty, or holding an earlier report)`);
    probe(path.dirname(target), target);
    return target;
  }
  // Missing: no component of the path may be something other than a directory, and the nearest existing
  // ancestor must take a new entry.
  let current = path.parse(target).root;
  let nearest = current;
  for (const part of path.relative(current, target).split(path.sep)) {
    current = path.join(current, part);
    const found = (() => {
      try {
        return fs.statSync(current);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return null;
        return invalid(target, `cannot examine ${current} (${code ?? String(error)})`);
      }
    })();
    if (found === null) break;
    if (!found.isDirectory()) invalid(target, `is under ${current}, which is ${kindOf(found)}`);
    nearest = current;
  }
  probe(nearest, target);
  return target;
}

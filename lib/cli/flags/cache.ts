/** --cache <dir> / --no-cache on the commands that compute spectra (docs/cache.md). */
import * as fs from 'node:fs';
import { ResultCache } from '../../engine/cache';
import { defaultCacheDir } from '../../engine/cache-location';
import { invalidArgument, ParamscopeError } from '../../errors';
import type { CommandContext } from '../context';

export const cacheFlagHelp = `  --cache <dir>         keep every matrix's result in <dir> and reuse it: an interrupted run resumes
                        where it stopped (default: $PARAMSCOPE_CACHE_DIR, else <out>/cache with --out,
                        else $XDG_CACHE_HOME/paramscope or ~/.cache/paramscope; docs/cache.md)
  --no-cache            compute every matrix, store nothing`;

export const cacheFlagOptions = { cache: { type: 'string' }, 'no-cache': { type: 'boolean' } } as const;

/**
 * The `cache` option of a command run with `values` (its --out decides the default). An explicit
 * --cache directory that cannot be created is an error (WRITE_FAILED); a default one is only noted on
 * stderr, and the run goes on without a cache.
 */
export function cacheFrom(values: Record<string, unknown>, ctx: Pick<CommandContext, 'err'>): { cache?: ResultCache } {
  if (values['no-cache']) {
    if (values.cache !== undefined) invalidArgument('--cache', 'no --no-cache as well', values.cache);
    return {};
  }
  const explicit = values.cache;
  if (explicit !== undefined && (typeof explicit !== 'string' || explicit.length === 0)) invalidArgument('--cache', 'a directory', explicit);
  const dir = typeof explicit === 'string' ? explicit : defaultCacheDir(typeof values.out === 'string' ? values.out : undefined);
  if (dir === null) return {};
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (typeof explicit === 'string') throw new ParamscopeError(`cannot use ${dir} as the result cache: ${reason}`, { code: 'WRITE_FAILED', file: dir, cause: error });
    ctx.err(`note: no result cache (cannot use ${dir}: ${reason}); pass --cache <dir> to choose one`);
    return {};
  }
  return { cache: new ResultCache(dir) };
}

/** The line a command ends with on stderr when its cache did something worth knowing: reused results, refused entries, failed writes. */
export function cacheLines(cache: ResultCache | undefined): string[] {
  if (!cache) return [];
  const c = cache.counts();
  const lines: string[] = [];
  if (c.hits > 0) lines.push(`result cache ${cache.dir}: ${c.hits} of ${c.hits + c.misses} spectra reused, ${c.misses} computed`);
  if (c.rejected > 0) lines.push(`result cache: ${c.rejected} entries were corrupt or foreign: ignored and rewritten`);
  if (c.writeErrors > 0) lines.push(`result cache: ${c.writeErrors} results could not be stored (${cache.lastWriteError ?? 'unknown error'})`);
  return lines;
}

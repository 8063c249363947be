/**
 * Where the command line keeps its result cache when not told (docs/cache.md, "Where"), in this order:
 *  1. `PARAMSCOPE_CACHE_DIR`, when set and not empty: an explicit choice (a cluster's shared scratch, so
 *     shards and resumed runs on any node share results) wins over the defaults below;
 *  2. `<out>/cache` when the command writes its reports to `--out <out>`: the cache stays with the
 *     results it made, and re-running the same command resumes it;
 *  3. `$XDG_CACHE_HOME/paramscope` when XDG_CACHE_HOME is an absolute path (the XDG base directory rule);
 *  4. `~/.cache/paramscope`;
 * or none when there is no home directory. `--cache <dir>` replaces all of these, `--no-cache` turns the
 * cache off. The library has no default: its verbs use a cache only when given `cache`.
 */
import * as os from 'node:os';
import * as path from 'node:path';

/** The cache's directory inside --out; a report set carries it over when the set is replaced (report/report-set.ts). */
export const CACHE_ENTRY = 'cache';

/** The cache directory a command uses by default, or null when there is none to use. */
export function defaultCacheDir(outDir: string | undefined, env: NodeJS.ProcessEnv = process.env): string | null {
  const explicit = env.PARAMSCOPE_CACHE_DIR;
  if (explicit) return path.resolve(explicit);
  if (outDir) return path.resolve(outDir, CACHE_ENTRY);
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'paramscope');
  let home: string;
  try {
    home = os.homedir();
  } catch {
    return null;
  }
  return home ? path.join(home, '.cache', 'paramscope') : null;
}

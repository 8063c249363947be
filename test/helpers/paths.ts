/** Where tests find things: the package root, the built entry, and the shared real-file fixtures. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const cliPath = path.join(repoRoot, 'bin', 'paramscope.js');

/** ../shared/fixtures/real beside the checkout, or null (a fresh clone has no ../shared). */
export const realFixturesDir: string | null = (() => {
  const dir = path.resolve(repoRoot, '..', 'shared', 'fixtures', 'real');
  return fs.existsSync(path.join(dir, 'REFERENCE.json')) ? dir : null;
})();

/** Prints, once per file, why a suite that needs ../shared is skipped, so the skip is visible. */
export function noteSkippedWithoutShared(suite: string): void {
  if (!realFixturesDir) console.warn(`[skip] ${suite}: ../shared/fixtures/real is absent (fresh clone); these tests need it`);
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function temporaryDirectory(prefix = 'paramscope-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

let cacheRoot: string | undefined;
let cacheRuns = 0;

/**
 * The environment of a CLI child: this process's, with a fresh, empty result cache of its own
 * (PARAMSCOPE_CACHE_DIR, docs/cache.md), so no run reads another test's results and nothing is written
 * to the home directory. `env` wins: a test that exercises the cache names its own.
 */
export function cliEnv(env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  if (!cacheRoot) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'paramscope-test-cache-'));
    cacheRoot = root;
    process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  }
  return { ...process.env, PARAMSCOPE_CACHE_DIR: path.join(cacheRoot, `run-${++cacheRuns}`), ...env };
}

/**
 * A user's install, simulated: a bin directory holding only node, npm and npx (no compiler, make or
 * python3), an environment cleared of this test run's npm and paramscope settings, and npm itself.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The build tools a source build would need; none may be reachable on the tool-less PATH. */
export const buildTools = ['g++', 'gcc', 'cc', 'c++', 'clang', 'clang++', 'make', 'gmake', 'python3', 'python'];

/** npm-cli.js of the npm running these tests (npm test, npx vitest), else of the npm on PATH. */
export function npmCli(): string {
  const fromNpm = process.env.npm_execpath;
  if (fromNpm && /npm-cli\.js$/.test(fromNpm) && fs.existsSync(fromNpm)) return fromNpm;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'npm');
    if (dir && fs.existsSync(candidate)) return fs.realpathSync(candidate);
  }
  throw new Error('npm not found: neither npm_execpath nor PATH names it');
}

/** A directory of symlinks to node, npm and npx, and nothing else: the PATH of a machine without build tools. */
export function makeToolLessBin(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const cli = npmCli();
  fs.symlinkSync(process.execPath, path.join(dir, 'node'));
  fs.symlinkSync(cli, path.join(dir, 'npm'));
  fs.symlinkSync(path.join(path.dirname(cli), 'npx-cli.js'), path.join(dir, 'npx'));
  return dir;
}

/** Whether `command -v tool` finds the tool with this PATH (asked of /bin/sh, as npm's scripts would). */
export function reachable(tool: string, pathValue: string): boolean {
  return spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { env: { PATH: pathValue }, stdio: 'ignore' }).status === 0;
}

/**
 * The environment of a fresh shell with this PATH: HOME (npm's cache and ~/.npmrc), TMPDIR, locale and
 * proxy settings kept; npm_* (this run's npm config, e.g. build_from_source), PARAMSCOPE_* (e.g.
 * PARAMSCOPE_NATIVE_PATH), CC/CXX, LIBC and CI dropped.
 */
export function cleanEnv(pathValue: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const keep = /^(HOME|USER|LOGNAME|TMPDIR|TEMP|TMP|LANG|LC_\w+|TZ|https?_proxy|no_proxy|HTTPS?_PROXY|NO_PROXY|SSL_CERT_FILE|NODE_EXTRA_CA_CERTS|JOBS)$/;
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (keep.test(key)) env[key] = value;
  return { ...env, PATH: pathValue, ...extra };
}

/** Runs bin/npm or bin/npx of a makeToolLessBin directory (its shebang finds node on the PATH given). */
export function runFromBin(bin: string, tool: 'npm' | 'npx', args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 300_000): SpawnSyncReturns<string> {
  return spawnSync(path.join(bin, tool), args, { cwd, env, encoding: 'utf8', timeout: timeoutMs });
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * runFromBin without blocking the test worker: npm installs take seconds to minutes (a source build), and
 * a worker blocked that long misses vitest's RPC deadlines.
 */
export function runFromBinAsync(bin: string, tool: 'npm' | 'npx', args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 300_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(bin, tool), args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

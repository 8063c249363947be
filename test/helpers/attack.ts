/**
 * Running an attack on the CLI in a child process with a time limit, and checking the promise of
 * docs/security.md: no crash, no hang, exit code 2, one line on stderr with the stable code, no byte of
 * the hostile file echoed. The limit is a hang detector (the child is killed with SIGKILL, which even a
 * process stuck in a blocking read cannot ignore), not a performance bound.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'vitest';
import { cliPath } from './paths';

/** Generous: far above what any of the attacks takes when handled, far below "forever". */
export const ATTACK_LIMIT_MS = 60_000;

export interface AttackResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the child had to be killed at the limit. */
  hung: boolean;
}

/**
 * A result cache of the run's own, removed after it: a spectrum cached by an earlier run (in the user's
 * ~/.cache) must not stand in for the computation an attack is meant to reach.
 */
function withOwnCache<T>(run: (env: NodeJS.ProcessEnv) => T, env: NodeJS.ProcessEnv = {}): T {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'paramscope-attack-cache-'));
  try {
    return run({ ...process.env, PARAMSCOPE_CACHE_DIR: cache, ...env });
  } finally {
    fs.rmSync(cache, { recursive: true, force: true });
  }
}

/** `stdoutTo`: a file that takes stdout (for outputs of hundreds of megabytes); `stdout` is then empty. */
export function runAttack(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; limitMs?: number; stdoutTo?: string } = {}): AttackResult {
  return withOwnCache((env) => runAttackIn(args, env, options), options.env);
}

function runAttackIn(args: string[], env: NodeJS.ProcessEnv, options: { cwd?: string; limitMs?: number; stdoutTo?: string }): AttackResult {
  const fd = options.stdoutTo === undefined ? undefined : fs.openSync(options.stdoutTo, 'w');
  try {
    const result = spawnSync(process.execPath, [cliPath, ...args], {
      cwd: options.cwd,
      env,
      encoding: 'utf8',
      timeout: options.limitMs ?? ATTACK_LIMIT_MS,
      killSignal: 'SIGKILL',
      maxBuffer: 256 * 2 ** 20,
      stdio: ['ignore', fd ?? 'pipe', 'pipe'],
    });
    const hung = (result.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
    return { status: result.status, signal: result.signal, stdout: result.stdout ?? '', stderr: result.stderr ?? '', hung };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * runAttack without blocking the test worker (for children that run for minutes: a worker blocked in
 * spawnSync that long misses vitest's own heartbeats).
 */
export function runAttackAsync(args: string[], options: { limitMs?: number; stdoutTo?: string } = {}): Promise<AttackResult> {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'paramscope-attack-cache-'));
  return new Promise<AttackResult>((resolve) => {
    const fd = options.stdoutTo === undefined ? undefined : fs.openSync(options.stdoutTo, 'w');
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', fd ?? 'pipe', 'pipe'], env: { ...process.env, PARAMSCOPE_CACHE_DIR: cache } });
    let stdout = '';
    let stderr = '';
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, options.limitMs ?? ATTACK_LIMIT_MS);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-100_000)));
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      if (fd !== undefined) fs.closeSync(fd);
      resolve({ status, signal, stdout, stderr, hung });
    });
  }).finally(() => fs.rmSync(cache, { recursive: true, force: true }));
}

/**
 * The attack was refused the promised way: exit 2, one stderr line carrying `code`, none of `secrets`
 * (bytes of the hostile file) anywhere in the output. Returns the line.
 */
export function expectRefused(result: AttackResult, code: string, secrets: readonly string[] = []): string {
  const what = `exit ${result.status}, signal ${result.signal}${result.hung ? ' (hung: killed at the limit)' : ''}, stderr: ${result.stderr.slice(0, 2000)}`;
  expect(result.hung, what).toBe(false);
  expect(result.signal, what).toBeNull();
  expect(result.status, what).toBe(2);
  const lines = result.stderr.split('\n').filter((l) => l !== '');
  expect(lines, what).toHaveLength(1);
  const line = lines[0] as string;
  expect(line, what).toContain(`: ${code}: `);
  expect(line).not.toMatch(/internal error|TypeError|RangeError|SyntaxError|\n\s+at /);
  for (const secret of secrets) {
    expect(result.stderr, `stderr echoes ${JSON.stringify(secret)}`).not.toContain(secret);
    expect(result.stdout, `stdout echoes ${JSON.stringify(secret)}`).not.toContain(secret);
  }
  return line;
}

/** The run finished on its own with exit code 0. */
export function expectSucceeded(result: AttackResult): void {
  const what = `exit ${result.status}, signal ${result.signal}${result.hung ? ' (hung)' : ''}, stderr: ${result.stderr.slice(0, 2000)}`;
  expect(result.hung, what).toBe(false);
  expect(result.signal, what).toBeNull();
  expect(result.status, what).toBe(0);
}

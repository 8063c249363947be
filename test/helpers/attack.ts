/**
 * Running an attack on the CLI in a child process with a time limit, and checking the promise of
 * docs/security.md: no crash, no hang, exit code 2, one line on stderr with the stable code, no byte of
 * the hostile file echoed. The limit is a hang detector (the child is killed with SIGKILL, which even a
 * process stuck in a blocking read cannot ignore), not a performance bound.
 */
import { spawnSync } from 'node:child_process';
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

export function runAttack(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; limitMs?: number } = {}): AttackResult {
  const result = spawnSync(process.execPath, [cliPath, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: options.limitMs ?? ATTACK_LIMIT_MS,
    killSignal: 'SIGKILL',
    maxBuffer: 256 * 2 ** 20,
  });
  const hung = (result.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  return { status: result.status, signal: result.signal, stdout: result.stdout ?? '', stderr: result.stderr ?? '', hung, };
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

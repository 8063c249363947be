/** Runs the built CLI in a child process and captures its streams and exit code. */
import { spawnSync } from 'node:child_process';
import { cliEnv, cliPath } from './paths';

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): CliResult {
  const result = spawnSync(process.execPath, [cliPath, ...args], {
    env: cliEnv(env),
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 512 * 2 ** 20, // a 200,000-row table or JSON document is tens of MB
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

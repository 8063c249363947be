/**
 * What the seeded fuzz tests share (test/unit/fuzz.test.ts for the reader, fuzz-adapters.test.ts for
 * adapters and index files): a generator per iteration, the addon path handed to the bundled children,
 * running a child over a list of inputs with a hang detector, and bundling a child script with esbuild.
 * A child prints `S <index>` before an input and `R <json>` after it, so the input in flight is known
 * when it dies or hangs.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { seededRandom } from '../../lib/results/random';
import { repoRoot } from './paths';

/** A child that reports nothing for this long is considered hung (a hang detector, not a performance bound). */
export const STALL_MS = 15_000;

/** Deterministic randomness: every iteration has its own generator, so one can be regenerated alone. */
export class Rng {
  readonly next: () => number;
  constructor(seed: number, iteration: number) {
    this.next = seededRandom(Math.imul(seed, 0x9e3779b1) ^ Math.imul(iteration + 1, 0x85ebca6b));
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

export interface ChildReport {
  index: number;
  outcome: 'ok' | 'error' | 'bad';
  code?: string;
  detail?: string;
}

/** How many inputs read correctly, and the error codes of the rest by count (most frequent first, for the log line). */
export function tallyOutcomes(results: Iterable<ChildReport>): { ok: number; codes: Map<string, number>; byCode: string } {
  const codes = new Map<string, number>();
  let ok = 0;
  for (const r of results) {
    if (r.outcome === 'ok') ++ok;
    else if (r.code) codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
  }
  return { ok, codes, byCode: JSON.stringify(Object.fromEntries([...codes].sort((a, b) => b[1] - a[1]))) };
}

export interface Failure {
  iteration: number;
  kind: 'crash' | 'hang' | 'bad outcome' | 'child error' | 'missing result';
  detail: string;
}


export function addonPath(): string {
  if (process.env.PARAMSCOPE_NATIVE_PATH) return path.resolve(process.env.PARAMSCOPE_NATIVE_PATH);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node-gyp-build') as { path(dir: string): string }).path(repoRoot);
}

/** Runs one child over `inputs`; resolves with the results it reported and, if it died or hung, why. */
export function runChild<R extends ChildReport>(script: string, listFile: string, env: NodeJS.ProcessEnv, stallMs = STALL_MS): Promise<{ results: R[]; inFlight?: number; failure?: Failure['kind']; detail: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, listFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const results: R[] = [];
    let inFlight: number | undefined;
    let buffered = '';
    let stderr = '';
    let hung = false;
    let watchdog = setTimeout(() => { hung = true; child.kill('SIGKILL'); }, stallMs);
    const progress = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => { hung = true; child.kill('SIGKILL'); }, stallMs);
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.startsWith('S ')) inFlight = Number(line.slice(2));
        else if (line.startsWith('R ')) {
          results.push(JSON.parse(line.slice(2)) as R);
          inFlight = undefined;
        }
        progress();
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-4000); });
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      if (hung) resolve({ results, inFlight, failure: 'hang', detail: `no progress for ${stallMs} ms; stderr: ${stderr.trim()}` });
      else if (signal) resolve({ results, inFlight, failure: 'crash', detail: `child killed by ${signal}; stderr: ${stderr.trim()}` });
      else if (code !== 0) resolve({ results, inFlight, failure: 'child error', detail: `child exited with ${code}; stderr: ${stderr.trim()}` });
      else resolve({ results, detail: '' });
    });
  });
}


/** Bundles a TypeScript child (with the library) into one CommonJS file that plain node runs. */
export async function bundleChild(entry: string, outfile: string): Promise<void> {
  const esbuild = await import('esbuild');
  esbuild.buildSync({ entryPoints: [path.join(repoRoot, entry)], bundle: true, platform: 'node', format: 'cjs', target: 'node18', outfile, logLevel: 'silent' });
}

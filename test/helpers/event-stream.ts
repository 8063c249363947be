/**
 * Reading and checking event streams (docs/events.md): the CLI's --jsonl read line by line while the
 * child runs, every event checked against the committed docs/events.schema.json (closed: no undocumented
 * field), the stream's grammar (numbering, plan first, exactly one terminal event last), and events
 * reduced to what does not depend on timing, to compare two runs.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import type { RunEvent } from '../../lib/report/events';
import { validate } from './json-schema';
import { cliEnv, cliPath, repoRoot } from './paths';

export const eventsSchema = JSON.parse(fs.readFileSync(path.join(repoRoot, 'docs', 'events.schema.json'), 'utf8')) as Record<string, unknown>;

export interface StreamedRun {
  lines: string[];
  events: RunEvent[];
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs the CLI with `args`, parsing each stdout line as it arrives (a line that is not JSON fails the
 * test at the end); `onEvent` sees each event with the child, while it runs.
 */
export function streamCli(
  args: string[], onEvent: (event: RunEvent, child: ChildProcess) => void = () => undefined, timeoutMs = 120_000, env: NodeJS.ProcessEnv = {},
): Promise<StreamedRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv(env) });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const lines: string[] = [];
    const events: RunEvent[] = [];
    let stderr = '';
    let failure: unknown;
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const rl = readline.createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      lines.push(line);
      try {
        const event = JSON.parse(line) as RunEvent;
        events.push(event);
        onEvent(event, child);
      } catch (error) {
        failure ??= new Error(`stdout line ${lines.length} is not JSON: ${JSON.stringify(line.slice(0, 200))} (${String(error)})`);
      }
    });
    let exit: [number | null, NodeJS.Signals | null] | undefined;
    let closed = false;
    const finish = () => {
      if (!exit || !closed) return;
      clearTimeout(timer);
      if (failure) reject(failure);
      else resolve({ lines, events, status: exit[0], signal: exit[1], stderr });
    };
    child.on('exit', (code, signal) => {
      exit = [code, signal];
      finish();
    });
    rl.on('close', () => {
      closed = true;
      finish();
    });
    child.on('error', reject);
  });
}

/** Schema errors of each event, "#seq: error". */
export function schemaErrors(events: readonly unknown[]): string[] {
  return events.flatMap((e, i) => validate(e, eventsSchema, { closed: true }).map((error) => `#${i}: ${error}`));
}

/**
 * The stream's grammar: seq 0, 1, 2, …; the same v everywhere; plan first (unless the run failed before
 * planning); exactly one terminal event (a summary or a run error without `run`), last.
 */
export function grammarErrors(events: readonly RunEvent[]): string[] {
  const errors: string[] = [];
  events.forEach((e, i) => {
    if (e.seq !== i) errors.push(`event ${i} has seq ${e.seq}`);
    if (e.v !== 1) errors.push(`event ${i} has v ${e.v}`);
  });
  const terminal = (e: RunEvent) => e.run === undefined && (e.type === 'summary' || (e.type === 'error' && e.scope === 'run'));
  const terminals = events.filter(terminal);
  if (terminals.length !== 1) errors.push(`${terminals.length} terminal events`);
  if (events.length && !terminal(events[events.length - 1] as RunEvent)) errors.push('the last event is not terminal');
  const first = events[0];
  if (first && first.type !== 'plan' && !(events.length === 1 && first.type === 'error')) errors.push(`the first event is ${first.type}`);
  return errors;
}

const TIMING = new Set(['t', 'seq', 'seconds', 'startedAt', 'createdAt']);

/** The events without progress (their number depends on timing) and without timing fields (seq included). */
export function withoutTimings(events: readonly RunEvent[]): unknown[] {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).filter(([k]) => !TIMING.has(k)).map(([k, v]) => [k, strip(v)]));
    return value;
  };
  return events.filter((e) => e.type !== 'progress').map(strip);
}

/**
 * `--shard` and `merge` through the CLI, in child processes with time limits: the schedulers'
 * environments (`--shard auto` under a Slurm array task and a Kubernetes Indexed Job), partials written
 * side by side into one --out directory, the merged report set equal to a single run's, the same shard
 * computed alike by two processes, and every refusal with its code (exit 2, one line, nothing echoed).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPartialFile } from '../../lib/report/partial-file';
import { runCli } from '../helpers/cli';
import { temporaryDirectory } from '../helpers/paths';
import { type ShardFixtures, withoutTimings, writeShardFixtures } from '../helpers/shard-fixtures';

const tmp = temporaryDirectory('paramscope-cli-shard-');
let fx: ShardFixtures;
const RUN = ['--rank', '8', '--quiet'];
/** The environment of a process outside any scheduler (the test may itself run under one). */
const CLEAN: NodeJS.ProcessEnv = Object.fromEntries(
  ['SLURM_ARRAY_TASK_ID', 'SLURM_ARRAY_TASK_COUNT', 'SLURM_ARRAY_TASK_MIN', 'SLURM_ARRAY_TASK_MAX', 'JOB_COMPLETION_INDEX', 'PARAMSCOPE_SHARD_COUNT'].map((k) => [k, undefined]),
);
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { ...CLEAN, ...env }, 60_000);
let single = '';

beforeAll(() => {
  fx = writeShardFixtures(path.join(tmp.dir, 'fixtures'));
  const r = cli(['diff', fx.base, fx.concentrated, ...RUN, '--json']);
  expect(r.status, r.stderr).toBe(0);
  single = r.stdout;
});
afterAll(() => tmp.cleanup());

/** Runs `diff --shard auto` once per environment into `dir`, then merges what is there. */
function autoShards(dir: string, envs: NodeJS.ProcessEnv[]): string {
  for (const env of envs) {
    const r = cli(['diff', fx.base, fx.concentrated, ...RUN, '--shard', 'auto', '--out', dir], env);
    expect(r.status, r.stderr).toBe(0);
  }
  const parts = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => path.join(dir, f));
  expect(parts.length).toBe(envs.length);
  const merged = cli(['merge', ...parts, '--json', '--quiet']);
  expect(merged.status, merged.stderr).toBe(0);
  return merged.stdout;
}

describe('--shard auto', () => {
  it('under a Slurm array (SLURM_ARRAY_TASK_ID / _COUNT): three tasks, merged, equal the single run', () => {
    const dir = path.join(tmp.dir, 'slurm');
    const merged = autoShards(dir, [0, 1, 2].map((i) => ({ SLURM_ARRAY_TASK_ID: String(i), SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '0' })));
    expect(fs.readdirSync(dir).sort()).toEqual(['part-0-of-3.json', 'part-1-of-3.json', 'part-2-of-3.json']);
    expect(withoutTimings(merged)).toEqual(withoutTimings(single));
  });

  it('under a Slurm array that starts at 5 and has no _COUNT (--array=5-8: MIN and MAX)', () => {
    const dir = path.join(tmp.dir, 'slurm-offset');
    const merged = autoShards(dir, [5, 6, 7, 8].map((i) => ({ SLURM_ARRAY_TASK_ID: String(i), SLURM_ARRAY_TASK_MIN: '5', SLURM_ARRAY_TASK_MAX: '8' })));
    expect(fs.readdirSync(dir).sort()).toEqual([0, 1, 2, 3].map((i) => `part-${i}-of-4.json`));
    expect(withoutTimings(merged)).toEqual(withoutTimings(single));
  });

  it('under a Kubernetes Indexed Job (JOB_COMPLETION_INDEX + PARAMSCOPE_SHARD_COUNT)', () => {
    const dir = path.join(tmp.dir, 'kube');
    const merged = autoShards(dir, [0, 1].map((i) => ({ JOB_COMPLETION_INDEX: String(i), PARAMSCOPE_SHARD_COUNT: '2' })));
    expect(withoutTimings(merged)).toEqual(withoutTimings(single));
  });
});

describe('merge --out', () => {
  it('writes every report file, each equal to the single run\'s (JSON apart from timings; CSV and Markdown alike)', () => {
    const parts = path.join(tmp.dir, 'parts-out');
    for (const i of [0, 1, 2, 3, 4]) expect(cli(['diff', fx.base, fx.concentrated, ...RUN, '--shard', `${i}/5`, '--out', parts]).status).toBe(0);
    const merged = cli(['merge', ...fs.readdirSync(parts).map((f) => path.join(parts, f)), '--out', path.join(tmp.dir, 'merged-report'), '--quiet']);
    expect(merged.status, merged.stderr).toBe(0);
    expect(cli(['diff', fx.base, fx.concentrated, ...RUN, '--out', path.join(tmp.dir, 'single-report')]).status).toBe(0);
    const read = (dir: string, f: string) => fs.readFileSync(path.join(tmp.dir, dir, f), 'utf8');
    expect(fs.readdirSync(path.join(tmp.dir, 'merged-report')).sort()).toEqual(fs.readdirSync(path.join(tmp.dir, 'single-report')).sort());
    expect(withoutTimings(read('merged-report', 'report.json'))).toEqual(withoutTimings(read('single-report', 'report.json')));
    // The CSV has no timings: identical.
    expect(read('merged-report', 'pairs.csv')).toBe(read('single-report', 'pairs.csv'));
  });
});

describe('determinism', () => {
  it('two processes compute the same shard alike: plan identity, covered matrices, results', () => {
    const a = cli(['diff', fx.base, fx.concentrated, ...RUN, '--shard', '1/3', '--json']);
    const b = cli(['diff', fx.base, fx.concentrated, ...RUN, '--shard', '1/3', '--json', '--threads', '1']);
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    const pa = JSON.parse(a.stdout), pb = JSON.parse(b.stdout);
    expect(pa.plan).toEqual(pb.plan);
    expect(pa.runs[0].covers).toEqual(pb.runs[0].covers);
    expect(pa.runs[0].covers.length).toBeGreaterThan(0);
    expect(withoutTimings(a.stdout)).toEqual(withoutTimings(b.stdout));
  });
});

/** A failure: exit 2, one stderr line with the code, and none of `secret` in it. */
function refused(r: ReturnType<typeof cli>, code: string, ...fragments: string[]): string {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr).toContain(code);
  for (const f of fragments) expect(r.stderr).toContain(f);
  expect(r.stderr.trim().split('\n').length).toBe(1);
  return r.stderr;
}

describe('refusals', () => {
  let parts: string[] = [];
  beforeAll(() => {
    const dir = path.join(tmp.dir, 'parts-refusals');
    for (const i of [0, 1, 2]) expect(cli(['diff', fx.base, fx.concentrated, ...RUN, '--shard', `${i}/3`, '--out', dir]).status).toBe(0);
    parts = [0, 1, 2].map((i) => path.join(dir, `part-${i}-of-3.json`));
  });

  it.each([['3/3'], ['-1/3'], ['1/0'], ['a/b'], ['1/3/5'], ['0.5/2'], ['1/1000001']])('SHARD_INVALID for --shard %s, before any work', (value) => {
    refused(cli(['diff', fx.base, fx.concentrated, ...RUN, `--shard=${value}`, '--json']), 'SHARD_INVALID');
  });

  it.each([
    [{}, 'neither a Slurm array task'],
    [{ SLURM_ARRAY_TASK_ID: '2' }, 'SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MAX'],
    [{ SLURM_ARRAY_TASK_ID: 'x', SLURM_ARRAY_TASK_COUNT: '3' }, 'SLURM_ARRAY_TASK_ID="x"'],
    [{ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '3' }, 'SLURM_ARRAY_TASK_ID="3"'],
    [{ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '2', SLURM_ARRAY_TASK_MAX: '4' }, 'below SLURM_ARRAY_TASK_MIN'],
    [{ JOB_COMPLETION_INDEX: '0' }, 'PARAMSCOPE_SHARD_COUNT'],
    [{ JOB_COMPLETION_INDEX: '4', PARAMSCOPE_SHARD_COUNT: '4' }, 'JOB_COMPLETION_INDEX="4"'],
  ] as Array<[NodeJS.ProcessEnv, string]>)('SHARD_INVALID for --shard auto in %o, with the values', (env, fragment) => {
    refused(cli(['diff', fx.base, fx.concentrated, ...RUN, '--shard', 'auto', '--json'], env), 'SHARD_INVALID', fragment);
  });

  it('--shard without --json or --out says where a partial goes', () => {
    refused(cli(['diff', fx.base, fx.concentrated, ...RUN, '--shard', '0/2']), 'INVALID_ARGUMENT', '--json');
  });

  it('a shard\'s --out follows the report-directory rule before any work (a file, someone else\'s files: OUTPUT_INVALID)', () => {
    const file = path.join(tmp.dir, 'not-a-dir');
    fs.writeFileSync(file, 'x');
    refused(cli(['diff', fx.base, fx.concentrated, ...RUN, '--shard', '0/2', '--out', file]), 'OUTPUT_INVALID', 'not a directory');
    const foreign = path.join(tmp.dir, 'someone-elses');
    fs.mkdirSync(foreign);
    fs.writeFileSync(path.join(foreign, 'notes.txt'), 'mine');
    refused(cli(['diff', fx.base, fx.concentrated, ...RUN, '--shard', '0/2', '--out', foreign]), 'OUTPUT_INVALID', 'notes.txt');
    expect(fs.readdirSync(foreign)).toEqual(['notes.txt']);
  });

  it('the weights comparison (analyze --out, compare --weights) is not sharded: --shard is refused before any work', () => {
    const out = path.join(tmp.dir, 'weights-shard');
    refused(cli(['analyze', fx.base, fx.concentrated, '--out', out, '--shard', '0/2']), 'INVALID_ARGUMENT', '--shard');
    refused(cli(['compare', '--weights', fx.base, fx.concentrated, '--out', out, '--shard', '0/2']), 'INVALID_ARGUMENT', '--shard');
    expect(fs.existsSync(out)).toBe(false);
  });

  it('MERGE_PLAN_MISMATCH names both files and both plans', () => {
    const other = path.join(tmp.dir, 'other-plan.json');
    const r = cli(['diff', fx.base, fx.concentrated, '--rank', '9', '--quiet', '--shard', '1/3', '--json']);
    fs.writeFileSync(other, r.stdout);
    const a = JSON.parse(fs.readFileSync(parts[0] as string, 'utf8')).plan.id, b = JSON.parse(r.stdout).plan.id;
    refused(cli(['merge', parts[0] as string, other, parts[2] as string]), 'MERGE_PLAN_MISMATCH', parts[0] as string, other, a, b);
  });

  it('MERGE_PLAN_MISMATCH for shards of two fine-tunes with the same headers', () => {
    const r = cli(['diff', fx.base, fx.dispersed, ...RUN, '--shard', '1/3', '--json']);
    const other = path.join(tmp.dir, 'other-tuned.json');
    fs.writeFileSync(other, r.stdout);
    refused(cli(['merge', parts[0] as string, other, parts[2] as string]), 'MERGE_PLAN_MISMATCH');
  });

  it('MERGE_DUPLICATE_SHARD names the shard and both files', () => {
    const copy = path.join(tmp.dir, 'copy-of-part-1.json');
    fs.copyFileSync(parts[1] as string, copy);
    refused(cli(['merge', ...parts, copy]), 'MERGE_DUPLICATE_SHARD', 'shard 1/3', parts[1] as string, copy);
  });

  it('MERGE_MISSING_SHARD lists the missing indices', () => {
    refused(cli(['merge', parts[1] as string]), 'MERGE_MISSING_SHARD', '2 of 3 shards missing: 0, 2');
  });

  it('MERGE_INVALID_PARTIAL for text that is not JSON, never echoing it', () => {
    const file = path.join(tmp.dir, 'not-json.json');
    fs.writeFileSync(file, 'SECRET-TOKEN-4711 {"schema": "paramscope.partial"');
    const err = refused(cli(['merge', file]), 'MERGE_INVALID_PARTIAL', file, 'not valid JSON');
    expect(err).not.toContain('SECRET-TOKEN-4711');
  });

  it('MERGE_INVALID_PARTIAL for a full report (the output of a whole run)', () => {
    const file = path.join(tmp.dir, 'full-report.json');
    fs.writeFileSync(file, single);
    refused(cli(['merge', file]), 'MERGE_INVALID_PARTIAL', 'a diff report');
  });

  it('MERGE_INVALID_PARTIAL for a truncated partial and for wrong field types, never echoing values', () => {
    const text = fs.readFileSync(parts[0] as string, 'utf8');
    const truncated = path.join(tmp.dir, 'truncated.json');
    fs.writeFileSync(truncated, text.slice(0, Math.floor(text.length / 2)));
    refused(cli(['merge', truncated, parts[1] as string, parts[2] as string]), 'MERGE_INVALID_PARTIAL', truncated);
    const doc = JSON.parse(text);
    doc.shard = { index: 'SECRET-INDEX', count: 3 };
    const typed = path.join(tmp.dir, 'typed.json');
    fs.writeFileSync(typed, JSON.stringify(doc));
    expect(refused(cli(['merge', typed]), 'MERGE_INVALID_PARTIAL', '"shard"')).not.toContain('SECRET-INDEX');
  });

  it('MERGE_INVALID_PARTIAL for an altered partial: a result that is not the one its covers name, a unit covered twice', () => {
    const doc = JSON.parse(fs.readFileSync(parts[0] as string, 'utf8'));
    const swapped = structuredClone(doc);
    swapped.runs[0].results.reverse();
    const file = path.join(tmp.dir, 'swapped.json');
    fs.writeFileSync(file, JSON.stringify(swapped));
    refused(cli(['merge', file, parts[1] as string, parts[2] as string]), 'MERGE_INVALID_PARTIAL');
    // Shard 0 also claims a matrix of shard 1 (with its result): covered twice.
    const one = JSON.parse(fs.readFileSync(parts[1] as string, 'utf8'));
    const stolen = one.runs[0].covers[0] as string;
    const order: string[] = doc.runs[0].order;
    const both = [...doc.runs[0].covers, stolen].sort((x: string, y: string) => order.indexOf(x) - order.indexOf(y));
    const results = both.map((n: string) => (n === stolen ? one.runs[0].results[0] : doc.runs[0].results[doc.runs[0].covers.indexOf(n)]));
    const greedy = { ...doc, runs: [{ ...doc.runs[0], covers: both, results }] };
    const file2 = path.join(tmp.dir, 'greedy.json');
    fs.writeFileSync(file2, JSON.stringify(greedy));
    refused(cli(['merge', file2, parts[1] as string, parts[2] as string]), 'MERGE_INVALID_PARTIAL', 'covered by two shards');
  });

  it('MERGE_INVALID_PARTIAL for a directory and a FIFO: the FIFO is not waited on', () => {
    refused(cli(['merge', tmp.dir]), 'MERGE_INVALID_PARTIAL', 'is a directory');
    const fifo = path.join(tmp.dir, 'partial.fifo');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      console.warn('[skip] FIFO case: mkfifo is not available');
      return;
    }
    // Nothing ever writes the FIFO: a blocking open would hang until the time limit (status null).
    refused(cli(['merge', fifo]), 'MERGE_INVALID_PARTIAL', 'not a regular file');
  });

  it('INPUT_TOO_LARGE for a partial beyond the cap, before reading it', async () => {
    await expect(readPartialFile(parts[0] as string, 1024)).rejects.toMatchObject({ code: 'INPUT_TOO_LARGE' });
    await expect(readPartialFile(parts[0] as string)).resolves.toMatchObject({ schema: 'paramscope.partial' });
  });
});

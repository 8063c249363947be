/**
 * The Slurm recipe (examples/slurm/) on a real single-node Slurm (test/helpers/slurm.ts): submit.sh
 * submits the 3-task array of paramscope-diff.sbatch and the merge job depending on it (afterok); the
 * merged report equals a single run's, timings aside. Skips, saying why, where Slurm cannot start (not
 * installed, not root); the daemons are stopped by PID afterwards, also when the test fails.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { cliPath, repoRoot } from '../helpers/paths';
import { type ShardFixtures, withoutTimings, writeShardFixtures } from '../helpers/shard-fixtures';
import { type SlurmCluster, startSlurm } from '../helpers/slurm';

const SHARDS = 3;
/** The time limit for the whole array and its merge (a few seconds of work; the scheduler adds a few more). */
const JOBS_LIMIT_MS = 240_000;

let cluster: SlurmCluster | undefined;
let skip = '';
let fx: ShardFixtures;

beforeAll(async () => {
  const started = await startSlurm();
  if ('skip' in started) {
    skip = started.skip;
    console.warn(`[skip] Slurm recipe test: ${skip}`);
    return;
  }
  cluster = started;
  fx = writeShardFixtures(path.join(cluster.dir, 'fixtures'));
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  if (cluster) fs.rmSync(cluster.dir, { recursive: true, force: true });
}, 60_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function jobState(env: NodeJS.ProcessEnv, id: string): string {
  try {
    const text = execFileSync('scontrol', ['show', 'job', id], { env, encoding: 'utf8', timeout: 10_000 });
    return /JobState=(\S+)/.exec(text)?.[1] ?? 'UNKNOWN';
  } catch {
    return 'UNKNOWN';
  }
}

describe('examples/slurm on a real Slurm', () => {
  it('a 3-task array and the dependent merge give the single run\'s report', async (ctx) => {
    if (!cluster) {
      ctx.skip(`Slurm cannot start here: ${skip.split('\n')[0]}`);
      return;
    }
    const out = path.join(cluster.dir, 'out');
    const env = {
      ...cluster.env,
      BASE: fx.base, TUNED: fx.concentrated, OUT: out, N: String(SHARDS),
      PARAMSCOPE: `${process.execPath} ${cliPath}`, PARAMSCOPE_ARGS: '--rank 8',
      // The one test node has few CPUs: one per task, so the tasks run side by side.
      SBATCH_ARGS: '--cpus-per-task=1',
    };
    const submitted = execFileSync(path.join(repoRoot, 'examples', 'slurm', 'submit.sh'), [], { env, encoding: 'utf8', timeout: 30_000 });
    const shards = /shards: (\d+)/.exec(submitted)?.[1], merge = /merge: (\d+)/.exec(submitted)?.[1];
    expect(shards, submitted).toBeDefined();
    expect(merge, submitted).toBeDefined();
    const end = Date.now() + JOBS_LIMIT_MS;
    let state = jobState(env, merge as string);
    while (!['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY'].includes(state) && Date.now() < end) {
      await sleep(1000);
      state = jobState(env, merge as string);
    }
    const logs = () => fs.existsSync(path.join(out, 'logs'))
      ? fs.readdirSync(path.join(out, 'logs')).map((f) => `--- ${f}:\n${fs.readFileSync(path.join(out, 'logs', f), 'utf8')}`).join('\n') : '(no job logs)';
    expect(state, `merge job ${merge}: ${state}\n${logs()}\n${cluster.logs()}`).toBe('COMPLETED');
    // Each task wrote its partial under its array index; the merge read them all.
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.json')).sort()).toEqual([0, 1, 2].map((i) => `part-${i}.json`));
    for (const i of [0, 1, 2]) expect(JSON.parse(fs.readFileSync(path.join(out, `part-${i}.json`), 'utf8')).shard).toEqual({ index: i, count: SHARDS });
    const single = runCli(['diff', fx.base, fx.concentrated, '--rank', '8', '--json', '--quiet']);
    expect(single.status, single.stderr).toBe(0);
    const merged = fs.readFileSync(path.join(out, 'report', 'report.json'), 'utf8');
    expect(withoutTimings(merged)).toEqual(withoutTimings(single.stdout));
    expect(fs.readdirSync(path.join(out, 'report')).sort()).toEqual(['pairs.csv', 'report.html', 'report.json', 'summary.md']);
  }, JOBS_LIMIT_MS + 60_000);
});

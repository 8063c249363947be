/**
 * A real single-node Slurm for one test file: munged with a generated key and its own socket, then
 * slurmctld -D and slurmd -D as child processes, all from a generated slurm.conf whose state, spool,
 * logs and pid files live in a temporary directory and whose ports are free ones. `stop()` ends the
 * daemons by their PIDs (SIGTERM, then SIGKILL), whatever happened. `startSlurm` returns the reason
 * instead when Slurm cannot run here (not Linux, not root, packages missing, a daemon that does not come
 * up), for the test to skip with it.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface SlurmCluster {
  dir: string;
  /** The environment for Slurm's commands (SLURM_CONF). */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
  /** The last lines of the daemons' logs, for a failure message. */
  logs(): string;
}

const TOOLS = ['munged', 'mungekey', 'slurmctld', 'slurmd', 'sbatch', 'scontrol', 'sinfo'];

function which(tool: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const file = path.join(dir, tool);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // next
    }
  }
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true or `ms` pass. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await sleep(250);
  }
  return check();
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
  if (!done) {
    child.kill('SIGKILL');
    await Promise.race([exited, sleep(5_000)]);
  }
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Starts munged, slurmctld and slurmd; the cluster, or why Slurm cannot run here. */
export async function startSlurm(): Promise<SlurmCluster | { skip: string }> {
  if (process.platform !== 'linux') return { skip: 'Slurm runs on Linux only' };
  if (process.getuid?.() !== 0) return { skip: 'starting slurmctld and slurmd needs root (SlurmUser=root)' };
  const missing = TOOLS.filter((t) => !which(t));
  if (missing.length) return { skip: `not installed: ${missing.join(', ')} (Debian: apt-get install slurmctld slurmd munge slurm-client)` };

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paramscope-slurm-'));
  for (const d of ['munge', 'socket', 'state', 'spool', 'log']) fs.mkdirSync(path.join(dir, d), { mode: d === 'munge' ? 0o700 : 0o755 });
  const children: ChildProcess[] = [];
  const stop = async () => {
    // Jobs first (their steps are slurmd's children), then the daemons in reverse order of starting.
    try {
      execFileSync(which('scancel') ?? 'scancel', ['--full', '--user=root'], { env: { ...process.env, SLURM_CONF: path.join(dir, 'slurm.conf') }, stdio: 'ignore', timeout: 10_000 });
    } catch {
      // No jobs, or no controller any more.
    }
    for (const child of [...children].reverse()) await stopProcess(child);
  };
  const logs = () => ['munged', 'slurmctld', 'slurmd'].map((d) => `--- ${d}:\n${tail(path.join(dir, 'log', `${d}.log`))}`).join('\n');
  const fail = async (why: string) => {
    const detail = logs();
    await stop();
    return { skip: `${why}\n${detail}` };
  };

  const key = path.join(dir, 'munge', 'munge.key');
  const socket = path.join(dir, 'socket', 'munge.socket');
  execFileSync(which('mungekey') as string, ['--create', `--keyfile=${key}`], { stdio: 'ignore' });
  fs.chmodSync(key, 0o400);
  const log = (name: string) => fs.openSync(path.join(dir, 'log', `${name}.log`), 'a');
  children.push(spawn(which('munged') as string, ['--foreground', '--force', `--key-file=${key}`, `--socket=${socket}`,
    `--pid-file=${path.join(dir, 'munge', 'munged.pid')}`, `--seed-file=${path.join(dir, 'munge', 'seed')}`, `--log-file=${path.join(dir, 'log', 'munged.log')}`],
  { stdio: ['ignore', log('munged'), log('munged')] }));
  if (!(await until(() => fs.existsSync(socket), 10_000))) return fail('munged did not create its socket');

  const host = os.hostname().split('.')[0] as string;
  const memoryMb = Math.floor((os.totalmem() / 2 ** 20) * 0.9);
  const [ctldPort, dPort] = [await freePort(), await freePort()];
  const conf = path.join(dir, 'slurm.conf');
  fs.writeFileSync(conf, [
    'ClusterName=paramscope-test',
    `SlurmctldHost=${host}`,
    `SlurmctldPort=${ctldPort}`,
    `SlurmdPort=${dPort}`,
    'SlurmUser=root',
    'SlurmdUser=root',
    'AuthType=auth/munge',
    'CredType=cred/munge',
    `AuthInfo=socket=${socket}`,
    `StateSaveLocation=${path.join(dir, 'state')}`,
    `SlurmdSpoolDir=${path.join(dir, 'spool')}`,
    `SlurmctldPidFile=${path.join(dir, 'slurmctld.pid')}`,
    `SlurmdPidFile=${path.join(dir, 'slurmd.pid')}`,
    `SlurmctldLogFile=${path.join(dir, 'log', 'slurmctld.log')}`,
    `SlurmdLogFile=${path.join(dir, 'log', 'slurmd.log')}`,
    // No cgroups in a container: processes tracked by parent PID, no task binding.
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_CPU',
    'SchedulerType=sched/backfill',
    'SchedulerParameters=sched_interval=2,bf_interval=2',
    'JobAcctGatherType=jobacct_gather/none',
    'AccountingStorageType=accounting_storage/none',
    'MpiDefault=none',
    'SwitchType=switch/none',
    'ReturnToService=2',
    'MailProg=/bin/true',
    `NodeName=${host} CPUs=${os.cpus().length} RealMemory=${memoryMb} State=UNKNOWN`,
    'PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
    '',
  ].join('\n'));
  const env = { ...process.env, SLURM_CONF: conf };
  children.push(spawn(which('slurmctld') as string, ['-D', '-f', conf], { env, stdio: ['ignore', log('slurmctld-stdio'), log('slurmctld-stdio')] }));
  children.push(spawn(which('slurmd') as string, ['-D', '-f', conf], { env, stdio: ['ignore', log('slurmd-stdio'), log('slurmd-stdio')] }));
  const idle = await until(() => {
    if (children.some((c) => c.exitCode !== null)) return true;
    try {
      return /idle/.test(execFileSync(which('sinfo') as string, ['-h', '-o', '%T'], { env, encoding: 'utf8', timeout: 5_000 }));
    } catch {
      return false;
    }
  }, 60_000);
  if (!idle || children.some((c) => c.exitCode !== null)) return fail('slurmctld / slurmd did not bring the node up (idle)');
  return { dir, env, stop, logs };
}

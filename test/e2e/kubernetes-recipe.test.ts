/**
 * The Kubernetes recipe (examples/kubernetes/). kubectl cannot check it offline — even
 * `kubectl create --dry-run=client` asks the API server for its resource list first, and
 * `--validate=false` skips the schema without removing that call — so the manifests are validated, closed
 * (no field outside it), against a subset of the Job and PersistentVolumeClaim schemas vendored from the
 * Kubernetes OpenAPI definitions (test/fixtures/kubernetes/schema.json), and against what the recipe
 * needs to hold together (an Indexed Job, PARAMSCOPE_SHARD_COUNT = completions, one volume claim, the
 * merge reading what the shards write). Then the shards' container command itself runs, once per
 * index with JOB_COMPLETION_INDEX set as Kubernetes sets it, and the merge Job's command after them:
 * the report equals a single run's.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../helpers/cli';
import { validate } from '../helpers/json-schema';
import { cliPath, repoRoot, temporaryDirectory } from '../helpers/paths';
import { type ShardFixtures, withoutTimings, writeShardFixtures } from '../helpers/shard-fixtures';

const recipe = path.join(repoRoot, 'examples', 'kubernetes');
const schema = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'kubernetes', 'schema.json'), 'utf8'));
type Manifest = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const manifest = (file: string): Manifest => parse(fs.readFileSync(path.join(recipe, file), 'utf8'));
const shards = manifest('shards-job.yaml'), mergeJob = manifest('merge-job.yaml'), pvc = manifest('pvc.yaml');
const container = (job: Manifest) => job.spec.template.spec.containers[0];
/** The manifest's errors against the vendored definition of its kind (closed: no field outside it). */
const errorsOf = (m: Manifest) => validate(m, { $defs: schema.$defs, $ref: `#/$defs/${String(m.kind)}` }, { closed: true });

describe('the manifests', () => {
  it.each(['shards-job.yaml', 'merge-job.yaml', 'pvc.yaml'])('%s is valid against the vendored schema subset (closed)', (file) => {
    expect(errorsOf(manifest(file))).toEqual([]);
    expect(validate(manifest(file), schema, { closed: true })).toEqual([]); // and the file's own oneOf of the kinds
  });

  it('the validation catches what a dry run would: a misspelt field, a wrong enum, a count that is not an integer', () => {
    const bad = structuredClone(shards);
    bad.spec.completionmode = bad.spec.completionMode;
    bad.spec.template.spec.restartPolicy = 'Sometimes';
    bad.spec.completions = 'four';
    const errors = errorsOf(bad).join('\n');
    expect(errors).toContain('completionmode');
    expect(errors).toContain('restartPolicy');
    expect(errors).toContain('completions');
  });

  it('hold together: an Indexed Job with PARAMSCOPE_SHARD_COUNT = completions, --shard auto, one shared claim, the merge reading the shards\' directory', () => {
    expect(shards.spec.completionMode).toBe('Indexed');
    const count = shards.spec.completions as number;
    expect(shards.spec.parallelism).toBeLessThanOrEqual(count);
    const env = Object.fromEntries((container(shards).env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]));
    expect(env.PARAMSCOPE_SHARD_COUNT).toBe(String(count));
    const command = container(shards).command as string[];
    expect(command.slice(0, 2)).toEqual(['paramscope', 'diff']);
    expect(command[command.indexOf('--shard') + 1]).toBe('auto');
    const parts = command[command.indexOf('--out') + 1];
    const mergeCommand = (container(mergeJob).command as string[]).join(' ');
    expect(mergeCommand).toContain(`paramscope merge ${parts}/part-*-of-${count}.json`);
    for (const job of [shards, mergeJob]) {
      expect(job.spec.template.spec.restartPolicy).toBe('Never');
      expect(job.spec.template.spec.volumes[0].persistentVolumeClaim.claimName).toBe(pvc.metadata.name);
      expect(container(job).volumeMounts[0].mountPath).toBe('/data');
    }
    expect(pvc.spec.accessModes).toContain('ReadWriteMany');
  });
});

describe('the recipe\'s commands, as the pods run them', () => {
  const tmp = temporaryDirectory('paramscope-kube-');
  let fx: ShardFixtures;
  /** /data of the pods: the models where the manifests expect them. */
  let data: string;
  beforeAll(() => {
    fx = writeShardFixtures(path.join(tmp.dir, 'fixtures'));
    data = path.join(tmp.dir, 'data');
    fs.mkdirSync(path.join(data, 'models'), { recursive: true });
    fs.symlinkSync(fx.base, path.join(data, 'models', 'base'));
    fs.symlinkSync(fx.concentrated, path.join(data, 'models', 'tuned'));
  });
  afterAll(() => tmp.cleanup());

  /** A container command with /data moved to the test's directory and `paramscope` the built CLI. */
  const local = (args: string[]) => args.map((a) => a.replaceAll('/data/', `${data}/`));

  it('every index of the Indexed Job (JOB_COMPLETION_INDEX), then the merge Job: the single run\'s report', () => {
    const count = shards.spec.completions as number;
    const env = Object.fromEntries((container(shards).env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]));
    const [, ...args] = local(container(shards).command as string[]);
    for (let index = 0; index < count; index++) {
      const r = runCli(args, { ...env, JOB_COMPLETION_INDEX: String(index), SLURM_ARRAY_TASK_ID: undefined }, 60_000);
      expect(r.status, r.stderr).toBe(0);
    }
    const parts = path.join(data, 'out', 'parts');
    expect(fs.readdirSync(parts).sort()).toEqual(Array.from({ length: count }, (_, i) => `part-${i}-of-${count}.json`));
    // The merge Job's shell command, with `paramscope` the built CLI.
    const [shell, flag, script] = container(mergeJob).command as [string, string, string];
    execFileSync(shell, [flag, local([script])[0] as string], {
      env: { ...process.env, PATH: `${path.join(tmp.dir, 'bin')}:${process.env.PATH}` },
      stdio: 'pipe', timeout: 60_000,
    } as never);
    const single = runCli(local(['diff', '/data/models/base', '/data/models/tuned', ...args.slice(3, args.indexOf('--shard')), '--json', '--quiet']), {}, 60_000);
    expect(single.status, single.stderr).toBe(0);
    const merged = fs.readFileSync(path.join(data, 'out', 'report', 'report.json'), 'utf8');
    expect(withoutTimings(merged)).toEqual(withoutTimings(single.stdout));
  });

  beforeAll(() => {
    // `paramscope` on PATH for the merge Job's shell: the built CLI.
    fs.mkdirSync(path.join(tmp.dir, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(tmp.dir, 'bin', 'paramscope'), `#!/bin/sh\nexec "${process.execPath}" "${cliPath}" "$@"\n`, { mode: 0o755 });
  });
});

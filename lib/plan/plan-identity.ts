/**
 * A plan's identity: a SHA-256 over what determines its numbers — each checkpoint as its headers give it
 * (every tensor's name, dtype, shape, byte size and offset, and which of its files holds it) and as the
 * file system gives it (each file's size and modification time: two fine-tunes of one architecture have
 * the same headers, and must not be merged as one run; a copy made with its times kept, `cp -p` or
 * `rsync -t`, is the same checkpoint, a plain `cp` a new one), each
 * run's job list (the tensors each job reads, how: expert slice, scales, transposition, rows; a low-rank
 * job's factors by their values) and every option that changes the numbers. Paths are not part of it,
 * so shards that see the same checkpoints under different mount points are one plan; anything that
 * would make their results differ is. Shards of one plan agree on it; the merge refuses partial reports
 * whose identities differ (MERGE_PLAN_MISMATCH).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type { MatrixJob, TensorSource } from '../engine/matrix-job';
import type { Checkpoint } from '../read/checkpoint';

/** What a plan is made of: the command, its runs (one, or compare's fine-tunes) with their jobs, the options. */
export interface PlanDescription {
  command: string;
  runs: ReadonlyArray<{ run: string | null; jobs: readonly MatrixJob[] }>;
  /** Every option that changes the numbers (resolved: defaults filled in), as plain JSON values. */
  options: Readonly<Record<string, unknown>>;
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** JSON with object keys sorted, so equal descriptions give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v))
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]));
    return v;
  });
}

const identities = new WeakMap<Checkpoint, string>();

/**
 * A file's size and modification time in whole seconds (what every copy tool that keeps times keeps), or
 * null where it cannot be examined (then the headers alone speak).
 */
function fileStamp(file: string): [number, number] | null {
  try {
    const stat = fs.statSync(file);
    return [stat.size, Math.floor(stat.mtimeMs / 1000)];
  } catch {
    return null;
  }
}

/**
 * A checkpoint's identity: every tensor's name, dtype, shape, bytes, offset and the position of its file
 * among the checkpoint's shards (not the file's name: a renamed copy is the same checkpoint), and each
 * file's size and modification time.
 */
export function checkpointIdentity(ckpt: Checkpoint): string {
  let id = identities.get(ckpt);
  if (id === undefined) {
    const shardOf = new Map(ckpt.shards.map((s, i) => [s.path, i]));
    id = sha256(canonicalJson({
      tensors: ckpt.tensors.map((t) => [t.name, t.dtype, t.shape, t.bytes, t.offset, shardOf.get(t.file) ?? -1]),
      files: ckpt.shards.map((s) => fileStamp(s.path)),
    }));
    identities.set(ckpt, id);
  }
  return id;
}

function sourceIdentity(s: TensorSource): unknown {
  const { checkpoint, ...rest } = s;
  return { checkpoint: checkpointIdentity(checkpoint), ...rest };
}

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function jobIdentity(job: MatrixJob): unknown {
  const vectors = job.vectors === undefined ? {} : { vectors: job.vectors };
  switch (job.kind) {
    case 'dense': return { name: job.name, kind: job.kind, source: sourceIdentity(job.source), ...vectors };
    case 'diff': return { name: job.name, kind: job.kind, tuned: sourceIdentity(job.tuned), base: sourceIdentity(job.base), rows: job.rows ?? null, ...vectors };
    case 'lowrank':
      return { name: job.name, kind: job.kind, rows: job.rows, cols: job.cols, rank: job.rank, scale: job.scale, b: sha256(bytesOf(job.b)), a: sha256(bytesOf(job.a)), ...vectors };
  }
}

/** The plan's identity: 64 hex digits. */
export function planIdentity(plan: PlanDescription): string {
  return sha256(canonicalJson({
    identity: 'paramscope.plan/1',
    command: plan.command,
    runs: plan.runs.map((r) => ({ run: r.run, jobs: r.jobs.map(jobIdentity) })),
    options: plan.options,
  }));
}

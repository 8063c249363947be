/**
 * What determines an engine result, as a cache key (cache.ts): the SHA-256 of a canonical description
 * of the job and of every engine option that changes its numbers.
 *
 * A stored operand is described by its file as it is now — the real path (links resolved, so a Hugging
 * Face snapshot's link and its blob are one file), size, modification time in nanoseconds and inode —
 * and by the tensor in it: name, byte range, dtype and shape; a quantized weight adds its scale tensor
 * (described the same way) and block, and a slice its expert, transposition and rows. A file rewritten
 * in place changes its size, mtime or inode, and with it every key that names it. A low-rank job (an
 * adapter module's s·B·A, whose factors are already in memory) is described by the SHA-256 of its
 * factors' bytes, its shape, rank and scale.
 *
 * The options in the key: mode, rank, oversampling, power iterations, tolerance, iteration cap, seed,
 * precision, exact route, backend and whether vectors are computed. Left out, on purpose: threads,
 * parallel matrices and the memory budgets. They decide how the work is scheduled, not what is computed;
 * a run resumed with the same flags computes its missing matrices exactly as the first run would have
 * (run.ts pins the lane count to the whole run's), and a cache filled on one machine serves another.
 * Also in the key: the cache format, the paramscope version (a new version may compute differently)
 * and the byte order of the platform (entries hold raw doubles).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import { matrixShape } from '../plan/cost';
import { packageVersion } from './build-info';
import type { MatrixJob, TensorSource } from './matrix-job';
import type { NativeEngineOptions as EngineOptions } from './binding';

/** The version of the cache's entries and keys: bumped whenever either changes meaning. */
export const CACHE_FORMAT_VERSION = 1;

export interface CacheKey {
  /** SHA-256 (hex) of `description`'s canonical JSON: the entry's file name. */
  hash: string;
  /** What the key says, kept in the entry for people (and compared on read). */
  description: Readonly<Record<string, unknown>>;
  /** rows × cols of the job's matrix, whether it has vectors, the most values and vectors it can have: what a valid entry must match. */
  expect: { rows: number; cols: number; vectors: boolean; maxValues: number; maxVectors: number };
}

interface FileIdentity {
  path: string;
  size: string;
  mtimeNs: string;
  inode: string;
}

const sha256 = (text: string | Uint8Array) => createHash('sha256').update(text).digest('hex');

/** Builds the keys of one run's jobs, stating each file once. */
export class CacheKeyBuilder {
  readonly #files = new Map<string, Promise<FileIdentity>>();
  readonly #options: Readonly<Record<string, unknown>>;

  constructor(options: EngineOptions) {
    const { mode, rank, oversampling, powerIterations, tolerance, maxIterations, seed, precision, exactRoute, backend } = options;
    this.#options = { mode, rank, oversampling, powerIterations, tolerance, maxIterations, seed, precision, exactRoute, backend };
    this.#defaultVectors = options.vectors;
  }

  readonly #defaultVectors: boolean;

  /** The key of `job`; undefined when it cannot be keyed (a file that can no longer be stated). */
  async key(job: MatrixJob): Promise<CacheKey | undefined> {
    const vectors = job.vectors ?? this.#defaultVectors;
    let what: Record<string, unknown>;
    let rows: number, cols: number;
    try {
      switch (job.kind) {
        case 'dense':
          what = { kind: 'dense', source: await this.#source(job.source) };
          [rows, cols] = matrixShape(job.source);
          break;
        case 'diff':
          what = { kind: 'diff', tuned: await this.#source(job.tuned), base: await this.#source(job.base), rows: job.rows ?? null };
          [rows, cols] = matrixShape(job.tuned, job.rows);
          break;
        case 'lowrank':
          what = { kind: 'lowrank', rows: job.rows, cols: job.cols, rank: job.rank, scale: job.scale, factors: await factorHash(job.b, job.a) };
          [rows, cols] = [job.rows, job.cols];
          break;
      }
    } catch {
      return undefined;
    }
    const description = {
      format: CACHE_FORMAT_VERSION, paramscope: packageVersion(), byteOrder: os.endianness(),
      job: what, vectors, engine: this.#options,
    };
    // Exact spectra have min(m, n) values (a low-rank product's padded with zeros), truncated ones the top `rank`.
    const p = Math.min(rows, cols);
    const maxValues = this.#options.mode === 'truncated' ? Math.min(p, this.#options.rank as number) : p;
    const maxVectors = job.kind === 'lowrank' ? Math.min(maxValues, job.rank) : maxValues;
    return { hash: sha256(JSON.stringify(description)), description, expect: { rows, cols, vectors, maxValues, maxVectors } };
  }

  async #source(s: TensorSource): Promise<Record<string, unknown>> {
    const tensor = await this.#tensor(s, s.tensor);
    return {
      tensor,
      ...(s.quantized ? { quantized: { encoding: s.quantized.encoding, block: s.quantized.block, scale: await this.#tensor(s, s.quantized.scale) } } : {}),
      ...(s.expert === undefined ? {} : { expert: s.expert }),
      ...(s.transpose ? { transpose: true } : {}),
      ...(s.rows ? { rows: s.rows } : {}),
    };
  }

  async #tensor(s: TensorSource, name: string): Promise<Record<string, unknown>> {
    const info = s.checkpoint.tensor(name);
    return { file: await this.#file(info.file), name: info.name, offset: info.offset, bytes: info.bytes, dtype: info.dtype, shape: info.shape };
  }

  #file(file: string): Promise<FileIdentity> {
    let identity = this.#files.get(file);
    if (!identity) {
      identity = (async () => {
        const real = await fs.realpath(file);
        const stat = await fs.stat(real, { bigint: true });
        return { path: real, size: String(stat.size), mtimeNs: String(stat.mtimeNs), inode: String(stat.ino) };
      })();
      this.#files.set(file, identity);
    }
    return identity;
  }
}

/** Bytes hashed between two yields to the event loop. */
const HASH_CHUNK_BYTES = 16 * 2 ** 20;

/** SHA-256 of B's then A's bytes, in chunks, yielding to the event loop between them (large adapters). */
async function factorHash(b: Float32Array, a: Float32Array): Promise<string> {
  const hash = createHash('sha256');
  for (const factor of [b, a]) {
    const bytes = new Uint8Array(factor.buffer, factor.byteOffset, factor.byteLength);
    for (let at = 0; at < bytes.length; at += HASH_CHUNK_BYTES) {
      hash.update(bytes.subarray(at, at + HASH_CHUNK_BYTES));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return hash.digest('hex');
}

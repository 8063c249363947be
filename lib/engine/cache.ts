/**
 * The result cache: every successful engine result kept on disk under its key (cache-key.ts), so an
 * interrupted run resumes where it stopped and runs that share work (a trajectory's base side, a
 * compare's arms, a shard retried) compute it once. runSpectra (run.ts) looks every job up before the
 * engine starts and stores each new result before handing it on, so a result the caller has seen is
 * on disk.
 *
 * Layout: `<dir>/CACHEDIR.TAG` (backup tools skip the directory), `<dir>/v<format>/<hh>/<hash>.entry`,
 * one file per key. An entry is a header line — {"format", "version", "key", "bytes", "sha256"} — and
 * the payload, {"key": description, "result": the engine's result} in the lossless encoding of
 * cache-codec.ts. Writes are atomic: a temporary file in the entry's directory renamed over the entry,
 * so a reader sees the old entry, the new one, or none; a write interrupted by a kill leaves only a
 * hidden `.…tmp` file, which is never read. Not fsynced: the checksum catches what a power loss could
 * tear, and a cache may lose entries.
 *
 * Nothing read is trusted: an entry larger than its job's result can be, one whose header, length,
 * checksum or key does not match, or whose result does not have the job's shape is `rejected` — counted,
 * ignored and rewritten by the run that recomputes it. Failures are never cached (they may be transient:
 * out of memory), nor are cache I/O errors ever a run's failure: they are counted in `writeErrors`.
 *
 * Without a directory the cache lives in memory for one run (a trajectory with --no-cache still computes
 * its base side once), least recently used entries dropped beyond a byte budget.
 */
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { invalidArgument } from '../errors';
import { CodecError, decodeResult, encodeResult } from './cache-codec';
import { CACHE_FORMAT_VERSION, type CacheKey } from './cache-key';
import { onInterrupt } from './interrupt';
import type { SpectrumResult } from './types';

const ENTRY_FORMAT = 'paramscope.result-cache';

/** The option of runSpectra and of every verb that runs it. */
export interface CacheOptions {
  /**
   * The result cache (docs/cache.md): a directory, or an open ResultCache shared by several runs. Each
   * job is looked up first and each new result stored, so an interrupted run resumes where it stopped.
   * Absent (the library's default): no cache.
   */
  cache?: string | ResultCache;
}

/** What a cache did for a run: results found, jobs not found, results written, entries refused, writes that failed. */
export interface CacheCounts {
  hits: number;
  misses: number;
  written: number;
  rejected: number;
  writeErrors: number;
}

/** Bytes an entry may take beyond its arrays (header, metrics, timings): far more than any result needs. */
const ENTRY_OVERHEAD_BYTES = 256 * 1024;
/** Default byte budget of an in-memory cache. */
const MEMORY_BUDGET_BYTES = 1024 * 2 ** 20;

/** The largest entry a job's result can make: its values and bounds, its vectors, base64'd, plus the overhead. */
export function maxEntryBytes(expect: CacheKey['expect']): number {
  const doubles = 2 * expect.maxValues + (expect.vectors ? (expect.rows + expect.cols) * expect.maxVectors : 0);
  return ENTRY_OVERHEAD_BYTES + Math.ceil((doubles * 8 * 4) / 3);
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const isFloat64Of = (a: unknown, length: number) => a instanceof Float64Array && a.length === length;
const isCount = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;

/** Whether `r` has the shape of a successful result of the keyed job (not whether its numbers are right: the checksum is for that). */
function plausibleResult(r: unknown, expect: CacheKey['expect']): r is SpectrumResult {
  if (typeof r !== 'object' || r === null) return false;
  const x = r as Partial<SpectrumResult>;
  if (x.rows !== expect.rows || x.cols !== expect.cols) return false;
  if (!(x.values instanceof Float64Array) || x.values.length > expect.maxValues || !isFloat64Of(x.errorBounds, x.values.length)) return false;
  if (typeof x.frobeniusSquared !== 'number' || typeof x.complete !== 'boolean' || typeof x.converged !== 'boolean') return false;
  if (typeof x.method !== 'string' || typeof x.metrics !== 'object' || x.metrics === null || typeof x.seconds !== 'number') return false;
  if (!isCount(x.passes) || !isCount(x.powerIterations)) return false;
  if (expect.vectors) {
    const k = x.vectorCount;
    if (!isCount(k) || (k as number) > expect.maxVectors) return false;
    if (!isFloat64Of(x.u, expect.rows * (k as number)) || !isFloat64Of(x.v, expect.cols * (k as number))) return false;
  }
  return true;
}

/** The bytes an entry's arrays hold (the in-memory cache's accounting). */
function resultBytes(r: SpectrumResult): number {
  let bytes = 1024;
  for (const a of [r.values, r.errorBounds, r.u, r.v]) bytes += a?.byteLength ?? 0;
  return bytes;
}

export class ResultCache {
  /** The directory, or null for a cache held in memory for one run. */
  readonly dir: string | null;
  readonly #counts: CacheCounts = { hits: 0, misses: 0, written: 0, rejected: 0, writeErrors: 0 };
  #lastWriteError: string | undefined;
  readonly #memory = new Map<string, { result: SpectrumResult; bytes: number }>();
  #memoryBytes = 0;
  readonly #memoryBudget: number;
  readonly #madeDirs = new Set<string>();

  constructor(dir: string | null, options: { memoryBudget?: number } = {}) {
    if (dir !== null && (typeof dir !== 'string' || dir.length === 0)) invalidArgument('cache', 'a directory path', dir);
    this.dir = dir === null ? null : path.resolve(dir);
    this.#memoryBudget = options.memoryBudget ?? MEMORY_BUDGET_BYTES;
  }

  /** The counts so far (a copy). */
  counts(): CacheCounts {
    return { ...this.#counts };
  }

  /** The message of the last write that failed, if any (the run goes on without that entry). */
  get lastWriteError(): string | undefined {
    return this.#lastWriteError;
  }

  /** Where the entry of `hash` lives. */
  entryPath(hash: string): string {
    if (this.dir === null) throw new Error('in-memory cache has no entry files');
    return path.join(this.dir, `v${CACHE_FORMAT_VERSION}`, hash.slice(0, 2), `${hash}.entry`);
  }

  /** The result stored under `key`, or undefined (counted as a miss; a refused entry also as rejected). */
  async get(key: CacheKey): Promise<SpectrumResult | undefined> {
    const found = this.dir === null ? this.#memoryGet(key.hash) : await this.#read(key);
    if (found) this.#counts.hits++;
    else this.#counts.misses++;
    return found;
  }

  /** Stores a successful result under `key` (never throws: a failed write is counted). */
  async put(key: CacheKey, result: SpectrumResult): Promise<void> {
    const { index: _index, name: _name, cached: _cached, ...stored } = result;
    if (this.dir === null) {
      this.#memoryPut(key.hash, stored as SpectrumResult);
      this.#counts.written++;
      return;
    }
    try {
      await this.#write(key, stored);
      this.#counts.written++;
    } catch (error) {
      this.#counts.writeErrors++;
      this.#lastWriteError = error instanceof Error ? error.message : String(error);
    }
  }

  async #read(key: CacheKey): Promise<SpectrumResult | undefined> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.entryPath(key.hash), 'r');
    } catch {
      return undefined; // no entry (or none readable): a plain miss
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile() || stat.size > maxEntryBytes(key.expect)) return this.#reject();
      const bytes = Buffer.alloc(stat.size);
      const { bytesRead } = await handle.read(bytes, 0, stat.size, 0);
      const result = this.#parse(bytes.subarray(0, bytesRead), key);
      return result ?? this.#reject();
    } catch {
      return this.#reject();
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  #reject(): undefined {
    this.#counts.rejected++;
    return undefined;
  }

  #parse(bytes: Buffer, key: CacheKey): SpectrumResult | undefined {
    const newline = bytes.indexOf(0x0a);
    if (newline < 0 || newline > 4096) return undefined;
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(bytes.subarray(0, newline).toString('utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
    const payload = bytes.subarray(newline + 1);
    if (header.format !== ENTRY_FORMAT || header.version !== CACHE_FORMAT_VERSION || header.key !== key.hash) return undefined;
    if (header.bytes !== payload.length || header.sha256 !== sha256(payload)) return undefined;
    let decoded: unknown;
    try {
      decoded = decodeResult(payload.toString('utf8'));
    } catch (error) {
      if (error instanceof CodecError || error instanceof SyntaxError) return undefined;
      throw error;
    }
    const entry = decoded as { key?: unknown; result?: unknown };
    if (typeof entry !== 'object' || entry === null || sha256(JSON.stringify(entry.key)) !== key.hash) return undefined;
    return plausibleResult(entry.result, key.expect) ? entry.result : undefined;
  }

  async #write(key: CacheKey, result: Omit<SpectrumResult, 'index' | 'name'>): Promise<void> {
    const target = this.entryPath(key.hash);
    await this.#ensureDir(path.dirname(target));
    const payload = Buffer.from(encodeResult({ key: key.description, result }), 'utf8');
    const header = JSON.stringify({ format: ENTRY_FORMAT, version: CACHE_FORMAT_VERSION, key: key.hash, bytes: payload.length, sha256: sha256(payload) });
    const temp = path.join(path.dirname(target), `.${key.hash}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
    const unhook = onInterrupt(() => rmQuietly(temp));
    try {
      await fs.writeFile(temp, Buffer.concat([Buffer.from(header + '\n', 'utf8'), payload]), { flag: 'wx', mode: 0o644 });
      await fs.rename(temp, target);
    } catch (error) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      throw error;
    } finally {
      unhook();
    }
  }

  async #ensureDir(dir: string): Promise<void> {
    if (this.#madeDirs.has(dir)) return;
    const root = this.dir as string;
    await fs.mkdir(dir, { recursive: true });
    const tag = path.join(root, 'CACHEDIR.TAG');
    await fs.writeFile(tag, CACHEDIR_TAG, { flag: 'wx' }).catch(() => undefined); // present already, or not ours to write
    this.#madeDirs.add(dir);
  }

  #memoryGet(hash: string): SpectrumResult | undefined {
    const found = this.#memory.get(hash);
    if (!found) return undefined;
    this.#memory.delete(hash); // most recently used last
    this.#memory.set(hash, found);
    return found.result;
  }

  #memoryPut(hash: string, result: SpectrumResult): void {
    const bytes = resultBytes(result);
    if (bytes > this.#memoryBudget) return;
    const old = this.#memory.get(hash);
    if (old) this.#memoryBytes -= old.bytes;
    this.#memory.delete(hash);
    this.#memory.set(hash, { result, bytes });
    this.#memoryBytes += bytes;
    for (const [h, e] of this.#memory) {
      if (this.#memoryBytes <= this.#memoryBudget) break;
      this.#memory.delete(h);
      this.#memoryBytes -= e.bytes;
    }
  }
}

/** https://bford.info/cachedir/: marks the directory as a cache that backups can skip. */
const CACHEDIR_TAG = 'Signature: 8a477f597d28d172789f06886806bc55\n# This file marks a paramscope result cache (docs/cache.md); its entries can be deleted at any time.\n';

function rmQuietly(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch {
    // already gone, or not ours to remove
  }
}

/** The cache an option names: an open ResultCache as is, a directory opened; undefined for none. */
export function resultCacheOf(option: string | ResultCache | undefined): ResultCache | undefined {
  if (option === undefined) return undefined;
  if (option instanceof ResultCache) return option;
  if (typeof option !== 'string' || option.length === 0) invalidArgument('cache', 'a directory path or a ResultCache', option);
  return new ResultCache(option);
}

/**
 * `options` with its cache opened once (a directory becomes a ResultCache), so every engine run of a
 * verb shares one and the verb can count what it did.
 */
export function withSharedCache<O extends { cache?: string | ResultCache }>(options: O): O & { cache?: ResultCache } {
  const cache = resultCacheOf(options.cache);
  return cache ? { ...options, cache } : (options as O & { cache?: ResultCache });
}

/** A cache's counts since now: call the returned function for the difference. */
export function countsSince(cache: ResultCache): () => CacheCounts {
  const start = cache.counts();
  return () => {
    const now = cache.counts();
    return { hits: now.hits - start.hits, misses: now.misses - start.misses, written: now.written - start.written, rejected: now.rejected - start.rejected, writeErrors: now.writeErrors - start.writeErrors };
  };
}

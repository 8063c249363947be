/**
 * The reader's behaviour around the file system and memory: non-regular files, files that change
 * after opening, mmap versus pread, row slices, zero-copy views and their lifetime, close/dispose,
 * unaligned data, non-finite values and dtypes that cannot be decoded.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Checkpoint, openCheckpoint, openCheckpointSync, type ReadOptions } from '../../lib/index';
import { f32Bytes, f64Bytes, headerText, safetensorsBytes, type TensorSpec, u16Bytes, validFile } from '../fixtures/generate-malformed';
import { failure } from '../helpers/failure';
import { temporaryDirectory } from '../helpers/paths';

const tmp = temporaryDirectory('paramscope-edge-');
afterAll(() => tmp.cleanup());
const file = (name: string) => path.join(tmp.dir, name);


/** Rejects if the promise has not settled after `ms`: a hang becomes a failure with a message, not a stuck run. */
function settleWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not return within ${ms} ms (hung)`)), ms);
  });
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}

const bytesOf = (view: ArrayBufferView) => Buffer.from(view.buffer, view.byteOffset, view.byteLength);
// read/readSync with `as` decided at run time (the public overloads want it known statically).
type AnyReadOptions = Omit<ReadOptions, 'as'> & { as?: 'f32' | 'raw' };
const readAny = (ckpt: Checkpoint, name: string, options: AnyReadOptions) => ckpt.read(name, options as ReadOptions & { as: 'raw' });
const readAnySync = (ckpt: Checkpoint, name: string, options: Omit<AnyReadOptions, 'signal'>) => ckpt.readSync(name, options as ReadOptions & { as: 'raw' });
const MODES = [
  { label: 'mmap', mmap: true },
  { label: 'pread', mmap: false },
] as const;

// 4 rows x 3 columns of F32, a BF16 matrix, a U8 vector and a 3-D tensor; header padded to 64 bytes
// multiple so every tensor is aligned.
const MATRIX = Array.from({ length: 12 }, (_, i) => i * 0.5 - 2);
const TENSORS: TensorSpec[] = [
  { name: 'm', dtype: 'F32', shape: [4, 3], bytes: f32Bytes(MATRIX) },
  { name: 'cube', dtype: 'F32', shape: [2, 2, 2], bytes: f32Bytes([1, 2, 3, 4, 5, 6, 7, 8]) },
  { name: 'bf', dtype: 'BF16', shape: [3, 2], bytes: u16Bytes([0x3f80, 0x4000, 0x4040, 0x4080, 0xbf80, 0x0000]) },
  { name: 'scalar', dtype: 'F32', shape: [], bytes: f32Bytes([42]) },
  { name: 'empty_rows', dtype: 'F32', shape: [0, 3], bytes: new Uint8Array(0) },
  { name: 'u8', dtype: 'U8', shape: [5], bytes: new Uint8Array([0, 1, 2, 254, 255]) },
];

function alignedFile(name: string, tensors: TensorSpec[]): string {
  const header = Buffer.byteLength(headerText(tensors));
  const target = file(name);
  fs.writeFileSync(target, validFile(tensors, { headerLength: Math.ceil((header + 8) / 8) * 8 - 8 }));
  return target;
}

describe('paths that are not regular files', () => {
  let fifo: string;
  let fifoIndex: string;
  let dirWithFifo: string;
  beforeAll(() => {
    fifo = file('pipe.safetensors');
    execFileSync('mkfifo', [fifo]);
    fifoIndex = file('pipe.safetensors.index.json');
    execFileSync('mkfifo', [fifoIndex]);
    dirWithFifo = file('dir-with-fifo');
    fs.mkdirSync(dirWithFifo);
    fs.writeFileSync(path.join(dirWithFifo, 'b.safetensors'), validFile(TENSORS.slice(0, 1)));
    execFileSync('mkfifo', [path.join(dirWithFifo, 'a.safetensors')]);
  });

  it.each(MODES)('a FIFO is refused with NOT_A_REGULAR_FILE without waiting for a writer ($label)', async ({ mmap }) => {
    const error = await failure(settleWithin(openCheckpoint(fifo, { mmap }), 10_000, 'openCheckpoint(FIFO)'));
    expect(error.code).toBe('NOT_A_REGULAR_FILE');
    expect(error.file).toBe(fifo);
    expect(error.message).toContain('FIFO');
    const indexError = await failure(settleWithin(openCheckpoint(fifoIndex, { mmap }), 10_000, 'openCheckpoint(FIFO index)'));
    expect(indexError.code).toBe('NOT_A_REGULAR_FILE');
    const inDirectory = await failure(settleWithin(openCheckpoint(dirWithFifo, { mmap }), 10_000, 'openCheckpoint(dir with FIFO)'));
    expect(inDirectory.code).toBe('NOT_A_REGULAR_FILE');
    expect(inDirectory.file).toBe(path.join(dirWithFifo, 'a.safetensors'));
  });

  it('the synchronous open of a FIFO returns too (checked in a child process so a hang cannot stall the run)', () => {
    const script = `
      const native = require(process.env.ADDON);
      for (const p of JSON.parse(process.argv[1])) {
        try { native.openCheckpointSync(p, { mmap: true }); console.log('opened'); }
        catch (e) { console.log(e.code); }
      }`;
    const child = spawnSync(process.execPath, ['-e', script, JSON.stringify([fifo, fifoIndex, '/dev/null', '/dev/zero'])], {
      env: { ...process.env, ADDON: addonPath() },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.error, 'the child hung').toBeUndefined();
    expect(child.signal).toBeNull();
    expect(child.stdout.trim().split('\n')).toEqual(['NOT_A_REGULAR_FILE', 'NOT_A_REGULAR_FILE', 'NOT_A_REGULAR_FILE', 'NOT_A_REGULAR_FILE']);
  });

  it('character devices are refused', async () => {
    for (const device of ['/dev/null', '/dev/zero']) {
      const error = await failure(settleWithin(openCheckpoint(device), 10_000, `openCheckpoint(${device})`));
      expect(error.code).toBe('NOT_A_REGULAR_FILE');
      expect(error.message).toContain('character device');
    }
  });

  it('a directory named like a shard, or an index pointing at a directory, is NOT_A_REGULAR_FILE', async () => {
    const dir = file('dir-with-dir-shard');
    fs.mkdirSync(path.join(dir, 'a.safetensors'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'b.safetensors'), validFile(TENSORS.slice(0, 1)));
    const error = await failure(openCheckpoint(dir));
    expect(error.code).toBe('NOT_A_REGULAR_FILE');
    expect(error.file).toBe(path.join(dir, 'a.safetensors'));
    expect(error.message).toContain('directory');

    const indexDir = file('index-to-dir');
    fs.mkdirSync(path.join(indexDir, 'shard.safetensors'), { recursive: true });
    const index = path.join(indexDir, 'model.safetensors.index.json');
    fs.writeFileSync(index, JSON.stringify({ weight_map: { m: 'shard.safetensors' } }));
    expect((await failure(openCheckpoint(index))).code).toBe('NOT_A_REGULAR_FILE');
  });

  it('an empty directory is EMPTY_CHECKPOINT', async () => {
    const dir = file('empty-dir');
    fs.mkdirSync(dir);
    const error = await failure(openCheckpoint(dir));
    expect(error.code).toBe('EMPTY_CHECKPOINT');
    expect(error.file).toBe(dir);
  });

  it('missing paths are FILE_NOT_FOUND naming the path, sync and async', async () => {
    const regular = alignedFile('regular.safetensors', TENSORS.slice(0, 1));
    for (const missing of [file('nope.safetensors'), file('no-dir/x.safetensors'), file('nope.safetensors.index.json'), `${regular}/inside`]) {
      const error = await failure(openCheckpoint(missing));
      expect(error.code).toBe('FILE_NOT_FOUND');
      expect(error.file).toBe(missing);
      expect(error.message).toContain(missing);
      expect((await failure(() => openCheckpointSync(missing))).code).toBe('FILE_NOT_FOUND');
    }
  });
});

/** The addon the library loaded (for child processes that use it directly). */
function addonPath(): string {
  if (process.env.PARAMSCOPE_NATIVE_PATH) return path.resolve(process.env.PARAMSCOPE_NATIVE_PATH);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node-gyp-build') as { path(dir: string): string }).path(path.resolve(__dirname, '..', '..'));
}

describe('a file that changes after it was opened', () => {
  it.each(MODES)('truncation: every read fails with FILE_CHANGED, nothing crashes ($label)', async ({ mmap }) => {
    const target = alignedFile(`truncate-${mmap}.safetensors`, TENSORS);
    const ckpt = await openCheckpoint(target, { mmap });
    const size = fs.statSync(target).size;
    fs.truncateSync(target, size - 3);  // cuts into the last tensor only
    for (const name of ['u8', 'm']) {
      for (const as of ['f32', 'raw'] as const) {
        const error = await failure(readAny(ckpt, name, { as }));
        expect(error.code, `${name} as ${as}`).toBe('FILE_CHANGED');
        expect(error.file).toBe(target);
        expect(error.message).toContain('changed size');
        expect((await failure(() => readAnySync(ckpt, name, { as }))).code).toBe('FILE_CHANGED');
      }
    }
    expect((await failure(ckpt.read('m', { rows: [0, 1] }))).code).toBe('FILE_CHANGED');
    // Down to nothing at all: still a clean error.
    fs.truncateSync(target, 0);
    expect((await failure(ckpt.read('cube'))).code).toBe('FILE_CHANGED');
    expect((await failure(ckpt.read('bf', { as: 'raw' }))).code).toBe('FILE_CHANGED');
    ckpt.close();
    // A fresh open sees the damage for what it is.
    expect((await failure(openCheckpoint(target, { mmap }))).code).toBe('FILE_TOO_SMALL');
  });

  it.each(MODES)('growth after opening is FILE_CHANGED too ($label)', async ({ mmap }) => {
    const target = alignedFile(`grow-${mmap}.safetensors`, TENSORS);
    const ckpt = openCheckpointSync(target, { mmap });
    expect((await ckpt.read('m')).data[0]).toBe(-2);
    fs.appendFileSync(target, Buffer.alloc(100));
    expect((await failure(ckpt.read('m'))).code).toBe('FILE_CHANGED');
    expect((await failure(ckpt.read('bf', { as: 'raw' }))).code).toBe('FILE_CHANGED');
    ckpt.close();
    expect((await failure(openCheckpoint(target, { mmap }))).code).toBe('FILE_SIZE_MISMATCH');
  });

  it('a file truncated between open and read in a child process: the child reports FILE_CHANGED and exits normally', () => {
    // The same scenario as above, but where a SIGBUS would show as a signal instead of killing this worker.
    const target = alignedFile('truncate-child.safetensors', TENSORS);
    const script = `
      const fs = require('fs');
      const native = require(process.env.ADDON);
      const out = [];
      for (const mmap of [true, false]) {
        fs.writeFileSync(process.argv[2], fs.readFileSync(process.argv[1]));
        const c = native.openCheckpointSync(process.argv[2], { mmap });
        fs.truncateSync(process.argv[2], 40);
        for (const mode of ['f32', 'raw']) {
          try { c.readSync('m', mode); out.push('ok'); } catch (e) { out.push(e.code); }
        }
      }
      console.log(out.join(','));`;
    const child = spawnSync(process.execPath, ['-e', script, target, `${target}.copy`], {
      env: { ...process.env, ADDON: addonPath() },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.signal, child.stderr).toBeNull();
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout.trim()).toBe('FILE_CHANGED,FILE_CHANGED,FILE_CHANGED,FILE_CHANGED');
  });
});

describe('mmap and pread give the same results', () => {
  it('every tensor, decoded and raw, whole and by rows', async () => {
    const target = alignedFile('same.safetensors', TENSORS);
    const mapped = await openCheckpoint(target, { mmap: true });
    const plain = await openCheckpoint(target, { mmap: false });
    expect(mapped.shards[0]?.mapped).toBe(true);
    expect(plain.shards[0]?.mapped).toBe(false);
    expect(plain.tensors).toEqual(mapped.tensors);
    for (const t of mapped.tensors) {
      for (const as of ['f32', 'raw'] as const) {
        const a = await readAny(mapped, t.name, { as });
        const b = await readAny(plain, t.name, { as });
        expect(bytesOf(b.data), `${t.name} ${as}`).toEqual(bytesOf(a.data));
        expect(b.nonFinite).toBe(a.nonFinite);
        expect(b.shape).toEqual(a.shape);
        expect(b.zeroCopy).toBe(false);
        if (t.shape.length > 0 && (t.shape[0] ?? 0) >= 2) {
          const ra = await readAny(mapped, t.name, { as, rows: [1, 2] });
          const rb = await readAny(plain, t.name, { as, rows: [1, 2] });
          expect(bytesOf(rb.data)).toEqual(bytesOf(ra.data));
        }
      }
    }
    mapped.close();
    plain.close();
  });
});

describe('row slices', () => {
  let target: string;
  beforeAll(() => {
    target = alignedFile('rows.safetensors', [
      ...TENSORS,
      { name: 'f4', dtype: 'F4', shape: [2, 3], bytes: new Uint8Array([0x21, 0x43, 0x65]) },
      { name: 'f4even', dtype: 'F4', shape: [3, 4], bytes: new Uint8Array([0x10, 0x32, 0x54, 0x76, 0x98, 0xba]) },
    ]);
  });

  it.each(MODES)('rows [b, e) are exactly that part of the whole tensor ($label)', async ({ mmap }) => {
    const ckpt = await openCheckpoint(target, { mmap });
    const whole = (await ckpt.read('m')).data;
    const rows = await ckpt.read('m', { rows: [1, 3] });
    expect([...rows.data]).toEqual([...whole.slice(3, 9)]);
    expect(rows.shape).toEqual([2, 3]);
    const last = ckpt.readSync('m', { rows: [3, 4] });
    expect([...last.data]).toEqual([2.5, 3, 3.5]);
    const cube = await ckpt.read('cube', { rows: [1, 2] });
    expect([...cube.data]).toEqual([5, 6, 7, 8]);
    expect(cube.shape).toEqual([1, 2, 2]);
    const bf = await ckpt.read('bf', { rows: [2, 3] });
    expect([...bf.data]).toEqual([-1, 0]);
    const bfRaw = await ckpt.read('bf', { rows: [0, 1], as: 'raw' });
    expect([...bfRaw.data]).toEqual([0x3f80, 0x4000]);
    const u8 = await ckpt.read('u8', { rows: [3, 5], as: 'raw' });
    expect([...u8.data]).toEqual([254, 255]);
    // Empty ranges are valid, at the start, the middle and the end.
    for (const range of [[0, 0], [2, 2], [4, 4]] as const) {
      const empty = await ckpt.read('m', { rows: range });
      expect(empty.data.length).toBe(0);
      expect(empty.shape).toEqual([0, 3]);
    }
    expect((await ckpt.read('empty_rows', { rows: [0, 0] })).data.length).toBe(0);
    // F4 rows of 4 elements are 2 whole bytes: addressable.
    const f4 = await ckpt.read('f4even', { rows: [1, 2], as: 'raw' });
    expect([...f4.data]).toEqual([0x54, 0x76]);
    ckpt.close();
  });

  it.each(MODES)('out-of-range and malformed slices fail with their codes ($label)', async ({ mmap }) => {
    const ckpt = await openCheckpoint(target, { mmap });
    for (const [name, rows] of [['m', [0, 5]], ['m', [3, 2]], ['m', [5, 5]], ['scalar', [0, 1]], ['scalar', [0, 0]], ['empty_rows', [0, 1]]] as const) {
      const error = await failure(ckpt.read(name, { rows }));
      expect(error.code, `${name} rows ${rows.join(',')}`).toBe('SLICE_OUT_OF_RANGE');
      expect(error.tensor).toBe(name);
      expect((await failure(() => ckpt.readSync(name, { rows, as: 'raw' }))).code).toBe('SLICE_OUT_OF_RANGE');
    }
    for (const rows of [[-1, 2], [0.5, 1], [0, Number.POSITIVE_INFINITY], [1]]) {
      expect((await failure(ckpt.read('m', { rows: rows as unknown as [number, number] }))).code).toBe('INVALID_ARGUMENT');
    }
    // F4 rows of 3 elements are 12 bits: a row does not start on a byte, so it cannot be sliced.
    const subByte = await failure(ckpt.read('f4', { rows: [1, 2], as: 'raw' }));
    expect(subByte.code).toBe('UNSUPPORTED_DTYPE');
    expect(subByte.tensor).toBe('f4');
    expect([...(await ckpt.read('f4', { as: 'raw' })).data]).toEqual([0x21, 0x43, 0x65]);
    ckpt.close();
  });
});

describe('zero-copy views', () => {
  // Header lengths chosen so the data buffer starts at offsets 0, 2 and 1 modulo 8.
  const tensors: TensorSpec[] = [
    { name: 'w', dtype: 'F32', shape: [2, 2], bytes: f32Bytes([1, -2, 3.5, 1e-3]) },
    { name: 'h', dtype: 'F16', shape: [2], bytes: u16Bytes([0x3c00, 0xc000]) },
    { name: 'd', dtype: 'F64', shape: [1], bytes: f64Bytes([-0.125]) },
  ];
  // Data layout: d (F64) at 0, w (F32) at 8, h (F16) at 24, so all are aligned when the buffer starts at 0 mod 8.
  const ordered: TensorSpec[] = [tensors[2]!, tensors[0]!, tensors[1]!];
  const baseHeader = Buffer.byteLength(headerText(ordered));
  const padTo = (mod: number) => {
    let n = baseHeader;
    while ((8 + n) % 8 !== mod) ++n;
    return n;
  };
  let aligned: string;
  let offBy2: string;
  let offBy1: string;
  beforeAll(() => {
    aligned = file('zc-aligned.safetensors');
    fs.writeFileSync(aligned, validFile(ordered, { headerLength: padTo(0) }));
    offBy2 = file('zc-off2.safetensors');
    fs.writeFileSync(offBy2, validFile(ordered, { headerLength: padTo(2) }));
    offBy1 = file('zc-off1.safetensors');
    fs.writeFileSync(offBy1, validFile(ordered, { headerLength: padTo(1) }));
  });

  it('reads are copies unless zeroCopy is asked for (a view of a file that shrinks later would fault)', async () => {
    const ckpt = await openCheckpoint(aligned);
    expect((await ckpt.read('w', { as: 'raw' })).zeroCopy).toBe(false);
    expect((await ckpt.read('w')).zeroCopy).toBe(false);
    expect(ckpt.readSync('w', { as: 'raw' }).zeroCopy).toBe(false);
    ckpt.close();
  });

  it('aligned data is served zero-copy (raw views, and F32 as f32); decoded formats are copies', async () => {
    const ckpt = await openCheckpoint(aligned);
    expect(ckpt.shards[0]!.headerBytes % 8).toBe(0);
    for (const name of ['w', 'h', 'd']) {
      const raw = await ckpt.read(name, { as: 'raw', zeroCopy: true });
      expect(raw.zeroCopy, name).toBe(true);
      expect(raw.data.byteLength).toBe(ckpt.tensor(name).bytes);
    }
    const w = await ckpt.read('w', { zeroCopy: true });
    expect(w.zeroCopy).toBe(true);
    expect([...w.data]).toEqual([1, -2, 3.5, Math.fround(1e-3)]);
    expect((await ckpt.read('h', { zeroCopy: true })).zeroCopy).toBe(false);  // F16 is decoded into a new buffer
    expect([...(await ckpt.read('h')).data]).toEqual([1, -2]);
    expect((await ckpt.read('d', { zeroCopy: true })).zeroCopy).toBe(false);
    expect([...(await ckpt.read('w', { rows: [1, 2] })).data]).toEqual([3.5, Math.fround(1e-3)]);
    expect((await ckpt.read('w', { rows: [1, 2], zeroCopy: true })).zeroCopy).toBe(true);
    ckpt.close();
  });

  it('the same tensor can be viewed zero-copy many times at once', async () => {
    const ckpt = await openCheckpoint(aligned);
    const views = await Promise.all(Array.from({ length: 8 }, () => ckpt.read('w', { as: 'raw', zeroCopy: true })));
    views.push(ckpt.readSync('w', { as: 'raw', zeroCopy: true }));
    for (const v of views) {
      expect(v.zeroCopy).toBe(true);
      expect([...v.data]).toEqual([1, -2, 3.5, Math.fround(1e-3)]);
    }
    ckpt.close();
  });

  it('unaligned data falls back to copies with the same values (F16 stays zero-copy where 2-aligned)', async () => {
    const a = await openCheckpoint(aligned);
    for (const [target, f16ZeroCopy] of [[offBy2, true], [offBy1, false]] as const) {
      const ckpt = await openCheckpoint(target);
      expect(ckpt.shards[0]!.headerBytes % 8).not.toBe(0);
      for (const name of ['w', 'd']) {
        const raw = await ckpt.read(name, { as: 'raw', zeroCopy: true });
        expect(raw.zeroCopy, `${name} in ${path.basename(target)}`).toBe(false);
        expect(bytesOf(raw.data)).toEqual(bytesOf((await a.read(name, { as: 'raw' })).data));
        expect(raw.data.byteOffset % raw.data.BYTES_PER_ELEMENT).toBe(0);
        const decoded = await ckpt.read(name, { zeroCopy: true });
        expect(decoded.zeroCopy).toBe(false);
        expect([...decoded.data]).toEqual([...(await a.read(name)).data]);
      }
      const h = await ckpt.read('h', { as: 'raw', zeroCopy: true });
      expect(h.zeroCopy).toBe(f16ZeroCopy);
      expect([...h.data]).toEqual([0x3c00, 0xc000]);
      ckpt.close();
    }
    a.close();
  });

  it('pread mode never hands out views of the file', async () => {
    const ckpt = await openCheckpoint(aligned, { mmap: false });
    expect((await ckpt.read('w', { as: 'raw', zeroCopy: true })).zeroCopy).toBe(false);
    expect((await ckpt.read('w', { zeroCopy: true })).zeroCopy).toBe(false);
    ckpt.close();
  });

  it('writing into a zero-copy view never changes the file on disk', async () => {
    const before = fs.readFileSync(aligned);
    const ckpt = await openCheckpoint(aligned);
    const view = await ckpt.read('w', { zeroCopy: true });
    expect(view.zeroCopy).toBe(true);
    view.data.fill(7);
    ckpt.close();
    expect(fs.readFileSync(aligned)).toEqual(before);
  });

  it('views stay valid after close() and after the other views and the checkpoint are collected', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    let ckpt: Checkpoint | null = await openCheckpoint(aligned);
    let first: Float32Array | null = (await ckpt.read('w')).data;
    const second = (await ckpt.read('w', { as: 'raw' })).data as Float32Array;
    const decoded = (await ckpt.read('h')).data;
    ckpt.close();
    expect([...first]).toEqual([1, -2, 3.5, Math.fround(1e-3)]);
    first = null;
    ckpt = null;
    for (let i = 0; i < 3; ++i) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    // The mapping is still held by `second`: reading it must not fault.
    expect([...second]).toEqual([1, -2, 3.5, Math.fround(1e-3)]);
    expect([...decoded]).toEqual([1, -2]);
  });
});

describe('reading into a caller-supplied array (into)', () => {
  it.each(MODES)('decodes into the given array, at its offset, leaving the rest untouched ($label)', async ({ mmap }) => {
    const target = alignedFile(`into-${mmap}.safetensors`, TENSORS);
    const ckpt = await openCheckpoint(target, { mmap });
    const backing = new Float32Array(32).fill(-99);
    const into = backing.subarray(3, 30);
    const m = await ckpt.read('m', { into });
    expect(m.zeroCopy).toBe(false);
    expect(m.data.buffer).toBe(backing.buffer);
    expect(m.data.byteOffset).toBe(into.byteOffset);
    expect([...m.data]).toEqual(MATRIX);
    expect(backing[2]).toBe(-99);
    expect(backing[15]).toBe(-99);
    const bf = ckpt.readSync('bf', { into, rows: [1, 3] });
    expect([...bf.data]).toEqual([3, 4, -1, 0]);
    expect(bf.data.byteOffset).toBe(into.byteOffset);
    expect([...backing.subarray(3, 7)]).toEqual([3, 4, -1, 0]);
    ckpt.close();
  });

  it('wrong destinations are INVALID_ARGUMENT, never a bare Error', async () => {
    const target = alignedFile('into-bad.safetensors', TENSORS);
    const ckpt = await openCheckpoint(target);
    const cases: Array<[string, AnyReadOptions]> = [
      ['too small', { into: new Float32Array(11) }],
      ['not a Float32Array', { into: new Float64Array(12) as unknown as Float32Array }],
      ['with as: raw', { as: 'raw', into: new Float32Array(12) }],
      ['over a SharedArrayBuffer', { into: new Float32Array(new SharedArrayBuffer(64)) }],
    ];
    for (const [what, options] of cases) {
      const error = await failure(readAny(ckpt, 'm', options));
      expect(error.code, what).toBe('INVALID_ARGUMENT');
      expect((await failure(() => readAnySync(ckpt, 'm', options))).code, `${what} (sync)`).toBe('INVALID_ARGUMENT');
    }
    ckpt.close();
  });
});

describe('close and dispose', () => {
  it('reads after close() fail with CLOSED; metadata stays readable; close() twice is harmless', async () => {
    const target = alignedFile('close.safetensors', TENSORS);
    const ckpt = await openCheckpoint(target);
    expect(ckpt.closed).toBe(false);
    ckpt.close();
    expect(ckpt.closed).toBe(true);
    for (const as of ['f32', 'raw'] as const) {
      const error = await failure(readAny(ckpt, 'm', { as }));
      expect(error.code).toBe('CLOSED');
      expect(error.file).toBe(target);
      expect((await failure(() => readAnySync(ckpt, 'm', { as }))).code).toBe('CLOSED');
    }
    expect(ckpt.tensors.map((t) => t.name)).toEqual(TENSORS.map((t) => t.name));
    expect(ckpt.tensor('m').shape).toEqual([4, 3]);
    expect(() => ckpt.close()).not.toThrow();
  });

  it('a read in flight when close() is called completes with the right data', async () => {
    const target = alignedFile('inflight.safetensors', TENSORS);
    const ckpt = await openCheckpoint(target, { mmap: false });
    const pending = [ckpt.read('m'), ckpt.read('bf'), ckpt.read('cube', { as: 'raw' })];
    ckpt.close();
    const [m, bf, cube] = await Promise.all(pending);
    expect([...m!.data]).toEqual(MATRIX);
    expect([...bf!.data]).toEqual([1, 2, 3, 4, -1, 0]);
    expect([...cube!.data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('Symbol.dispose closes, and `using` closes at the end of the block', async () => {
    const target = alignedFile('dispose.safetensors', TENSORS);
    const ckpt = await openCheckpoint(target);
    ckpt[Symbol.dispose]();
    expect(ckpt.closed).toBe(true);
    expect((await failure(ckpt.read('m'))).code).toBe('CLOSED');

    let escaped: Checkpoint | undefined;
    {
      using scoped = openCheckpointSync(target);
      escaped = scoped;
      expect(scoped.readSync('scalar').data[0]).toBe(42);
    }
    expect(escaped.closed).toBe(true);
  });
});

describe('values the reader must count or refuse', () => {
  const special: TensorSpec[] = [
    { name: 'f64', dtype: 'F64', shape: [4], bytes: f64Bytes([NaN, -Infinity, 2, 1e300]) },
    { name: 'f32', dtype: 'F32', shape: [2, 3], bytes: f32Bytes([NaN, 1, Infinity, 2, -Infinity, NaN]) },
    { name: 'bf16', dtype: 'BF16', shape: [3], bytes: u16Bytes([0xff80, 0x7fc1, 0x3f80]) },
    { name: 'f16', dtype: 'F16', shape: [2], bytes: u16Bytes([0x7c00, 0x7c01]) },
    { name: 'e4m3fnuz', dtype: 'F8_E4M3FNUZ', shape: [2], bytes: new Uint8Array([0x80, 0x40]) },
    { name: 'e8m0', dtype: 'F8_E8M0', shape: [2], bytes: new Uint8Array([0xff, 127]) },
    { name: 'i32', dtype: 'I32', shape: [2], bytes: new Uint8Array(new Int32Array([-1, 2147483647]).buffer) },
    { name: 'f4', dtype: 'F4', shape: [4], bytes: new Uint8Array([0x12, 0x34]) },
    { name: 'f6a', dtype: 'F6_E2M3', shape: [4], bytes: new Uint8Array([1, 2, 3]) },
    { name: 'f6b', dtype: 'F6_E3M2', shape: [8], bytes: new Uint8Array([4, 5, 6, 7, 8, 9]) },
    { name: 'c64', dtype: 'C64', shape: [2], bytes: f32Bytes([1, 2, 3, 4]) },
  ];
  let aligned: string;
  let unaligned: string;
  beforeAll(() => {
    aligned = alignedFile('special.safetensors', special);
    unaligned = file('special-unaligned.safetensors');
    let n = Buffer.byteLength(headerText(special));
    while ((8 + n) % 4 !== 1) ++n;  // the data buffer starts at 1 modulo 4: nothing wider than a byte is aligned
    fs.writeFileSync(unaligned, validFile(special, { headerLength: n }));
  });

  it.each([
    { label: 'aligned, mmap', which: 'aligned', mmap: true },
    { label: 'unaligned, mmap', which: 'unaligned', mmap: true },
    { label: 'pread', which: 'aligned', mmap: false },
  ])('NaN and ±Inf are decoded and counted in nonFinite, never crash ($label)', async ({ which, mmap }) => {
    const ckpt = await openCheckpoint(which === 'aligned' ? aligned : unaligned, { mmap });
    if (which === 'unaligned') expect((8 + ckpt.shards[0]!.headerBytes) % 4).toBe(1);
    const expectations: Record<string, { values: number[]; nonFinite: number }> = {
      f64: { values: [NaN, -Infinity, 2, Infinity], nonFinite: 3 },  // 1e300 overflows f32: +Inf
      f32: { values: [NaN, 1, Infinity, 2, -Infinity, NaN], nonFinite: 4 },
      bf16: { values: [-Infinity, NaN, 1], nonFinite: 2 },
      f16: { values: [Infinity, NaN], nonFinite: 2 },
      e4m3fnuz: { values: [NaN, 1], nonFinite: 1 },  // 0x80 is the only NaN; 0x40 = 2^(8-8)
      e8m0: { values: [NaN, 1], nonFinite: 1 },
      i32: { values: [-1, 2147483648], nonFinite: 0 },
    };
    for (const [name, want] of Object.entries(expectations)) {
      const read = await ckpt.read(name);
      expect(read.nonFinite, name).toBe(want.nonFinite);
      want.values.forEach((v, i) => {
        if (Number.isNaN(v)) expect(Number.isNaN(read.data[i]), `${name}[${i}]`).toBe(true);
        else expect(read.data[i], `${name}[${i}]`).toBe(v);
      });
      expect((await ckpt.read(name, { as: 'raw' })).nonFinite).toBe(0);
    }
    // Counting follows the slice: row 1 of f32 holds 2, -Inf and NaN.
    expect((await ckpt.read('f32', { rows: [1, 2] })).nonFinite).toBe(2);
    ckpt.close();
  });

  it.each(MODES)('sub-byte and complex dtypes: UNSUPPORTED_DTYPE as f32, exact bytes as raw ($label)', async ({ mmap }) => {
    const ckpt = await openCheckpoint(aligned, { mmap });
    for (const name of ['f4', 'f6a', 'f6b', 'c64']) {
      const spec = special.find((t) => t.name === name)!;
      const error = await failure(ckpt.read(name));
      expect(error.code, name).toBe('UNSUPPORTED_DTYPE');
      expect(error.tensor).toBe(name);
      expect(error.message).toContain(spec.dtype);
      expect((await failure(() => ckpt.readSync(name))).code).toBe('UNSUPPORTED_DTYPE');
      const raw = await ckpt.read(name, { as: 'raw' });
      expect(bytesOf(raw.data)).toEqual(Buffer.from(spec.bytes));
      expect(ckpt.tensor(name).bytes).toBe(spec.bytes.byteLength);
    }
    ckpt.close();
  });

  it('bad read arguments are INVALID_ARGUMENT; unknown names are TENSOR_NOT_FOUND with a hint', async () => {
    const target = alignedFile('args.safetensors', [{ name: 'model.layers.0.weight', dtype: 'F32', shape: [1], bytes: f32Bytes([1]) }]);
    const ckpt = await openCheckpoint(target);
    expect((await failure(ckpt.read('model.layers.0.weight', { as: 'f16' as 'f32' }))).code).toBe('INVALID_ARGUMENT');
    expect((await failure(ckpt.read(3 as unknown as string))).code).toBe('INVALID_ARGUMENT');
    const missing = await failure(ckpt.read('layers.0.weight'));
    expect(missing.code).toBe('TENSOR_NOT_FOUND');
    expect(missing.tensor).toBe('layers.0.weight');
    expect((await failure(openCheckpoint(target, { mmap: 'yes' as unknown as boolean }))).code).toBe('INVALID_ARGUMENT');
    expect((await failure(openCheckpoint(''))).code).toBe('INVALID_ARGUMENT');
    ckpt.close();
  });
});

// A file the generator's helpers did not make: written here with a wrong length prefix on purpose, to
// check the helper itself is not what makes the other tests pass.
describe('test helper sanity', () => {
  it('safetensorsBytes writes the prefix it is given', () => {
    const bytes = safetensorsBytes('{}', new Uint8Array(0), 5n);
    expect(bytes.readBigUInt64LE(0)).toBe(5n);
    expect(bytes.length).toBe(10);
  });
});

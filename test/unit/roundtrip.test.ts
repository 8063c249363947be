/**
 * writeSafetensors / writeSafetensorsSync -> openCheckpoint -> read, for every dtype: the stored bits
 * come back unchanged, and decoded values equal an independent JS decoder written here (exhaustively
 * over all 65536 codes of BF16/F16 and all 256 codes of each 8-bit float format). The written files are
 * checked by a minimal parser of our own (8-byte aligned header, contiguous data, aligned tensors), and
 * a failed write leaves nothing behind.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeToFloat32,
  DECODABLE_DTYPES,
  DTYPE_BITS,
  DTYPES,
  type Dtype,
  encodeFloat32,
  openCheckpoint,
  ParamscopeError,
  type TensorToWrite,
  writeSafetensors,
  writeSafetensorsSync,
} from '../../lib/index';
import { seededRandom } from '../../lib/results/random';
import { temporaryDirectory } from '../helpers/paths';

const tmp = temporaryDirectory('paramscope-roundtrip-');
afterAll(() => tmp.cleanup());
const file = (name: string) => path.join(tmp.dir, name);

// ---------------------------------------------------------------------------------------------------
// An independent decoder: formats described by their fields, evaluated in double precision.

type Special = 'ieee' | 'fn' | 'fnuz';
function minifloat(code: number, expBits: number, mantBits: number, bias: number, special: Special): number {
  const signBit = (code >> (expBits + mantBits)) & 1;
  const exp = (code >> mantBits) & ((1 << expBits) - 1);
  const mant = code & ((1 << mantBits) - 1);
  const maxExp = (1 << expBits) - 1;
  const maxMant = (1 << mantBits) - 1;
  if (special === 'ieee' && exp === maxExp) return mant === 0 ? (signBit ? -Infinity : Infinity) : NaN;
  if (special === 'fn' && exp === maxExp && mant === maxMant) return NaN;
  if (special === 'fnuz' && signBit === 1 && exp === 0 && mant === 0) return NaN;
  const magnitude = exp === 0 ? mant * 2 ** (1 - bias - mantBits) : (1 + mant / 2 ** mantBits) * 2 ** (exp - bias);
  return signBit ? -magnitude : magnitude;
}

const FLOAT_FORMATS: Partial<Record<Dtype, (code: number) => number>> = {
  BF16: (c) => minifloat(c, 8, 7, 127, 'ieee'),
  F16: (c) => minifloat(c, 5, 10, 15, 'ieee'),
  F8_E4M3: (c) => minifloat(c, 4, 3, 7, 'fn'),
  F8_E5M2: (c) => minifloat(c, 5, 2, 15, 'ieee'),
  F8_E4M3FNUZ: (c) => minifloat(c, 4, 3, 8, 'fnuz'),
  F8_E5M2FNUZ: (c) => minifloat(c, 5, 2, 16, 'fnuz'),
  F8_E8M0: (c) => (c === 0xff ? NaN : 2 ** (c - 127)),
};

/** A 64-bit integer rounded once, to nearest even, to f32 (no double rounding through float64). */
function bigintToF32(value: bigint): number {
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const bits = magnitude.toString(2).length;
  let result: number;
  if (magnitude === 0n || bits <= 24) {
    result = Number(magnitude);
  } else {
    const shift = BigInt(bits - 24);
    let kept = magnitude >> shift;
    const rest = magnitude - (kept << shift);
    const half = 1n << (shift - 1n);
    if (rest > half || (rest === half && (kept & 1n) === 1n)) kept += 1n;
    result = Number(kept) * 2 ** Number(shift);
  }
  return negative ? -result : result;
}

/** Decodes stored little-endian bytes to the f32 values paramscope must produce. */
function referenceDecode(dtype: Dtype, bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = (bytes.byteLength * 8) / DTYPE_BITS[dtype];
  const out: number[] = [];
  for (let i = 0; i < n; ++i) {
    switch (dtype) {
      case 'BOOL': out.push(view.getUint8(i) !== 0 ? 1 : 0); break;
      case 'U8': out.push(view.getUint8(i)); break;
      case 'I8': out.push(view.getInt8(i)); break;
      case 'U16': out.push(view.getUint16(2 * i, true)); break;
      case 'I16': out.push(view.getInt16(2 * i, true)); break;
      case 'U32': out.push(Math.fround(view.getUint32(4 * i, true))); break;
      case 'I32': out.push(Math.fround(view.getInt32(4 * i, true))); break;
      case 'U64': out.push(bigintToF32(view.getBigUint64(8 * i, true))); break;
      case 'I64': out.push(bigintToF32(view.getBigInt64(8 * i, true))); break;
      case 'F32': out.push(view.getFloat32(4 * i, true)); break;
      case 'F64': out.push(Math.fround(view.getFloat64(8 * i, true))); break;
      case 'BF16': case 'F16': out.push(FLOAT_FORMATS[dtype]!(view.getUint16(2 * i, true))); break;
      default: out.push(FLOAT_FORMATS[dtype]!(view.getUint8(i)));
    }
  }
  return out;
}

/** Value-exact comparison (NaN matches any NaN; -0 and +0 differ); returns the first mismatches. */
function mismatches(actual: Float32Array, expected: number[], label: (i: number) => string): string[] {
  const bad: string[] = [];
  if (actual.length !== expected.length) return [`length ${actual.length} != ${expected.length}`];
  for (let i = 0; i < expected.length && bad.length < 5; ++i) {
    const want = expected[i]!;
    const got = actual[i]!;
    const ok = Number.isNaN(want) ? Number.isNaN(got) : Object.is(got, Math.fround(want)) && Math.fround(want) === want;
    if (!ok) bad.push(`${label(i)}: got ${got}, want ${want}`);
  }
  return bad;
}

const nonFiniteCount = (values: number[]) => values.filter((v) => !Number.isFinite(v)).length;
const bytesOf = (view: ArrayBufferView) => Buffer.from(view.buffer, view.byteOffset, view.byteLength);

function randomBytes(n: number, next: () => number): Uint8Array {
  return Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
}

// ---------------------------------------------------------------------------------------------------
// A minimal independent parser: what "the reference reader accepts" means for files we write.

interface ParsedFile {
  headerLength: number;
  header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  metadata: Record<string, string> | undefined;
}
function parseIndependently(bytes: Buffer): ParsedFile {
  const n = Number(bytes.readBigUInt64LE(0));
  const text = bytes.subarray(8, 8 + n).toString('utf8');
  const json = JSON.parse(text) as Record<string, unknown>;
  const { __metadata__: metadata, ...header } = json;
  return { headerLength: n, header: header as ParsedFile['header'], metadata: metadata as Record<string, string> | undefined };
}
function checkLayout(bytes: Buffer): ParsedFile {
  const parsed = parseIndependently(bytes);
  expect(parsed.headerLength % 8, 'header length is a multiple of 8').toBe(0);
  const headerText = bytes.subarray(8, 8 + parsed.headerLength).toString('utf8');
  expect(headerText.trimEnd().endsWith('}')).toBe(true);
  expect(/^[^ ]/.test(headerText) && /^ *$/.test(headerText.slice(headerText.trimEnd().length))).toBe(true);
  const ranges = Object.entries(parsed.header)
    .map(([name, t]) => ({ name, dtype: t.dtype, begin: t.data_offsets[0], end: t.data_offsets[1], shape: t.shape }))
    .sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const r of ranges) {
    expect(r.begin, `${r.name} starts where the previous tensor ends`).toBe(expected);
    const numel = r.shape.reduce((a, b) => a * b, 1);
    expect((r.end - r.begin) * 8, `${r.name} size`).toBe(numel * DTYPE_BITS[r.dtype as Dtype]);
    const elementBytes = Math.max(1, DTYPE_BITS[r.dtype as Dtype] / 8);
    expect((8 + parsed.headerLength + r.begin) % elementBytes, `${r.name} (${r.dtype}) is aligned in the file`).toBe(0);
    expected = r.end;
  }
  expect(8 + parsed.headerLength + expected, 'the data ends at end of file').toBe(bytes.length);
  return parsed;
}

// ---------------------------------------------------------------------------------------------------

describe('round trip of every dtype', () => {
  // Mixed element sizes in an order that would misalign wider types if written as given.
  const next = seededRandom(20240607);
  const order: Dtype[] = [...DTYPES].sort((a, b) => DTYPE_BITS[a] - DTYPE_BITS[b]);
  const tensors: Array<[string, TensorToWrite]> = [];
  for (const dtype of order) {
    const numel = 12;  // a whole number of bytes even for 4- and 6-bit formats
    tensors.push([`t.${dtype}`, { dtype, shape: [3, 4], data: randomBytes((numel * DTYPE_BITS[dtype]) / 8, next) }]);
    tensors.push([`scalar.${dtype}`, { dtype, shape: [], data: randomBytes(Math.max(1, DTYPE_BITS[dtype] / 8), next) }]);
    tensors.push([`empty.${dtype}`, { dtype, shape: [0, 5], data: new Uint8Array(0) }]);
  }
  // Sub-byte scalars are not whole bytes: drop them.
  const all = tensors.filter(([name, t]) => !(name.startsWith('scalar.') && DTYPE_BITS[t.dtype] < 8));

  it('covers all 22 dtypes', () => {
    expect(new Set(all.map(([, t]) => t.dtype)).size).toBe(DTYPES.length);
    expect(DTYPES.length).toBe(22);
  });

  it.each([
    { label: 'writeSafetensorsSync, mmap', sync: true, mmap: true },
    { label: 'writeSafetensors, pread', sync: false, mmap: false },
  ])('stored bits and decoded values come back exactly ($label)', async ({ sync, mmap }) => {
    const target = file(`all-${sync}.safetensors`);
    if (sync) writeSafetensorsSync(target, all, { format: 'pt' });
    else await writeSafetensors(target, all, { format: 'pt' });
    checkLayout(fs.readFileSync(target));
    const ckpt = await openCheckpoint(target, { mmap });
    expect(ckpt.tensors.map((t) => t.name)).toEqual(all.map(([name]) => name));  // header order = order given
    for (const [name, t] of all) {
      const info = ckpt.tensor(name);
      expect(info.dtype).toBe(t.dtype);
      expect(info.shape).toEqual(t.shape);
      const raw = await ckpt.read(name, { as: 'raw', zeroCopy: true });
      expect(bytesOf(raw.data).equals(bytesOf(t.data)), `${name} raw bits`).toBe(true);
      // Every tensor of a file we wrote is aligned: mapped raw reads are views, pread reads copies.
      if (t.data.byteLength > 0) expect(raw.zeroCopy, `${name} zero-copy`).toBe(mmap);
      if (!DECODABLE_DTYPES.has(t.dtype)) {
        const error = await ckpt.read(name).catch((e: unknown) => e);
        expect((error as ParamscopeError).code).toBe('UNSUPPORTED_DTYPE');
        continue;
      }
      const decoded = await ckpt.read(name);
      const expected = referenceDecode(t.dtype, t.data as Uint8Array);
      expect(mismatches(decoded.data, expected, (i) => `${name}[${i}]`)).toEqual([]);
      expect(decoded.nonFinite, `${name} nonFinite`).toBe(nonFiniteCount(expected));
      expect(bytesOf(decodeToFloat32(t.data, t.dtype)).equals(bytesOf(decoded.data)), `${name} read = decodeToFloat32`).toBe(true);
      if (t.dtype === 'F32' && mmap && t.data.byteLength > 0) expect((await ckpt.read(name, { zeroCopy: true })).zeroCopy).toBe(true);
    }
    ckpt.close();
  });

  it('the sync and async writers produce identical bytes', async () => {
    writeSafetensorsSync(file('same-sync.safetensors'), all, { a: 'b' });
    await writeSafetensors(file('same-async.safetensors'), all, { a: 'b' });
    expect(fs.readFileSync(file('same-sync.safetensors')).equals(fs.readFileSync(file('same-async.safetensors')))).toBe(true);
  });

  it('a record (object) of tensors works like the list form', async () => {
    const target = file('record.safetensors');
    await writeSafetensors(target, { b: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }, a: { dtype: 'U8', shape: [1], data: new Uint8Array([7]) } });
    const ckpt = await openCheckpoint(target);
    expect(ckpt.tensors.map((t) => t.name)).toEqual(['b', 'a']);
    expect([...(await ckpt.read('b')).data]).toEqual([1, 2]);
    ckpt.close();
  });
});

describe('exhaustive decode of the 16- and 8-bit float formats against the JS decoder', () => {
  const formats: Array<[Dtype, number]> = [
    ['BF16', 65536], ['F16', 65536], ['F8_E4M3', 256], ['F8_E5M2', 256], ['F8_E4M3FNUZ', 256], ['F8_E5M2FNUZ', 256], ['F8_E8M0', 256],
  ];
  const target = file('all-codes.safetensors');
  const data = new Map<Dtype, Uint8Array>();
  for (const [dtype, count] of formats) {
    data.set(dtype, count === 65536 ? new Uint8Array(Uint16Array.from({ length: count }, (_, i) => i).buffer) : Uint8Array.from({ length: count }, (_, i) => i));
  }

  it.each([true, false])('every code, read from a file (mmap %s) and decoded natively, matches', async (mmap) => {
    if (!fs.existsSync(target)) writeSafetensorsSync(target, formats.map(([dtype, count]) => [dtype, { dtype, shape: [count], data: data.get(dtype)! }] as const));
    const ckpt = await openCheckpoint(target, { mmap });
    for (const [dtype, count] of formats) {
      const expected = Array.from({ length: count }, (_, code) => FLOAT_FORMATS[dtype]!(code));
      const hex = (i: number) => `${dtype} 0x${i.toString(16).padStart(count === 256 ? 2 : 4, '0')}`;
      const read = await ckpt.read(dtype);
      expect(mismatches(read.data, expected, hex)).toEqual([]);
      expect(read.nonFinite).toBe(nonFiniteCount(expected));
      expect(mismatches(decodeToFloat32(data.get(dtype)!, dtype), expected, hex)).toEqual([]);
      // An unaligned source (odd byte offset) decodes the same.
      const shifted = new Uint8Array(data.get(dtype)!.byteLength + 1);
      shifted.set(data.get(dtype)!, 1);
      expect(mismatches(decodeToFloat32(shifted.subarray(1), dtype), expected, hex)).toEqual([]);
    }
    ckpt.close();
  });

  it('sanity of the JS decoder on known values', () => {
    expect(FLOAT_FORMATS.BF16!(0x3f80)).toBe(1);
    expect(FLOAT_FORMATS.F16!(0x7bff)).toBe(65504);
    expect(FLOAT_FORMATS.F16!(0x0001)).toBe(2 ** -24);
    expect(FLOAT_FORMATS.F8_E4M3!(0x7e)).toBe(448);
    expect(FLOAT_FORMATS.F8_E4M3!(0x7f)).toBeNaN();
    expect(FLOAT_FORMATS.F8_E5M2!(0x7b)).toBe(57344);
    expect(FLOAT_FORMATS.F8_E5M2!(0x7c)).toBe(Infinity);
    expect(FLOAT_FORMATS.F8_E4M3FNUZ!(0x80)).toBeNaN();
    expect(FLOAT_FORMATS.F8_E4M3FNUZ!(0x7f)).toBe(240);
    expect(bigintToF32(2n ** 24n + 1n)).toBe(2 ** 24);  // tie to even
    expect(bigintToF32(2n ** 24n + 3n)).toBe(2 ** 24 + 4);
    // 2^60 + 2^36 + 1 is just above a tie: a double rounding (to float64, then f32) would go down.
    expect(bigintToF32(2n ** 60n + 2n ** 36n + 1n)).toBe(2 ** 60 + 2 ** 37);
    expect(Math.fround(Number(2n ** 60n + 2n ** 36n + 1n))).toBe(2 ** 60);
  });

  it('encodeFloat32 inverts the decoder on every finite BF16 and F16 code, and keeps NaN a NaN', () => {
    for (const dtype of ['BF16', 'F16'] as const) {
      const codes = Uint16Array.from({ length: 65536 }, (_, i) => i);
      const decoded = decodeToFloat32(codes, dtype);
      const encoded = new Uint16Array(encodeFloat32(decoded, dtype).slice().buffer);
      const bad: string[] = [];
      for (let i = 0; i < 65536 && bad.length < 5; ++i) {
        if (Number.isNaN(decoded[i])) {
          if (!Number.isNaN(FLOAT_FORMATS[dtype]!(encoded[i]!))) bad.push(`${dtype} NaN 0x${i.toString(16)} encoded to 0x${encoded[i]!.toString(16)}`);
        } else if (encoded[i] !== i) {
          bad.push(`${dtype} 0x${i.toString(16)} -> ${decoded[i]} -> 0x${encoded[i]!.toString(16)}`);
        }
      }
      expect(bad).toEqual([]);
    }
  });
});

describe('names and metadata', () => {
  it('metadata round-trips exactly, including keys that are special in JS', async () => {
    const metadata = JSON.parse(
      '{"format":"pt","ключ":"значение 🙂","quote\\"back\\\\slash":"line\\nbreak\\ttab","empty":"","__proto__":"proto-value","constructor":"c","toString":"t"}',
    ) as Record<string, string>;
    expect(Object.keys(metadata)).toContain('__proto__');
    const target = file('metadata.safetensors');
    await writeSafetensors(target, [['w', { dtype: 'U8', shape: [1], data: new Uint8Array([1]) }]], metadata);
    expect(parseIndependently(fs.readFileSync(target)).metadata).toEqual(metadata);
    const ckpt = await openCheckpoint(target);
    const entries = (o: object) => Object.entries(o).sort(([a], [b]) => a.localeCompare(b));
    expect(entries(ckpt.metadata)).toEqual(entries(metadata));
    expect(Object.keys(ckpt.metadata)).toHaveLength(Object.keys(metadata).length);
    ckpt.close();
  });

  it('tensor names that are special in JS or JSON round-trip', async () => {
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'a"b\\c', 'tab\there', 'ünï.cødé', '🙂', ' '];
    const target = file('names.safetensors');
    writeSafetensorsSync(target, names.map((name, i) => [name, { dtype: 'I16', shape: [1], data: new Int16Array([i - 3]) }] as const));
    checkLayout(fs.readFileSync(target));
    const ckpt = await openCheckpoint(target);
    expect(ckpt.tensors.map((t) => t.name)).toEqual(names);
    for (const [i, name] of names.entries()) expect([...(await ckpt.read(name)).data], name).toEqual([i - 3]);
    ckpt.close();
  });

  it('a file with only metadata, and an empty file ({}), are written and read back', async () => {
    writeSafetensorsSync(file('only-meta.safetensors'), [], { k: 'v' });
    writeSafetensorsSync(file('nothing.safetensors'), {});
    const a = await openCheckpoint(file('only-meta.safetensors'));
    expect(a.tensors).toEqual([]);
    expect(a.metadata).toEqual({ k: 'v' });
    const b = await openCheckpoint(file('nothing.safetensors'));
    expect(b.tensors).toEqual([]);
    expect(b.metadata).toEqual({});
    expect(checkLayout(fs.readFileSync(file('nothing.safetensors'))).headerLength).toBe(8);
    a.close();
    b.close();
  });
});

describe('a failed write leaves no file behind', () => {
  const listing = (dir: string) => fs.readdirSync(dir).sort();

  it.each([true, false])('target directory missing (sync %s): WRITE_FAILED, nothing created', async (sync) => {
    const target = file(`missing-dir-${sync}/x.safetensors`);
    const write = () => (sync ? writeSafetensorsSync(target, { w: { dtype: 'U8', shape: [1], data: new Uint8Array(1) } }) : writeSafetensors(target, { w: { dtype: 'U8', shape: [1], data: new Uint8Array(1) } }));
    const error = await (async () => write())().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParamscopeError);
    expect((error as ParamscopeError).code).toBe('WRITE_FAILED');
    expect((error as ParamscopeError).file).toBe(target);
    expect(fs.existsSync(path.dirname(target))).toBe(false);
  });

  const invalid: Array<[string, unknown, unknown?]> = [
    ['a byte length that does not match the shape', { w: { dtype: 'F32', shape: [2], data: new Uint8Array(7) } }],
    ['an unknown dtype', { w: { dtype: 'F128', shape: [1], data: new Uint8Array(16) } }],
    ['a negative dimension', { w: { dtype: 'U8', shape: [-1], data: new Uint8Array(0) } }],
    ['a fractional dimension', { w: { dtype: 'U8', shape: [1.5], data: new Uint8Array(1) } }],
    ['data that is not a typed array', { w: { dtype: 'U8', shape: [2], data: [1, 2] } }],
    ['a tensor named __metadata__', { __metadata__: { dtype: 'U8', shape: [1], data: new Uint8Array(1) } }],
    ['an empty tensor name', { '': { dtype: 'U8', shape: [1], data: new Uint8Array(1) } }],
    ['the same name twice', [['w', { dtype: 'U8', shape: [1], data: new Uint8Array(1) }], ['w', { dtype: 'U8', shape: [1], data: new Uint8Array(1) }]]],
    ['a sub-byte tensor that is not whole bytes', { w: { dtype: 'F4', shape: [3], data: new Uint8Array(2) } }],
    ['a metadata value that is not a string', { w: { dtype: 'U8', shape: [1], data: new Uint8Array(1) } }, { epoch: 3 }],
  ];
  it.each(invalid)('invalid input (%s): INVALID_ARGUMENT, no file, no temporary, an existing file untouched', async (_what, tensors, metadata) => {
    const dir = file(`invalid-${Math.random().toString(36).slice(2)}`);
    fs.mkdirSync(dir);
    const target = path.join(dir, 'out.safetensors');
    for (const sync of [true, false]) {
      const call = () =>
        sync
          ? writeSafetensorsSync(target, tensors as Record<string, TensorToWrite>, metadata as Record<string, string>)
          : writeSafetensors(target, tensors as Record<string, TensorToWrite>, metadata as Record<string, string>);
      const error = await (async () => call())().catch((e: unknown) => e);
      expect((error as ParamscopeError).code).toBe('INVALID_ARGUMENT');
      expect(listing(dir)).toEqual([]);
    }
    fs.writeFileSync(target, 'previous content');
    const error = await writeSafetensors(target, tensors as Record<string, TensorToWrite>, metadata as Record<string, string>).catch((e: unknown) => e);
    expect((error as ParamscopeError).code).toBe('INVALID_ARGUMENT');
    expect(fs.readFileSync(target, 'utf8')).toBe('previous content');
    expect(listing(dir)).toEqual(['out.safetensors']);
  });

  it.each([true, false])('a target that cannot be replaced (a non-empty directory; sync %s): WRITE_FAILED, temporary removed', async (sync) => {
    const dir = file(`blocked-${sync}`);
    const target = path.join(dir, 'model.safetensors');
    fs.mkdirSync(path.join(target, 'inside'), { recursive: true });
    const tensors = { w: { dtype: 'F32' as const, shape: [1000], data: new Float32Array(1000) } };
    const error = await (async () => (sync ? writeSafetensorsSync(target, tensors) : writeSafetensors(target, tensors)))().catch((e: unknown) => e);
    expect((error as ParamscopeError).code).toBe('WRITE_FAILED');
    expect(listing(dir)).toEqual(['model.safetensors']);
    expect(fs.statSync(target).isDirectory()).toBe(true);
  });

  it('a successful write replaces an existing file atomically (no temporary left)', async () => {
    const dir = file('replace');
    fs.mkdirSync(dir);
    const target = path.join(dir, 'w.safetensors');
    fs.writeFileSync(target, 'old');
    await writeSafetensors(target, { w: { dtype: 'U8', shape: [2], data: new Uint8Array([4, 5]) } });
    expect(listing(dir)).toEqual(['w.safetensors']);
    const ckpt = await openCheckpoint(target);
    expect([...(await ckpt.read('w', { as: 'raw' })).data]).toEqual([4, 5]);
    ckpt.close();
  });
});

/**
 * Seeded mutation fuzzing of the reader. Valid files are mutated (bit flips, interesting bytes,
 * truncation, appended bytes, header-length edits, header insertions/deletions, and JSON-aware header
 * edits: numbers, dtypes, deleted/duplicated/renamed keys, type swaps, deep nesting, huge numbers), then
 * opened and fully read in CHILD processes (test/fixtures/fuzz-child.ts), many inputs per child.
 *
 * Fails when a child dies on a signal (crash), stops making progress (hang), or reports an outcome
 * other than "read correctly" or "ParamscopeError with a known code" (see fuzz-child.ts); the message
 * names the iteration, the mutations, where the input was kept, and how to rerun just that input.
 *
 *   PARAMSCOPE_FUZZ_ITERATIONS  number of mutated inputs (default 5000)
 *   PARAMSCOPE_FUZZ_SEED        master seed (default 1)
 *   PARAMSCOPE_FUZZ_ONLY        comma-separated iterations to run alone (reproduce a failure)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DTYPES, writeSafetensorsSync } from '../../lib/index';
import type { ChildResult } from '../fixtures/fuzz-child';
import { f32Bytes, f64Bytes, headerText, safetensorsBytes, type TensorSpec, u16Bytes, validFile } from '../fixtures/generate-malformed';
import { addonPath, bundleChild, type Failure, Rng, runChild, tallyOutcomes } from '../helpers/fuzz-harness';
import { temporaryDirectory } from '../helpers/paths';

const ITERATIONS = Number(process.env.PARAMSCOPE_FUZZ_ITERATIONS ?? 5000);
const SEED = Number(process.env.PARAMSCOPE_FUZZ_SEED ?? 1);
const ONLY = process.env.PARAMSCOPE_FUZZ_ONLY?.split(',').map(Number);
const BATCH = 250;
const CONCURRENCY = Math.max(1, Math.min(2, os.cpus().length));

// ---------------------------------------------------------------------------------------------------
// Seeds: valid files that cover the dtypes, alignment cases and header shapes.

interface Seed {
  name: string;
  header: string;
  data: Buffer;
}

function seedFrom(name: string, bytes: Buffer): Seed {
  const n = Number(bytes.readBigUInt64LE(0));
  return { name, header: bytes.subarray(8, 8 + n).toString('utf8'), data: bytes.subarray(8 + n) };
}

function makeSeeds(dir: string): Seed[] {
  const seeds: Seed[] = [];
  const mixed = path.join(dir, 'seed-mixed.safetensors');
  writeSafetensorsSync(mixed, [
    ['scalar', { dtype: 'F64', shape: [], data: new Float64Array([Math.PI]) }],
    ['m', { dtype: 'F32', shape: [4, 3], data: new Float32Array([1, -2, 3, 0.5, NaN, Infinity, 7, 8, 9, 10, 11, 12]) }],
    ['ids', { dtype: 'I64', shape: [2], data: new BigInt64Array([-5n, 1n << 40n]) }],
    ['bf', { dtype: 'BF16', shape: [2, 3], data: new Uint16Array([0x3f80, 0xc000, 0x7f80, 0x0001, 0x7fc0, 0x4049]) }],
    ['h', { dtype: 'F16', shape: [4], data: new Uint16Array([0x3c00, 0xfc00, 0x0001, 0x7bff]) }],
    ['i32', { dtype: 'I32', shape: [1], data: new Int32Array([-7]) }],
    ['u16', { dtype: 'U16', shape: [3], data: new Uint16Array([1, 2, 65535]) }],
    ['e4m3', { dtype: 'F8_E4M3', shape: [4], data: new Uint8Array([0x38, 0x7f, 0xff, 0x01]) }],
    ['e5m2', { dtype: 'F8_E5M2', shape: [2, 2], data: new Uint8Array([0x3c, 0x7c, 0x7d, 0x80]) }],
    ['mask', { dtype: 'BOOL', shape: [3], data: new Uint8Array([0, 1, 1]) }],
    ['u8', { dtype: 'U8', shape: [5], data: new Uint8Array([0, 1, 2, 254, 255]) }],
    ['i8', { dtype: 'I8', shape: [2], data: new Int8Array([-128, 127]) }],
    ['empty', { dtype: 'F32', shape: [0, 2], data: new Float32Array(0) }],
  ], { format: 'pt', note: 'seed' });
  seeds.push(seedFrom('mixed', fs.readFileSync(mixed)));

  const unalignedTensors: TensorSpec[] = [
    { name: 'w', dtype: 'F32', shape: [3], bytes: f32Bytes([0.25, NaN, -Infinity]) },
    { name: 'h', dtype: 'F16', shape: [2], bytes: u16Bytes([0x3c00, 0x7e00]) },
    { name: 'b', dtype: 'U8', shape: [1], bytes: new Uint8Array([9]) },
  ];
  let n = Buffer.byteLength(headerText(unalignedTensors));
  while ((8 + n) % 8 !== 3) ++n;
  seeds.push(seedFrom('unaligned', validFile(unalignedTensors, { headerLength: n })));

  seeds.push(seedFrom('sub-byte', validFile([
    { name: 'q4', dtype: 'F4', shape: [2, 4], bytes: new Uint8Array([0x12, 0x34, 0x56, 0x78]) },
    { name: 'q6', dtype: 'F6_E3M2', shape: [4], bytes: new Uint8Array([1, 2, 3]) },
    { name: 'c', dtype: 'C64', shape: [1], bytes: f32Bytes([1, -1]) },
    { name: 'e8', dtype: 'F8_E8M0', shape: [2], bytes: new Uint8Array([127, 0xff]) },
    { name: 'fnuz', dtype: 'F8_E4M3FNUZ', shape: [2], bytes: new Uint8Array([0x80, 0x40]) },
    { name: 'f5nuz', dtype: 'F8_E5M2FNUZ', shape: [1], bytes: new Uint8Array([0x44]) },
  ], { metadata: { format: 'mx' } })));

  seeds.push(seedFrom('empty', safetensorsBytes('{}')));
  seeds.push(seedFrom('metadata-only', safetensorsBytes('{"__metadata__":{"format":"pt","a":"b"}}')));
  seeds.push(seedFrom('many', validFile(Array.from({ length: 40 }, (_, i) => ({ name: `layers.${i}.w`, dtype: 'F32', shape: [2], bytes: f32Bytes([i, -i]) })))));
  seeds.push(seedFrom('padded-scalars', safetensorsBytes(`   ${headerText([
    { name: 's', dtype: 'F64', shape: [], bytes: f64Bytes([2.5]) },
    { name: 't', dtype: 'I32', shape: [1, 1], bytes: new Uint8Array(new Int32Array([3]).buffer) },
  ])}     `, Buffer.concat([Buffer.from(f64Bytes([2.5])), Buffer.from(new Int32Array([3]).buffer)]))));
  return seeds;
}

// ---------------------------------------------------------------------------------------------------
// A JSON model that keeps key order and allows duplicate keys and arbitrary number text.

type Node = null | boolean | number | string | { raw: string } | Node[] | { pairs: Array<[string, Node]> };
const isObj = (n: Node): n is { pairs: Array<[string, Node]> } => typeof n === 'object' && n !== null && 'pairs' in n;

function toNode(value: unknown): Node {
  if (Array.isArray(value)) return value.map(toNode);
  if (typeof value === 'object' && value !== null) return { pairs: Object.entries(value).map(([k, v]) => [k, toNode(v)]) };
  return value as Node;
}

function serialize(node: Node): string {
  if (Array.isArray(node)) return `[${node.map(serialize).join(',')}]`;
  if (isObj(node)) return `{${node.pairs.map(([k, v]) => `${JSON.stringify(k)}:${serialize(v)}`).join(',')}}`;
  if (typeof node === 'object' && node !== null) return node.raw;
  return JSON.stringify(node);
}

const NUMBER_TEXTS = ['0', '-1', '1', '2', '3', '7', '8', '16', '4294967296', '9007199254740993', '9223372036854775808', '18446744073709551615',
  '18446744073709551616', '1' + '0'.repeat(30), '1e400', '1.5', '-0', '2.0', '1e2', '00'];
const DTYPE_CHOICES: Node[] = [...DTYPES, 'F128', '', 'bf16', 'f32', 'BF16 ', 7, null];
const VALUE_CHOICES: Node[] = ['str', 5, null, true, [], [[1]], { pairs: [] }, { pairs: [['a', { raw: '1' }]] }, [{ raw: '-1' }, { raw: '2' }]];
const NAME_CHOICES = ['', '__metadata__', 'x'.repeat(1000), '\u0000', '\ud800', 'm', 'a"b', '\u00e9\u{1F600}'];

/** Applies one JSON-aware edit to the header; returns its description. */
function editHeader(root: { pairs: Array<[string, Node]> }, rng: Rng): string {
  const tensors = root.pairs.filter(([k, v]) => k !== '__metadata__' && isObj(v));
  const tensor = tensors.length > 0 ? rng.pick(tensors) : undefined;
  const entry = tensor && isObj(tensor[1]) ? tensor[1] : undefined;
  const field = entry && entry.pairs.length > 0 ? rng.pick(entry.pairs) : undefined;
  switch (rng.int(11)) {
    case 0: {  // change a number in shape or data_offsets
      const list = entry?.pairs.find(([k]) => k === (rng.chance(0.5) ? 'shape' : 'data_offsets'))?.[1];
      if (!Array.isArray(list)) return 'number edit (no target)';
      const i = list.length > 0 && rng.chance(0.85) ? rng.int(list.length) : list.length;
      const old = typeof list[i] === 'number' ? (list[i] as number) : 0;
      const text = rng.pick([...NUMBER_TEXTS, String(old + 1), String(Math.max(0, old - 1)), String(old * 2), String(rng.int(1000))]);
      list[i] = { raw: text };
      return `"${tensor![0]}" number #${i} -> ${text}`;
    }
    case 1: {  // change a dtype
      const dtype = entry?.pairs.find(([k]) => k === 'dtype');
      if (!dtype) return 'dtype edit (no target)';
      dtype[1] = rng.pick(DTYPE_CHOICES);
      return `"${tensor![0]}" dtype -> ${JSON.stringify(dtype[1])}`;
    }
    case 2: {  // delete a key
      if (entry && rng.chance(0.6) && entry.pairs.length > 0) {
        const k = rng.int(entry.pairs.length);
        const [removed] = entry.pairs.splice(k, 1);
        return `"${tensor![0]}" delete field ${removed![0]}`;
      }
      if (root.pairs.length === 0) return 'delete (no target)';
      const [removed] = root.pairs.splice(rng.int(root.pairs.length), 1);
      return `delete key "${removed![0]}"`;
    }
    case 3: {  // duplicate a key
      if (entry && field && rng.chance(0.4)) {
        entry.pairs.splice(rng.int(entry.pairs.length + 1), 0, [field[0], structuredClone(field[1])]);
        return `"${tensor![0]}" duplicate field ${field[0]}`;
      }
      if (root.pairs.length === 0) return 'duplicate (no target)';
      const pair = rng.pick(root.pairs);
      root.pairs.splice(rng.int(root.pairs.length + 1), 0, [pair[0], structuredClone(pair[1])]);
      return `duplicate key "${pair[0].slice(0, 40)}"`;
    }
    case 4: {  // rename a tensor
      if (!tensor) return 'rename (no target)';
      const to = rng.chance(0.5) && tensors.length > 1 ? rng.pick(tensors)[0] : rng.pick(NAME_CHOICES);
      const from = tensor[0];
      tensor[0] = to;
      return `rename "${from}" -> ${JSON.stringify(to.slice(0, 20))}`;
    }
    case 5: {  // swap a value's type
      if (!field) return 'type swap (no target)';
      field[1] = structuredClone(rng.pick(VALUE_CHOICES));
      return `"${tensor![0]}".${field[0]} -> ${serialize(field[1])}`;
    }
    case 6: {  // change an array's length
      const list = entry?.pairs.find(([k]) => k === (rng.chance(0.5) ? 'shape' : 'data_offsets'))?.[1];
      if (!Array.isArray(list)) return 'length edit (no target)';
      if (rng.chance(0.5) && list.length > 0) list.splice(rng.int(list.length), 1);
      else list.splice(rng.int(list.length + 1), 0, { raw: rng.pick(['0', '1', '2', '4']) });
      return `"${tensor![0]}" array length -> ${list.length}`;
    }
    case 7: {  // metadata edits
      let meta = root.pairs.find(([k]) => k === '__metadata__');
      if (!meta) {
        meta = ['__metadata__', { pairs: [] }];
        root.pairs.splice(rng.int(root.pairs.length + 1), 0, meta);
      }
      const choice = rng.int(6);
      if (choice === 0) meta[1] = structuredClone(rng.pick(VALUE_CHOICES));
      else if (choice === 1) meta[1] = { pairs: [['dtype', 'F32'], ['shape', [{ raw: '1' }]], ['data_offsets', [{ raw: '0' }, { raw: '4' }]]] };
      else if (isObj(meta[1])) meta[1].pairs.push([rng.pick(['k', 'format', '']), structuredClone(rng.pick(['v', ...VALUE_CHOICES]))]);
      else meta[1] = { pairs: [['k', 'v']] };
      return `__metadata__ -> ${serialize(meta[1]).slice(0, 60)}`;
    }
    case 8: {  // deep nesting
      if (!field) return 'nesting (no target)';
      const depth = 1 + rng.int(rng.chance(0.5) ? 80 : 3000);
      field[1] = { raw: '['.repeat(depth) + serialize(field[1]) + ']'.repeat(depth) };
      return `"${tensor![0]}".${field[0]} nested ${depth} deep`;
    }
    case 9: {  // swap the byte ranges of two tensors
      if (tensors.length < 2) return 'offset swap (no target)';
      const a = rng.pick(tensors)[1];
      const b = rng.pick(tensors)[1];
      if (!isObj(a) || !isObj(b)) return 'offset swap (no target)';
      const pa = a.pairs.find(([k]) => k === 'data_offsets');
      const pb = b.pairs.find(([k]) => k === 'data_offsets');
      if (!pa || !pb) return 'offset swap (no target)';
      [pa[1], pb[1]] = [pb[1], pa[1]];
      return 'swap data_offsets of two tensors';
    }
    default: {  // an unknown field
      if (!entry) return 'extra field (no target)';
      entry.pairs.push(['extra', structuredClone(rng.pick(VALUE_CHOICES))]);
      return `"${tensor![0]}" extra field`;
    }
  }
}

const INTERESTING = [0x00, 0xff, 0x7f, 0x80, 0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x2d, 0x30, 0x39, 0x20, 0x5c, 0xc0, 0xed, 0xf4];

/** Byte-level mutations of a whole file; returns the description. */
function editBytes(file: Buffer, rng: Rng): { bytes: Buffer; what: string } {
  const prefix = file.length >= 8 ? file.readBigUInt64LE(0) : 0n;
  const n = Number(prefix);
  const headerEnd = Math.min(file.length, 8 + Math.min(n, file.length));
  const position = () => (rng.chance(0.7) && headerEnd > 0 ? rng.int(headerEnd) : rng.int(Math.max(1, file.length)));
  const bytes = Buffer.from(file);
  switch (rng.int(7)) {
    case 0: {
      const flips = 1 + rng.int(8);
      for (let k = 0; k < flips && bytes.length > 0; ++k) {
        const p = position();
        bytes[p] = bytes[p]! ^ (1 << rng.int(8));
      }
      return { bytes, what: `${flips} bit flips` };
    }
    case 1: {
      const count = 1 + rng.int(4);
      for (let k = 0; k < count && bytes.length > 0; ++k) bytes[position()] = rng.pick(INTERESTING);
      return { bytes, what: `${count} interesting bytes` };
    }
    case 2: {
      const length = rng.chance(0.5) ? rng.int(bytes.length) : Math.max(0, bytes.length - 1 - rng.int(16));
      return { bytes: bytes.subarray(0, length), what: `truncate to ${length}` };
    }
    case 3: {
      const extra = Buffer.from(Array.from({ length: 1 + rng.int(64) }, () => rng.int(256)));
      return { bytes: Buffer.concat([bytes, extra]), what: `append ${extra.length} bytes` };
    }
    case 4: {
      if (bytes.length < 8) return { bytes, what: 'N edit (file too short)' };
      const choices = [0n, 1n, BigInt(n + 1), BigInt(Math.max(0, n - 1)), BigInt(n + 8), BigInt(Math.max(0, n - 8)), BigInt(bytes.length - 8),
        BigInt(bytes.length), 100_000_000n, 100_000_001n, (1n << 64n) - 1n, 1n << 63n, BigInt(rng.int(2 ** 31)) * BigInt(rng.int(2 ** 31))];
      const value = BigInt.asUintN(64, rng.pick(choices));
      bytes.writeBigUInt64LE(value, 0);
      return { bytes, what: `N -> ${value}` };
    }
    case 5: {  // insert bytes into the header, with or without fixing N
      const at = 8 + rng.int(Math.max(1, headerEnd - 8));
      const insert = Buffer.from(Array.from({ length: 1 + rng.int(8) }, () => rng.pick(INTERESTING)));
      const out = Buffer.concat([bytes.subarray(0, at), insert, bytes.subarray(at)]);
      const fix = rng.chance(0.7) && out.length >= 8;
      if (fix) out.writeBigUInt64LE(BigInt.asUintN(64, prefix + BigInt(insert.length)), 0);
      return { bytes: out, what: `insert ${insert.length} bytes at ${at}${fix ? ', N adjusted' : ''}` };
    }
    default: {  // delete bytes from the header
      const at = 8 + rng.int(Math.max(1, headerEnd - 8));
      const count = 1 + rng.int(8);
      const out = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + count)]);
      const fix = rng.chance(0.7) && out.length >= 8 && prefix >= BigInt(count);
      if (fix) out.writeBigUInt64LE(prefix - BigInt(count), 0);
      return { bytes: out, what: `delete ${count} bytes at ${at}${fix ? ', N adjusted' : ''}` };
    }
  }
}

/** The mutated input of one iteration (deterministic in seed and iteration). */
function mutate(seeds: Seed[], seed: number, iteration: number): { bytes: Buffer; ops: string[] } {
  const rng = new Rng(seed, iteration);
  const base = rng.pick(seeds);
  const ops = [`seed ${base.name}`];
  let header = base.header;
  let data: Buffer = base.data;
  if (rng.chance(0.55)) {
    const root = toNode(JSON.parse(header)) as { pairs: Array<[string, Node]> };
    const edits = 1 + rng.int(3);
    for (let k = 0; k < edits; ++k) ops.push(editHeader(root, rng));
    header = serialize(root);
    if (rng.chance(0.2)) header = ' '.repeat(rng.int(4)) + header;
    if (rng.chance(0.5)) header += ' '.repeat((8 - ((8 + Buffer.byteLength(header)) % 8)) % 8);
    if (rng.chance(0.15)) {
      data = rng.chance(0.5) ? data.subarray(0, Math.max(0, data.length - 1 - rng.int(8))) : Buffer.concat([data, Buffer.alloc(1 + rng.int(8))]);
      ops.push(`data length -> ${data.length}`);
    }
  }
  let bytes = safetensorsBytes(header, data);
  const byteEdits = ops.length > 1 ? (rng.chance(0.3) ? 1 : 0) : 1 + rng.int(2);
  for (let k = 0; k < byteEdits; ++k) {
    const edit = editBytes(bytes, rng);
    bytes = edit.bytes;
    ops.push(edit.what);
  }
  return { bytes, ops };
}

// ---------------------------------------------------------------------------------------------------

describe('mutation fuzzing of the reader in child processes', () => {
  const tmp = temporaryDirectory('paramscope-fuzz-');
  const keepDir = path.join(os.tmpdir(), 'paramscope-fuzz-failures');
  let childScript = '';
  let seeds: Seed[] = [];

  beforeAll(async () => {
    seeds = makeSeeds(tmp.dir);
    childScript = path.join(tmp.dir, 'fuzz-child.cjs');
    await bundleChild('test/fixtures/fuzz-child.ts', childScript);
  });
  afterAll(() => tmp.cleanup());

  it('the harness itself: a child that dies on a signal, or stops, is reported with the input in flight', async () => {
    const crasher = path.join(tmp.dir, 'crasher.js');
    fs.writeFileSync(crasher, `const fs = require('fs');
      fs.writeSync(1, 'S 1\\nR {"index":1,"outcome":"ok"}\\nS 7\\n');
      if (process.argv[2] === 'hang') setInterval(() => {}, 1000); else process.kill(process.pid, 'SIGSEGV');`);
    const crash = await runChild(crasher, 'crash', process.env);
    expect(crash.failure).toBe('crash');
    expect(crash.detail).toContain('SIGSEGV');
    expect(crash.inFlight).toBe(7);
    expect(crash.results.map((r) => r.index)).toEqual([1]);
    const hang = await runChild(crasher, 'hang', process.env, 3000);
    expect(hang.failure).toBe('hang');
    expect(hang.inFlight).toBe(7);
  });

  it('every seed is itself valid (the mutations start from files that read correctly)', async () => {
    const list = path.join(tmp.dir, 'seeds.json');
    const inputs = seeds.map((s, index) => {
      const file = path.join(tmp.dir, `seed-${index}.safetensors`);
      fs.writeFileSync(file, safetensorsBytes(s.header, s.data));
      return { index, file };
    });
    fs.writeFileSync(list, JSON.stringify(inputs));
    const run = await runChild<ChildResult>(childScript, list, { ...process.env, PARAMSCOPE_NATIVE_PATH: addonPath() });
    expect(run.failure, run.detail).toBeUndefined();
    expect(run.results.map((r) => r.outcome)).toEqual(seeds.map(() => 'ok'));
  });

  it(`${ONLY ? `iterations ${ONLY.join(',')}` : `${ITERATIONS} mutated inputs`} (seed ${SEED}): no crash, no hang, only known errors`, async () => {
    const iterations = ONLY ?? Array.from({ length: ITERATIONS }, (_, i) => i);
    const ops = new Map<number, string[]>();
    const fileOf = (i: number) => path.join(tmp.dir, `input-${i}.safetensors`);
    for (const i of iterations) {
      const { bytes, ops: description } = mutate(seeds, SEED, i);
      fs.writeFileSync(fileOf(i), bytes);
      ops.set(i, description);
    }

    const env = { ...process.env, PARAMSCOPE_NATIVE_PATH: addonPath() };
    const queue: number[][] = [];
    for (let k = 0; k < iterations.length; k += BATCH) queue.push(iterations.slice(k, k + BATCH));
    const results = new Map<number, ChildResult>();
    const failures: Failure[] = [];
    let batchNumber = 0;

    const worker = async () => {
      for (let batch = queue.shift(); batch; batch = queue.shift()) {
        const list = path.join(tmp.dir, `batch-${batchNumber++}.json`);
        fs.writeFileSync(list, JSON.stringify(batch.map((index) => ({ index, file: fileOf(index) }))));
        const run = await runChild<ChildResult>(childScript, list, env);
        for (const r of run.results) results.set(r.index, r);
        if (run.failure) {
          const culprit = run.inFlight;
          if (culprit !== undefined) failures.push({ iteration: culprit, kind: run.failure, detail: run.detail });
          else failures.push({ iteration: -1, kind: run.failure, detail: run.detail });
          // Whatever the child had not reached runs again in a fresh child, without the culprit.
          const rest = batch.filter((i) => !results.has(i) && i !== culprit);
          if (culprit !== undefined && rest.length > 0) queue.push(rest);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    for (const i of iterations) {
      const r = results.get(i);
      if (r?.outcome === 'bad') failures.push({ iteration: i, kind: 'bad outcome', detail: r.detail ?? '' });
      else if (!r && !failures.some((f) => f.iteration === i)) failures.push({ iteration: i, kind: 'missing result', detail: 'no child reported it' });
    }

    // Keep failing inputs where they survive this run, and say how to reproduce each one.
    const report = failures.map((f) => {
      if (f.iteration < 0) return `${f.kind}: ${f.detail}`;
      fs.mkdirSync(keepDir, { recursive: true });
      const kept = path.join(keepDir, `seed${SEED}-iteration${f.iteration}.safetensors`);
      fs.copyFileSync(fileOf(f.iteration), kept);
      return `${f.kind} on iteration ${f.iteration} [${ops.get(f.iteration)!.join('; ')}]: ${f.detail}\n    input kept at ${kept}\n` +
        `    rerun: PARAMSCOPE_FUZZ_SEED=${SEED} PARAMSCOPE_FUZZ_ONLY=${f.iteration} npx vitest run test/unit/fuzz.test.ts`;
    });
    expect(report, `\n${report.join('\n')}`).toEqual([]);
    expect(results.size).toBe(iterations.length);

    // The fuzzing reached deep into the reader: some inputs survived, many distinct rules fired.
    const { ok, codes, byCode } = tallyOutcomes(results.values());
    console.log(`fuzz: ${results.size} inputs, ${ok} read correctly, errors by code: ${byCode}`);
    if (!ONLY && ITERATIONS >= 1000) {
      expect(ok).toBeGreaterThan(ITERATIONS * 0.02);
      for (const code of ['HEADER_INVALID_JSON', 'HEADER_TOO_LARGE', 'HEADER_OUT_OF_BOUNDS', 'DUPLICATE_KEY', 'OFFSETS_NOT_CONTIGUOUS', 'TENSOR_SIZE_MISMATCH', 'FILE_SIZE_MISMATCH', 'UNKNOWN_DTYPE', 'INVALID_SHAPE', 'INVALID_OFFSETS'])
        expect(codes.get(code) ?? 0, `inputs rejected with ${code}`).toBeGreaterThan(0);
      expect(codes.size).toBeGreaterThanOrEqual(14);
    }
  }, 300_000);
});

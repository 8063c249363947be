/**
 * Every rule of SAFETENSORS.md §2 and every accepted edge case, one generated file each
 * (test/fixtures/generate-malformed.ts): the file must fail with exactly its code, naming the file and
 * (where the rule is about one) the tensor, through every entry point (async/sync open, mmap on/off);
 * or it must read correctly, value by value.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type Checkpoint, openCheckpoint, openCheckpointSync, ParamscopeError } from '../../lib/index';
import { type ExpectedTensor, generateMalformed, type MalformedCase } from '../fixtures/generate-malformed';
import { temporaryDirectory } from '../helpers/paths';

const tmp = temporaryDirectory('paramscope-rules-');
const cases = generateMalformed(tmp.dir);
afterAll(() => tmp.cleanup());

const errorCases = cases.filter((c) => c.expect.kind === 'error');
const readCases = cases.filter((c) => c.expect.kind === 'reads');

async function caught(promise: Promise<unknown> | (() => unknown)): Promise<ParamscopeError> {
  try {
    if (typeof promise === 'function') promise();
    else await promise;
  } catch (error) {
    if (!(error instanceof ParamscopeError)) throw new Error(`expected a ParamscopeError, got ${String(error)}`);
    return error;
  }
  throw new Error('expected a failure, but the call succeeded');
}

function checkError(error: ParamscopeError, c: MalformedCase, file: string): void {
  if (c.expect.kind !== 'error') throw new Error('not an error case');
  expect(error.code, `${c.id}: ${error.message}`).toBe(c.expect.code);
  expect(error.file).toBe(file);
  expect(error.message).toContain(file);
  if (c.expect.tensor !== undefined) {
    // An empty tensor name cannot be told apart from "no tensor" on the JS error (errors.cc leaves
    // `tensor` unset when empty); the message says so in words.
    expect(error.tensor ?? '').toBe(c.expect.tensor);
    if (c.expect.tensor === '') expect(error.message).toContain('empty name');
    else expect(error.message).toContain(`"${c.expect.tensor}"`);
  }
}

function expectValues(actual: Float32Array, expected: number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  expected.forEach((value, i) => {
    if (Number.isNaN(value)) expect(Number.isNaN(actual[i]), `${what}[${i}] should be NaN`).toBe(true);
    else expect(actual[i], `${what}[${i}]`).toBe(Math.fround(value));
  });
}

async function checkTensor(ckpt: Checkpoint, t: ExpectedTensor, id: string): Promise<void> {
  const info = ckpt.tensor(t.name);
  expect(info.dtype).toBe(t.dtype);
  expect(info.shape).toEqual(t.shape);
  expect(info.numel).toBe(t.shape.reduce((a, b) => a * b, 1));
  if (t.f32 !== undefined) {
    const read = await ckpt.read(t.name);
    expectValues(read.data, t.f32, `${id} ${t.name}`);
    expect(read.shape).toEqual(t.shape);
    if (t.nonFinite !== undefined) expect(read.nonFinite).toBe(t.nonFinite);
    const sync = ckpt.readSync(t.name);
    expect(Buffer.from(sync.data.buffer, sync.data.byteOffset, sync.data.byteLength)).toEqual(
      Buffer.from(read.data.buffer, read.data.byteOffset, read.data.byteLength),
    );
  }
  if (t.f32Error !== undefined) {
    expect((await caught(ckpt.read(t.name))).code).toBe(t.f32Error);
    expect((await caught(() => ckpt.readSync(t.name))).code).toBe(t.f32Error);
  }
  const raw = await ckpt.read(t.name, { as: 'raw' });
  expect(raw.data.byteLength).toBe(info.bytes);
  expect(raw.nonFinite).toBe(0);
  if (t.raw !== undefined) expect([...new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength)]).toEqual(t.raw);
}

describe('SAFETENSORS.md §2: one generated file per rule', () => {
  it('covers all 12 rules, each with a code of its own, plus the accepted cases', () => {
    const rules = new Set(cases.map((c) => c.rule));
    for (let rule = 1; rule <= 12; ++rule) expect(rules.has(rule as MalformedCase['rule']), `rule ${rule}`).toBe(true);
    expect(readCases.length).toBeGreaterThanOrEqual(15);
    // A code never serves two rules (rule 5 has several codes of its own).
    const ruleOfCode = new Map<string, MalformedCase['rule']>();
    for (const c of errorCases) {
      if (c.expect.kind !== 'error') continue;
      const seen = ruleOfCode.get(c.expect.code);
      if (seen !== undefined) expect(seen, `${c.expect.code} is used by rules ${seen} and ${c.rule}`).toBe(c.rule);
      ruleOfCode.set(c.expect.code, c.rule);
    }
  });

  describe.each([
    { label: 'mmap', mmap: true },
    { label: 'pread', mmap: false },
  ])('rejected with the right code ($label)', ({ mmap }) => {
    it.each(errorCases.map((c) => [`rule ${c.rule} ${c.id}: ${c.description}`, c] as const))('%s', async (_label, c) => {
      if (c.expect.kind !== 'error') throw new Error('unreachable');
      if (c.expect.at === 'read') {
        const read = c.expect.read!;
        const ckpt = await openCheckpoint(c.file, { mmap });
        try {
          const options = read.rows ? { rows: read.rows } : {};
          checkError(await caught(ckpt.read(read.name, options)), c, c.file);
          checkError(await caught(ckpt.read(read.name, { ...options, as: 'raw' })), c, c.file);
          checkError(await caught(() => ckpt.readSync(read.name, options)), c, c.file);
        } finally {
          ckpt.close();
        }
        return;
      }
      checkError(await caught(openCheckpoint(c.file, { mmap })), c, c.file);
      checkError(await caught(() => openCheckpointSync(c.file, { mmap })), c, c.file);
    });
  });

  describe.each([
    { label: 'mmap', mmap: true },
    { label: 'pread', mmap: false },
  ])('accepted and read correctly ($label)', ({ mmap }) => {
    it.each(readCases.map((c) => [`${c.id}: ${c.description}`, c] as const))('%s', async (_label, c) => {
      if (c.expect.kind !== 'reads') throw new Error('unreachable');
      const ckpt = await openCheckpoint(c.file, { mmap });
      try {
        expect(ckpt.kind).toBe('file');
        expect(ckpt.tensors.map((t) => t.name)).toEqual(c.expect.tensors.map((t) => t.name));
        expect(ckpt.metadata).toEqual(c.expect.metadata ?? {});
        if (c.expect.headerBytes !== undefined) expect(ckpt.shards[0]?.headerBytes).toBe(c.expect.headerBytes);
        for (const t of c.expect.tensors) await checkTensor(ckpt, t, c.id);
      } finally {
        ckpt.close();
      }
    });
  });
});

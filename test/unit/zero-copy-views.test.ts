/**
 * zeroCopy views (issue 9): writing into a view must not change what later reads of the same checkpoint
 * return, nor the file. Each view is a private mapping of its own (native/src/mapped_file.cpp map_view),
 * so a write into it is copy-on-write memory of that view alone: copying reads, row slices, later views,
 * other views of the same bytes, neighbouring tensors in the same page and the engine's own reads all see
 * the file's bytes, and the file on disk is unchanged.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeCheckpoint } from '../../lib/analyze';
import { openCheckpoint } from '../../lib/read/checkpoint';
import { writeSafetensorsSync } from '../../lib/read/writer';
import { temporaryDirectory } from '../helpers/paths';

const W = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i + 1));
const NEIGHBOUR = Float32Array.from({ length: 16 }, (_, i) => i - 8);

const digest = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('writing into zeroCopy views', () => {
  let dir: string;
  let cleanup: () => void;
  let file: string;

  beforeAll(() => {
    ({ dir, cleanup } = temporaryDirectory());
    file = path.join(dir, 'views.safetensors');
    // Both tensors in the file's first page: a view of one must not leak into the other.
    writeSafetensorsSync(file, { w: { dtype: 'F32', shape: [8, 8], data: W }, n: { dtype: 'F32', shape: [4, 4], data: NEIGHBOUR } });
  });
  afterAll(() => cleanup());

  it('later copying reads, row slices, new views and the engine see the file; the file is unchanged', async () => {
    const before = digest(file);
    const ckpt = await openCheckpoint(file);
    const reference = (await analyzeCheckpoint(ckpt, { mode: 'exact' })).tensors.map((t) => Array.from(t.spectrum!.values));
    const view = await ckpt.read('w', { zeroCopy: true });
    const raw = await ckpt.read('w', { as: 'raw', zeroCopy: true });
    const syncView = ckpt.readSync('n', { zeroCopy: true });
    expect([view.zeroCopy, raw.zeroCopy, syncView.zeroCopy]).toEqual([true, true, true]);

    view.data.fill(1e30);
    raw.data.fill(0xff);
    syncView.data.fill(-7);
    // Each view keeps what was written into it (it is the caller's memory) and nothing else does.
    expect(view.data[0]).toBe(Math.fround(1e30));
    expect(raw.data[0]).toBe(0xff); // a raw F32 read is a Float32Array of the stored values

    expect(Array.from((await ckpt.read('w')).data)).toEqual(Array.from(W));
    expect(Array.from(ckpt.readSync('w').data)).toEqual(Array.from(W));
    expect(Array.from((await ckpt.read('w', { rows: [2, 4] })).data)).toEqual(Array.from(W.subarray(16, 32)));
    expect(Array.from((await ckpt.read('n')).data)).toEqual(Array.from(NEIGHBOUR));
    expect(Array.from((await ckpt.read('w', { zeroCopy: true })).data)).toEqual(Array.from(W));
    const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    expect(bytes((await ckpt.read('w', { as: 'raw' })).data)).toEqual(bytes(W));
    const again = (await analyzeCheckpoint(ckpt, { mode: 'exact' })).tensors.map((t) => Array.from(t.spectrum!.values));
    expect(again).toEqual(reference);
    ckpt.close();

    expect(digest(file)).toBe(before);
    const reopened = await openCheckpoint(file);
    expect(Array.from((await reopened.read('w')).data)).toEqual(Array.from(W));
    reopened.close();
  });
});

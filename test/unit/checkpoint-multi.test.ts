/**
 * Checkpoints of several files (SAFETENSORS.md §3): *.safetensors.index.json with its consistency
 * checks, and directories of shards without an index.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCheckpoint, openCheckpointSync } from '../../lib/index';
import { f32Bytes, i32Bytes, type TensorSpec, u16Bytes, validFile } from '../fixtures/generate-malformed';
import { failure } from '../helpers/failure';
import { temporaryDirectory } from '../helpers/paths';

const tmp = temporaryDirectory('paramscope-multi-');
afterAll(() => tmp.cleanup());
let counter = 0;


const SHARD1: TensorSpec[] = [
  { name: 'model.embed.weight', dtype: 'F32', shape: [2, 2], bytes: f32Bytes([1, 2, 3, 4]) },
  { name: 'model.layers.0.w', dtype: 'BF16', shape: [2], bytes: u16Bytes([0x3f80, 0xc000]) },
];
const SHARD2: TensorSpec[] = [
  { name: 'model.layers.1.w', dtype: 'F32', shape: [3], bytes: f32Bytes([-1, 0.5, 8]) },
  { name: 'lm_head.weight', dtype: 'I32', shape: [1], bytes: i32Bytes([-9]) },
];
const totalBytes = [...SHARD1, ...SHARD2].reduce((sum, t) => sum + t.bytes.byteLength, 0);

interface Layout {
  shards: Record<string, TensorSpec[]>;
  /** The index JSON (object is serialised; a string is written as is); omitted: no index file. */
  index?: unknown;
  indexName?: string;
  extra?: Record<string, string | Buffer>;
}

/** A fresh directory holding the shards (and index), returns [dir, indexPath]. */
function checkpointDir(layout: Layout): { dir: string; index: string } {
  const dir = path.join(tmp.dir, `ckpt-${++counter}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, tensors] of Object.entries(layout.shards)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), validFile(tensors, { metadata: { format: 'pt' } }));
  }
  for (const [name, content] of Object.entries(layout.extra ?? {})) fs.writeFileSync(path.join(dir, name), content);
  const index = path.join(dir, layout.indexName ?? 'model.safetensors.index.json');
  if (layout.index !== undefined) fs.writeFileSync(index, typeof layout.index === 'string' ? layout.index : JSON.stringify(layout.index));
  return { dir, index };
}

const S1 = 'model-00001-of-00002.safetensors';
const S2 = 'model-00002-of-00002.safetensors';
function weightMap(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const map: Record<string, string | undefined> = {};
  for (const t of SHARD1) map[t.name] = S1;
  for (const t of SHARD2) map[t.name] = S2;
  Object.assign(map, overrides);
  return Object.fromEntries(Object.entries(map).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

describe('index.json checkpoints', () => {
  it('a consistent index opens as one checkpoint; tensors read from the shard that holds them', async () => {
    const { dir, index } = checkpointDir({
      shards: { [S1]: SHARD1, [S2]: SHARD2 },
      index: { metadata: { total_size: totalBytes, note: 'x' }, weight_map: weightMap() },
    });
    for (const mmap of [true, false]) {
      for (const target of [index, dir]) {
        const ckpt = await openCheckpoint(target, { mmap });
        expect(ckpt.kind).toBe('index');
        expect(ckpt.path).toBe(index);
        expect(ckpt.warnings).toEqual([]);
        expect(ckpt.indexMetadata).toEqual({ total_size: totalBytes, note: 'x' });
        expect(ckpt.shards.map((s) => path.basename(s.path))).toEqual([S1, S2]);
        expect(ckpt.tensors.map((t) => t.name).sort()).toEqual([...SHARD1, ...SHARD2].map((t) => t.name).sort());
        expect(ckpt.tensor('lm_head.weight').file).toBe(path.join(dir, S2));
        expect(ckpt.tensor('model.embed.weight').file).toBe(path.join(dir, S1));
        expect([...(await ckpt.read('model.layers.1.w')).data]).toEqual([-1, 0.5, 8]);
        expect([...(await ckpt.read('lm_head.weight')).data]).toEqual([-9]);
        expect([...(await ckpt.read('model.layers.0.w')).data]).toEqual([1, -2]);
        expect(ckpt.totalBytes).toBe(totalBytes);
        ckpt.close();
      }
    }
  });

  it('a shard named by the index that does not exist: SHARD_MISSING naming it', async () => {
    const { dir, index } = checkpointDir({
      shards: { [S1]: SHARD1 },
      index: { weight_map: weightMap() },
    });
    const error = await failure(openCheckpoint(index));
    expect(error.code).toBe('SHARD_MISSING');
    expect(error.file).toBe(path.join(dir, S2));
    expect(error.message).toContain(S2);
    expect((await failure(() => openCheckpointSync(index, { mmap: false }))).code).toBe('SHARD_MISSING');
  });

  it('a name mapped to the wrong shard: INDEX_TENSOR_MISSING naming the tensor and where it really is', async () => {
    const { dir, index } = checkpointDir({
      shards: { [S1]: SHARD1, [S2]: SHARD2 },
      index: { weight_map: weightMap({ 'lm_head.weight': S1 }) },
    });
    const error = await failure(openCheckpoint(index));
    expect(error.code).toBe('INDEX_TENSOR_MISSING');
    expect(error.tensor).toBe('lm_head.weight');
    expect(error.file).toBe(path.join(dir, S1));
    expect(error.message).toContain(path.join(dir, S2));
  });

  it('a name the index lists but no shard holds: INDEX_TENSOR_MISSING', async () => {
    const { index } = checkpointDir({
      shards: { [S1]: SHARD1, [S2]: SHARD2 },
      index: { weight_map: weightMap({ 'model.ghost': S2 }) },
    });
    const error = await failure(openCheckpoint(index));
    expect(error.code).toBe('INDEX_TENSOR_MISSING');
    expect(error.tensor).toBe('model.ghost');
  });

  it('a name held by two shards: DUPLICATE_TENSOR naming both', async () => {
    const { dir, index } = checkpointDir({
      shards: { [S1]: SHARD1, [S2]: [...SHARD2, { ...SHARD1[0]!, bytes: f32Bytes([9, 9, 9, 9]) }] },
      index: { weight_map: weightMap() },
    });
    const error = await failure(openCheckpoint(index));
    expect(error.code).toBe('DUPLICATE_TENSOR');
    expect(error.tensor).toBe('model.embed.weight');
    expect(error.message).toContain(path.join(dir, S1));
    expect(error.message).toContain(path.join(dir, S2));
  });

  it('shards and tensors the index does not mention, and a wrong total_size, are warnings', async () => {
    const stray = 'model-extra.safetensors';
    const { dir, index } = checkpointDir({
      shards: {
        [S1]: [...SHARD1, { name: 'unlisted.bias', dtype: 'F32', shape: [1], bytes: f32Bytes([3]) }],
        [S2]: SHARD2,
        [stray]: [{ name: 'stray.w', dtype: 'F32', shape: [1], bytes: f32Bytes([1]) }],
      },
      index: { metadata: { total_size: 1 }, weight_map: weightMap() },
    });
    const ckpt = await openCheckpoint(index);
    expect(ckpt.warnings).toHaveLength(3);
    expect(ckpt.warnings.find((w) => w.includes('"unlisted.bias"'))).toContain('not listed in the index');
    expect(ckpt.warnings.find((w) => w.includes(stray))).toContain(path.join(dir, stray));
    expect(ckpt.warnings.find((w) => w.includes('total_size'))).toContain(`${totalBytes + 4}`);
    // The unlisted tensor of a listed shard is readable; the stray shard is not part of the checkpoint.
    expect([...(await ckpt.read('unlisted.bias')).data]).toEqual([3]);
    expect(ckpt.has('stray.w')).toBe(false);
    expect(ckpt.shards).toHaveLength(2);
    ckpt.close();
  });

  it.each([
    ['not JSON', '{"weight_map": {'],
    ['an empty file', ''],
    ['a JSON array', '[]'],
    ['no weight_map', JSON.stringify({ metadata: {} })],
    ['weight_map is an array', JSON.stringify({ weight_map: [S1] })],
    ['a weight_map value that is not a string', JSON.stringify({ weight_map: { a: 1 } })],
    ['a weight_map value that is empty', JSON.stringify({ weight_map: { a: '' } })],
    ['trailing bytes after the JSON', `${JSON.stringify({ weight_map: weightMap() })} x`],
  ])('an index with %s: INDEX_INVALID naming the index', async (_what, text) => {
    const { index } = checkpointDir({ shards: { [S1]: SHARD1, [S2]: SHARD2 }, index: text });
    const error = await failure(openCheckpoint(index));
    expect(error.code).toBe('INDEX_INVALID');
    expect(error.file).toBe(index);
  });

  it('an index that is not UTF-8 is INDEX_INVALID; a duplicate key in it is DUPLICATE_KEY', async () => {
    const bad = checkpointDir({ shards: { [S1]: SHARD1 } });
    fs.writeFileSync(bad.index, Buffer.from('{"weight_map":{"\xff":"x.safetensors"}}', 'latin1'));
    expect((await failure(openCheckpoint(bad.index))).code).toBe('INDEX_INVALID');
    const duplicate = checkpointDir({
      shards: { [S1]: SHARD1 },
      index: `{"weight_map":{"model.embed.weight":"${S1}","model.embed.weight":"${S1}"}}`,
    });
    const error = await failure(openCheckpoint(duplicate.index));
    expect(error.code).toBe('DUPLICATE_KEY');
    expect(error.message).toContain('model.embed.weight');
  });

  it.each([
    ['a parent-directory escape', '../outside.safetensors'],
    ['an escape through a subdirectory', 'sub/../../outside.safetensors'],
    ['an absolute path', '/ABSOLUTE/outside.safetensors'],
  ])('a shard path with %s is refused with INDEX_INVALID, even when the file exists', async (_what, shardPath) => {
    // The target exists (beside the checkpoint directory) so only the path check can stop it.
    const outside = path.join(tmp.dir, 'outside.safetensors');
    fs.writeFileSync(outside, validFile(SHARD1));
    const resolvedShard = shardPath.replace('/ABSOLUTE', tmp.dir);
    const { index } = checkpointDir({ shards: {}, index: { weight_map: { 'model.embed.weight': resolvedShard } } });
    fs.mkdirSync(path.join(path.dirname(index), 'sub'), { recursive: true });
    const error = await failure(openCheckpoint(index));
    expect(error.code).toBe('INDEX_INVALID');
    expect(error.file).toBe(index);
    expect(error.tensor).toBe('model.embed.weight');
    expect(error.message).toContain('outside');
  });

  it('a shard in a subdirectory below the index is fine', async () => {
    const { index } = checkpointDir({
      shards: { [`sub/${S1}`]: SHARD1, [S2]: SHARD2 },
      index: { weight_map: weightMap(Object.fromEntries(SHARD1.map((t) => [t.name, `sub/${S1}`]))) },
    });
    const ckpt = await openCheckpoint(index);
    expect([...(await ckpt.read('model.embed.weight')).data]).toEqual([1, 2, 3, 4]);
    ckpt.close();
  });

  it('a malformed shard fails with its own rule code, naming the shard', async () => {
    const { dir, index } = checkpointDir({ shards: { [S1]: SHARD1 }, index: { weight_map: weightMap() } });
    const broken = validFile(SHARD2);
    fs.writeFileSync(path.join(dir, S2), broken.subarray(0, broken.length - 2));
    const error = await failure(openCheckpoint(index));
    expect(error.code).toBe('FILE_SIZE_MISMATCH');
    expect(error.file).toBe(path.join(dir, S2));
  });

  it('a directory with two index files is ambiguous: INDEX_INVALID', async () => {
    const { dir } = checkpointDir({
      shards: { [S1]: SHARD1, [S2]: SHARD2 },
      index: { weight_map: weightMap() },
      extra: { 'other.safetensors.index.json': JSON.stringify({ weight_map: weightMap() }) },
    });
    expect((await failure(openCheckpoint(dir))).code).toBe('INDEX_INVALID');
  });
});

describe('directories of shards without an index', () => {
  it('every .safetensors file is a shard, in file-name order; other files are ignored', async () => {
    const { dir } = checkpointDir({
      shards: { 'b.safetensors': SHARD2, 'a.safetensors': SHARD1 },
      extra: { 'config.json': '{}', 'README.md': '# hi', 'notes.safetensors.txt': 'x' },
    });
    for (const mmap of [true, false]) {
      const ckpt = await openCheckpoint(dir, { mmap });
      expect(ckpt.kind).toBe('directory');
      expect(ckpt.shards.map((s) => path.basename(s.path))).toEqual(['a.safetensors', 'b.safetensors']);
      expect(ckpt.tensors.map((t) => t.name)).toEqual([...SHARD1, ...SHARD2].map((t) => t.name));
      expect(ckpt.warnings).toEqual([]);
      expect(ckpt.indexMetadata).toBeNull();
      expect(ckpt.metadata).toEqual({ format: 'pt' });
      expect([...(await ckpt.read('lm_head.weight')).data]).toEqual([-9]);
      expect([...(await ckpt.read('model.embed.weight', { rows: [1, 2] })).data]).toEqual([3, 4]);
      ckpt.close();
    }
  });

  it('the same name in two files of a directory: DUPLICATE_TENSOR', async () => {
    const { dir } = checkpointDir({ shards: { 'a.safetensors': SHARD1, 'b.safetensors': SHARD1 } });
    const error = await failure(openCheckpoint(dir));
    expect(error.code).toBe('DUPLICATE_TENSOR');
    expect(error.tensor).toBe(SHARD1[0]!.name);
  });

  it('a directory whose only files are not safetensors: EMPTY_CHECKPOINT', async () => {
    const { dir } = checkpointDir({ shards: {}, extra: { 'config.json': '{}' } });
    expect((await failure(openCheckpoint(dir))).code).toBe('EMPTY_CHECKPOINT');
  });
});

/**
 * Third-party files nobody on this team wrote (../shared/fixtures/real, see SOURCES.md there): every
 * one opens, and the decoded values match REFERENCE.json (numpy/LAPACK in float64) tensor by tensor;
 * the sharded safetensorsjl checkpoint equals the single-file one byte for byte.
 *
 * A fresh clone has no ../shared: the suite is then skipped with a message saying so.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Checkpoint, openCheckpoint } from '../../lib/index';
import { noteSkippedWithoutShared, realFixturesDir } from '../helpers/paths';

noteSkippedWithoutShared('real-fixtures.test.ts');

interface ReferenceTensor {
  dtype: string;
  shape: number[];
  sum: number;
  sum_of_squares: number;
  nan_count: number;
}
interface Reference {
  files: Record<string, Record<string, ReferenceTensor>>;
}

const root = realFixturesDir ?? '';
const reference: Reference = realFixturesDir
  ? (JSON.parse(fs.readFileSync(path.join(root, 'REFERENCE.json'), 'utf8')) as Reference)
  : { files: {} };

function filesUnder(dir: string, suffix: string): string[] {
  if (!dir) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(full, suffix));
    else if (entry.name.endsWith(suffix)) out.push(full);
  }
  return out.sort();
}

const safetensorsFiles = filesUnder(root, '.safetensors');

/** |got - want| within `rtol` of |want|; an exact zero must come out exactly zero. */
function expectRelative(got: number, want: number, rtol: number, what: string): void {
  const error = Math.abs(got - want);
  const bound = want === 0 ? 0 : rtol * Math.abs(want);
  expect(error <= bound, `${what}: got ${got}, reference ${want} (|error| ${error.toExponential(3)} > ${bound.toExponential(3)})`).toBe(true);
}

function statistics(values: Float32Array): { sum: number; sumOfSquares: number; nan: number } {
  let sum = 0;
  let sumOfSquares = 0;
  let nan = 0;
  for (const v of values) {
    if (Number.isNaN(v)) {
      ++nan;
      continue;
    }
    sum += v;
    sumOfSquares += v * v;
  }
  return { sum, sumOfSquares, nan };
}

const bytesOf = (view: ArrayBufferView) => Buffer.from(view.buffer, view.byteOffset, view.byteLength);

describe.skipIf(!realFixturesDir)('real third-party fixtures (../shared/fixtures/real)', () => {
  it('REFERENCE.json covers every .safetensors file on disk', () => {
    expect(safetensorsFiles.length).toBeGreaterThanOrEqual(19);
    expect(safetensorsFiles.map((f) => path.relative(root, f)).sort()).toEqual(Object.keys(reference.files).sort());
  });

  it.each(safetensorsFiles.map((f) => [path.relative(root, f), f] as const))(
    '%s: opens; sum, sum of squares and NaN count of every tensor match the reference',
    async (relative, file) => {
      const want = reference.files[relative]!;
      const ckpt = await openCheckpoint(file);
      const plain = await openCheckpoint(file, { mmap: false });
      try {
        expect(ckpt.kind).toBe('file');
        expect(ckpt.tensors.map((t) => t.name).sort()).toEqual(Object.keys(want).sort());
        for (const t of ckpt.tensors) {
          const ref = want[t.name]!;
          expect(t.dtype, t.name).toBe(ref.dtype);
          expect(t.shape, t.name).toEqual(ref.shape);
          const read = await ckpt.read(t.name);
          expect(read.data.length).toBe(t.numel);
          const stats = statistics(read.data);
          const rtol = ref.dtype === 'F16' ? 1e-3 : 1e-5;
          expectRelative(stats.sum, ref.sum, rtol, `${relative} ${t.name} sum`);
          expectRelative(stats.sumOfSquares, ref.sum_of_squares, rtol, `${relative} ${t.name} sum_of_squares`);
          expect(stats.nan, `${t.name} NaN count`).toBe(ref.nan_count);
          expect(read.nonFinite, `${t.name} nonFinite`).toBe(ref.nan_count);  // the files hold no infinities
          // pread decodes the same bits.
          expect(bytesOf((await plain.read(t.name)).data).equals(bytesOf(read.data)), `${t.name} pread = mmap`).toBe(true);
        }
      } finally {
        ckpt.close();
        plain.close();
      }
    },
  );

  it('files with unaligned data (header length not a multiple of 8) read through copies', async () => {
    // Header lengths from SOURCES.md.
    const unaligned: Record<string, number> = {
      'mlx-lora-minicpm/adapters.safetensors': 1715,
      'mlx-lora-qwen2.5-0.5b-dpo-2steps/adapters.safetensors': 850,
      'sd-lora-analog-svd-rank4-f16/analog_svd_rank4.safetensors': 35033,
      'sd-lora-disney-rank1/lora_disney.safetensors': 34973,
      'safetensors-samples-alldtypes/overall.safetensors': 526,
    };
    for (const [relative, headerBytes] of Object.entries(unaligned)) {
      const ckpt = await openCheckpoint(path.join(root, relative));
      expect(ckpt.shards[0]!.headerBytes, relative).toBe(headerBytes);
      for (const t of ckpt.tensors.filter((x) => x.dtype === 'F32' && x.offset % 4 !== 0).slice(0, 3)) {
        const read = await ckpt.read(t.name, { as: 'raw' });
        expect(read.zeroCopy).toBe(false);
        expect(read.data.byteLength).toBe(t.bytes);
        expect(read.data.byteOffset % 4).toBe(0);
      }
      ckpt.close();
    }
  });

  it('every fixture directory opens as a checkpoint', async () => {
    const dirs = new Set(safetensorsFiles.map((f) => path.dirname(f)));
    for (const dir of dirs) {
      const ckpt = await openCheckpoint(dir);
      expect(ckpt.tensors.length, dir).toBeGreaterThan(0);
      expect(ckpt.warnings, dir).toEqual([]);
      ckpt.close();
    }
  });

  describe('safetensorsjl: the sharded checkpoint equals the single file', () => {
    async function both(): Promise<[Checkpoint, Checkpoint]> {
      return [
        await openCheckpoint(path.join(root, 'safetensorsjl-sharded', 'model.safetensors.index.json')),
        await openCheckpoint(path.join(root, 'safetensorsjl-single', 'model.safetensors')),
      ];
    }

    it('same names, dtypes and shapes; the index is consistent (no warnings, total_size 4305)', async () => {
      const [sharded, single] = await both();
      expect(sharded.kind).toBe('index');
      expect(sharded.shards).toHaveLength(6);
      expect(sharded.warnings).toEqual([]);
      expect(sharded.indexMetadata).toEqual({ total_size: 4305 });
      expect(sharded.totalBytes).toBe(4305);
      expect(single.tensors).toHaveLength(36);
      const describe = (c: Checkpoint) =>
        [...c.tensors].map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: t.bytes })).sort((a, b) => a.name.localeCompare(b.name));
      expect(describe(sharded)).toEqual(describe(single));
      for (const shard of sharded.shards) expect(shard.metadata).toEqual({ format: 'pt' });
      sharded.close();
      single.close();
    });

    it('tensor by tensor: identical stored bytes and identical decoded values', async () => {
      const [sharded, single] = await both();
      const dtypes = new Set<string>();
      for (const t of single.tensors) {
        const a = await single.read(t.name, { as: 'raw' });
        const b = await sharded.read(t.name, { as: 'raw' });
        expect(bytesOf(b.data).equals(bytesOf(a.data)), `${t.name} raw`).toBe(true);
        const fa = await single.read(t.name);
        const fb = await sharded.read(t.name);
        expect(bytesOf(fb.data).equals(bytesOf(fa.data)), `${t.name} f32`).toBe(true);
        dtypes.add(t.dtype);
      }
      expect([...dtypes].sort()).toEqual(['BF16', 'BOOL', 'F16', 'F32', 'F64', 'F8_E4M3', 'F8_E5M2', 'I16', 'I32', 'I64', 'I8', 'U8']);
      sharded.close();
      single.close();
    });
  });
});

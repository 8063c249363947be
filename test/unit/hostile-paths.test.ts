/**
 * Hostile paths (docs/security.md, "Paths and links"): NUL bytes in every path a verb takes, arguments
 * that are not paths, weight_map entries that climb out of the checkpoint (textually, through a
 * directory link, through a shard link), an index that is itself a link out, a shard that is a FIFO —
 * and the Hugging Face cache layout, whose links into blobs/ must keep working. Index attacks run through
 * the CLI in child processes under a time limit.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, analyzeAdapter, analyzeCheckpoint, compare, diff, openAdapter, openCheckpoint, openCheckpointSync, writeSafetensors, writeSafetensorsSync } from '../../lib/index';
import { writeAdapter } from '../fixtures/adapters';
import { expectRefused, expectSucceeded, runAttack } from '../helpers/attack';
import { failure } from '../helpers/failure';
import { temporaryDirectory } from '../helpers/paths';

const tmp = temporaryDirectory('paramscope-hostile-paths-');
afterAll(() => tmp.cleanup());
let count = 0;
const fresh = (name: string) => {
  const dir = path.join(tmp.dir, `${++count}-${name}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
};

const tensor = { dtype: 'F32' as const, shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) };
const shard = (file: string, name = 'w') => writeSafetensorsSync(file, [[name, tensor]]);
const index = (file: string, weightMap: Record<string, string>) => fs.writeFileSync(file, JSON.stringify({ metadata: {}, weight_map: weightMap }));

describe('NUL bytes and non-paths in the arguments of every verb (library)', () => {
  const good = path.join(fresh('good'), 'model.safetensors');
  shard(good);
  const adapter = writeAdapter(fresh('adapter'), { layout: 'peft', rank: 2 });
  const N = 'model\u0000.safetensors';
  const calls: Array<[string, () => unknown]> = [
    ['openCheckpoint', () => openCheckpoint(N)],
    ['openCheckpointSync', () => openCheckpointSync(N)],
    ['openAdapter', () => openAdapter(`${adapter}\u0000/x`)],
    ['openAdapter config', () => openAdapter(adapter, { config: N })],
    ['analyzeAdapter', () => analyzeAdapter(N)],
    ['analyzeAdapter base', () => analyzeAdapter(adapter, { base: N })],
    ['diff base', () => diff(N, good)],
    ['diff tuned', () => diff(good, N)],
    ['analyzeCheckpoint', () => analyzeCheckpoint(N)],
    ['analyze', async () => { for await (const _ of analyze(N)) void _; }],
    ['compare base', () => compare(N, [good])],
    ['compare tuned', () => compare(good, [N])],
    ['writeSafetensors', () => writeSafetensors(N, [])],
    ['writeSafetensorsSync', () => writeSafetensorsSync(N, [])],
    ['diff with numbers', () => diff(5 as unknown as string, good)],
    ['analyzeCheckpoint with an object', () => analyzeCheckpoint({} as unknown as string)],
    ['openAdapter with a number', () => openAdapter(7 as unknown as string)],
    ['analyzeAdapter base of null', () => analyzeAdapter(adapter, { base: null as unknown as string })],
  ];
  it.each(calls)('%s: INVALID_ARGUMENT, never a TypeError or an open of the part before the NUL', async (_, call) => {
    const error = await failure((async () => call())());
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).not.toContain('\u0000');
  });
});

describe('weight_map entries and links, through the CLI', () => {
  it('a NUL, "..", an absolute path or an empty name in weight_map is INDEX_INVALID naming the tensor', () => {
    const dir = fresh('names');
    shard(path.join(dir, 'x.safetensors'));
    for (const [entry, why] of [['x\u0000.safetensors', 'NUL'], ['../x.safetensors', '".."'], ['/etc/passwd', 'absolute'], ['', 'empty']]) {
      const file = path.join(dir, `${count++}.safetensors.index.json`);
      index(file, { w: entry as string });
      const line = expectRefused(runAttack(['inspect', file]), 'INDEX_INVALID');
      expect(line).toContain(why);
      expect(line).toContain('"w"');
    }
  });

  it('a directory link inside the checkpoint (up -> ..) cannot carry a weight_map entry out of it', () => {
    const root = fresh('updir');
    fs.mkdirSync(path.join(root, 'secret'));
    shard(path.join(root, 'secret', 'x.safetensors'));
    const dir = path.join(root, 'ckpt');
    fs.mkdirSync(dir);
    fs.symlinkSync('..', path.join(dir, 'up'));
    index(path.join(dir, 'model.safetensors.index.json'), { w: 'up/secret/x.safetensors' });
    expect(expectRefused(runAttack(['inspect', path.join(dir, 'model.safetensors.index.json')]), 'LINK_OUTSIDE_CHECKPOINT')).toContain('up/secret/x.safetensors');
    expectRefused(runAttack(['inspect', dir]), 'LINK_OUTSIDE_CHECKPOINT');
  });

  it('a shard that links to /etc/passwd is refused as a link, and its bytes are never shown as a header length', () => {
    const dir = fresh('passwd');
    fs.symlinkSync('/etc/passwd', path.join(dir, 'model-00001.safetensors'));
    index(path.join(dir, 'model.safetensors.index.json'), { w: 'model-00001.safetensors' });
    for (const target of [dir, path.join(dir, 'model.safetensors.index.json')]) {
      const line = expectRefused(runAttack(['inspect', target]), 'LINK_OUTSIDE_CHECKPOINT', ['root:', 'root']);
      expect(line).not.toMatch(/header length|\d{12,}/);
    }
    // Named directly, the file is opened (the user chose it), and still nothing of it is echoed.
    const direct = expectRefused(runAttack(['inspect', path.join(dir, 'model-00001.safetensors')]), 'HEADER_TOO_LARGE', ['root:']);
    expect(direct).not.toMatch(/\d{12,}/);
  });

  it('an index that is itself a link out of the directory is refused; its bytes are never quoted', () => {
    const dir = fresh('index-link');
    fs.symlinkSync('/etc/passwd', path.join(dir, 'model.safetensors.index.json'));
    expectRefused(runAttack(['inspect', dir]), 'LINK_OUTSIDE_CHECKPOINT', ['root:']);
    // Named directly it is read, and its first byte is not quoted either.
    const line = expectRefused(runAttack(['inspect', path.join(dir, 'model.safetensors.index.json')]), 'INDEX_INVALID', ["'r'", 'root:']);
    expect(line).toContain('at byte 0');
  });

  it('a shard in the directory that is a FIFO is refused without waiting', () => {
    const dir = fresh('fifo');
    execFileSync('mkfifo', [path.join(dir, 'model.safetensors')]);
    expectRefused(runAttack(['inspect', dir]), 'NOT_A_REGULAR_FILE');
    index(path.join(dir, 'model.safetensors.index.json'), { w: 'model.safetensors' });
    expectRefused(runAttack(['inspect', path.join(dir, 'model.safetensors.index.json')]), 'NOT_A_REGULAR_FILE');
  });

  it('an index named without a directory (in the working one) opens: its shards lie inside "."', () => {
    const dir = fresh('cwd');
    shard(path.join(dir, 'x.safetensors'));
    index(path.join(dir, 'model.safetensors.index.json'), { w: 'x.safetensors' });
    expectSucceeded(runAttack(['inspect', 'model.safetensors.index.json'], { cwd: dir }));
  });

  it('a weight_map entry in a subdirectory of the index is allowed; links inside the checkpoint are followed', () => {
    const dir = fresh('subdir');
    fs.mkdirSync(path.join(dir, 'part'));
    shard(path.join(dir, 'part', 'a.safetensors'), 'a');
    shard(path.join(dir, 'b-real.safetensors'), 'b');
    fs.symlinkSync('b-real.safetensors', path.join(dir, 'b.safetensors'));
    index(path.join(dir, 'model.safetensors.index.json'), { a: 'part/a.safetensors', b: 'b.safetensors' });
    expectSucceeded(runAttack(['inspect', path.join(dir, 'model.safetensors.index.json')]));
  });

  describe('the Hugging Face cache layout', () => {
    /** hub/models--org--name/{blobs/<hash>, snapshots/<rev>/<file> -> ../../blobs/<hash>} */
    function cache(name: string): { repo: string; snapshot: string } {
      const repo = path.join(fresh('hub'), `models--org--${name}`);
      const snapshot = path.join(repo, 'snapshots', '0123abcd');
      fs.mkdirSync(path.join(repo, 'blobs'), { recursive: true });
      fs.mkdirSync(snapshot, { recursive: true });
      shard(path.join(repo, 'blobs', 'aaaa1111'), 'a');
      shard(path.join(repo, 'blobs', 'bbbb2222'), 'b');
      index(path.join(repo, 'blobs', 'cccc3333'), { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' });
      fs.writeFileSync(path.join(repo, 'blobs', 'dddd4444'), '{"model_type": "llama"}');
      fs.symlinkSync('../../blobs/aaaa1111', path.join(snapshot, 'model-00001-of-00002.safetensors'));
      fs.symlinkSync('../../blobs/bbbb2222', path.join(snapshot, 'model-00002-of-00002.safetensors'));
      fs.symlinkSync('../../blobs/cccc3333', path.join(snapshot, 'model.safetensors.index.json'));
      fs.symlinkSync('../../blobs/dddd4444', path.join(snapshot, 'config.json'));
      return { repo, snapshot };
    }

    it('a snapshot whose files link into the repo blobs/ opens, as a directory and through its index', () => {
      const { snapshot } = cache('ok');
      const run = runAttack(['inspect', snapshot, '--json']);
      expectSucceeded(run);
      expect(JSON.parse(run.stdout).tensors.map((t: { name: string }) => t.name).sort()).toEqual(['a', 'b']);
      expectSucceeded(runAttack(['inspect', path.join(snapshot, 'model.safetensors.index.json')]));
    });

    it("a snapshot link into another repository's blobs/, or out of the cache, is refused", () => {
      const { snapshot } = cache('victim');
      const other = cache('other');
      fs.rmSync(path.join(snapshot, 'model-00002-of-00002.safetensors'));
      fs.symlinkSync(path.join(other.repo, 'blobs', 'bbbb2222'), path.join(snapshot, 'model-00002-of-00002.safetensors'));
      expectRefused(runAttack(['inspect', snapshot]), 'LINK_OUTSIDE_CHECKPOINT');
      fs.rmSync(path.join(snapshot, 'model-00002-of-00002.safetensors'));
      fs.symlinkSync('/etc/passwd', path.join(snapshot, 'model-00002-of-00002.safetensors'));
      expectRefused(runAttack(['inspect', snapshot]), 'LINK_OUTSIDE_CHECKPOINT', ['root:']);
    });
  });
});

describe('zero-copy views (docs/security.md, "Out of scope")', () => {
  it('are private: writing into one changes neither the file, another view, nor a later copying read', () => {
    const file = path.join(fresh('views'), 'model.safetensors');
    shard(file);
    const ckpt = openCheckpointSync(file);
    try {
      const view = ckpt.readSync('w', { as: 'raw', zeroCopy: true });
      expect(view.zeroCopy).toBe(true);
      expect(view.data).toBeInstanceOf(Float32Array);
      (view.data as Float32Array)[0] = 42;
      expect(view.data[0]).toBe(42);
      expect(ckpt.readSync('w', { as: 'raw', zeroCopy: true }).data[0]).toBe(1);
      expect([...ckpt.readSync('w').data]).toEqual([1, 2, 3, 4]);
    } finally {
      ckpt.close();
    }
    const again = openCheckpointSync(file);
    expect([...again.readSync('w').data]).toEqual([1, 2, 3, 4]);
    again.close();
  });
});

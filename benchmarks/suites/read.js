'use strict';
/**
 * Suite `read`: how fast paramscope gets tensor bytes out of a checkpoint, beside what a plain copy of
 * the same output bytes costs on this machine, in the same run, on one thread.
 *
 *  decode  A 4 GiB file (benchmarks/data, generated once and reused) holding a BF16, an F16 and an F32
 *          tensor of the same 512 Mi elements (so each 16-bit tensor is 1 GiB stored, 2 GiB as f32).
 *          The file is read once before timing: everything here is a warm page-cache read.
 *          Contenders: copy of the 2 GiB F32 tensor into a new buffer (like-for-like with readSync,
 *          which also returns a new buffer) and into a reused, already-faulted buffer (the bandwidth
 *          ceiling); the first-touch cost of a fresh 2 GiB buffer alone; paramscope's BF16 and F16
 *          decode (readSync and async read); a naive JS BF16 decode over the raw view; F32 zero-copy and
 *          raw reads, with mmap and with pread (mmap: false).
 *  open    Header open of a synthetic 7B-shaped sharded checkpoint (291 tensors, 3 shards, sparse
 *          files: only headers are real), openCheckpointSync / openCheckpoint on the index, the directory,
 *          and a naive JS parse of the same headers, median of 200 runs each.
 *
 * Targets (issue 2, item 5): BF16 decode ≥ 50 % of copy throughput; open < 20 ms.
 * Environment: PARAMSCOPE_BENCH_READ_GIB (stored GiB of each 16-bit tensor, default 1).
 */
const fs = require('node:fs');
const path = require('node:path');
const { ensureCheckpoint, writeSafetensorsFile, DATA_DIR } = require('../make-checkpoint');

const GIB = 2 ** 30;
const SEED = 0;
const stored16Gib = Number(process.env.PARAMSCOPE_BENCH_READ_GIB ?? 1);
const NUMEL = Math.round((stored16Gib * GIB) / 2);
const COLS = 16384;
const ROWS = NUMEL / COLS;
const OUT_BYTES = NUMEL * 4;

function ensureDecodeFile(log) {
  const file = path.join(DATA_DIR, `read-decode-${stored16Gib}gib-seed${SEED}.safetensors`);
  const tensors = [
    { name: 'decode.bf16', dtype: 'BF16', shape: [ROWS, COLS], init: 'normal', std: 1 },
    { name: 'decode.f16', dtype: 'F16', shape: [ROWS, COLS], init: 'normal', std: 1 },
    { name: 'decode.f32', dtype: 'F32', shape: [ROWS, COLS], init: 'normal', std: 1 },
  ];
  const expected = NUMEL * (2 + 2 + 4);
  try {
    const st = fs.statSync(file);
    if (st.size > expected && st.size < expected + 4096) return { file, reused: true };
  } catch { /* not there yet */ }
  const t0 = Date.now();
  log(`generating ${file} (${((expected) / GIB).toFixed(1)} GiB, once; reused by later runs) ...`);
  writeSafetensorsFile(file, tensors, { seed: SEED, metadata: { generator: 'paramscope benchmarks/suites/read.js' } });
  log(`  done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { file, reused: false };
}

/** Reads the whole file once so later reads come from the page cache; returns GB/s of that read. */
function warmPageCache(file) {
  const fd = fs.openSync(file, 'r');
  const buffer = Buffer.allocUnsafe(16 << 20);
  let total = 0;
  const t0 = process.hrtime.bigint();
  try {
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      total += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { bytes: total, seconds };
}

/** Reads the 8-byte prefix and JSON header of one safetensors file with plain fs: the naive route. */
function parseHeaderNaively(file) {
  const fd = fs.openSync(file, 'r');
  try {
    const prefix = Buffer.alloc(8);
    fs.readSync(fd, prefix, 0, 8, 0);
    const length = Number(prefix.readBigUInt64LE());
    const json = Buffer.alloc(length);
    fs.readSync(fd, json, 0, length, 8);
    return JSON.parse(json.toString('utf8'));
  } finally {
    fs.closeSync(fd);
  }
}

function available(ctx) {
  try {
    ctx.paramscope.buildInfo();
    return true;
  } catch (error) {
    return `the native addon does not load: ${error.message.split('\n')[0]}`;
  }
}

async function setup(ctx) {
  const { file, reused } = ensureDecodeFile(ctx.log);
  const sevenB = ensureCheckpoint('7b-header-only', { seed: SEED, log: ctx.log });
  const warm = warmPageCache(file);
  ctx.log(`  page cache warmed: read ${(warm.bytes / GIB).toFixed(1)} GiB in ${warm.seconds.toFixed(2)} s (${(warm.bytes / warm.seconds / 1e9).toFixed(2)} GB/s)`);
  return { file, reused, sevenB, warm };
}

function trials(state, ctx) {
  const { openCheckpointSync, openCheckpoint } = ctx.paramscope;
  const size = `${NUMEL / 2 ** 20} Mi el → ${OUT_BYTES / GIB} GiB f32`;
  const openFile = (mmap = true) => () => ({ ckpt: openCheckpointSync(state.file, { mmap }) });
  const close = (s) => s.ckpt.close();
  const decodeTarget = { metric: 'ratio', min: 0.5, text: '≥ 0.50 × copy' };

  const decode = [
    {
      id: 'copy-reused',
      label: 'copy f32 → reused buffer (set)',
      group: 'decode',
      size,
      bytes: OUT_BYTES,
      note: 'Float32Array.prototype.set into a buffer faulted in beforehand: the plain copy of the output bytes, the baseline of every ratio',
      setup: () => {
        const ckpt = openCheckpointSync(state.file);
        const src = ckpt.readSync('decode.f32', { zeroCopy: true }).data;
        const dst = new Float32Array(src.length);
        dst.fill(1);
        return { ckpt, src, dst };
      },
      run: (s) => { s.dst.set(s.src); },
      teardown: (s) => { s.dst = null; close(s); },
    },
    {
      id: 'copy-new',
      label: 'copy f32 → new buffer (slice)',
      group: 'decode',
      size,
      bytes: OUT_BYTES,
      baseline: 'copy-reused',
      repeats: 3,
      note: 'TypedArray.prototype.slice of the zero-copy F32 tensor: allocation + first touch + memmove; like-for-like with readSync, which returns a new buffer',
      setup: () => {
        const ckpt = openCheckpointSync(state.file);
        return { ckpt, src: ckpt.readSync('decode.f32', { zeroCopy: true }).data };
      },
      run: (s) => s.src.slice(),
      teardown: close,
    },
    {
      id: 'first-touch',
      label: 'new 2 GiB buffer + first touch (fill)',
      group: 'decode',
      size: `${OUT_BYTES / GIB} GiB`,
      bytes: OUT_BYTES,
      baseline: 'copy-reused',
      repeats: 3,
      note: 'new Float32Array(n).fill(1): the page-fault + zeroing share of any call that returns a fresh buffer',
      run: () => new Float32Array(NUMEL).fill(1),
    },
    ...['bf16', 'f16'].map((format) => ({
      id: `${format}-readSync-into`,
      label: `${format.toUpperCase()}→F32 readSync into a reused buffer`,
      group: 'decode',
      size,
      bytes: OUT_BYTES,
      baseline: 'copy-reused',
      target: decodeTarget,
      repeats: 3,
      note: 'like for like with copy-reused: the same output bytes into a buffer faulted in beforehand (read option `into`)',
      setup: () => {
        const ckpt = openCheckpointSync(state.file);
        const dst = new Float32Array(NUMEL);
        dst.fill(1);
        return { ckpt, dst };
      },
      run: (s) => { s.ckpt.readSync(`decode.${format}`, { into: s.dst }); },
      teardown: (s) => { s.dst = null; close(s); },
    })),
    ...['bf16', 'f16'].map((format) => ({
      id: `${format}-readSync`,
      label: `${format.toUpperCase()}→F32 readSync (new buffer)`,
      group: 'decode',
      size,
      bytes: OUT_BYTES,
      baseline: 'copy-new',
      alsoCompare: ['copy-reused'],
      target: { metric: 'ratio', min: 0.5, text: '≥ 0.50 × copy-new' },
      repeats: 3,
      setup: openFile(),
      run: (s) => s.ckpt.readSync(`decode.${format}`),
      teardown: close,
    })),
    {
      id: 'bf16-read-async',
      label: 'BF16→F32 await read()',
      group: 'decode',
      size,
      bytes: OUT_BYTES,
      baseline: 'copy-reused',
      alsoCompare: ['copy-new'],
      repeats: 2,
      setup: openFile(),
      run: (s) => s.ckpt.read('decode.bf16'),
      teardown: close,
    },
    {
      id: 'bf16-naive-js',
      label: 'BF16→F32 naive JS loop (raw view)',
      group: 'decode',
      size,
      bytes: OUT_BYTES,
      baseline: 'copy-reused',
      alsoCompare: ['copy-new'],
      warmup: 0,
      repeats: 2,
      note: 'what a user would write without paramscope: out[i] = raw[i] << 16 over the zero-copy Uint16Array',
      setup: () => {
        const ckpt = openCheckpointSync(state.file);
        return { ckpt, raw: ckpt.readSync('decode.bf16', { as: 'raw', zeroCopy: true }).data };
      },
      run: (s) => {
        const raw = s.raw;
        const out = new Uint32Array(raw.length);
        for (let i = 0; i < raw.length; i++) out[i] = raw[i] << 16;
        return new Float32Array(out.buffer);
      },
      teardown: close,
    },
    {
      id: 'f32-zero-copy',
      label: 'F32 readSync (mmap, zero-copy)',
      group: 'decode',
      size: `${OUT_BYTES / GIB} GiB`,
      bytes: OUT_BYTES,
      baseline: 'copy-reused',
      note: 'no copy; the time is the non-finite count, one read pass over the mapped pages',
      setup: openFile(),
      run: (s) => s.ckpt.readSync('decode.f32', { zeroCopy: true }),
      teardown: close,
    },
    {
      id: 'raw-zero-copy',
      label: 'BF16 raw readSync (mmap, zero-copy)',
      group: 'decode',
      size: `${OUT_BYTES / 2 / GIB} GiB`,
      bytes: OUT_BYTES / 2,
      warmup: 3,
      repeats: 20,
      setup: openFile(),
      run: (s) => s.ckpt.readSync('decode.bf16', { as: 'raw', zeroCopy: true }),
      teardown: close,
    },
    {
      id: 'raw-pread',
      label: 'BF16 raw readSync (mmap: false, pread)',
      group: 'decode',
      size: `${OUT_BYTES / 2 / GIB} GiB`,
      bytes: OUT_BYTES / 2,
      warmup: 0,
      repeats: 3,
      setup: openFile(false),
      run: (s) => s.ckpt.readSync('decode.bf16', { as: 'raw' }),
      teardown: close,
    },
    {
      id: 'bf16-pread',
      label: 'BF16→F32 readSync (mmap: false, pread)',
      group: 'decode',
      size,
      bytes: OUT_BYTES,
      baseline: 'copy-reused',
      alsoCompare: ['copy-new'],
      warmup: 0,
      repeats: 2,
      setup: openFile(false),
      run: (s) => s.ckpt.readSync('decode.bf16'),
      teardown: close,
    },
  ];

  const index = state.sevenB.indexPath;
  const openTarget = { metric: 'medianMs', max: 20, text: '< 20 ms' };
  const openSize = `${state.sevenB.tensorCount} tensors, ${state.sevenB.files.length} shards`;
  const open = [
    {
      id: 'open-sync-index',
      label: 'openCheckpointSync(index.json) + close',
      group: 'open',
      size: openSize,
      warmup: 20,
      repeats: 200,
      quickRepeats: 50,
      gc: false,
      target: openTarget,
      run: () => openCheckpointSync(index).close(),
    },
    {
      id: 'open-async-index',
      label: 'await openCheckpoint(index.json) + close',
      group: 'open',
      size: openSize,
      warmup: 20,
      repeats: 200,
      quickRepeats: 50,
      gc: false,
      target: openTarget,
      run: async () => (await openCheckpoint(index)).close(),
    },
    {
      id: 'open-sync-dir',
      label: 'openCheckpointSync(directory) + close',
      group: 'open',
      size: openSize,
      warmup: 20,
      repeats: 200,
      quickRepeats: 50,
      gc: false,
      target: openTarget,
      run: () => openCheckpointSync(state.sevenB.dir).close(),
    },
    {
      id: 'open-naive-js',
      label: 'naive: fs + JSON.parse of index and headers',
      group: 'open',
      size: openSize,
      warmup: 20,
      repeats: 200,
      quickRepeats: 50,
      gc: false,
      note: 'no validation at all: the floor a validating reader is compared with',
      run: () => {
        const idx = JSON.parse(fs.readFileSync(index, 'utf8'));
        const files = [...new Set(Object.values(idx.weight_map))];
        return files.map((f) => parseHeaderNaively(path.join(state.sevenB.dir, f)));
      },
    },
  ];
  return [...decode, ...open];
}

function notes(state, results) {
  const out = [
    `decode reads are warm page-cache reads: the ${(state.warm.bytes / GIB).toFixed(1)} GiB file was read once first (${(state.warm.bytes / state.warm.seconds / 1e9).toFixed(2)} GB/s${state.reused ? ', file reused from an earlier run' : ', file generated in this run'})`,
    'throughput = output bytes (f32) per second, 1 GB = 1e9 B; ratio = copy-reused time / trial time (same output bytes); "vs copy-new" = the same against a copy into a new buffer',
    'one thread: readSync and the copies run on the main thread; read() runs the same kernel on one libuv worker',
  ];
  const fault = results.find((r) => r.id === 'first-touch');
  const reused = results.find((r) => r.id === 'copy-reused');
  if (fault && reused) out.push(`a fresh 2 GiB output costs ${fault.medianMs.toFixed(0)} ms of page faults + zeroing alone; the copy into a reused buffer ${reused.medianMs.toFixed(0)} ms (readSync always returns a fresh buffer; see benchmarks/README.md, "Why decode misses")`);
  return out;
}

module.exports = { description: 'BF16/F16 decode vs copy (≥ 1 GiB, warm cache, 1 thread) and 7B sharded header open', available, setup, trials, notes };

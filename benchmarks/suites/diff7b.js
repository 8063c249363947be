'use strict';
/**
 * Suite `diff7b` (issue 10, items 5 and 8): the ΔW spectra of a 7B-shaped BF16 pair (Llama-2-7B shapes,
 * 2 × 13.5 GB in 3 shards each: more than this machine's memory, so the page cache cannot hold both),
 * truncated top-64, no direction analysis, beside the torch peer in the same run.
 *
 *  data        benchmarks/make-pair.js 7b aligned (generated once, ~27 GB under benchmarks/data).
 *  cold        before the trial the pair's files are evicted from the page cache (vmtouch -e when
 *              installed, else /proc/sys/vm/drop_caches as root): every byte comes from the disk.
 *  warm        run again right after: whatever of the pair the page cache kept is warm.
 *  paramscope  the CLI in a child process (`diff BASE TUNED --mode truncated --rank 64 --no-directions --no-cache
 *              --json`), wall time with start-up, RssAnon peak polled every 10 ms.
 *  breakdown   one more run through the library in a child, summing each matrix's time by phase (read and
 *              decode, products, the rest of the solver) as the engine reports it.
 *  contender   ../shared/peers/peer_diff.py BASE TUNED topk 64 (torch), cold, when python3-torch imports.
 *  70B head    the largest tensor of a 70B model, lm_head 128256 × 8192 BF16 (2 × 2.1 GB, generated once):
 *              too large for a lane's share in f32, so it is streamed (7 decode passes); target RssAnon
 *              peak ≤ 2 GiB.
 *
 * Targets (2-core, 24 GiB machine): wall ≤ 60 s cold, ≥ 4× the torch peer in the same run, RssAnon peak
 * ≤ 2 GiB.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { ensurePair } = require('../make-pair');
const { ROOT, PEERS, PY, torchAvailable, runMeasured } = require('../lib/child');

const GIB = 2 ** 30;

const BREAKDOWN_CHILD = String.raw`
const ps = require(process.argv[1]);
(async () => {
  const base = await ps.openCheckpoint(process.argv[2]), tuned = await ps.openCheckpoint(process.argv[3]);
  const t0 = process.hrtime.bigint();
  const phases = {};
  let matrices = 0;
  for await (const o of ps.runSpectra(ps.diffJobs(ps.pairCheckpoints(base, tuned)), { mode: 'truncated', rank: 64 })) {
    matrices += 1;
    for (const [k, v] of Object.entries(o.timing ?? {})) phases[k] = (phases[k] ?? 0) + v;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(JSON.stringify({ seconds, matrices, phases }) + '\n');
})().catch((e) => { console.error(e); process.exit(1); });
`;

const HEAD_DIR = path.join(ROOT, 'benchmarks', 'data', '70b-head-v1');

/** lm_head 128256 × 8192 BF16, base and tuned (base + a dense smooth update), written in 512-row chunks. */
function ensureHeadPair(ps) {
  const [V, D] = [128256, 8192];
  const files = ['base', 'tuned'].map((n) => path.join(HEAD_DIR, `${n}.safetensors`));
  if (files.every((f) => fs.existsSync(f))) return files;
  fs.mkdirSync(HEAD_DIR, { recursive: true });
  for (const [i, file] of files.entries()) {
    const bytes = V * D * 2;
    let json = JSON.stringify({ 'lm_head.weight': { dtype: 'BF16', shape: [V, D], data_offsets: [0, bytes] } });
    json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
    const temporary = `${file}.tmp`;
    const fd = fs.openSync(temporary, 'w');
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    fs.writeSync(fd, prefix);
    fs.writeSync(fd, json);
    const rows = 512, chunk = new Float32Array(rows * D);
    let state = 1;
    for (let r = 0; r < V; r += rows) {
      const count = Math.min(rows, V - r) * D;
      for (let j = 0; j < count; j++) {
        state ^= state << 13; state ^= state >>> 17; state ^= state << 5; state >>>= 0;
        chunk[j] = (state / 4294967296 - 0.5) * 0.04 + (i === 1 ? 0.002 * Math.sin(0.001 * (r * D + j)) : 0);
      }
      fs.writeSync(fd, ps.encodeFloat32(chunk.subarray(0, count), 'BF16'));
    }
    fs.closeSync(fd);
    fs.renameSync(temporary, file);
  }
  return files;
}

function pairFiles(pair) {
  return [pair.base.dir, pair.tuned.dir].flatMap((d) => fs.readdirSync(d).filter((f) => f.endsWith('.safetensors')).map((f) => path.join(d, f)));
}

/** Evicts the files from the page cache; returns how. */
function evict(files) {
  if (spawnSync('vmtouch', ['-e', ...files], { stdio: 'ignore' }).status === 0) return 'vmtouch -e';
  try {
    spawnSync('sync');
    fs.writeFileSync('/proc/sys/vm/drop_caches', '1');
    return 'drop_caches';
  } catch (error) {
    return `not evicted (${error.code ?? error.message}): the cold trial is not cold`;
  }
}

function available(ctx) {
  try {
    ctx.paramscope.buildInfo();
  } catch (error) {
    return `the native addon does not load: ${error.message.split('\n')[0]}`;
  }
  const free = fs.statfsSync ? fs.statfsSync(ROOT) : null;
  const dataExists = fs.existsSync(path.join(ROOT, 'benchmarks', 'data', '7b-seed0'));
  if (free && !dataExists && free.bavail * free.bsize < 32e9) return 'needs ~28 GB of free disk for the 7B pair';
  return true;
}

async function setup(ctx) {
  const t0 = Date.now();
  const pair = ensurePair('7b', 'aligned', { seed: 0, log: ctx.log });
  const generatedSeconds = (Date.now() - t0) / 1000;
  const torch = torchAvailable();
  if (!torch) ctx.log('  python3-torch not importable: the peer_diff.py contender is left out');
  const head = ensureHeadPair(ctx.paramscope);
  return { pair, head, files: pairFiles(pair), torch, generatedSeconds, runs: {}, evicted: null };
}

function trials(state) {
  const { pair } = state;
  const size = `${pair.base.tensorCount} tensors, 2 × ${(pair.base.totalBytes / 1e9).toFixed(1)} GB`;
  const bytes = pair.base.totalBytes * 2;
  const record = (id, m) => (state.runs[id] ??= []).push(m);
  const cli = async () => {
    const m = await runMeasured(process.execPath, [path.join(ROOT, 'bin', 'paramscope.js'), 'diff', pair.base.dir, pair.tuned.dir,
      '--mode', 'truncated', '--rank', '64', '--no-directions', '--no-cache', '--json']);
    const report = JSON.parse(m.stdout);
    return { ...m, verdict: { label: report.verdict.label, score: report.verdict.score }, failed: report.pairs.filter((p) => p.error).length };
  };
  // Three cold runs (a one-minute run on this VM varies by a few seconds with the disk): the median is the result.
  const cold = { warmup: 0, repeats: 3, quickRepeats: 1, gc: false, before: () => { state.evicted = evict(state.files); } };
  const list = [
    {
      id: 'paramscope-cold', label: 'paramscope diff top-64, cold page cache', group: 'diff7b', size, bytes, ...cold,
      baseline: state.torch ? 'peer-torch-cold' : undefined,
      target: { metric: 'medianMs', max: 60000.001, text: '≤ 60 s' },
      note: 'CLI in a child process, wall time with start-up; the files evicted from the page cache first',
      run: cli, after: (s, m) => record('paramscope-cold', m),
    },
    {
      id: 'paramscope-warm', label: 'paramscope diff top-64, right after the cold run', group: 'diff7b', size, bytes,
      warmup: 0, repeats: 1, quickRepeats: 1, gc: false,
      note: 'what the page cache kept of the pair from the run before (it cannot hold both sides)',
      run: cli, after: (s, m) => record('paramscope-warm', m),
    },
    {
      id: 'paramscope-breakdown', label: 'paramscope library run, time by phase', group: 'diff7b', size, bytes,
      warmup: 0, repeats: 1, quickRepeats: 1, gc: false,
      note: 'runSpectra over the pairing in a child node; phases summed over matrices (lanes run in parallel, so they add up to more than the wall time)',
      run: async () => {
        const m = await runMeasured(process.execPath, ['-e', BREAKDOWN_CHILD, path.join(ROOT, 'dist', 'index.js'), pair.base.dir, pair.tuned.dir]);
        return { ...m, inner: JSON.parse(m.stdout.trim().split('\n').pop()) };
      },
      after: (s, m) => record('paramscope-breakdown', m),
    },
  ];
  list.push({
    id: 'paramscope-70b-head', label: 'paramscope diff top-64 of a 70B lm_head (128256 × 8192)', group: 'diff7b',
    size: '2 × 2.1 GB', bytes: 2 * 128256 * 8192 * 2, warmup: 0, repeats: 1, quickRepeats: 1, gc: false,
    note: 'streamed: its f32 copy (4.2 GB) does not fit a lane\'s share of the 2 GiB budget; target RssAnon peak ≤ 2 GiB',
    run: async () => {
      const m = await runMeasured(process.execPath, [path.join(ROOT, 'bin', 'paramscope.js'), 'diff', state.head[0], state.head[1], '--mode', 'truncated', '--rank', '64', '--no-cache', '--json']);
      const report = JSON.parse(m.stdout);
      return { ...m, verdict: { label: report.verdict.label, score: report.verdict.score }, failed: report.pairs.filter((p) => p.error).length };
    },
    after: (s, m) => record('paramscope-70b-head', m),
  });
  if (state.torch)
    list.push({
      id: 'peer-torch-cold', label: 'contender: peer_diff.py topk 64 (torch), cold page cache', group: 'diff7b', size, bytes, ...cold, repeats: 1, // ~4–5 min a run
      note: 'torch (Debian), svd_lowrank(q=74, niter=2) per ΔW; the files evicted from the page cache first',
      run: async () => {
        const m = await runMeasured(PY, [path.join(PEERS, 'peer_diff.py'), pair.base.dir, pair.tuned.dir, 'topk', '64']);
        return { ...m, inner: JSON.parse(m.stdout.trim().split('\n').pop()) };
      },
      after: (s, m) => record('peer-torch-cold', m),
    });
  return list;
}

function notes(state, results) {
  const out = [];
  const fmt = (b) => (b == null ? 'n/a' : `${(b / GIB).toFixed(2)} GiB`);
  out.push(`load average at the end: ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}; page cache evicted by ${state.evicted ?? 'n/a'}`);
  for (const r of results) {
    const runs = state.runs[r.id] ?? [];
    if (!runs.length) continue;
    const anon = Math.max(...runs.map((x) => x.anonPeak ?? 0)), hwm = Math.max(...runs.map((x) => x.hwm ?? 0));
    const v = runs[0].verdict;
    const each = (r.samplesMs ?? []).length > 1 ? ` (runs ${r.samplesMs.map((ms) => (ms / 1e3).toFixed(1)).join(', ')} s)` : '';
    out.push(`  ${r.id.padEnd(22)} ${(r.medianMs / 1e3).toFixed(1)} s${each} | peak RSS ${fmt(hwm)} | RssAnon peak ${fmt(anon)}${r.id.startsWith('paramscope') ? ` (≤ 2 GiB: ${anon <= 2 * GIB ? 'PASS' : 'FAIL'})` : ''}${v ? ` | ${v.label} ${v.score.toFixed(3)}` : ''}${runs[0].failed ? ` | ${runs[0].failed} pairs failed` : ''}`);
    const phases = runs[0].inner?.phases;
    if (phases && Object.keys(phases).length)
      out.push(`    by phase (summed over matrices): ${Object.entries(phases).map(([k, s]) => `${k} ${s.toFixed(1)} s`).join(', ')}; ${runs[0].inner.matrices} matrices in ${runs[0].inner.seconds.toFixed(1)} s`);
  }
  const torch = results.find((r) => r.id === 'peer-torch-cold'), cold = results.find((r) => r.id === 'paramscope-cold');
  if (torch && cold) out.push(`torch / paramscope (cold): ${(torch.medianMs / cold.medianMs).toFixed(2)}× (target ≥ 4×)`);
  out.push(`inputs: ${state.pair.base.dir} and ${state.pair.tuned.dir} (${state.pair.tuned.reused ? 'reused' : `generated in this run, ${state.generatedSeconds.toFixed(0)} s`})`);
  return out;
}

module.exports = { description: 'ΔW spectra of a 7B-shaped BF16 pair larger than memory (truncated top-64), cold and warm, beside the torch peer', available, setup, trials, notes };

'use strict';
/**
 * Suite `diff` (issue 4, item 10): the spectrum of every fine-tuning update ΔW = W_tuned − W_base of a
 * 1B-shaped BF16 pair (2.5 GB per side, 4 shards, index), truncated top-64, no direction analysis.
 *
 *  data        benchmarks/make-pair.js: base = benchmarks/data/1b-seed0 (shared with the `spectrum` suite),
 *              tuned = 1b-seed0-tuned-aligned-v1 and 1b-seed0-tuned-coverage-v1 (the update structures of
 *              ../shared/peers/make_pair.py). Generated once, reused; all three are read once before timing.
 *  paramscope  a child process per run, so its peak RSS and RssAnon are its own: `node bin/paramscope.js
 *              diff BASE TUNED --mode truncated --rank 64 --no-directions --json` when the CLI has a `diff`
 *              command, else the same through the API (`diff(base, tuned, { mode: 'truncated', rank: 64,
 *              directions: false })`). The parent polls /proc/<pid>/status every 10 ms for the RssAnon
 *              high-water; VmHWM (peak RSS, anon + mapped file pages) is read at the end.
 *  contender   ../shared/peers/peer_diff.py BASE TUNED topk 64 (torch: load, subtract, svd_lowrank q=74,
 *              niter=2), only when /usr/bin/python3 can import torch.
 *
 * Targets (2-core machine): wall ≤ 15 s, RssAnon peak ≤ 2 GiB. The verdicts of the aligned and coverage
 * pairs are reported as a sanity column.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { ensurePair } = require('../make-pair');

const { ROOT, PEERS, PY, torchAvailable, runMeasured } = require('../lib/child');
const GIB = 2 ** 30;
const SEED = 0;

function cliHasDiff() {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'paramscope.js'), 'diff', '--help'], { encoding: 'utf8' });
  return r.status === 0 && !/unknown command/.test(r.stdout + r.stderr);
}

const API_CHILD = String.raw`
const { diff } = require(process.argv[1]);
(async () => {
  const t0 = process.hrtime.bigint();
  const r = await diff(process.argv[2], process.argv[3], { mode: 'truncated', rank: 64, directions: false });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const v = r.verdict;
  process.stdout.write(JSON.stringify({ seconds, pairs: r.pairs.length, failed: r.pairs.filter((p) => p.error).length,
    verdict: { label: v.label, score: v.score, scoreRange: v.scoreRange, components: v.components, confidence: v.confidence } }) + '\n');
})().catch((e) => { console.error(e); process.exit(1); });
`;

function available(ctx) {
  try {
    ctx.paramscope.buildInfo();
  } catch (error) {
    return `the native addon does not load: ${error.message.split('\n')[0]}`;
  }
  return typeof ctx.paramscope.diff === 'function' ? true : 'diff() is not built yet';
}

function warm(dirs) {
  const buffer = Buffer.allocUnsafe(16 << 20);
  let bytes = 0;
  const t0 = Date.now();
  for (const dir of dirs)
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.safetensors'))) {
      const fd = fs.openSync(path.join(dir, f), 'r');
      try { for (let n; (n = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0;) bytes += n; } finally { fs.closeSync(fd); }
    }
  return { bytes, seconds: (Date.now() - t0) / 1000 };
}

async function setup(ctx) {
  const t0 = Date.now();
  const aligned = ensurePair('1b', 'aligned', { seed: SEED, log: ctx.log });
  const coverage = ensurePair('1b', 'coverage', { seed: SEED, log: ctx.log });
  const generatedSeconds = (Date.now() - t0) / 1000;
  const w = warm([aligned.base.dir, aligned.tuned.dir, coverage.tuned.dir]);
  ctx.log(`  page cache warmed: ${(w.bytes / GIB).toFixed(2)} GiB in ${w.seconds.toFixed(1)} s`);
  const cli = cliHasDiff();
  const torch = torchAvailable();
  if (!torch) ctx.log('  python3-torch not importable: the peer_diff.py contender is left out');
  return { aligned, coverage, cli, torch, warm: w, generatedSeconds, runs: {} };
}

function trials(state, ctx) {
  const { runs } = state;
  const record = (id, i, m) => { if (i >= 0) (runs[id] ??= []).push(m); };
  const paramscopeRun = (pair) => async () => {
    if (state.cli) {
      const m = await runMeasured(process.execPath, [path.join(ROOT, 'bin', 'paramscope.js'), 'diff', pair.base.dir, pair.tuned.dir, '--mode', 'truncated', '--rank', '64', '--no-directions', '--no-cache', '--json']);
      let verdict = null;
      try { const j = JSON.parse(m.stdout); verdict = j.verdict ? { label: j.verdict.label, score: j.verdict.score } : null; } catch { /* not JSON */ }
      return { ...m, verdict };
    }
    const m = await runMeasured(process.execPath, ['-e', API_CHILD, path.join(ROOT, 'dist', 'index.js'), pair.base.dir, pair.tuned.dir]);
    const j = JSON.parse(m.stdout.trim().split('\n').pop());
    return { ...m, verdict: j.verdict, innerSeconds: j.seconds, pairs: j.pairs, failed: j.failed };
  };
  const how = state.cli ? 'CLI `paramscope diff … --mode truncated --rank 64 --no-directions`' : 'API diff(…, { mode: truncated, rank: 64, directions: false }) in a child node';
  const list = [];
  for (const regime of ['aligned', 'coverage']) {
    const pair = state[regime];
    const id = `paramscope-${regime}`;
    list.push({
      id,
      label: `paramscope diff top-64, ${regime} pair`,
      group: 'diff',
      size: `${pair.base.tensorCount} tensors, 2 × ${(pair.base.totalBytes / 1e9).toFixed(2)} GB`,
      bytes: pair.base.totalBytes * 2,
      // One run is ~1 min here; the page cache is warmed in setup, so no warmup run.
      warmup: 0,
      repeats: regime === 'aligned' ? 2 : 1,
      quickRepeats: 1,
      gc: false,
      baseline: state.torch ? 'peer-torch-aligned' : undefined,
      target: { metric: 'medianMs', max: 15000.001, text: '≤ 15 s' },
      note: `${how}; wall time of the child process (start-up included); ratio = torch peer time / this`,
      run: paramscopeRun(pair),
      after: (s, m, i) => record(id, i, { anonPeak: m.anonPeak, hwm: m.hwm, fileAtPeak: m.fileAtPeak, verdict: m.verdict, innerSeconds: m.innerSeconds, pairs: m.pairs, failed: m.failed }),
    });
  }
  if (state.torch) {
    for (const regime of ctx.quick ? ['aligned'] : ['aligned']) {
      const pair = state[regime];
      const id = `peer-torch-${regime}`;
      list.push({
        id,
        label: `contender: peer_diff.py topk 64 (torch), ${regime}`,
        group: 'diff',
        size: `${pair.base.tensorCount} tensors, 2 × ${(pair.base.totalBytes / 1e9).toFixed(2)} GB`,
        bytes: pair.base.totalBytes * 2,
        warmup: 0, repeats: 1, quickRepeats: 1, gc: false,
        note: 'torch 1.13 (Debian), svd_lowrank(q=74, niter=2) per ΔW, 2 threads; wall time of the child process (imports included)',
        run: async () => {
          const m = await runMeasured(PY, [path.join(PEERS, 'peer_diff.py'), pair.base.dir, pair.tuned.dir, 'topk', '64']);
          return { ...m, inner: JSON.parse(m.stdout.trim().split('\n').pop()) };
        },
        after: (s, m, i) => record(id, i, { anonPeak: m.anonPeak, hwm: m.hwm, fileAtPeak: m.fileAtPeak, innerSeconds: m.inner.seconds, pairs: m.inner.tensors }),
      });
    }
  }
  return list;
}

function notes(state, results) {
  const out = [];
  const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  out.push(`load average at the end: ${load} (2 cores shared with other engineers' tests: medians are noisy, mins steadier)`);
  const fmt = (b) => (b == null ? 'n/a' : `${(b / GIB).toFixed(2)} GiB`);
  out.push('per trial: wall median / min | inner (work only, no start-up) | peak RSS (VmHWM) | RssAnon peak [RssFile then] | verdict');
  for (const r of results) {
    const runs = state.runs[r.id] ?? [];
    if (!runs.length) continue;
    const maxOf = (k) => Math.max(...runs.map((x) => x[k] ?? 0));
    const inner = runs.map((x) => x.innerSeconds).filter((x) => x != null);
    const v = runs[runs.length - 1].verdict;
    out.push(`  ${r.id.padEnd(20)} ${(r.medianMs / 1e3).toFixed(1)} s / ${(r.minMs / 1e3).toFixed(1)} s | ${inner.length ? `${Math.min(...inner).toFixed(1)}–${Math.max(...inner).toFixed(1)} s` : 'n/a'} | ${fmt(maxOf('hwm'))} | ${fmt(maxOf('anonPeak'))} [${fmt(runs[0].fileAtPeak)}] | ${v ? `${v.label} (${v.score.toFixed(3)}${v.components ? `; D ${v.components.directionalSpread.map((x) => x.toFixed(2)).join('..')}, L ${v.components.layerSpread.toFixed(2)}, C ${v.components.coverage.toFixed(2)}` : ''})` : ''}`);
    if (r.id.startsWith('paramscope-')) {
      const anon = maxOf('anonPeak');
      out.push(`    anonymous-memory target ≤ 2 GiB: ${fmt(anon)} → ${anon <= 2 * GIB ? 'PASS' : 'FAIL'}${runs[0].failed ? `; ${runs[0].failed} pairs failed` : ''}`);
    }
  }
  out.push(`inputs: base ${state.aligned.base.dir}, tuned ${state.aligned.tuned.dir} and ${state.coverage.tuned.dir} (${state.aligned.tuned.reused && state.coverage.tuned.reused ? 'reused' : `generated in this run, ${state.generatedSeconds.toFixed(0)} s`}); read into the page cache first (${(state.warm.bytes / GIB).toFixed(2)} GiB in ${state.warm.seconds.toFixed(1)} s)`);
  out.push(`paramscope route: ${state.cli ? 'CLI diff command' : 'API in a child node (the CLI has no diff command in this build)'}; throughput = stored bytes of both sides / wall time`);
  return out;
}

module.exports = { description: 'ΔW spectra of a 1B BF16 pair (truncated top-64), paramscope vs the torch peer', available, setup, trials, notes };

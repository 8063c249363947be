'use strict';
/**
 * Timing: warmup runs, then `repeats` timed runs of one operation; median and min of the samples.
 * `before` runs untimed ahead of every run (e.g. a GC so a previous 2 GiB result is not freed inside the
 * timed region). `run` may return a value; it is kept alive until `after(result)` has looked at it (memory
 * snapshots are taken there) and then dropped.
 */
const { collectGarbage, settle } = require('./memory');

const now = () => process.hrtime.bigint();
const ms = (a, b) => Number(b - a) / 1e6;

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function summarize(samplesMs) {
  const mean = samplesMs.reduce((a, b) => a + b, 0) / samplesMs.length;
  const variance = samplesMs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, samplesMs.length - 1);
  return {
    samplesMs,
    medianMs: median(samplesMs),
    minMs: Math.min(...samplesMs),
    maxMs: Math.max(...samplesMs),
    meanMs: mean,
    stdevMs: Math.sqrt(variance),
  };
}

/**
 * Measures `run` (sync or async). Options: warmup (default 1), repeats (default 5), gc (default true:
 * collect garbage before each run, untimed; 'settle': also let finalizers run), before(i) and after(result, i) hooks (untimed).
 */
async function measure(run, { warmup = 1, repeats = 5, gc = true, before, after } = {}) {
  const samples = [];
  for (let i = -warmup; i < repeats; i++) {
    if (gc === 'settle') await settle();
    else if (gc) collectGarbage();
    if (before) await before(i);
    const t0 = now();
    let result = run(i);
    if (result && typeof result.then === 'function') result = await result;
    const t1 = now();
    if (i >= 0) samples.push(ms(t0, t1));
    if (after) await after(result, i);
    result = undefined;
  }
  return summarize(samples);
}

/** GB/s (1e9 bytes per second) for `bytes` moved in `milliseconds`. */
function throughputGBps(bytes, milliseconds) {
  return bytes / (milliseconds * 1e6);
}

module.exports = { measure, median, summarize, throughputGBps, now, ms };

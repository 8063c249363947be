'use strict';
/**
 * Process memory from /proc: RssAnon (heap, decoded outputs) versus RssFile (mapped checkpoint pages in
 * the page cache) from /proc/self/status, the finer /proc/self/smaps_rollup, and the peak (VmHWM), which
 * `resetPeak()` restarts by writing 5 to /proc/self/clear_refs (Linux ≥ 4.0). Values in bytes; null
 * where /proc is missing (non-Linux).
 */
const fs = require('node:fs');
const v8 = require('node:v8');
const vm = require('node:vm');

let gcFunction = typeof global.gc === 'function' ? global.gc : null;

/** A full GC, so ArrayBuffers dropped by earlier runs are freed outside the timed region. */
function collectGarbage() {
  if (!gcFunction) {
    v8.setFlagsFromString('--expose-gc');
    gcFunction = vm.runInNewContext('gc');
  }
  gcFunction();
}

function parseKb(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]] = Number(m[2]) * 1024;
  }
  return out;
}

function readProc(file) {
  try {
    return parseKb(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** { rss, anon, file, shmem, peak } from /proc/self/status (bytes), or null. */
function memoryStatus() {
  const s = readProc('/proc/self/status');
  if (!s) return null;
  return { rss: s.VmRSS, anon: s.RssAnon, file: s.RssFile, shmem: s.RssShmem, peak: s.VmHWM };
}

/** /proc/self/smaps_rollup fields (Rss, Pss, Anonymous, Private_Clean, Shared_Clean, ...) in bytes, or null. */
function smapsRollup() {
  return readProc('/proc/self/smaps_rollup');
}

/** Restarts the peak-RSS counter (VmHWM); returns false where the kernel does not allow it. */
function resetPeak() {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** Differences b − a of two memoryStatus() snapshots (peak is b's). */
function memoryDelta(a, b) {
  if (!a || !b) return null;
  return { rss: b.rss - a.rss, anon: b.anon - a.anon, file: b.file - a.file, peak: b.peak };
}

/**
 * GC, then a turn of the event loop so finalizers queued by the GC run (N-API finalizers of zero-copy
 * buffers unmap their files there), then GC again: memory snapshots after this see only live objects.
 */
async function settle() {
  collectGarbage();
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  await new Promise((resolve) => setImmediate(resolve));
}

module.exports = { settle, collectGarbage, memoryStatus, smapsRollup, resetPeak, memoryDelta };

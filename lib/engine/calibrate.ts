/**
 * A short calibration of this machine for time estimates: the engine computes a few generated BF16
 * difference jobs (as many as it computes at once) in the mode asked for, and the rates it reaches are
 * read from the matrices' timing: floating-point operations per lane-second for the solver (products,
 * orthonormalisation, eigensolver, by the flop model of plan/cost.ts) and, for truncated spectra, stored
 * bytes per lane-second for reading, decoding and subtracting into the resident copy. About half a second; the result is kept for the process.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { jobCost, type CostSettings } from '../plan/cost';
import { openCheckpoint } from '../read/checkpoint';
import { encodeFloat32, writeSafetensorsSync } from '../read/writer';
import type { MatrixJob } from './matrix-job';
import { native } from './binding';
import { engineOptions } from './options';
import { runSpectra } from './run';
import type { SpectrumOptions } from './types';

export interface Calibration {
  mode: 'exact' | 'truncated';
  /** Matrices computed at once. */
  lanes: number;
  /** Solver flops per second of one lane (the flop model's flops over products, orthonormalisation and eigensolver time). */
  flopsPerLaneSecond: number;
  /**
   * Stored bytes read, decoded and subtracted per second of one lane (from the page cache: disk time is
   * not in it); null in exact mode, whose streaming pass is timed together with the Gram update it
   * feeds (its time is then in flopsPerLaneSecond).
   */
  bytesPerLaneSecond: number | null;
  /** The wall time the calibration took. */
  seconds: number;
}

const ROWS = 2048, COLS = 4096;
const cache = new Map<string, Calibration>();

function calibrationFile(): string {
  const file = path.join(os.tmpdir(), `paramscope-calibration-${ROWS}x${COLS}-v1.safetensors`);
  if (fs.existsSync(file)) return file;
  // Deterministic values of weight-like size; the tuned side differs by a small dense update.
  const base = new Float32Array(ROWS * COLS), tuned = new Float32Array(ROWS * COLS);
  for (let i = 0; i < base.length; i++) {
    base[i] = 0.02 * Math.sin(0.7 * i + 0.3 * Math.cos(0.011 * i));
    tuned[i] = base[i]! + 0.002 * Math.cos(1.3 * i);
  }
  const temporary = `${file}.${process.pid}`;
  writeSafetensorsSync(temporary, {
    base: { dtype: 'BF16', shape: [ROWS, COLS], data: encodeFloat32(base, 'BF16') },
    tuned: { dtype: 'BF16', shape: [ROWS, COLS], data: encodeFloat32(tuned, 'BF16') },
  });
  fs.renameSync(temporary, file);
  return file;
}

/** Measures (once per process and set of options) the rates the estimate of a run is made from. */
export async function calibrate(options: SpectrumOptions): Promise<Calibration> {
  const resolved = engineOptions(options);
  const key = JSON.stringify(resolved);
  const known = cache.get(key);
  if (known) return known;
  const ckpt = await openCheckpoint(calibrationFile());
  try {
    const lanes = Math.max(1, native().laneCount(resolved, Number.MAX_SAFE_INTEGER));
    // Two rounds of lanes for the truncated solver (its first job per lane warms the buffer cache); one for
    // the exact routes, which take longer.
    const jobs: MatrixJob[] = Array.from({ length: (resolved.mode === 'exact' ? 1 : 2) * lanes }, (_, i) => ({
      kind: 'diff', name: `calibration-${i}`, tuned: { checkpoint: ckpt, tensor: 'tuned' }, base: { checkpoint: ckpt, tensor: 'base' },
    }));
    const settings: CostSettings = resolved;
    let flops = 0, bytes = 0, solverSeconds = 0, decodeSeconds = 0;
    const started = process.hrtime.bigint();
    for await (const outcome of runSpectra(jobs, { ...options, signal: undefined, onProgress: undefined })) {
      if ('error' in outcome || !outcome.timing) continue;
      const cost = jobCost(jobs[outcome.index] as MatrixJob, settings);
      flops += cost.flops;
      bytes += cost.bytes;
      solverSeconds += outcome.timing.products + outcome.timing.orthonormalize + outcome.timing.eigensolver;
      decodeSeconds += outcome.timing.readDecode;
    }
    const exact = resolved.mode === 'exact';
    const result: Calibration = {
      mode: resolved.mode,
      lanes,
      flopsPerLaneSecond: flops / Math.max(solverSeconds + (exact ? decodeSeconds : 0), 1e-9),
      bytesPerLaneSecond: exact ? null : bytes / Math.max(decodeSeconds, 1e-9),
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    };
    cache.set(key, result);
    return result;
  } finally {
    ckpt.close();
  }
}

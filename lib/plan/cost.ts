/**
 * What a list of engine jobs will cost, from the headers alone: the stored bytes the engine reads (the
 * same count the engine's progress reports, so a plan's bytes and the progress agree) and an estimate of
 * the floating-point operations, from the shapes, the rank and the mode. A plan states these before any
 * tensor byte is read (the event stream's `plan`); a shard plan can balance on them.
 *
 * The flop model, for an m×n matrix with p = min(m, n), q = max(m, n):
 *  - exact, values only (Gram + symmetric eigensolver): p²·q for the Gram matrix + 4p³/3 for the
 *    tridiagonal reduction;
 *  - exact with vectors or the direct route (divide-and-conquer SVD): 4p²·q + 8p³;
 *  - truncated, l = min(rank + oversampling, p) columns, k = min(rank, p) and i power iterations:
 *    (2i + 2) products of 2·m·n·l and a last one of 2·m·n·k (the residuals of the k reported values),
 *    plus the re-orthonormalisations, 4(m + n)·l² each (native/src/spectrum.cpp, truncated_spectrum);
 *  - a low-rank product s·B·A of rank r (from the r×r core of its factors): 2(m + n)·r² + 9r³, twice
 *    the first term again when vectors are asked for.
 * It is an estimate: a tolerance that makes the truncated solver iterate further costs more.
 */
import type { MatrixJob, TensorSource } from '../engine/matrix-job';

/** The engine settings the cost depends on (the resolved engine options). */
export interface CostSettings {
  mode: 'exact' | 'truncated';
  rank: number;
  oversampling: number;
  powerIterations: number;
  vectors: boolean;
  exactRoute: 'auto' | 'gram' | 'direct';
}

export interface JobCost {
  /** Stored bytes the engine reads for the job (both tensors of a difference, the factors of a low-rank job). */
  bytes: number;
  /** Estimated floating-point operations. */
  flops: number;
}

/**
 * One (expert's) matrix as stored: [d0, d1·…·dk] of the tensor, or of its slice `expert`; MXFP4 codes
 * hold two values per byte (native/src/stored_matrix.cpp, StoredMatrix::resolve).
 */
function storedMatrix(s: TensorSource): { rows: number; cols: number; experts: number } {
  const shape = s.checkpoint.tensor(s.tensor).shape;
  const first = s.expert === undefined ? 0 : 1;
  const experts = s.expert === undefined ? 1 : (shape[0] ?? 1);
  const dims = shape.slice(first);
  const rows = dims.length === 0 ? 1 : dims.length === 1 ? 1 : (dims[0] as number);
  const rest = dims.length === 0 ? 1 : dims.length === 1 ? (dims[0] as number) : dims.slice(1).reduce((a, b) => a * b, 1);
  return { rows, cols: s.quantized?.encoding === 'mxfp4' ? rest * 2 : rest, experts };
}

/** Bytes the engine reads for a stored matrix: its slice of the codes and of the scales (StoredMatrix::stored_bytes). */
function storedBytes(s: TensorSource): number {
  const info = s.checkpoint.tensor(s.tensor);
  const { rows, cols, experts } = storedMatrix(s);
  const codes = s.expert === undefined && s.quantized?.encoding !== 'mxfp4' ? info.bytes
    : s.quantized?.encoding === 'mxfp4' ? (rows * cols) / 2 : info.bytes / experts;
  const scales = s.quantized ? s.checkpoint.tensor(s.quantized.scale).bytes / experts : 0;
  return codes + scales;
}

/** rows × cols of a stored matrix as the engine presents it (transposed, a subset of rows). */
export function matrixShape(s: TensorSource, rows?: number): [number, number] {
  const stored = storedMatrix(s);
  let [m, n] = s.transpose ? [stored.cols, stored.rows] : [stored.rows, stored.cols];
  if (s.rows) m = s.rows.count;
  return [rows ?? m, n];
}

/** Estimated flops of one m×n spectrum. */
export function spectrumFlops(m: number, n: number, settings: CostSettings): number {
  const p = Math.min(m, n), q = Math.max(m, n);
  if (p === 0) return 0;
  if (settings.mode === 'exact') {
    const direct = settings.vectors || settings.exactRoute === 'direct';
    return direct ? 4 * p * p * q + 8 * p * p * p : p * p * q + (4 / 3) * p * p * p;
  }
  const k = Math.min(settings.rank, p), l = Math.min(settings.rank + settings.oversampling, p);
  const passes = 2 * settings.powerIterations + 2;
  return passes * (2 * m * n * l + 4 * (m + n) * l * l) + 2 * m * n * k;
}

/** The cost of one job (its own `vectors` overrides the settings'). */
export function jobCost(job: MatrixJob, settings: CostSettings): JobCost {
  const own = job.vectors === undefined ? settings : { ...settings, vectors: job.vectors };
  switch (job.kind) {
    case 'dense': {
      const [m, n] = matrixShape(job.source);
      return { bytes: storedBytes(job.source), flops: spectrumFlops(m, n, own) };
    }
    case 'diff': {
      const [m, n] = matrixShape(job.tuned, job.rows);
      return { bytes: storedBytes(job.tuned) + storedBytes(job.base), flops: spectrumFlops(m, n, own) };
    }
    case 'lowrank': {
      const { rows: m, cols: n, rank: r } = job;
      return { bytes: (job.b.length + job.a.length) * 4, flops: 2 * (m + n) * r * r * (own.vectors ? 2 : 1) + 9 * r * r * r };
    }
  }
}

/**
 * The memory a job holds while it computes, in bytes, given its lane's share of the memory budget — the
 * rules of native/src/spectrum.cpp: the truncated solver's work arrays, (3m + 4n)·l doubles, plus a
 * resident copy of the matrix (f32, or f64 with precision f64) when both fit the share, else row panels
 * of at most 64 MiB; the exact Gram route a p×p double Gram matrix (twice with Eigen's solver) plus
 * panels; the direct SVD the whole matrix in double (plus vectors). A low-rank job holds its factors.
 */
export function jobMemory(job: MatrixJob, settings: CostSettings & { precision: 'f32' | 'f64' }, laneBytes: number, eigenSolver = false): number {
  const own = job.vectors === undefined ? settings : { ...settings, vectors: job.vectors };
  if (job.kind === 'lowrank') return (job.rows + job.cols) * job.rank * 8;
  const [m, n] = job.kind === 'dense' ? matrixShape(job.source) : matrixShape(job.tuned, job.rows);
  const p = Math.min(m, n);
  const panel = (bytesPerRow: number, available: number) => Math.min(Math.max(bytesPerRow, Math.min(PANEL_BYTES, available)), m * bytesPerRow);
  const rowBytes = n * (job.kind === 'diff' ? 2 * 4 + 8 : 4 + 8);
  if (own.mode === 'truncated') {
    const l = Math.min(own.rank + own.oversampling, p);
    const work = (3 * m + 4 * n) * l * 8;
    const resident = m * n * (own.precision === 'f32' ? 4 : 8);
    return work + (resident + work <= laneBytes ? resident : panel(rowBytes, laneBytes - work));
  }
  if (own.vectors || own.exactRoute === 'direct') return m * n * 8 + (own.vectors ? ((m + n) * p + 4 * p * p) * 8 : 0) + panel(rowBytes, laneBytes);
  const gram = p * p * 8 * (eigenSolver ? 2 : 1);
  return gram + panel(rowBytes, Math.max(0, laneBytes - gram));
}

/** native/include/paramscope/config.hpp kMaxPanelBytes: the largest row panel a streaming pass decodes. */
const PANEL_BYTES = 64 * 2 ** 20;

/** The summed cost of a job list. */
export function jobsCost(jobs: readonly MatrixJob[], settings: CostSettings): JobCost {
  let bytes = 0, flops = 0;
  for (const job of jobs) {
    const c = jobCost(job, settings);
    bytes += c.bytes;
    flops += c.flops;
  }
  return { bytes, flops: Math.round(flops) };
}

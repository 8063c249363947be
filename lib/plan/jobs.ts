/**
 * Every list of engine jobs, built from a plan: the dense spectra of `analyze`, the differences ΔW of
 * `diff`, the low-rank products s·B·A of an adapter, and the three spectra per matrix of the direction
 * analysis. Nothing here reads tensor data: a job names its tensors, the engine reads them.
 */
import type { Checkpoint, TensorInfo } from '../read/checkpoint';
import type { MatrixJob, TensorSource } from '../engine/matrix-job';
import { logicalView, matrixSource } from './layouts/logical';
import type { Adapter } from './lora/types';
import { MATRIX_FATES, type PairingEntry, type PairingReport, type TensorSide } from './pairing-entry';

/** What the engine reads for one side of an entry: its stored matrix (scale, expert slice, …) or the whole tensor. */
export function sourceOf(checkpoint: Checkpoint, s: TensorSide): TensorSource {
  return { checkpoint, ...(s.source ?? { tensor: s.tensor }) };
}

/**
 * One dense spectrum per matrix of `analyze`'s plan, named after its tensor (a quantized weight with its
 * scale, an expert slice `name[e]`: their `source`, plan/analysis-plan.ts).
 */
export function analysisJobs(checkpoint: Checkpoint, matrices: ReadonlyArray<TensorInfo & { source?: Omit<TensorSource, 'checkpoint'> }>): MatrixJob[] {
  return matrices.map((t) => ({ name: t.name, kind: 'dense', source: { checkpoint, ...(t.source ?? { tensor: t.name }) } }));
}

/**
 * The engine jobs for ΔW = W_tuned − W_base of every matrix entry (`paired`, `resized`, `tied`), named
 * after the entry; a resized pair compares its `sharedRows` only.
 */
export function diffJobs(report: PairingReport): MatrixJob[] {
  const jobs: MatrixJob[] = [];
  for (const entry of report.entries) {
    if (!MATRIX_FATES.has(entry.fate) || !entry.base || !entry.tuned) continue;
    jobs.push({
      kind: 'diff',
      name: entry.name,
      tuned: sourceOf(report.tuned, entry.tuned),
      base: sourceOf(report.base, entry.base),
      ...(entry.sharedRows === undefined ? {} : { rows: entry.sharedRows }),
    });
  }
  return jobs;
}

/** The engine jobs for the adapter's modules: ΔW = scale·B·A, rows × cols, never formed as a matrix. */
export function loraJobs(adapter: Adapter): MatrixJob[] {
  return adapter.modules.map((m) => ({ kind: 'lowrank', name: m.name, rows: m.rows, cols: m.cols, rank: m.rank, b: m.b, a: m.a, scale: m.scale }));
}

/** The names of the three direction jobs of a matrix (results/direction-analysis.ts reads them back). */
export const directionJobNames = (name: string) => ({ update: `${name}#update`, base: `${name}#base`, tuned: `${name}#tuned` });

/**
 * Per matrix entry, the three spectra the direction analysis compares: ΔW, W_base and W_tuned (the
 * caller asks for their vectors). A resized pair's ΔW compares its shared rows only.
 */
export function directionJobs(pairing: PairingReport, entries: readonly PairingEntry[]): MatrixJob[] {
  const jobs: MatrixJob[] = [];
  for (const entry of entries) {
    const names = directionJobNames(entry.name);
    const rows = entry.sharedRows;
    const tuned = sourceOf(pairing.tuned, entry.tuned as TensorSide);
    const base = sourceOf(pairing.base, entry.base as TensorSide);
    jobs.push({ kind: 'diff', name: names.update, tuned, base, ...(rows === undefined ? {} : { rows }) });
    jobs.push({ kind: 'dense', name: names.base, source: base });
    jobs.push({ kind: 'dense', name: names.tuned, source: tuned });
  }
  return jobs;
}

/**
 * With an adapter's base: one dense spectrum per module of the base weight it modifies, named after the
 * module; a quantized base weight is read with its scale (plan/layouts/logical.ts).
 */
export function adapterBaseJobs(base: Checkpoint, baseTensorOf: ReadonlyMap<string, string>): MatrixJob[] {
  const view = logicalView(base);
  return [...baseTensorOf].map(([module, tensor]) => {
    const logical = view.byName.get(tensor);
    return { kind: 'dense', name: module, source: { checkpoint: base, ...(logical ? matrixSource(logical) : { tensor }) } };
  });
}

/** The adapter's low-rank jobs again, with singular vectors, for the modules the base has. */
export function adapterVectorJobs(adapter: Adapter, baseTensorOf: ReadonlyMap<string, string>): MatrixJob[] {
  return loraJobs(adapter).filter((j) => baseTensorOf.has(j.name)).map((j) => ({ ...j, vectors: true }));
}

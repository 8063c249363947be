/**
 * The parameter footprint of a LoRA adapter: the spectrum of every module's ΔW = s·B·A from the r×r core
 * of its factors (no m×n matrix is formed), with the verdict built on the adapter's rank budget (a
 * rank-r update that uses all r directions evenly is "dispersed" for an adapter). With the base
 * checkpoint it also gives the relative update ‖ΔW‖_F/‖W_base‖_F and the overlap of ΔW's directions with
 * W_base's.
 *
 * @example
 * const report = await analyzeAdapter('adapter_dir/', { base: 'base_model/' });
 */
import type { SpectrumSummary } from './analyze';
import { type Checkpoint, openCheckpoint } from './read/checkpoint';
import { compareSubspaces } from './results/directions';
import { aggregatePairs, type DiffReport, type PairResult, reportHeader } from './diff';
import { isFailed, type MatrixJob, runSpectra, type SpectrumOptions, type SpectrumOutcome } from './engine/run';
import { ParamscopeError } from './errors';
import { type Adapter, type LoraModule, loraJobs, openAdapter, type OpenAdapterOptions } from './plan/lora/open-adapter';
import { classifyTensor } from './plan/modules';
import { detectPrefix, type PairingFate } from './plan/pairing';

export interface AdapterOptions extends SpectrumOptions, OpenAdapterOptions {
  /** The base checkpoint (path or open Checkpoint) the adapter was trained on. */
  base?: string | Checkpoint;
  /** With a base: compare ΔW's top directions with W_base's (default true when a base is given). */
  directions?: boolean;
  directionRank?: number;
  mmap?: boolean;
}

/** The base tensor a module modifies, trying the module's name as is and with the prefixes that differ. */
function baseTensorFor(module: LoraModule, base: Checkpoint, prefix: { base: string; tuned: string }): string | null {
  const stripped = prefix.tuned && module.name.startsWith(prefix.tuned) ? module.name.slice(prefix.tuned.length) : module.name;
  for (const candidate of [module.name, prefix.base + stripped, stripped]) if (base.has(candidate)) return candidate;
  return null;
}

function emptyCounts(): Record<PairingFate, number> {
  return { paired: 0, resized: 0, tied: 0, 'not-a-matrix': 0, 'shape-mismatch': 0, 'missing-in-tuned': 0, 'extra-in-tuned': 0, excluded: 0 };
}

export async function analyzeAdapter(adapterPath: string, options: AdapterOptions = {}): Promise<DiffReport> {
  const adapter: Adapter = await openAdapter(adapterPath, options);
  if (adapter.modules.length === 0)
    throw new ParamscopeError(`${adapter.path} holds no LoRA module`, { code: 'EMPTY_PAIRING', file: adapter.path });
  const base = typeof options.base === 'string' ? await openCheckpoint(options.base, { mmap: options.mmap ?? true }) : options.base;
  try {
    const mode = options.mode ?? 'exact';
    const spectrumOptions = { ...options, mode } as SpectrumOptions;
    const outcomes = new Map<string, SpectrumOutcome>();
    for await (const o of runSpectra(loraJobs(adapter), spectrumOptions)) outcomes.set(o.name, o);

    // With the base: its norms (and directions) for every module it has.
    const baseNames = new Map<string, string>();
    const entries: DiffReport['pairing']['entries'] = [];
    const counts = emptyCounts();
    const notes: string[] = [...adapter.notes];
    if (base) {
      const prefix = detectPrefix(base.tensors.map((t) => t.name), adapter.modules.map((m) => m.name));
      for (const m of adapter.modules) {
        const name = baseTensorFor(m, base, prefix);
        const info = name ? base.tensor(name) : null;
        const shape = info ? [info.shape[0] ?? 0, info.shape.slice(1).reduce((a, b) => a * b, 1)] : null;
        if (!info || !name) {
          entries.push({ name: m.name, fate: 'extra-in-tuned', base: null, tuned: m.key, note: 'the base has no tensor of this name' });
          counts['extra-in-tuned']++;
        } else if (shape?.[0] !== m.rows || shape?.[1] !== m.cols) {
          throw new ParamscopeError(
            `adapter module ${m.key} updates a ${m.rows}×${m.cols} weight but the base tensor ${name} is [${info.shape.join(', ')}]: the adapter was not trained on this base`,
            { code: 'SHAPE_MISMATCH', file: base.path, tensor: name },
          );
        } else {
          baseNames.set(m.name, name);
          entries.push({ name: m.name, fate: 'paired', base: name, tuned: m.key });
          counts.paired++;
        }
      }
      if (baseNames.size === 0)
        throw new ParamscopeError(`none of the ${adapter.modules.length} adapter modules names a tensor of ${base.path} (first: ${adapter.modules[0]?.name})`, { code: 'EMPTY_PAIRING', file: base.path });
    } else {
      for (const m of adapter.modules) entries.push({ name: m.name, fate: 'paired', base: null, tuned: m.key });
      counts.paired = adapter.modules.length;
      if (adapter.needsBase) notes.push('this adapter also changes the base (DoRA / PiSSA-style): without the base, only the low-rank part s·B·A is shown');
    }

    const directionRank = options.directionRank ?? 16;
    const baseOutcomes = new Map<string, SpectrumOutcome>();
    if (base && baseNames.size > 0) {
      const wantDirections = options.directions ?? true;
      const jobs: MatrixJob[] = [...baseNames].map(([module, tensor]) => ({ kind: 'dense', name: module, source: { checkpoint: base, tensor } }));
      const { onProgress, signal, threads, parallelMatrices, memoryBudget, seed } = options;
      for await (const o of runSpectra(jobs, { mode: 'truncated', rank: directionRank, vectors: wantDirections, onProgress, signal, threads, parallelMatrices, memoryBudget, seed }))
        baseOutcomes.set(o.name, o);
      if (wantDirections) {
        const vectorJobs: MatrixJob[] = loraJobs(adapter).filter((j) => baseNames.has(j.name)).map((j) => ({ ...j, vectors: true }));
        for await (const o of runSpectra(vectorJobs, { ...spectrumOptions, mode: 'exact' })) outcomes.set(o.name, o);
      }
    }

    const pairs: PairResult[] = adapter.modules.map((m) => pairFor(m, outcomes.get(m.name) as SpectrumOutcome, baseOutcomes.get(m.name)));
    const { verdict, ...aggregates } = aggregatePairs(pairs);
    return {
      ...reportHeader('adapter'),
      base: base ? { path: base.path, tensors: base.tensors.length } : null,
      tuned: { path: adapter.path, tensors: adapter.modules.length },
      adapter: {
        layout: adapter.layout,
        modules: adapter.modules.length,
        needsBase: adapter.needsBase,
        notes: adapter.notes,
        fullTensors: adapter.fullTensors.map((t) => ({ tensor: t.tensor, kind: t.kind, note: t.note })),
      },
      options: {
        mode,
        rank: mode === 'truncated' ? (options.rank ?? 64) : null,
        directions: { enabled: Boolean(base) && (options.directions ?? true), rank: directionRank, reason: base ? 'adapter with base' : 'no base given' },
      },
      pairing: { prefix: { base: '', tuned: '' }, counts, notes, entries },
      pairs,
      vectors: [],
      aggregates,
      verdict,
    };
  } finally {
    if (typeof options.base === 'string') base?.close();
  }
}

function pairFor(m: LoraModule, outcome: SpectrumOutcome, baseOutcome: SpectrumOutcome | undefined): PairResult {
  const result: PairResult = {
    name: m.name,
    fate: 'paired',
    module: classifyTensor(m.name),
    rows: m.rows,
    cols: m.cols,
    parameters: m.rank * (m.rows + m.cols),
    baseDtype: baseOutcome ? 'base' : '',
    tunedDtype: `LoRA r=${m.rank} s=${m.scale}`,
    rankCap: m.rank,
    seconds: outcome.seconds,
  };
  if (isFailed(outcome)) return { ...result, error: outcome.error };
  const spectrum: SpectrumSummary = {
    values: outcome.values, errorBounds: outcome.errorBounds, frobeniusSquared: outcome.frobeniusSquared, complete: outcome.complete,
    converged: outcome.converged, method: outcome.method, passes: outcome.passes, powerIterations: outcome.powerIterations,
  };
  const updateNorm = Math.sqrt(outcome.frobeniusSquared);
  const withBase: Partial<PairResult> = {};
  if (baseOutcome && !isFailed(baseOutcome)) {
    const baseNorm = Math.sqrt(baseOutcome.frobeniusSquared);
    withBase.baseNorm = baseNorm;
    withBase.relativeUpdate = baseNorm > 0 ? updateNorm / baseNorm : Infinity;
    const k = Math.min(outcome.vectorCount ?? 0, baseOutcome.vectorCount ?? 0, m.rank);
    if (k > 0 && outcome.u && outcome.v && baseOutcome.u && baseOutcome.v) {
      const take = (block: Float64Array, n: number) => block.subarray(0, n * k);
      const inputs = compareSubspaces(take(outcome.v, m.cols), take(baseOutcome.v, m.cols), m.cols, k);
      const outputs = compareSubspaces(take(outcome.u, m.rows), take(baseOutcome.u, m.rows), m.rows, k);
      withBase.directions = { updateVsBaseInputs: inputs, updateVsBaseOutputs: outputs };
    }
  }
  return { ...result, spectrum, metrics: outcome.metrics, updateNorm, ...withBase };
}

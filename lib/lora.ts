/**
 * The parameter footprint of a LoRA adapter: the spectrum of every module's ΔW = s·B·A from the r×r core
 * of its factors (no m×n matrix is formed), with the verdict built on the adapter's rank budget (a
 * rank-r update that uses all r directions evenly is "dispersed" for an adapter). With the base
 * checkpoint it also gives the relative update ‖ΔW‖_F/‖W_base‖_F and the overlap of ΔW's directions with
 * W_base's. plan/lora/ reads the adapter; plan/jobs.ts, engine/run.ts, results/pair-result.ts and
 * aggregate/pairs.ts do the rest, as for `diff`.
 *
 * @example
 * const report = await analyzeAdapter('adapter_dir/', { base: 'base_model/' });
 * const adapter = await openAdapter('adapter_dir/');             // or open it first, to look at it too
 * const same = await analyzeAdapter(adapter, { base: 'base_model/' });
 */
import { inheritedRunOptions, reportedRank } from './engine/options';
import { runSpectra } from './engine/run';
import type { SpectrumOptions, SpectrumOutcome } from './engine/types';
import { ParamscopeError } from './errors';
import { adapterBaseJobs, adapterVectorJobs, loraJobs } from './plan/jobs';
import { openAdapter } from './plan/lora/open-adapter';
import type { Adapter, LoraModule, OpenAdapterOptions } from './plan/lora/types';
import type { PairingFate } from './plan/pairing-entry';
import { detectPrefix } from './plan/prefix';
import { type Checkpoint, openCheckpoint } from './read/checkpoint';
import { assembleReport } from './report/assemble';
import type { DiffReport, PairResult } from './report/model';
import { DIRECTION_DEFAULTS } from './results/directions';
import { adapterPairResult } from './results/pair-result';

export interface AdapterOptions extends SpectrumOptions, OpenAdapterOptions {
  /** The base checkpoint (path or open Checkpoint) the adapter was trained on. */
  base?: string | Checkpoint;
  /** With a base: compare ΔW's top directions with W_base's (default true when a base is given). */
  directions?: boolean;
  directionRank?: number;
  mmap?: boolean;
}

/** An adapter's spectra are cheap (from the r×r core), so they are exact unless told otherwise. */
const ADAPTER_DEFAULT_MODE = 'exact';

/** The base tensor a module modifies, trying the module's name as is and with the prefixes that differ. */
function baseTensorFor(module: LoraModule, base: Checkpoint, prefix: { base: string; tuned: string }): string | null {
  const stripped = prefix.tuned && module.name.startsWith(prefix.tuned) ? module.name.slice(prefix.tuned.length) : module.name;
  for (const candidate of [module.name, prefix.base + stripped, stripped]) if (base.has(candidate)) return candidate;
  return null;
}

function emptyCounts(): Record<PairingFate, number> {
  return { paired: 0, resized: 0, tied: 0, 'not-a-matrix': 0, 'shape-mismatch': 0, 'missing-in-tuned': 0, 'extra-in-tuned': 0, excluded: 0 };
}

function isAdapter(value: unknown): value is Adapter {
  return typeof value === 'object' && value !== null && Array.isArray((value as Adapter).modules) && typeof (value as Adapter).path === 'string';
}

/**
 * Analyses an adapter: a path (opened here with {@link openAdapter} and `options`' scale, fanInFanOut and
 * config) or an Adapter already opened (those three options are then not used: they were applied when
 * it was opened).
 */
export async function analyzeAdapter(adapterOrPath: string | Adapter, options: AdapterOptions = {}): Promise<DiffReport> {
  const adapter: Adapter = isAdapter(adapterOrPath) ? adapterOrPath : await openAdapter(adapterOrPath, options);
  if (adapter.modules.length === 0)
    throw new ParamscopeError(`${adapter.path} holds no LoRA module`, { code: 'EMPTY_PAIRING', file: adapter.path });
  const base = typeof options.base === 'string' ? await openCheckpoint(options.base, { mmap: options.mmap ?? true }) : options.base;
  try {
    const mode = options.mode ?? ADAPTER_DEFAULT_MODE;
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

    const directionRank = options.directionRank ?? DIRECTION_DEFAULTS.rank;
    const baseOutcomes = new Map<string, SpectrumOutcome>();
    if (base && baseNames.size > 0) {
      const wantDirections = options.directions ?? true;
      for await (const o of runSpectra(adapterBaseJobs(base, baseNames), { mode: 'truncated', rank: directionRank, vectors: wantDirections, ...inheritedRunOptions(options) }))
        baseOutcomes.set(o.name, o);
      if (wantDirections)
        for await (const o of runSpectra(adapterVectorJobs(adapter, baseNames), { ...spectrumOptions, mode: 'exact' })) outcomes.set(o.name, o);
    }

    const pairs: PairResult[] = adapter.modules.map((m) => adapterPairResult(m, outcomes.get(m.name) as SpectrumOutcome, baseOutcomes.get(m.name)));
    return assembleReport({
      kind: 'adapter',
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
        rank: reportedRank(mode, options),
        directions: { enabled: Boolean(base) && (options.directions ?? true), rank: directionRank, reason: base ? 'adapter with base' : 'no base given' },
      },
      pairing: { prefix: { base: '', tuned: '' }, counts, notes, entries },
      pairs,
      vectors: [],
    });
  } finally {
    if (typeof options.base === 'string') base?.close();
  }
}

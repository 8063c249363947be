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
import { type CacheOptions, withSharedCache } from './engine/cache';
import type { MatrixJob } from './engine/matrix-job';
import { isFailed, type SpectrumOptions, type SpectrumOutcome } from './engine/types';
import { ParamscopeError } from './errors';
import { adapterBaseJobs, adapterVectorJobs, loraJobs } from './plan/jobs';
import { logicalView, requireSupported } from './plan/layouts/logical';
import { openAdapter } from './plan/lora/open-adapter';
import type { Adapter, LoraModule, OpenAdapterOptions } from './plan/lora/types';
import type { Component } from './plan/modules';
import { componentFilter } from './plan/pairing-checks';
import type { PairingFate } from './plan/pairing-entry';
import { detectPrefix } from './plan/prefix';
import { type Checkpoint, checkpointArgument } from './read/checkpoint';
import { assembleReport, type ReportParts } from './report/assemble';
import { diffSummary, EventStream, phasePlan } from './report/event-stream';
import type { EventOptions } from './report/events';
import type { DiffReport, PairResult } from './report/model';
import { DIRECTION_DEFAULTS } from './results/directions';
import { adapterPairResult } from './results/pair-result';

/** `onEvent` gets the event stream (docs/events.md); `onProgress` its progress events. */
export interface AdapterOptions extends Omit<SpectrumOptions, 'onProgress'>, CacheOptions, OpenAdapterOptions, EventOptions {
  /** The base checkpoint (path or open Checkpoint) the adapter was trained on. */
  base?: string | Checkpoint;
  /** With a base: compare ΔW's top directions with W_base's (default true when a base is given). */
  directions?: boolean;
  directionRank?: number;
  mmap?: boolean;
  /** Analyse only the modules of these components ('vision', 'language', …; plan/modules.ts); the others are listed as excluded. */
  component?: Component | readonly Component[];
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

interface AdapterPairing {
  /** Module name → the base tensor it modifies (the modules the base has). */
  baseNames: Map<string, string>;
  entries: DiffReport['pairing']['entries'];
  counts: Record<PairingFate, number>;
  notes: string[];
}

/** Which base tensor each module modifies (all modules paired with nothing when there is no base). */
function pairWithBase(adapter: Adapter, base: Checkpoint | undefined): AdapterPairing {
  const baseNames = new Map<string, string>();
  const entries: DiffReport['pairing']['entries'] = [];
  const counts = emptyCounts();
  const notes: string[] = [...adapter.notes];
  if (!base) {
    for (const m of adapter.modules) entries.push({ name: m.name, fate: 'paired', base: null, tuned: m.key });
    counts.paired = adapter.modules.length;
    if (adapter.needsBase) notes.push('this adapter also changes the base (DoRA / PiSSA-style): without the base, only the low-rank part s·B·A is shown');
    return { baseNames, entries, counts, notes };
  }
  // A quantized base is read as the model sees it (codes × scales, docs/formats.md), and a layout that
  // cannot be decoded is refused rather than read as plain numbers.
  const view = logicalView(base);
  requireSupported(view, base);
  const prefix = detectPrefix(base.tensors.map((t) => t.name), adapter.modules.map((m) => m.name));
  for (const m of adapter.modules) {
    const name = baseTensorFor(m, base, prefix);
    const info = name ? view.byName.get(name) ?? base.tensor(name) : null;
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
  return { baseNames, entries, counts, notes };
}

/**
 * Analyses an adapter: a path (opened here with {@link openAdapter} and `options`' scale, fanInFanOut and
 * config) or an Adapter already opened (those three options are then not used: they were applied when
 * it was opened).
 */
export async function analyzeAdapter(adapterOrPath: string | Adapter, options: AdapterOptions = {}): Promise<DiffReport> {
  const stream = EventStream.root(options);
  return stream.guard(() => adapterRun(adapterOrPath, options, stream));
}

/** {@link analyzeAdapter} emitting its events on `stream`. */
export async function adapterRun(adapterOrPath: string | Adapter, options: AdapterOptions, stream: EventStream): Promise<DiffReport> {
  const report = assembleReport(await adapterParts(adapterOrPath, options, stream));
  stream.summary(diffSummary(report));
  return report;
}

/** The runs of an adapter analysis, from the headers and factors: each lists its jobs by module name. */
export interface AdapterPlan {
  adapter: Adapter;
  base: Checkpoint | undefined;
  runs: Array<{ phase: 'spectra' | 'base' | 'vectors'; jobs: MatrixJob[]; options: SpectrumOptions }>;
}

/** Chooses, from the whole plan, the modules this run computes (a shard's: lib/shard.ts). */
export type AdapterSelection = (plan: AdapterPlan) => ReadonlySet<string>;

/** An adapter analysis planned: its runs, and what the report says of the pairing and the filter. */
export interface PlannedAdapter {
  plan: AdapterPlan;
  /** The modules the component filter left out. */
  excluded: LoraModule[];
  pairing: AdapterPairing;
  mode: 'exact' | 'truncated';
  directionRank: number;
  wantDirections: boolean;
}

/**
 * The whole plan of an adapter analysis, from the factors and the base's headers (nothing computed): the
 * modules' spectra; with the base, its weights' spectra (and vectors), then the modules' vectors again for
 * the direction comparison. Throws EMPTY_PAIRING when nothing is left to analyse, SHAPE_MISMATCH when the
 * adapter was not trained on the base.
 */
export function planAdapter(opened: Adapter, base: Checkpoint | undefined, options: AdapterOptions): PlannedAdapter {
  if (opened.modules.length === 0)
    throw new ParamscopeError(`${opened.path} holds no LoRA module`, { code: 'EMPTY_PAIRING', file: opened.path });
  const keep = componentFilter(options.component);
  const excluded = keep ? opened.modules.filter((m) => !keep(m.name)) : [];
  const adapter: Adapter = excluded.length ? { ...opened, modules: opened.modules.filter((m) => !excluded.includes(m)) } : opened;
  if (adapter.modules.length === 0)
    throw new ParamscopeError(`${opened.path}: the component filter left no module (${excluded.length} excluded)`, { code: 'EMPTY_PAIRING', file: opened.path });
  const mode = options.mode ?? ADAPTER_DEFAULT_MODE;
  const spectrumOptions = { ...options, mode } as SpectrumOptions;
  const pairing = pairWithBase(adapter, base);
  for (const m of excluded) pairing.entries.push({ name: m.name, fate: 'excluded', base: null, tuned: m.key, note: 'excluded by component' });
  pairing.counts.excluded = excluded.length;
  const directionRank = options.directionRank ?? DIRECTION_DEFAULTS.rank;
  const wantDirections = Boolean(base) && (options.directions ?? true);
  const baseOptions: SpectrumOptions = { mode: 'truncated', rank: directionRank, vectors: wantDirections, ...inheritedRunOptions(spectrumOptions) };
  const vectorOptions: SpectrumOptions = { ...spectrumOptions, mode: 'exact' };
  const plan: AdapterPlan = {
    adapter, base,
    runs: [
      { phase: 'spectra', jobs: loraJobs(adapter), options: spectrumOptions },
      { phase: 'base', jobs: base ? adapterBaseJobs(base, pairing.baseNames) : [], options: baseOptions },
      { phase: 'vectors', jobs: wantDirections ? adapterVectorJobs(adapter, pairing.baseNames) : [], options: vectorOptions },
    ],
  };
  return { plan, excluded, pairing, mode, directionRank, wantDirections };
}

/**
 * What an adapter analysis computes before its report is assembled: the parts of {@link assembleReport},
 * the pairs in module order ({@link adapterRun} assembles them; a shard writes them to its partial).
 */
export async function adapterParts(adapterOrPath: string | Adapter, given: AdapterOptions, stream: EventStream, select?: AdapterSelection): Promise<ReportParts> {
  const options = withSharedCache(given);
  stream.trackCache(options.cache);
  const opened: Adapter = isAdapter(adapterOrPath) ? adapterOrPath : await openAdapter(adapterOrPath, options);
  const base = options.base === undefined ? undefined : (await checkpointArgument('analyzeAdapter: base', options.base, { mmap: options.mmap ?? true })).checkpoint;
  try {
    const planned = planAdapter(opened, base, options);
    const { plan: whole, mode, directionRank, wantDirections } = planned;
    const { adapter } = whole;
    const [spectrumOptions, baseOptions, vectorOptions] = whole.runs.map((r) => r.options) as [SpectrumOptions, SpectrumOptions, SpectrumOptions];
    const { baseNames, entries, counts, notes } = planned.pairing;
    const only = select?.(whole);
    const chosen = (jobs: MatrixJob[]) => (only ? jobs.filter((j) => only.has(j.name)) : jobs);
    const [jobs, baseJobs, vectorJobs] = whole.runs.map((r) => chosen(r.jobs)) as [MatrixJob[], MatrixJob[], MatrixJob[]];
    const modules = only ? adapter.modules.filter((m) => only.has(m.name)) : adapter.modules;
    const directions = { enabled: wantDirections, rank: directionRank, reason: base ? 'adapter with base' : 'no base given' };
    stream.plan({
      command: 'lora', inputs: [{ role: 'adapter', path: adapter.path }, ...(base ? [{ role: 'base' as const, path: base.path }] : [])],
      mode, rank: reportedRank(mode, options), matrices: modules.length, skipped: adapter.fullTensors.length,
      phases: [
        phasePlan('spectra', jobs, spectrumOptions),
        ...(baseJobs.length ? [phasePlan('base', baseJobs, baseOptions)] : []),
        ...(vectorJobs.length ? [phasePlan('vectors', vectorJobs, vectorOptions)] : []),
      ],
      directions,
    });
    for (const note of notes) stream.warning('ADAPTER_NOTE', note, { file: adapter.path });

    // A module is finished when every run it takes part in has given its outcome.
    const records = stream.records<PairResult>('pair', () => adapter.path);
    const indexOf = new Map(modules.map((m, i) => [m.name, i]));
    const outcomes = new Map<string, SpectrumOutcome>();
    const baseOutcomes = new Map<string, SpectrumOutcome>();
    const arrived = new Map<string, number>();
    const uncached = new Set<string>();
    const pairs: PairResult[] = [];
    const arrive = (name: string, outcome: SpectrumOutcome) => {
      const count = (arrived.get(name) ?? 0) + 1;
      arrived.set(name, count);
      if (isFailed(outcome) || !outcome.cached) uncached.add(name);
      const needed = 1 + (baseNames.has(name) ? 1 : 0) + (wantDirections && baseNames.has(name) ? 1 : 0);
      const i = indexOf.get(name);
      if (count < needed || i === undefined) return;
      const pair = adapterPairResult(modules[i] as LoraModule, outcomes.get(name) as SpectrumOutcome, baseOutcomes.get(name));
      pairs[i] = pair;
      records.complete(i, pair, !uncached.has(name));
    };
    for await (const o of jobs.length ? runSpectra(jobs, { ...spectrumOptions, onProgress: stream.progressFor('spectra') }) : []) {
      outcomes.set(o.name, o);
      arrive(o.name, o);
    }
    if (baseJobs.length) {
      for await (const o of runSpectra(baseJobs, { ...baseOptions, onProgress: stream.progressFor('base') })) {
        baseOutcomes.set(o.name, o);
        arrive(o.name, o);
      }
    }
    if (vectorJobs.length) {
      for await (const o of runSpectra(vectorJobs, { ...vectorOptions, onProgress: stream.progressFor('vectors') })) {
        outcomes.set(o.name, o);
        arrive(o.name, o);
      }
    }

    return {
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
      options: { mode, rank: reportedRank(mode, options), directions },
      pairing: { prefix: { base: '', tuned: '' }, counts, notes, entries },
      pairs,
      vectors: [],
    };
  } finally {
    if (typeof options.base === 'string') base?.close();
  }
}

/**
 * `diff`: what a fine-tune did to a model's parameters. Pairs the base and tuned checkpoints by name
 * (lib/pairing.ts), computes the spectrum of every ΔW = W_tuned − W_base on the native engine, and reports
 * per pair the spectral metrics of ΔW, the relative update ‖ΔW‖_F/‖W_base‖_F, how much of ΔW rises above
 * the storage-noise floor of the two dtypes, optionally how ΔW's directions relate to W_base's (subspace
 * overlap, intruder dimensions), then aggregates per layer / module / depth / component and gives the
 * regime verdict (lib/regime.ts).
 *
 * @example
 * const report = await diff('base/', 'tuned/', { mode: 'truncated', rank: 64 });
 * console.log(report.verdict.label, report.verdict.score);
 */
import { type GroupSummary, gini, normalizedEntropy, summarizeGroups } from './aggregate/groups';
import { type Checkpoint, openCheckpoint } from './read/checkpoint';
import { compareSubspaces, intruderDimensions, type IntruderAnalysis, type SubspaceComparison } from './results/directions';
import { isFailed, type MatrixJob, runSpectra, type SpectrumOptions, type SpectrumOutcome, type SpectrumResult } from './engine/run';
import { type ErrorCode, invalidArgument, ParamscopeError } from './errors';
import { type Bounded, midpoint, type SpectrumMetrics } from './results/metrics';
import { classifyTensor, type ModuleInfo, relativeDepth } from './plan/modules';
import { diffJobs, pairCheckpoints, type PairingEntry, type PairingFate, type PairingReport, type RenameRule, vectorChanges, type VectorChange } from './plan/pairing';
import { type RegimeMatrix, regimeVerdict, type RegimeVerdict } from './aggregate/regime';
import type { SpectrumSummary } from './analyze';
import { packageVersion } from './engine/build-info';

export const REPORT_SCHEMA_VERSION = 2;

export interface DiffOptions extends SpectrumOptions {
  /** Rename rules for tuned names ([from, to]; see lib/pairing.ts). */
  map?: readonly RenameRule[];
  include?: readonly string[];
  exclude?: readonly string[];
  /**
   * Compare ΔW's and W_tuned's top singular directions with W_base's (subspace overlap, intruder
   * dimensions). Costs three more truncated spectra per matrix. 'auto' (default): on when the base is
   * at most 1 GB.
   */
  directions?: boolean | 'auto';
  /** How many directions to compare (default 16). */
  directionRank?: number;
  /** |cosine| below which a tuned direction is an intruder (default 0.5). */
  intruderThreshold?: number;
  mmap?: boolean;
}

export interface NoiseFloor {
  /** Per-entry standard deviation of the storage rounding of both checkpoints. */
  sigma: number;
  /** Marchenko–Pastur edge of that noise: singular values below it are indistinguishable from rounding. */
  edge: number;
  /** Share of ‖ΔW‖_F² in singular values above the edge. */
  energyShareAbove: Bounded;
  /** Singular values above the edge. */
  directionsAbove: Bounded;
  /**
   * Expected energy of the storage rounding in ΔW: Σ ulp²/12 over the stored values of both checkpoints
   * (absent when a dtype has no rounding grid). What ‖ΔW‖_F² would be if the update were rounding only.
   */
  roundingEnergy?: number;
  /**
   * Share of ‖ΔW‖_F² below the edge that rounding cannot account for (below-edge energy minus
   * ROUNDING_MARGIN × the rounding energy): update energy spread over directions too weak to resolve
   * one by one. 0 when there is none, when the rounding energy is unknown, or when the truncated tail is
   * unknown.
   */
  hiddenShare?: number;
}

/**
 * Allowance for the rounding model. Σ ulp²/12 per side is the energy of rounding values that sit at
 * random positions on the grid, independently on both sides; it overstates what two roundings of nearby
 * values leave in ΔW when the update is far below one ulp (they mostly round alike: the peers' 1B
 * "coverage" pair has ‖ΔW‖² = 0.25 × the model), and can understate it by a little where values are not
 * spread evenly within their binade. Only below-edge energy beyond 1.25 × the model counts as hidden
 * update, so what is called hidden update is not rounding.
 */
export const ROUNDING_MARGIN = 1.25;

export interface DirectionAnalysis {
  /** Top right singular subspaces of ΔW and W_base (input directions). */
  updateVsBaseInputs: SubspaceComparison;
  /** Top left singular subspaces of ΔW and W_base (output directions). */
  updateVsBaseOutputs: SubspaceComparison;
  /** Top left singular vectors of W_tuned against W_base's (not for adapters: W_tuned is not formed). */
  intruders?: IntruderAnalysis;
}

export interface PairResult {
  name: string;
  fate: PairingFate;
  module: ModuleInfo;
  rows: number;
  cols: number;
  parameters: number;
  baseDtype: string;
  tunedDtype: string;
  /** For a resized vocabulary: rows compared (the shared ones). */
  sharedRows?: number;
  /** The largest rank ΔW could have when less than min(rows, cols): the LoRA rank r. */
  rankCap?: number;
  seconds: number;
  spectrum?: SpectrumSummary;
  metrics?: SpectrumMetrics;
  baseNorm?: number;
  tunedNorm?: number;
  updateNorm?: number;
  /** ‖ΔW‖_F / ‖W_base‖_F. */
  relativeUpdate?: number;
  noise?: NoiseFloor;
  directions?: DirectionAnalysis;
  error?: { code: ErrorCode; message: string };
}

export interface ModelSummary {
  matrices: number;
  matricesWithSignal: number;
  /** ‖ΔW‖_F / ‖W_base‖_F over all compared matrices together. */
  relativeUpdate: number;
  /** How the update energy (Σ‖ΔW‖_F²) spreads: normalised entropy (1 even) and Gini (0 even) over layers and module types. */
  layerEnergyEntropy: number;
  layerEnergyGini: number;
  moduleEnergyEntropy: number;
  moduleEnergyGini: number;
  /** Medians over the matrices changed beyond storage noise (untouched matrices would pull them to 0). */
  medianEnergyEffectiveRankRatio: number;
  medianStableRank: number;
  medianTopKEnergyShare: number;
  /** Share of all update energy above the storage-noise floor. */
  energyShareAboveNoise: number;
  /**
   * Share of all update energy that storage rounding cannot account for: above the noise edge, or hidden
   * below it (NoiseFloor.hiddenShare). The verdict reads the update's shape only when this is ≥ 1/2.
   */
  signalShare: number;
}

export interface DiffReport {
  schema: 'paramscope.diff';
  schemaVersion: number;
  tool: { name: 'paramscope'; version: string };
  createdAt: string;
  /** 'checkpoints': base vs tuned; 'adapter': a LoRA adapter's ΔW = s·B·A, with or without its base. */
  kind: 'checkpoints' | 'adapter';
  /** The base checkpoint (null for an adapter analysed without its base). */
  base: { path: string; tensors: number } | null;
  /** The tuned checkpoint, or the adapter file. */
  tuned: { path: string; tensors: number };
  /** For kind 'adapter': what was read from the adapter. */
  adapter?: { layout: string; modules: number; needsBase: boolean; notes: string[]; fullTensors: Array<{ tensor: string; kind: string; note: string }> };
  options: {
    mode: 'exact' | 'truncated';
    rank: number | null;
    directions: { enabled: boolean; rank: number; reason: string };
  };
  pairing: {
    prefix: { base: string; tuned: string };
    counts: Record<PairingFate, number>;
    notes: string[];
    entries: Array<{ name: string; fate: PairingFate; base: string | null; tuned: string | null; note?: string }>;
  };
  pairs: PairResult[];
  vectors: VectorChange[];
  aggregates: {
    byLayer: GroupSummary[];
    byModule: GroupSummary[];
    byDepth: GroupSummary[];
    byComponent: GroupSummary[];
    model: ModelSummary;
  };
  verdict: RegimeVerdict;
}

function summarizeSpectrum(r: SpectrumResult): SpectrumSummary {
  const { values, errorBounds, frobeniusSquared, complete, converged, method, passes, powerIterations } = r;
  return { values, errorBounds, frobeniusSquared, complete, converged, method, passes, powerIterations };
}

/** Energy share of ΔW above the noise edge, with the unknown tail (truncated mode) as bounds. */
export function noiseFloor(r: SpectrumResult): NoiseFloor | undefined {
  const edge = r.metrics.noiseEdge;
  if (edge === null) return undefined;
  const m = Math.min(r.rows, r.cols);
  const sigma = edge / (Math.sqrt(r.rows) + Math.sqrt(r.cols));
  let above = 0, known = 0;
  for (const v of r.values) {
    known += v * v;
    if (v > edge) above += v * v;
  }
  const total = r.frobeniusSquared;
  const rounding = r.roundingEnergy === undefined ? {} : { roundingEnergy: r.roundingEnergy };
  if (total <= 0) return { sigma, edge, energyShareAbove: 0, directionsAbove: 0, ...rounding, ...(r.roundingEnergy === undefined ? {} : { hiddenShare: 0 }) };
  const last = r.values.length ? (r.values[r.values.length - 1] as number) : 0;
  const tail = Math.max(0, total - known);
  const tailCouldBeSignal = !r.complete && r.values.length < m && last > edge && tail > 0;
  const lo = Math.min(1, above / total);
  const energyShareAbove: Bounded = tailCouldBeSignal ? { lo, hi: Math.min(1, (above + tail) / total) } : lo;
  if (r.roundingEnergy === undefined) return { sigma, edge, energyShareAbove, directionsAbove: r.metrics.aboveNoiseEdge ?? 0 };
  const hiddenShare = tailCouldBeSignal ? 0 : Math.max(0, (total - above - ROUNDING_MARGIN * r.roundingEnergy) / total);
  return { sigma, edge, energyShareAbove, directionsAbove: r.metrics.aboveNoiseEdge ?? 0, ...rounding, hiddenShare };
}

function resolveDirections(option: DiffOptions['directions'], base: Checkpoint): { enabled: boolean; reason: string } {
  if (option === true) return { enabled: true, reason: 'requested' };
  if (option === false) return { enabled: false, reason: 'not requested (directions: true / --directions)' };
  const bytes = base.totalBytes;
  return bytes <= 1e9
    ? { enabled: true, reason: 'auto: base checkpoint ≤ 1 GB' }
    : { enabled: false, reason: `auto: base checkpoint is ${(bytes / 1e9).toFixed(1)} GB (> 1 GB); pass directions: true / --directions to compare directions` };
}

/** Runs the three truncated spectra with vectors per matrix and compares their directions. */
async function analyzeDirections(pairing: PairingReport, results: PairResult[], rank: number, threshold: number, options: DiffOptions): Promise<void> {
  const targets = results.filter((p) => p.spectrum && (p.fate === 'paired' || p.fate === 'tied' || p.fate === 'resized'));
  const byName = new Map(pairing.entries.map((e) => [e.name, e]));
  const jobs: MatrixJob[] = [];
  for (const p of targets) {
    const entry = byName.get(p.name) as PairingEntry;
    const rows = p.sharedRows;
    const tuned = { checkpoint: pairing.tuned, tensor: entry.tuned?.tensor as string };
    const base = { checkpoint: pairing.base, tensor: entry.base?.tensor as string };
    jobs.push({ kind: 'diff', name: `${p.name}#update`, tuned, base, ...(rows === undefined ? {} : { rows }) });
    jobs.push({ kind: 'dense', name: `${p.name}#base`, source: base });
    jobs.push({ kind: 'dense', name: `${p.name}#tuned`, source: tuned });
  }
  if (jobs.length === 0) return;
  const outcomes = new Map<string, SpectrumOutcome>();
  const { onProgress, signal, threads, parallelMatrices, memoryBudget, seed } = options;
  for await (const o of runSpectra(jobs, { mode: 'truncated', rank, vectors: true, onProgress, signal, threads, parallelMatrices, memoryBudget, seed }))
    outcomes.set(o.name, o);
  for (const p of targets) {
    const update = outcomes.get(`${p.name}#update`), base = outcomes.get(`${p.name}#base`), tuned = outcomes.get(`${p.name}#tuned`);
    if (!update || !base || !tuned || isFailed(update) || isFailed(base) || isFailed(tuned)) continue;
    const k = Math.min(update.vectorCount ?? 0, base.vectorCount ?? 0, tuned.vectorCount ?? 0);
    if (k === 0 || !update.u || !update.v || !base.u || !base.v || !tuned.u) continue;
    // The base and tuned matrices may have more rows than ΔW (resized vocabulary): compare input
    // directions (V, same length) fully, output directions only when the row counts agree.
    const sameRows = update.rows === base.rows && base.rows === tuned.rows;
    const take = (block: Float64Array, n: number) => block.subarray(0, n * k);
    p.directions = {
      updateVsBaseInputs: compareSubspaces(take(update.v, update.cols), take(base.v, base.cols), update.cols, k),
      updateVsBaseOutputs: sameRows ? compareSubspaces(take(update.u, update.rows), take(base.u, base.rows), update.rows, k) : compareSubspaces(take(update.v, update.cols), take(base.v, base.cols), update.cols, k),
      intruders: sameRows ? intruderDimensions(take(tuned.u, tuned.rows), take(base.u, base.rows), tuned.rows, k, threshold) : intruderDimensions(take(tuned.v as Float64Array, tuned.cols), take(base.v, base.cols), tuned.cols, k, threshold),
    };
  }
}

function summaryItems(pairs: PairResult[]) {
  return pairs
    .filter((p) => p.metrics && p.spectrum)
    .map((p) => {
      const m = p.metrics as SpectrumMetrics;
      return {
        ...p,
        energy: p.spectrum?.frobeniusSquared ?? 0,
        metrics: {
          relativeUpdate: p.relativeUpdate,
          stableRank: m.stableRank,
          energyEffectiveRankRatio: midpoint(m.energyEffectiveRankRatio),
          effectiveRankRatio: midpoint(m.effectiveRankRatio),
          topKEnergyShare: midpoint(m.topKEnergyShare),
          energyShareAboveNoise: p.noise ? midpoint(p.noise.energyShareAbove) : undefined,
          directionsAboveNoise: p.noise ? midpoint(p.noise.directionsAbove) : undefined,
        } as Record<string, number | undefined>,
      };
    });
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function modelSummary(pairs: PairResult[], byLayer: GroupSummary[], byModule: GroupSummary[]): ModelSummary {
  const ok = pairs.filter((p) => p.metrics && p.spectrum);
  const update = ok.reduce((s, p) => s + (p.spectrum?.frobeniusSquared ?? 0), 0);
  const base = ok.reduce((s, p) => s + (p.baseNorm ?? 0) ** 2, 0);
  const above = ok.reduce((s, p) => s + (p.noise ? midpoint(p.noise.energyShareAbove) : 1) * (p.spectrum?.frobeniusSquared ?? 0), 0);
  const hidden = ok.reduce((s, p) => s + (p.noise?.hiddenShare ?? 0) * (p.spectrum?.frobeniusSquared ?? 0), 0);
  const changed = ok.filter((p) => !p.noise || midpoint(p.noise.directionsAbove) > 0);
  return {
    matrices: ok.length,
    matricesWithSignal: changed.length,
    relativeUpdate: base > 0 ? Math.sqrt(update / base) : NaN,
    layerEnergyEntropy: normalizedEntropy(byLayer.map((g) => g.energy)),
    layerEnergyGini: gini(byLayer.map((g) => g.energy)),
    moduleEnergyEntropy: normalizedEntropy(byModule.map((g) => g.energy)),
    moduleEnergyGini: gini(byModule.map((g) => g.energy)),
    medianEnergyEffectiveRankRatio: median(changed.map((p) => midpoint((p.metrics as SpectrumMetrics).energyEffectiveRankRatio))),
    medianStableRank: median(changed.map((p) => (p.metrics as SpectrumMetrics).stableRank)),
    medianTopKEnergyShare: median(changed.map((p) => midpoint((p.metrics as SpectrumMetrics).topKEnergyShare))),
    energyShareAboveNoise: update > 0 ? above / update : 0,
    signalShare: update > 0 ? Math.min(1, (above + hidden) / update) : 0,
  };
}

/** The verdict's per-matrix input: update energy above the noise floor, relative to the base weight. */
export function regimeInputs(pairs: PairResult[]): RegimeMatrix[] {
  return pairs
    .filter((p) => p.spectrum && p.metrics)
    .map((p) => {
      const spectrum = p.spectrum as SpectrumSummary;
      const edge = p.noise?.edge ?? 0;
      let signal = 0;
      for (const v of spectrum.values) if (v > edge) signal += v * v;
      const hidden = (p.noise?.hiddenShare ?? 0) * spectrum.frobeniusSquared;
      const baseSquared = (p.baseNorm ?? 0) ** 2;
      return {
        name: p.name,
        layer: p.module.layer,
        moduleType: p.module.group,
        rankCap: p.rankCap ?? Math.min(p.rows, p.cols),
        energy: baseSquared > 0 ? (signal + hidden) / baseSquared : signal + hidden,
        values: spectrum.values,
        frobeniusSquared: spectrum.frobeniusSquared,
        noiseEdge: edge,
        hiddenEnergy: hidden,
      };
    });
}

function depthBucket(p: { module: ModuleInfo }, layerCount: number): string | null {
  if (p.module.layer === null) return null;
  const d = relativeDepth(p.module.layer, layerCount);
  const bucket = Math.min(4, Math.floor(d * 5));
  return `${(bucket * 20).toString().padStart(2, '0')}-${bucket * 20 + 20}%`;
}

/** The fields every report starts with. */
export function reportHeader(kind: DiffReport['kind']): Pick<DiffReport, 'schema' | 'schemaVersion' | 'tool' | 'createdAt' | 'kind'> {
  let version = 'unknown';
  try {
    version = packageVersion();
  } catch {
    // A report is still worth writing without the version (package.json unreadable).
  }
  return { schema: 'paramscope.diff', schemaVersion: REPORT_SCHEMA_VERSION, tool: { name: 'paramscope', version }, createdAt: new Date().toISOString(), kind };
}

/** Builds the aggregates and verdict of a set of pair results (shared by diff and the LoRA route). */
export function aggregatePairs(pairs: PairResult[]): DiffReport['aggregates'] & { verdict: RegimeVerdict } {
  const items = summaryItems(pairs);
  const layerCount = Math.max(0, ...pairs.map((p) => (p.module.layer ?? -1) + 1));
  const byLayer = summarizeGroups(items, (p) => (p.module.layer === null ? null : String(p.module.layer)));
  const byModule = summarizeGroups(items, (p) => p.module.group);
  const model = modelSummary(pairs, byLayer, byModule);
  return {
    byLayer,
    byModule,
    byDepth: summarizeGroups(items, (p) => depthBucket(p, layerCount)),
    byComponent: summarizeGroups(items, (p) => (p.module.expert !== null ? `${p.module.component}/experts` : p.module.component)),
    model,
    verdict: regimeVerdict(regimeInputs(pairs), model.signalShare),
  };
}

/**
 * Compares two checkpoints (paths or open Checkpoints). Paths are opened here and closed at the end.
 * Throws ARCHITECTURE_MISMATCH / EMPTY_PAIRING when there is nothing meaningful to compare.
 */
export async function diff(base: string | Checkpoint, tuned: string | Checkpoint, options: DiffOptions = {}): Promise<DiffReport> {
  const directionRank = options.directionRank ?? 16;
  const threshold = options.intruderThreshold ?? 0.5;
  if (!Number.isSafeInteger(directionRank) || directionRank < 1) invalidArgument('directionRank', 'a positive integer', directionRank);
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold < 1)) invalidArgument('intruderThreshold', 'a number in (0, 1)', threshold);
  const opened: Checkpoint[] = [];
  const open = async (c: string | Checkpoint) => {
    if (typeof c !== 'string') return c;
    const ckpt = await openCheckpoint(c, { mmap: options.mmap ?? true });
    opened.push(ckpt);
    return ckpt;
  };
  try {
    const baseCkpt = await open(base);
    const tunedCkpt = await open(tuned);
    const pairing = pairCheckpoints(baseCkpt, tunedCkpt, { map: options.map, include: options.include, exclude: options.exclude });
    const jobs = diffJobs(pairing);
    if (jobs.length === 0)
      throw new ParamscopeError(`no matrix pairs to compare between ${baseCkpt.path} and ${tunedCkpt.path}`, { code: 'EMPTY_PAIRING', file: tunedCkpt.path });
    const entries = new Map(pairing.entries.map((e) => [e.name, e]));
    const pairs: PairResult[] = [];
    const mode = options.mode ?? 'truncated';
    for await (const outcome of runSpectra(jobs, { ...options, mode })) pairs.push(pairResult(outcome, entries.get(outcome.name) as PairingEntry));
    const dirs = resolveDirections(options.directions ?? 'auto', baseCkpt);
    if (dirs.enabled) await analyzeDirections(pairing, pairs, directionRank, threshold, options);
    const vectors = await vectorChanges(pairing, { signal: options.signal });
    const { verdict, ...aggregates } = aggregatePairs(pairs);
    return {
      ...reportHeader('checkpoints'),
      base: { path: baseCkpt.path, tensors: baseCkpt.tensors.length },
      tuned: { path: tunedCkpt.path, tensors: tunedCkpt.tensors.length },
      options: {
        mode,
        rank: mode === 'truncated' ? (options.rank ?? 64) : null,
        directions: { enabled: dirs.enabled, rank: directionRank, reason: dirs.reason },
      },
      pairing: {
        prefix: pairing.prefix,
        counts: pairing.counts,
        notes: pairing.notes,
        entries: pairing.entries.map((e) => ({ name: e.name, fate: e.fate, base: e.base?.tensor ?? null, tuned: e.tuned?.tensor ?? null, ...(e.note ? { note: e.note } : {}) })),
      },
      pairs,
      vectors,
      aggregates,
      verdict,
    };
  } finally {
    for (const c of opened) c.close();
  }
}

function pairResult(outcome: SpectrumOutcome, entry: PairingEntry): PairResult {
  const base: PairResult = {
    name: entry.name,
    fate: entry.fate,
    module: classifyTensor(entry.name),
    rows: outcome.rows,
    cols: outcome.cols,
    parameters: outcome.rows * outcome.cols,
    baseDtype: entry.base?.dtype ?? '',
    tunedDtype: entry.tuned?.dtype ?? '',
    ...(entry.sharedRows === undefined ? {} : { sharedRows: entry.sharedRows }),
    seconds: outcome.seconds,
  };
  if (isFailed(outcome)) return { ...base, error: outcome.error };
  const baseNorm = Math.sqrt(outcome.baseFrobeniusSquared ?? NaN);
  const updateNorm = Math.sqrt(outcome.frobeniusSquared);
  const noise = noiseFloor(outcome);
  return {
    ...base,
    spectrum: summarizeSpectrum(outcome),
    metrics: outcome.metrics,
    baseNorm,
    tunedNorm: Math.sqrt(outcome.tunedFrobeniusSquared ?? NaN),
    updateNorm,
    relativeUpdate: baseNorm > 0 ? updateNorm / baseNorm : updateNorm === 0 ? 0 : Infinity,
    ...(noise ? { noise } : {}),
  };
}

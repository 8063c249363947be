/**
 * The versioned JSON document of a `diff` / `lora` report and its JSON Schema (draft 2020-12).
 *
 * The schema is written here once, with a description (and unit) for every field; docs/report.schema.json
 * and the field reference in docs/schema.md (schema-doc.ts) are generated from it by
 * scripts/gen-report-schema.js, and a test checks both are up to date and that real reports validate
 * against the schema. The `obj<T>()` helper ties each object schema to its TypeScript interface
 * (report/model.ts): a field added to DiffReport (or to any type it holds) without a schema entry, or
 * with the wrong optionality, fails to type-check here. The helpers (obj, ref, opt, …) and the $defs are
 * shared with the event stream's schema (events-schema.ts).
 *
 * Serialised form (`reportDocument` / `serializeReport`): typed arrays become arrays, non-finite numbers
 * become the strings "NaN", "Infinity" and "-Infinity" (JSON has no such numbers), undefined fields are
 * left out. Bounded metrics (lib/results/metrics.ts) are either a number (exact) or {lo, hi}.
 *
 * @example
 * fs.writeFileSync('report.json', serializeReport(await diff(base, tuned)));
 */
import type { GroupSummary } from '../aggregate/groups';
import type { FailureCounts } from '../aggregate/failures';
import { REGIME_COMPONENTS, REGIME_LEGEND, type RegimeEvidence, type RegimeVerdict } from '../aggregate/regime';
import { ERROR_CODES } from '../errors';
import type { Component, ModuleInfo, ModuleType } from '../plan/modules';
import { PAIRING_FATES, type PairingFate } from '../plan/pairing-entry';
import type { IntruderAnalysis, SubspaceComparison } from '../results/directions';
import type { PowerLawFit, SpectrumMetrics } from '../results/metrics';
import type { NoiseFloor } from '../results/noise';
import type { UpdateSparsity } from '../results/sparsity';
import type { VectorChange } from '../results/vector-changes';
import { REPORT_SCHEMA_VERSION } from './header';
import { reportReplacer } from './json';
import type { DiffReport, DirectionAnalysis, ModelSummary, PairResult, SpectrumSummary } from './model';

/** A JSON Schema (as a plain object). */
export type JsonSchema = { readonly [keyword: string]: unknown };

export interface OptionalField {
  readonly optional: JsonSchema;
}
type OptionalKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? K : never }[keyof T];
/** One schema per field of T; optional fields of T must be wrapped in opt(), required ones must not. */
export type Fields<T> = { [K in keyof T]-?: K extends OptionalKeys<T> ? OptionalField : JsonSchema & { readonly optional?: never } };

const MODULE_TYPES: readonly ModuleType[] = ['q', 'k', 'v', 'o', 'qkv', 'gate', 'up', 'down', 'gate_up', 'embedding', 'lm_head', 'norm', 'router', 'other'];
const COMPONENTS: readonly Component[] = ['language', 'vision', 'projector', 'audio', 'other'];

export const ref = (name: string, description?: string): JsonSchema => ({ $ref: `#/$defs/${name}`, ...(description ? { description } : {}) });
export const opt = (schema: JsonSchema): OptionalField => ({ optional: schema });
export const str = (description: string): JsonSchema => ({ type: 'string', description });
export const bool = (description: string): JsonSchema => ({ type: 'boolean', description });
/** A count or index: a non-negative integer. */
export const count = (description: string): JsonSchema => ({ type: 'integer', minimum: 0, description });
/** A float: a number, or "NaN" / "Infinity" / "-Infinity". */
export const num = (description: string): JsonSchema => ref('number', description);
/** Exact (a number) in exact mode, {lo, hi} when truncated spectra leave it open. */
export const bounded = (description: string): JsonSchema => ref('bounded', description);
export const nullable = (schema: JsonSchema, description: string): JsonSchema => ({ anyOf: [schema, { type: 'null' }], description });
export const arrayOf = (items: JsonSchema, description: string): JsonSchema => ({ type: 'array', items, description });
export const oneOfStrings = (values: readonly string[], description: string): JsonSchema => ({ type: 'string', enum: [...values], description });

export function obj<T>(description: string, fields: Fields<T>): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [key, field] of Object.entries(fields) as Array<[string, JsonSchema | OptionalField]>) {
    if ('optional' in field && field.optional !== undefined) properties[key] = field.optional as JsonSchema;
    else {
      properties[key] = field as JsonSchema;
      required.push(key);
    }
  }
  return { type: 'object', description, properties, required };
}

const subspaceComparison = obj<SubspaceComparison>('How close two k-dimensional subspaces are (normalised subspace similarity and principal angles).', {
  k: count('Dimension of each subspace (number of top singular vectors compared).'),
  similarity: num('‖PᵀQ‖_F² / k in [0, 1]: 1 when the subspaces coincide, 0 when orthogonal. Dimensionless.'),
  randomBaseline: num('Expected similarity of two random k-dimensional subspaces of the same space: k / n.'),
  principalAnglesDeg: arrayOf(num('Angle in degrees.'), 'Principal angles between the subspaces, degrees, ascending (0° = shared direction, 90° = orthogonal).'),
});

const intruderAnalysis = obj<IntruderAnalysis>('Intruder dimensions: top singular vectors of W_tuned that have no close counterpart among W_base\'s top singular vectors.', {
  k: count('How many top singular vectors of each matrix are compared.'),
  threshold: num('A tuned vector is an intruder when its best |cosine| with the base vectors is below this.'),
  intruders: arrayOf(count('Index.'), 'Indices (0-based, in order of singular value) of the tuned vectors that are intruders.'),
  bestCosines: arrayOf(num('|cosine| in [0, 1].'), 'For each of the k tuned vectors, its best |cosine| with the k base vectors.'),
  randomBaseline: num('Expected number of intruders if the tuned directions were random (same shapes, same threshold).'),
});

const directionAnalysis = obj<DirectionAnalysis>('How the update\'s top singular directions relate to the base weight\'s (present when direction analysis ran).', {
  updateVsBaseInputs: ref('subspaceComparison', 'Top right singular subspaces (input directions) of ΔW against W_base.'),
  updateVsBaseOutputs: ref('subspaceComparison', 'Top left singular subspaces (output directions) of ΔW against W_base (input directions again when the row counts differ, e.g. a resized vocabulary).'),
  intruders: opt(ref('intruderAnalysis', 'Top left singular vectors of W_tuned against W_base\'s (absent for adapters: W_tuned is not formed).')),
});

const noiseFloor = obj<NoiseFloor>('The storage-noise floor of ΔW: what rounding both checkpoints to their dtypes alone would produce.', {
  sigma: num('Per-entry standard deviation of the storage rounding of both checkpoints, in weight units.'),
  edge: num('Marchenko–Pastur edge σ·(√rows + √cols) of that noise, in weight units: singular values at or below it are indistinguishable from rounding.'),
  energyShareAbove: bounded('Share of ‖ΔW‖_F² in singular values above the edge, in [0, 1]. Bounded in truncated mode when the unknown tail could be signal.'),
  directionsAbove: bounded('Number of singular values above the edge. Bounded in truncated mode.'),
  roundingEnergy: opt(num('Expected energy of the storage rounding in ΔW: Σ ulp²/12 over the stored values of both checkpoints, in squared weight units (absent when a dtype has no rounding grid).')),
  hiddenShare: opt(num('Share of ‖ΔW‖_F² below the edge beyond 1.25 × roundingEnergy: update spread over directions too weak to resolve one by one, in [0, 1]. 0 when the truncated tail is unknown.')),
});

const spectrumSummary = obj<SpectrumSummary>('The singular values of ΔW as computed.', {
  values: arrayOf(num('Singular value.'), 'Singular values of ΔW, descending, in weight units: all min(rows, cols) in exact mode, the top k in truncated mode.'),
  errorBounds: arrayOf(num('Bound.'), '|values[i] − σᵢ| ≤ errorBounds[i] (weight units).'),
  frobeniusSquared: num('‖ΔW‖_F² = Σ σᵢ², exact in both modes (streamed), in squared weight units: the matrix\'s "update energy".'),
  complete: bool('True when all min(rows, cols) singular values are known.'),
  converged: bool('False when the iterative solver stopped before its tolerance (values are then less accurate than errorBounds suggest).'),
  method: str('Algorithm used: "gram-dsyevd", "gram-eigen", "gram-band-reduction", "gram-dsyevd-2stage", "dgesdd", "eigen-bdcsvd", "low-rank-factors", "randomized", "empty".'),
  passes: count('Passes over the matrix data.'),
  powerIterations: count('Power iterations of the randomized solver (0 for direct methods).'),
});

const powerLaw = obj<PowerLawFit>('Power-law fit p(λ) ∝ λ^(−alpha) of the upper tail of the eigenvalue density (λ = σ²).', {
  valid: bool('False when there were too few values (or no tail) to fit; the other fields are then absent.'),
  alpha: opt(num('Fitted exponent (dimensionless; comparable to WeightWatcher\'s alpha).')),
  xmin: opt(num('Lower end of the fit range, in eigenvalue units (σ², squared weight units).')),
  xmax: opt(num('Upper end of the fit range (σ²).')),
  tailCount: opt(count('Eigenvalues in the fit range.')),
  ksDistance: opt(num('Kolmogorov–Smirnov distance of the fit over its range, in [0, 1].')),
  xminSearchRestricted: opt(bool('Truncated mode: xmin was searched among the top k eigenvalues only.')),
});

const energyRank = obj<SpectrumMetrics['energyRank']>('Energy ranks: smallest k with Σ_{i≤k} σᵢ² ≥ p·‖ΔW‖_F².', {
  '50': bounded('k for p = 50 %.'),
  '90': bounded('k for p = 90 %.'),
  '95': bounded('k for p = 95 %.'),
  '99': bounded('k for p = 99 %.'),
});

const spectrumMetrics = obj<SpectrumMetrics>('Spectral metrics of ΔW (definitions and truncated-mode bounds: docs/metrics.md).', {
  minDim: count('min(rows, cols): how many singular values ΔW has.'),
  knownValues: count('How many singular values the metrics were computed from.'),
  complete: bool('True when all singular values were known (exact mode): every metric is then a number.'),
  frobeniusNorm: num('‖ΔW‖_F, weight units; exact in both modes.'),
  spectralNorm: num('‖ΔW‖₂ = σ₁, weight units.'),
  stableRank: num('‖ΔW‖_F² / σ₁² in [1, rank] (0 for a zero update); exact in both modes.'),
  effectiveRank: bounded('Roy–Vetterli effective rank exp(H(σᵢ / Σσⱼ)), in directions.'),
  effectiveRankRatio: bounded('effectiveRank / minDim, in [0, 1].'),
  energyEffectiveRank: bounded('exp(H(σᵢ² / ‖ΔW‖_F²)): effective rank on energies, in directions.'),
  energyEffectiveRankRatio: bounded('energyEffectiveRank / minDim, in [0, 1]: low = the update lives in a few directions.'),
  numericalRank: bounded('#{σᵢ > numericalRankTolerance}.'),
  numericalRankTolerance: num('Threshold of numericalRank, weight units (max(m, n)·ε(dtype)·σ₁ by default).'),
  energyRank: ref('energyRank', 'Smallest k holding 50 / 90 / 95 / 99 % of ‖ΔW‖_F².'),
  topK: count('K of topKEnergyShare (default 10).'),
  topKEnergyShare: bounded('Σ_{i≤K} σᵢ² / ‖ΔW‖_F², in [0, 1].'),
  participationRatio: bounded('(Σ σᵢ²)² / Σ σᵢ⁴: number of equally strong directions with the same energy spread.'),
  conditionNumber: nullable(num('σ₁ / σ_min.'), 'σ₁ / σ_min in exact mode ("Infinity" when rank-deficient); null in truncated mode.'),
  powerLaw: ref('powerLaw', 'Power-law fit of the eigenvalue density\'s upper tail.'),
  noiseEdge: nullable(num('Edge.'), 'Marchenko–Pastur edge of the storage-rounding noise, weight units (null when not applicable).'),
  aboveNoiseEdge: nullable(ref('bounded'), '#{σᵢ > noiseEdge}: directions standing out of the storage noise (null when not applicable).'),
});

const moduleInfo = obj<ModuleInfo>('What the tensor name says about its place in the model (lib/plan/modules.ts).', {
  layer: nullable(count('Layer.'), 'Transformer block index (layers.N., h.N., blocks.N.), or null outside the blocks (embeddings, lm_head).'),
  type: oneOfStrings(MODULE_TYPES, 'Module type.'),
  group: str('Grouping key for aggregation: the module type, or for "other" the name with numbers replaced by * and the parameter suffix dropped.'),
  component: oneOfStrings(COMPONENTS, 'Model component.'),
  expert: nullable(count('Expert.'), 'Mixture-of-experts expert index (experts.N., or the slice [N] of a fused expert tensor), or null.'),
  moe: opt(oneOfStrings(['routed', 'shared', 'router'], 'Mixture-of-experts role: a routed expert, a shared expert, or the router (absent outside MoE blocks).')),
});

const updateSparsity = obj<UpdateSparsity>('How sparse the update is, counted while both checkpoints are decoded (docs/metrics.md, "Update sparsity").', {
  entries: count('Entries compared (rows · cols of ΔW; summed over matrices for the model).'),
  identical: count('Entries whose two stored values are bit-identical (for equal dtypes: the same stored bits).'),
  identicalShare: num('identical / entries, in [0, 1].'),
  belowSpacing: opt(count('Entries with |ΔW| below one storage step there: the larger grid spacing of the two sides at that entry (the code\'s ulp times its scale for quantized weights). Includes the identical entries. Absent when a side has no rounding grid.')),
  belowSpacingShare: opt(num('belowSpacing / entries, in [0, 1].')),
});

const errorInfo = obj<NonNullable<PairResult['error']>>('Why this matrix could not be analysed (the others still were).', {
  code: oneOfStrings(ERROR_CODES, 'Stable error code (docs/errors.md).'),
  message: str('Human-readable message.'),
});

const pairResult = obj<PairResult>('One matrix pair (or one LoRA module) and the analysis of its update ΔW = W_tuned − W_base (or s·B·A).', {
  name: str('Tensor name (the base checkpoint\'s name; for adapters, the module\'s weight name). Arbitrary text from the checkpoint.'),
  fate: oneOfStrings(PAIRING_FATES, 'Pairing fate (only matrix fates occur here: paired, resized, tied).'),
  module: ref('moduleInfo', 'Layer, module type and component parsed from the name.'),
  rows: count('Rows of ΔW (the shared rows for a resized vocabulary).'),
  cols: count('Columns of ΔW (higher-rank tensors are reshaped to [d0, d1·…·dk]).'),
  parameters: count('rows · cols.'),
  baseDtype: str('Storage dtype in the base checkpoint ("" for an adapter without base); of the codes for a quantized weight.'),
  tunedDtype: str('Storage dtype in the tuned checkpoint (or the adapter); of the codes for a quantized weight.'),
  baseLayout: opt(str('The base side\'s logical dtype when it is quantized: "FP8 block 128×128", "FP8 per-tensor", "FP8 per-channel", "FP8 per-column", "FP8 group 1×g", "MXFP4" (docs/formats.md).')),
  tunedLayout: opt(str('The tuned side\'s logical dtype when it is quantized (as baseLayout).')),
  quantizationError: opt(oneOfStrings(['base', 'tuned'], 'Only this side is quantized: ΔW is then its quantization error (plus any fine-tuning), not a fine-tuning update.')),
  sharedRows: opt(count('Resized vocabulary: rows compared (the shared ones); the added rows are reported in the pairing.')),
  rankCap: opt(count('Largest rank ΔW could have when less than min(rows, cols): the LoRA rank r.')),
  seconds: num('Wall time of this matrix\'s spectrum, seconds.'),
  spectrum: opt(ref('spectrumSummary', 'Singular values of ΔW (absent when the matrix failed).')),
  metrics: opt(ref('spectrumMetrics', 'Spectral metrics of ΔW (absent when the matrix failed).')),
  baseNorm: opt(num('‖W_base‖_F, weight units ("NaN" when not known).')),
  tunedNorm: opt(num('‖W_tuned‖_F, weight units ("NaN" when not known).')),
  updateNorm: opt(num('‖ΔW‖_F, weight units.')),
  relativeUpdate: opt(num('‖ΔW‖_F / ‖W_base‖_F (dimensionless; "Infinity" when the base is zero and ΔW is not).')),
  noise: opt(ref('noiseFloor', 'Storage-noise floor (absent when not applicable, e.g. adapters without base).')),
  sparsity: opt(ref('updateSparsity', 'Entries unchanged and changed by less than one storage step (absent for adapters).')),
  directions: opt(ref('directionAnalysis', 'Direction analysis (absent when it did not run: see options.directions).')),
  error: opt(ref('errorInfo', 'Set when this matrix could not be analysed.')),
});

const vectorChange = obj<VectorChange>('A non-matrix float tensor (norm weight, bias, scalar) of equal shape on both sides.', {
  name: str('Tensor name.'),
  relativeChange: num('‖tuned − base‖₂ / ‖base‖₂ (dimensionless; "Infinity" when the base is zero and the tuned is not; 0 when both are zero).'),
  deltaNorm: num('‖tuned − base‖₂, weight units.'),
  baseNorm: num('‖base‖₂, weight units.'),
});

const groupSummary = obj<GroupSummary>('A summary over a group of matrices (a layer, a module type, a depth bucket or a component).', {
  key: str('The group: layer index as a string ("0", "1", …; "vision/3", "language/3" when the layers belong to several components, each counted on its own), module group ("q", "down", …), depth bucket ("00-20%", …; relative depth of the layer within its component, "vision/00-20%" with several components), component ("language", "vision/experts", …), expert index, or MoE role.'),
  matrices: count('Matrices in the group.'),
  parameters: count('Parameters in the group.'),
  mean: { type: 'object', additionalProperties: ref('number'), description: 'Parameter-weighted mean of each per-matrix metric over the matrices that have it (non-finite values left out). Keys: relativeUpdate, stableRank, energyEffectiveRankRatio, effectiveRankRatio, topKEnergyShare, energyShareAboveNoise, directionsAboveNoise, identicalShare, belowSpacingShare (bounded metrics enter by their midpoint).' },
  median: { type: 'object', additionalProperties: ref('number'), description: 'Median of each per-matrix metric (same keys as mean).' },
  energy: num('Σ ‖ΔW‖_F² over the group, squared weight units.'),
  energyShare: num('The group\'s share of the update energy of all matrices, in [0, 1].'),
});

const modelSummary = obj<ModelSummary>('Model-level summary of the update.', {
  matrices: count('Matrices analysed (without errors; the failed ones are in failed).'),
  matricesWithSignal: count('Matrices whose update has at least one singular value above the storage-noise edge.'),
  relativeUpdate: num('√(Σ‖ΔW‖_F² / Σ‖W_base‖_F²) over all matrices (dimensionless; "NaN" without base).'),
  layerEnergyEntropy: num('Normalised entropy of the update energy across layers, in [0, 1] (1: spread evenly).'),
  layerEnergyGini: num('Gini coefficient of the update energy across layers, in [0, 1) (0: even).'),
  moduleEnergyEntropy: num('Normalised entropy of the update energy across module types, in [0, 1].'),
  moduleEnergyGini: num('Gini coefficient of the update energy across module types.'),
  medianEnergyEffectiveRankRatio: num('Median over matrices of the energy effective-rank ratio (midpoints of bounds), in [0, 1].'),
  medianStableRank: num('Median over matrices of the stable rank.'),
  medianTopKEnergyShare: num('Median over matrices of the top-K energy share (midpoints), in [0, 1].'),
  energyShareAboveNoise: num('Share of all update energy above the storage-noise floor, in [0, 1].'),
  signalShare: num('Share of all update energy that storage rounding cannot account for (above the noise edge, or hidden below it), in [0, 1]. The verdict is indeterminate below 0.5.'),
  sparsity: opt(ref('updateSparsity', 'Over all compared matrices: entries bit-identical in both checkpoints and below one storage step (absent for adapters).')),
  failed: ref('failureCounts', 'Matrices that could not be analysed (each pair\'s error says why): in no aggregate and not in the verdict, whose confidence they lower.'),
});

const failureCountsSchema = obj<FailureCounts>('Matrices that could not be analysed, by error code.', {
  matrices: count('How many matrices failed (0 when all were analysed).'),
  byCode: { type: 'object', additionalProperties: count('Matrices that failed with this code.'), description: 'How many failed with each error code (docs/errors.md), e.g. {"OUT_OF_MEMORY": 3}.' },
});

const evidence = obj<RegimeEvidence>('One piece of evidence for the verdict.', {
  metric: oneOfStrings(['D', 'L', 'C'], `The score component it concerns: ${REGIME_LEGEND}.`),
  text: str('Plain-language statement with the numbers.'),
});

/** "D (directional spread): <its definition>". */
const componentText = (k: RegimeEvidence['metric']) => `${k} (${REGIME_COMPONENTS[k].name}): ${REGIME_COMPONENTS[k].definition}`;

const range = (description: string): JsonSchema => ({ type: 'array', items: ref('number'), minItems: 2, maxItems: 2, description });

const driver = obj<RegimeVerdict['drivers'][number]>('A matrix carrying much of the update.', {
  name: str('Tensor name.'),
  energyShare: num('Its share of the (base-relative, above-noise) update energy, in [0, 1].'),
  directionalSpread: range(`Its ${REGIME_COMPONENTS.D.name} [lo, hi] in [0, 1]: √(r/R) of this matrix alone (D is the energy-weighted mean of these).`),
});

const verdict = obj<RegimeVerdict>('The regime verdict (lib/aggregate/regime.ts, docs/regime.md): a diagnostic of the update\'s shape, not a benchmark score.', {
  score: num('0 = concentrated … 1 = dispersed: 0.75·D + 0.15·L + 0.10·C (midpoint of scoreRange).'),
  scoreRange: range('[lo, hi] of the score over what truncated spectra leave unknown (lo = hi in exact mode).'),
  label: oneOfStrings(['concentrated', 'mixed', 'dispersed', 'indeterminate', 'no-signal'], 'score < 0.35 concentrated, > 0.65 dispersed, else mixed; indeterminate when less than half of the update energy is above the storage-noise floor; no-signal when no matrix rises above it.'),
  components: ref('verdictComponents', 'The three components of the score.'),
  drivers: arrayOf(ref('driver'), 'Up to 5 matrices with the largest shares of the update energy.'),
  evidence: arrayOf(ref('evidence'), 'Statements behind the score.'),
  confidence: oneOfStrings(['high', 'medium', 'low'], 'How much to trust the label.'),
  confidenceNote: str('Why the confidence is what it is (including how many matrices failed, with their codes).'),
  failed: count('Matrices that could not be analysed and are not in the verdict (their codes: aggregates.model.failed). Any lowers the confidence to at most medium, more than 5 % to low.'),
});

const verdictComponents = obj<RegimeVerdict['components']>('Components of the regime score, each in [0, 1].', {
  directionalSpread: range(`${componentText('D')}, as [lo, hi].`),
  layerSpread: num(`${componentText('L')}.`),
  coverage: num(`${componentText('C')}.`),
});

type Report = DiffReport;

const pairingEntry = obj<Report['pairing']['entries'][number]>('One tensor name and what happened to it in the pairing.', {
  name: str('The name results are reported under.'),
  fate: oneOfStrings(PAIRING_FATES, 'paired, resized (shared rows compared), tied (shares storage with another tensor), not-a-matrix, shape-mismatch, missing-in-tuned, extra-in-tuned, excluded.'),
  base: nullable({ type: 'string' }, 'The tensor\'s name in the base checkpoint, or null.'),
  tuned: nullable({ type: 'string' }, 'The tensor\'s name in the tuned checkpoint (before renaming), or null.'),
  note: opt(str('Details (e.g. the shapes of a mismatch).')),
});

const pairingCounts = obj<Record<PairingFate, number>>('Number of entries of each fate.', Object.fromEntries(PAIRING_FATES.map((f) => [f, count(`Entries with fate ${f}.`)])) as Fields<Record<PairingFate, number>>);

const checkpointRef = obj<Report['tuned']>('A checkpoint (or adapter) that was read.', {
  path: str('Path as given (a file, a directory, or a shard index).'),
  tensors: count('Tensors it holds (LoRA modules for an adapter).'),
});

const adapterInfo = obj<NonNullable<Report['adapter']>>('What was read from a LoRA adapter.', {
  layout: str('Adapter layout (PEFT, MLX, …; see docs/pairing-and-lora.md).'),
  modules: count('LoRA modules.'),
  needsBase: bool('True for adapters (DoRA, PiSSA-style) whose ΔW cannot be formed without the base.'),
  notes: arrayOf({ type: 'string' }, 'Notes on how the adapter was read (scale, layout details).'),
  fullTensors: arrayOf(obj<NonNullable<Report['adapter']>['fullTensors'][number]>('A full (non-low-rank) tensor in the adapter.', {
    tensor: str('Tensor name.'),
    kind: str('What it is: magnitude (DoRA), lora_bias, token_embedding, modules_to_save, unsupported (LyCORIS factors), other.'),
    note: str('How it was treated.'),
  }), 'Full tensors stored in the adapter, listed so nothing is dropped silently.'),
});

const options = obj<Report['options']>('Options the report was computed with.', {
  mode: oneOfStrings(['exact', 'truncated'], 'exact: all singular values; truncated: the top k (metrics then may be {lo, hi} bounds).'),
  rank: nullable(count('k.'), 'k, the number of top singular values computed in truncated mode; null in exact mode.'),
  directions: obj<Report['options']['directions']>('Direction analysis (subspace overlap, intruders).', {
    enabled: bool('Whether it ran.'),
    rank: count('Directions compared per matrix.'),
    reason: str('Why it ran or not.'),
  }),
});

const pairing = obj<Report['pairing']>('The pairing report: every tensor of both checkpoints and its fate; nothing is dropped silently.', {
  prefix: obj<Report['pairing']['prefix']>('Common name prefixes detected and stripped before matching.', {
    base: str('Prefix of the base names ("" for none).'),
    tuned: str('Prefix of the tuned names.'),
  }),
  counts: ref('pairingCounts', 'Entries per fate.'),
  notes: arrayOf({ type: 'string' }, 'Notes on the pairing (prefixes, rename rules, counts of each non-paired fate).'),
  entries: arrayOf(ref('pairingEntry'), 'Every tensor name of either checkpoint, once.'),
});

const aggregates = obj<Report['aggregates']>('Summaries over groups of matrices and the whole model.', {
  byLayer: arrayOf(ref('groupSummary'), 'Per transformer block (matrices with a layer index), per component when there are several.'),
  byModule: arrayOf(ref('groupSummary'), 'Per module group (q, k, v, o, gate, up, down, embedding, …).'),
  byDepth: arrayOf(ref('groupSummary'), 'Per relative-depth bucket (five buckets of 20 %), per component when there are several.'),
  byComponent: arrayOf(ref('groupSummary'), 'Per component (language, vision, projector, audio; experts separately).'),
  byExpert: opt(arrayOf(ref('groupSummary'), 'Per routed expert index ("0", "1", …), over all layers (MoE models only).')),
  byMoe: opt(arrayOf(ref('groupSummary'), 'Routed experts ("routed-experts"), shared experts ("shared-experts"), routers ("router") and everything else ("non-expert") (MoE models only).')),
  model: ref('modelSummary', 'Model-level summary.'),
});

const report = obj<Report>('A paramscope diff report: the singular-value spectra of ΔW = W_tuned − W_base for every matrix pair, their aggregates and the regime verdict.', {
  schema: { const: 'paramscope.diff', description: 'Document type.' },
  schemaVersion: { const: REPORT_SCHEMA_VERSION, description: 'Schema version (docs/schema.md: bumped on any incompatible change).' },
  tool: obj<Report['tool']>('The program that wrote the report.', {
    name: { const: 'paramscope', description: 'Tool name.' },
    version: str('paramscope version.'),
  }),
  createdAt: { type: 'string', format: 'date-time', description: 'When the report was made (ISO 8601, UTC).' },
  kind: oneOfStrings(['checkpoints', 'adapter'], 'checkpoints: base vs tuned checkpoint; adapter: a LoRA adapter\'s ΔW = s·B·A, with or without its base.'),
  base: nullable(ref('checkpointRef'), 'The base checkpoint; null for an adapter analysed without its base.'),
  tuned: ref('checkpointRef', 'The tuned checkpoint, or the adapter.'),
  adapter: opt(ref('adapterInfo', 'For kind "adapter": what was read from the adapter.')),
  options,
  pairing,
  pairs: arrayOf(ref('pairResult'), 'One entry per matrix pair compared, in checkpoint order.'),
  vectors: arrayOf(ref('vectorChange'), 'Relative change of the non-matrix float tensors.'),
  aggregates,
  verdict: ref('verdict', 'The regime verdict.'),
  quantization: opt(obj<NonNullable<Report['quantization']>>('Present when either checkpoint holds quantized weights (decoded as codes × scales; docs/formats.md).', {
    base: { type: 'object', additionalProperties: { type: 'integer', minimum: 0 }, description: 'Quantized weights of the base per logical dtype ("FP8 block 128×128": count).' },
    tuned: { type: 'object', additionalProperties: { type: 'integer', minimum: 0 }, description: 'Quantized weights of the tuned checkpoint per logical dtype.' },
    quantizationErrorPairs: count('Pairs that compare a quantized weight with an unquantized one: their ΔW is the quantization error (plus any fine-tuning).'),
    note: str('What that means for reading the report.'),
  })),
});

/** The JSON Schema of the report document (draft 2020-12). Objects are open: consumers must ignore unknown fields. */
export const REPORT_JSON_SCHEMA: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: `urn:paramscope:diff-report:${REPORT_SCHEMA_VERSION}`,
  title: `paramscope diff report, schema version ${REPORT_SCHEMA_VERSION}`,
  ...report,
  $defs: {
    number: { description: 'A float. JSON has no NaN or infinities: they are written as the strings "NaN", "Infinity", "-Infinity".', anyOf: [{ type: 'number' }, { type: 'string', enum: ['NaN', 'Infinity', '-Infinity'] }] },
    bounded: {
      description: 'A metric that is exact (a number) or, when truncated spectra leave it open, an interval it is proven to lie in.',
      anyOf: [ref('number'), { type: 'object', properties: { lo: ref('number', 'Lower bound.'), hi: ref('number', 'Upper bound.') }, required: ['lo', 'hi'], additionalProperties: false }],
    },
    checkpointRef,
    adapterInfo,
    pairingCounts,
    pairingEntry,
    pairResult,
    moduleInfo,
    spectrumSummary,
    spectrumMetrics,
    energyRank,
    powerLaw,
    noiseFloor,
    updateSparsity,
    directionAnalysis,
    subspaceComparison,
    intruderAnalysis,
    errorInfo,
    vectorChange,
    groupSummary,
    modelSummary,
    failureCounts: failureCountsSchema,
    verdict,
    verdictComponents,
    driver,
    evidence,
  },
};

/** docs/report.schema.json's text. */
export function reportSchemaText(): string {
  return JSON.stringify(REPORT_JSON_SCHEMA, null, 2) + '\n';
}

/**
 * The report as the versioned JSON document (a plain JSON value): typed arrays as arrays, non-finite
 * numbers as strings, undefined fields left out, schema and schemaVersion set.
 */
export function reportDocument(report: DiffReport): Record<string, unknown> {
  return JSON.parse(serializeReport(report, 0)) as Record<string, unknown>;
}

/** The report as JSON text conforming to REPORT_JSON_SCHEMA (docs/report.schema.json). */
export function serializeReport(report: DiffReport, indent = 2): string {
  const { schema: _schema, schemaVersion: _version, ...rest } = report;
  return JSON.stringify({ schema: 'paramscope.diff', schemaVersion: REPORT_SCHEMA_VERSION, ...rest }, reportReplacer, indent) + (indent ? '\n' : '');
}

/**
 * The JSON Schema (draft 2020-12) of comparison.json, written with the report schema's helpers: each
 * object schema is tied to its type in model.ts by `obj<T>()`, so a field added there without a schema
 * entry fails to type-check. docs/comparison.schema.json and the field reference in docs/comparison.md
 * are generated from it (scripts/gen-report-schema.js); a test checks both are current and that written
 * documents validate. Serialised like the report: NaN and infinities as strings.
 */
import { COMPARISON_SCHEMA_VERSION } from '../header';
import { reportReplacer } from '../json';
import { arrayOf, bool, count, type JsonSchema, nullable, num, obj, oneOfStrings, opt, ref, str } from '../schema';
import type { ArmDifference, ComparisonArmSummary, ComparisonDocument, ComparisonHeatmap, DepthCurve, DepthPoint, HeatmapCell, Interval, SpectrumCurve } from './model';

const interval = obj<Interval>('A statistic and its bootstrap percentile interval over matrices.', {
  estimate: num('The statistic on the arm\'s own matrices (for a difference: second arm minus first).'),
  lo: num('Lower end of the interval ("NaN" when there is none: no resamples, or the statistic is undefined on most of them).'),
  hi: num('Upper end of the interval.'),
});

const differenceInterval = { ...interval, description: 'A difference (second arm minus first) with its interval and the decision.', properties: { ...(interval.properties as object), differs: bool('True when the interval excludes 0: the arms differ beyond what resampling their matrices gives.') }, required: [...(interval.required as string[]), 'differs'] };

const arm = obj<ComparisonArmSummary>('One arm: what it is and its statistics.', {
  label: str('The arm\'s name (a fine-tune\'s or checkpoint\'s file or directory name, unique).'),
  kind: oneOfStrings(['diff', 'lora', 'weights'], 'diff: ΔW of two checkpoints; lora: an adapter\'s ΔW = s·B·A; weights: a checkpoint\'s own W.'),
  path: str('The fine-tune, adapter or checkpoint, as given.'),
  base: nullable({ type: 'string' }, 'The base the update was taken against; null for weights and adapters without base.'),
  step: opt(num('Its position on the axis (a training step) in a trajectory.')),
  mode: oneOfStrings(['exact', 'truncated'], 'How its spectra were computed.'),
  matrices: count('Matrices the statistics are computed over and resampled.'),
  verdict: opt(obj<NonNullable<ComparisonArmSummary['verdict']>>('The arm\'s regime verdict, as in its own report (updates only).', {
    label: str('concentrated, mixed, dispersed, indeterminate or no-signal.'),
    score: num('0 concentrated … 1 dispersed.'),
    scoreRange: { type: 'array', items: ref('number'), minItems: 2, maxItems: 2, description: '[lo, hi] over what truncated spectra leave unknown.' },
    confidence: str('high, medium or low.'),
  })),
  statistics: { type: 'object', additionalProperties: ref('interval'), description: 'Per statistic key (see the document\'s statistics): estimate and interval.' },
});

const difference = obj<ArmDifference>('Two arms compared: second (b) minus first (a).', {
  a: str('The first arm\'s label.'),
  b: str('The second arm\'s label.'),
  pairing: oneOfStrings(['paired', 'independent'], 'paired: both arms resampled with the same indices over the matrices they share (same name and shape); independent: no shared matrices, each resampled on its own.'),
  sharedMatrices: count('Matrices both arms have (same name and shape).'),
  statistics: { type: 'object', additionalProperties: ref('differenceInterval'), description: 'Per statistic key: b − a (over the shared matrices when paired), its interval, and whether it excludes 0.' },
});

const depthPoint = obj<DepthPoint>('One layer of one module type of one arm.', {
  layer: count('Layer index within its component.'),
  depth: num('Relative depth layer / (layers of the component − 1), in [0, 1].'),
  effRankRatio: nullable(ref('number'), 'Energy-weighted mean energy effective-rank ratio of the cell\'s matrices (midpoints of bounds), in [0, 1]; null without metrics.'),
  energyShare: num('The cell\'s share of the arm\'s total energy (‖ΔW‖_F² for updates, ‖W‖_F² for weights), in [0, 1].'),
  signal: bool('Updates: some matrix of the cell rises above the storage-noise floor (weights: true).'),
});

const depthCurve = obj<DepthCurve>('A depth profile: one arm, one component, one module type.', {
  arm: str('Arm label.'),
  component: str('Model component (language, vision, …): layers are counted per component.'),
  module: str('Module group (q, k, v, o, gate, up, down, …).'),
  points: arrayOf(ref('depthPoint'), 'One per layer, in layer order.'),
});

const spectrumPoint = obj<SpectrumCurve['points'][number]>('The medians at one value of k/r.', {
  x: num('k / r, r the largest rank the matrix can have (min(m, n) or the LoRA rank).'),
  sigma: nullable(ref('number'), 'Median σ_k / σ₁ (null where fewer than half of the matrices have a known σ_k).'),
  energy: nullable(ref('number'), 'Median cumulative energy E_k = Σ_{i≤k} σᵢ² / ‖A‖_F², in [0, 1].'),
});

const spectrumCurve = obj<SpectrumCurve>('A module type\'s typical normalised spectrum in one arm.', {
  arm: str('Arm label.'),
  module: str('Module group.'),
  matrices: count('Matrices (with a non-zero spectrum) the medians run over.'),
  points: arrayOf(ref('spectrumPoint'), 'On a log-spaced grid of k/r shared by all arms.'),
  energy90: nullable(ref('number'), 'The smallest k/r on the grid where the median E_k reaches 0.9 (null when not within the known values).'),
});

const cellSide = obj<NonNullable<HeatmapCell['a']>>('One arm\'s value in a heatmap cell.', {
  energyShare: num('The cell\'s share of the arm\'s total energy.'),
  effRankRatio: nullable(ref('number'), 'Energy effective-rank ratio of the cell (null without metrics).'),
});

const heatmapCell = obj<HeatmapCell>('A layer × module cell of the two arms.', {
  component: str('Model component.'),
  layer: count('Layer index.'),
  module: str('Module group.'),
  a: nullable(ref('heatmapSide'), 'The first arm\'s values, or null when it has no matrix there.'),
  b: nullable(ref('heatmapSide'), 'The second arm\'s values, or null.'),
});

const heatmap = obj<ComparisonHeatmap>('The layer × module cells of two arms (the page draws b − a).', {
  a: str('First arm.'),
  b: str('Second arm.'),
  cells: arrayOf(ref('heatmapCell'), 'Every cell either arm has.'),
});

const document = obj<ComparisonDocument>('A paramscope comparison: several arms (updates or weights) side by side, with bootstrap intervals over matrices.', {
  schema: { const: 'paramscope.comparison', description: 'Document type.' },
  schemaVersion: { const: COMPARISON_SCHEMA_VERSION, description: 'Schema version (bumped on any incompatible change).' },
  tool: obj<ComparisonDocument['tool']>('The program that wrote the document.', { name: { const: 'paramscope', description: 'Tool name.' }, version: str('paramscope version.') }),
  createdAt: { type: 'string', format: 'date-time', description: 'When it was made (ISO 8601, UTC).' },
  family: oneOfStrings(['updates', 'weights'], 'updates: ΔW of fine-tunes or adapters; weights: the checkpoints\' own W.'),
  title: str('Page title.'),
  axis: nullable(obj<NonNullable<ComparisonDocument['axis']>>('The axis of a trajectory.', { name: str('What the arms\' step counts (e.g. "step").') }), 'The step axis of a trajectory, or null.'),
  bootstrap: obj<ComparisonDocument['bootstrap']>('How the intervals were computed.', {
    replicates: count('Resamples B (0: estimates only).'),
    seed: count('Seed of the resampling (the same seed gives the same intervals).'),
    level: num('Central coverage of the percentile intervals, e.g. 0.95.'),
    unit: { const: 'matrix', description: 'What is resampled: the arm\'s matrices, with replacement.' },
    method: { const: 'percentile', description: 'The interval holds the central `level` of the resampled statistics.' },
  }),
  statistics: arrayOf(obj<ComparisonDocument['statistics'][number]>('A statistic the arms are compared on.', {
    key: str('Key in each arm\'s and difference\'s statistics.'),
    name: str('Short name.'),
    description: str('What it is.'),
    range: oneOfStrings(['unit', 'positive'], 'unit: in [0, 1]; positive: any positive number.'),
  }), 'The statistics, in display order.'),
  arms: arrayOf(ref('arm'), 'The arms, in the order given (step order in a trajectory).'),
  differences: arrayOf(ref('difference'), 'Every pair of arms (neighbours only in a trajectory or beyond 16 arms).'),
  depth: arrayOf(ref('depthCurve'), 'Depth profiles, per arm, component and module type.'),
  spectra: arrayOf(ref('spectrumCurve'), 'Normalised spectra and cumulative energy, per arm and module type.'),
  heatmap: nullable(ref('heatmap'), 'The layer × module cells of two arms, or null (see heatmapNote).'),
  heatmapNote: str('Which arms the heatmap shows, or why there is none.'),
});

/** The JSON Schema of comparison.json. */
export const COMPARISON_JSON_SCHEMA: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: `urn:paramscope:comparison:${COMPARISON_SCHEMA_VERSION}`,
  title: `paramscope comparison, schema version ${COMPARISON_SCHEMA_VERSION}`,
  ...document,
  $defs: {
    number: { description: 'A float. JSON has no NaN or infinities: they are written as the strings "NaN", "Infinity", "-Infinity".', anyOf: [{ type: 'number' }, { type: 'string', enum: ['NaN', 'Infinity', '-Infinity'] }] },
    interval, differenceInterval, arm, difference, depthPoint, depthCurve, spectrumPoint, spectrumCurve, heatmapSide: cellSide, heatmapCell, heatmap,
  },
};

/** docs/comparison.schema.json's text. */
export function comparisonSchemaText(): string {
  return JSON.stringify(COMPARISON_JSON_SCHEMA, null, 2) + '\n';
}

/** comparison.json's text. */
export function serializeComparison(doc: ComparisonDocument, indent = 2): string {
  return JSON.stringify(doc, reportReplacer, indent) + (indent ? '\n' : '');
}

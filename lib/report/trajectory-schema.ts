/**
 * The JSON Schema (draft 2020-12) of the trajectory report (trajectory-model.ts), built with the report
 * schema's helpers and on its $defs (the verdict and the model summary are the diff report's). Each
 * object schema is tied to its TypeScript type by `obj<T>()`. docs/trajectory.schema.json and the field
 * reference in docs/trajectory.md are generated from it (scripts/gen-report-schema.js); the event
 * stream's `summary` of a trajectory is this document.
 */
import { TRAJECTORY_SCHEMA_VERSION } from './header';
import { arrayOf, bool, count, type JsonSchema, nullable, num, obj, oneOfStrings, opt, ref, REPORT_JSON_SCHEMA, str } from './schema';
import type {
  SettlingSide, StepFootprint, StepSettling, TrajectoryGroupSeries, TrajectoryMatrixSeries, TrajectoryReport, TrajectoryStep,
} from './trajectory-model';

const maybe: JsonSchema = { anyOf: [{ type: 'number' }, { type: 'null' }] };
/** A series over the steps: entry i is step i's, null where the value does not exist. */
const series = (description: string): JsonSchema => arrayOf(maybe, `${description} One entry per step (null where it does not exist).`);
const fraction = (description: string): JsonSchema => nullable({ type: 'number', minimum: 0, maximum: 1 }, description);

const stepFootprint = obj<StepFootprint>('The footprint of one update ΔW, from the base (or the previous step) to a step: what `diff` (or `lora`) reports for it.', {
  from: nullable(str('Path.'), 'The reference: the base, the previous step, or null (adapters without their base: ΔW = s·B·A itself).'),
  verdict: ref('verdict', 'Its regime verdict, as diff computes it.'),
  model: ref('modelSummary', 'Its model summary, as diff reports it.'),
  updateEnergy: num('Σ ‖ΔW‖_F² over the matrices.'),
  relativeToPreviousUpdate: opt(nullable({ type: 'number', minimum: 0 }, 'vsPrevious: ‖ΔW_k − ΔW_{k−1}‖_F / ‖ΔW_{k−1}‖_F over all matrices together.')),
});

const settlingSide = obj<SettlingSide>('The overlap of one side\'s top singular subspaces with the previous step\'s, over the matrices.', {
  median: fraction('Median of ‖U_kᵀU_{k−1}‖²_F / k over the matrices compared.'),
  energyWeighted: fraction('The same, weighted by each matrix\'s share of the update energy.'),
  matrices: count('Matrices compared (signal directions at both steps).'),
});

const stepSettling = obj<StepSettling>('Where the update\'s directions settle: its top singular subspaces against the previous step\'s.', {
  k: count('The overlap rank asked for; each matrix compares min(k, its signal directions at both steps).'),
  left: ref('settlingSide', 'Left singular vectors (output directions, U).'),
  right: ref('settlingSide', 'Right singular vectors (input directions, V).'),
});

const trajectoryStep = obj<TrajectoryStep>('One checkpoint of the run.', {
  step: count('Training step.'),
  name: str('The checkpoint\'s directory or file name.'),
  path: str('Its path.'),
  stepSource: oneOfStrings(['trainer_state.json', 'name'], 'Where the step came from: global_step of trainer_state.json, or the number the name ends with.'),
  vsBase: ref('stepFootprint', 'ΔW from the base to this step.'),
  vsPrevious: nullable(ref('stepFootprint'), 'ΔW from the previous step to this one (null for the first step).'),
  settling: nullable(ref('stepSettling'), 'Directions against the previous step\'s (null for the first step).'),
});

const groupSeries = obj<TrajectoryGroupSeries>('A layer or a module type over the steps (updates against the base).', {
  key: str('Layer index (component/index for multimodal models) or module type.'),
  energy: series('Σ ‖ΔW‖_F² of the group.'),
  energyShare: series('Its share of the step\'s update energy.'),
  relativeUpdate: series('√(Σ‖ΔW‖_F² / Σ‖W_base‖_F²) of the group (null without a base).'),
  medianEnergyEffectiveRankRatio: series('Median energy effective-rank ratio of its matrices (midpoints of bounded values).'),
});

const matrixSeries = obj<TrajectoryMatrixSeries>('One matrix over the steps.', {
  name: str('Matrix name (the base weight it updates).'),
  layer: nullable(count('Layer.'), 'Transformer block, null outside the blocks.'),
  module: str('Module type (q, k, v, o, gate, up, down, embedding, …).'),
  rows: count('Rows of ΔW.'),
  cols: count('Columns of ΔW.'),
  relativeUpdate: series('‖ΔW‖_F / ‖W_base‖_F (null without a base).'),
  updateEnergy: series('‖ΔW‖_F².'),
  energyEffectiveRank: series('Energy effective rank of ΔW (midpoint when bounded).'),
  energyEffectiveRankRatio: series('Energy effective rank / min(m, n).'),
  stepUpdate: series('‖ΔW_k − ΔW_{k−1}‖_F / ‖ΔW_{k−1}‖_F.'),
  overlapK: series('Directions compared with the previous step: min(overlap rank, signal directions at both steps).'),
  leftOverlap: series('‖U_kᵀU_{k−1}‖²_F / k of the top-k left singular vectors of ΔW_base→k and ΔW_base→(k−1), in [0, 1].'),
  rightOverlap: series('The same for the right singular vectors.'),
  leftAnglesDeg: arrayOf(nullable(arrayOf({ type: 'number' }, 'Degrees.'), 'Principal angles.'), 'Principal angles between the left subspaces, degrees, ascending; one entry per step.'),
  rightAnglesDeg: arrayOf(nullable(arrayOf({ type: 'number' }, 'Degrees.'), 'Principal angles.'), 'The same for the right subspaces.'),
});

const reportDefs = REPORT_JSON_SCHEMA.$defs as Record<string, JsonSchema>;

const trajectoryReport = obj<TrajectoryReport>('A paramscope trajectory: a run\'s checkpoints in step order, each against the base and the previous step, as series over the steps (docs/trajectory.md).', {
  schema: { const: 'paramscope.trajectory', description: 'Document type.' },
  schemaVersion: { const: TRAJECTORY_SCHEMA_VERSION, description: 'Version of the trajectory document.' },
  tool: obj<TrajectoryReport['tool']>('The tool that wrote it.', { name: { const: 'paramscope', description: 'Tool.' }, version: str('Its version.') }),
  createdAt: { type: 'string', format: 'date-time', description: 'When the report was made (ISO 8601, UTC).' },
  kind: oneOfStrings(['checkpoints', 'adapter'], 'Full checkpoints (ΔW = W_step − W_base) or LoRA adapters (ΔW = s·B·A).'),
  base: nullable(str('Path.'), 'The base checkpoint (null for adapters analysed without it).'),
  options: obj<TrajectoryReport['options']>('Options the trajectory was computed with.', {
    mode: oneOfStrings(['exact', 'truncated'], 'Spectrum mode.'),
    rank: nullable(count('k.'), 'Truncated mode: singular values per matrix; null in exact mode.'),
    directions: obj<TrajectoryReport['options']['directions']>('Whether the updates against the base compared their directions with the base\'s.', {
      enabled: bool('Whether it ran.'), rank: count('Directions compared.'), reason: str('Why it ran or not.'),
    }),
    overlapRank: count('Top-k of the settling overlap.'),
  }),
  steps: arrayOf(ref('trajectoryStep'), 'The checkpoints, in step order.'),
  byLayer: arrayOf(ref('trajectoryGroupSeries'), 'Per layer.'),
  byModule: arrayOf(ref('trajectoryGroupSeries'), 'Per module type.'),
  matrices: arrayOf(ref('trajectoryMatrixSeries'), 'Per matrix.'),
  notes: arrayOf(str('A note.'), 'What was assumed or left out.'),
});

/** The trajectory document's own definitions (documented in docs/trajectory.md). */
export const TRAJECTORY_DEFS: readonly string[] = ['trajectoryReport', 'trajectoryStep', 'stepFootprint', 'stepSettling', 'settlingSide', 'trajectoryGroupSeries', 'trajectoryMatrixSeries'];

/** The definitions, for schemas that embed the trajectory report (the event stream's summary). */
export const TRAJECTORY_SCHEMA_DEFS: Record<string, JsonSchema> = {
  trajectoryReport, trajectoryStep, stepFootprint, stepSettling, settlingSide, trajectoryGroupSeries: groupSeries, trajectoryMatrixSeries: matrixSeries,
};

export const TRAJECTORY_JSON_SCHEMA: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: `urn:paramscope:trajectory:${TRAJECTORY_SCHEMA_VERSION}`,
  title: `paramscope trajectory report, schema version ${TRAJECTORY_SCHEMA_VERSION}`,
  ...trajectoryReport,
  $defs: { ...reportDefs, ...TRAJECTORY_SCHEMA_DEFS },
};

/** docs/trajectory.schema.json's text. */
export function trajectorySchemaText(): string {
  return JSON.stringify(TRAJECTORY_JSON_SCHEMA, null, 2) + '\n';
}

/**
 * The field references of docs/schema.md and docs/events.md, generated from the JSON Schemas of the report
 * (schema.ts) and of the event stream (events-schema.ts): one table per object, nested objects after
 * their parent. scripts/gen-report-schema.js writes each between its page's BEGIN/END markers; a test
 * checks the committed pages are current.
 */
import { EVENT_DEFS, EVENTS_JSON_SCHEMA } from './events-schema';
import { type JsonSchema, REPORT_JSON_SCHEMA } from './schema';
import { TRAJECTORY_DEFS, TRAJECTORY_JSON_SCHEMA } from './trajectory-schema';
import { COMPARISON_JSON_SCHEMA } from './comparison/schema';

const DEF_TITLES: Record<string, string> = {
  checkpointRef: 'Checkpoint', adapterInfo: 'Adapter', pairingCounts: 'Pairing counts', pairingEntry: 'Pairing entry',
  pairResult: 'Pair', moduleInfo: 'Module', spectrumSummary: 'Spectrum', spectrumMetrics: 'Metrics', energyRank: 'Energy ranks',
  powerLaw: 'Power-law fit', noiseFloor: 'Noise floor', directionAnalysis: 'Directions', subspaceComparison: 'Subspace comparison',
  intruderAnalysis: 'Intruders', errorInfo: 'Error', vectorChange: 'Vector change', groupSummary: 'Group summary',
  modelSummary: 'Model summary', verdict: 'Verdict', verdictComponents: 'Verdict components', driver: 'Driver', evidence: 'Evidence',
  plan: 'plan', planInput: 'Plan input', planPhase: 'Plan phase', planRun: 'Plan run', progress: 'progress', pairMatrix: 'matrix (pair)',
  tensorMatrix: 'matrix (tensor)', tensorAnalysis: 'Tensor analysis', warning: 'warning', error: 'error', summary: 'summary',
  diffSummary: 'Diff summary', analysisSummary: 'Analysis summary', skippedTensor: 'Skipped tensor', compareSummary: 'Compare summary',
  cacheCounts: 'Cache counts', trajectoryReport: 'Trajectory', trajectoryStep: 'Step', stepFootprint: 'Footprint', stepSettling: 'Settling',
  settlingSide: 'Settling side', trajectoryGroupSeries: 'Group series', trajectoryMatrixSeries: 'Matrix series',
};

/** Where a $defs entry is documented: on the page being generated, or (the report's, from docs/events.md) in docs/schema.md. */
type DefLink = (def: string) => string;

const anchor = (def: string) => `def-${def.toLowerCase()}`;

const localLink: DefLink = (def) => `#${anchor(def)}`;

function typeLabel(s: JsonSchema, link: DefLink): string {
  if (typeof s.$ref === 'string') {
    const def = s.$ref.replace('#/$defs/', '');
    if (def === 'number') return 'number';
    if (def === 'bounded') return '**bounded**';
    return `[${DEF_TITLES[def] ?? def}](${link(def)})`;
  }
  if ('const' in s) return `\`${JSON.stringify(s.const)}\``;
  if (Array.isArray(s.anyOf)) return (s.anyOf as JsonSchema[]).map((b) => typeLabel(b, link)).join(' or ');
  if (Array.isArray(s.oneOf)) return (s.oneOf as JsonSchema[]).map((b) => typeLabel(b, link)).join(' or ');
  if (Array.isArray(s.enum)) return (s.enum as unknown[]).map((v) => `\`${String(v)}\``).join(' | ');
  if (s.type === 'array') {
    const items = typeLabel(s.items as JsonSchema, link);
    return s.minItems === 2 && s.maxItems === 2 ? `[${items}, ${items}]` : `array of ${items}`;
  }
  if (s.type === 'object' && s.additionalProperties) return `object of ${typeLabel(s.additionalProperties as JsonSchema, link)}`;
  if (s.type === 'object') return 'object (below)';
  if (s.type === 'integer') return 'integer ≥ 0';
  return String(s.type);
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function fieldTable(title: string, id: string, s: JsonSchema, out: string[], nested: Array<[string, string, JsonSchema]>, link: DefLink): void {
  out.push(`### <a id="${id}"></a>${title}`, '', String(s.description ?? ''), '', '| field | type | required | description |', '|---|---|---|---|');
  const props = (s.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((s.required ?? []) as string[]);
  for (const [key, field] of Object.entries(props)) {
    let type = typeLabel(field, link);
    if (field.type === 'object' && field.properties) {
      const childId = `${id}-${key.toLowerCase()}`;
      type = `[object](#${childId})`;
      nested.push([`${title}.${key}`, childId, field]);
    } else if (field.type === 'array' && (field.items as JsonSchema).type === 'object') {
      const childId = `${id}-${key.toLowerCase()}`;
      type = `array of [object](#${childId})`;
      nested.push([`${title}.${key}[]`, childId, field.items as JsonSchema]);
    }
    out.push(`| \`${key}\` | ${cell(type)} | ${required.has(key) ? 'yes' : 'no'} | ${cell(String(field.description ?? ''))} |`);
  }
  out.push('');
}

/** Tables for `defs` of `schema` (and a first one for the schema itself when `root` names it). */
function fieldReference(schema: JsonSchema, defs: readonly string[], link: DefLink, root?: [string, string]): string {
  const out: string[] = [];
  const all = schema.$defs as Record<string, JsonSchema>;
  const queue: Array<[string, string, JsonSchema]> = root ? [[root[0], root[1], schema]] : [];
  for (const name of defs) if (all[name]?.type === 'object') queue.push([DEF_TITLES[name] ?? name, anchor(name), all[name] as JsonSchema]);
  while (queue.length) {
    const [title, id, s] = queue.shift() as [string, string, JsonSchema];
    const nested: Array<[string, string, JsonSchema]> = [];
    fieldTable(title, id, s, out, nested, link);
    queue.unshift(...nested);
  }
  return out.join('\n');
}

/** The generated field reference of docs/schema.md (between its BEGIN/END markers). */
export function schemaFieldReference(): string {
  return fieldReference(REPORT_JSON_SCHEMA, Object.keys(REPORT_JSON_SCHEMA.$defs as object), localLink, ['Report', 'def-report']);
}

/** The generated field reference of docs/events.md: the events' own definitions; the report's link to docs/schema.md. */
export function eventsFieldReference(): string {
  const own = new Set(EVENT_DEFS);
  const trajectory = new Set(TRAJECTORY_DEFS);
  return fieldReference(EVENTS_JSON_SCHEMA, EVENT_DEFS, (def) => (own.has(def) ? localLink(def) : trajectory.has(def) ? `trajectory.md#${anchor(def)}` : `schema.md#${anchor(def)}`));
}

/** The generated field reference of docs/trajectory.md: the trajectory's own definitions; the report's link to docs/schema.md. */
export function trajectoryFieldReference(): string {
  const own = new Set(TRAJECTORY_DEFS);
  return fieldReference(TRAJECTORY_JSON_SCHEMA, TRAJECTORY_DEFS, (def) => (own.has(def) ? localLink(def) : `schema.md#${anchor(def)}`));
}

export const SCHEMA_DOC_BEGIN = '<!-- BEGIN GENERATED FIELD REFERENCE (scripts/gen-report-schema.js) -->';
export const SCHEMA_DOC_END = '<!-- END GENERATED FIELD REFERENCE -->';

function replaceRegion(page: string, text: string, name: string): string {
  const begin = page.indexOf(SCHEMA_DOC_BEGIN);
  const end = page.indexOf(SCHEMA_DOC_END);
  if (begin < 0 || end < begin) throw new Error(`${name}: generated-region markers not found`);
  return page.slice(0, begin + SCHEMA_DOC_BEGIN.length) + '\n\n' + text + '\n' + page.slice(end);
}

/** Replaces the generated region of docs/schema.md's text with the current field reference. */
export function updateSchemaDoc(page: string): string {
  return replaceRegion(page, schemaFieldReference(), 'docs/schema.md');
}

/** Replaces the generated region of docs/trajectory.md's text with the current field reference. */
export function updateTrajectoryDoc(page: string): string {
  return replaceRegion(page, trajectoryFieldReference(), 'docs/trajectory.md');
}

/** Replaces the generated region of docs/events.md's text with the current field reference. */
export function updateEventsDoc(page: string): string {
  return replaceRegion(page, eventsFieldReference(), 'docs/events.md');
}

// ---- comparison.json (docs/comparison.md) -------------------------------------------------------------

Object.assign(DEF_TITLES, {
  interval: 'Interval', differenceInterval: 'Difference interval', arm: 'Arm', difference: 'Difference', depthPoint: 'Depth point',
  depthCurve: 'Depth curve', spectrumPoint: 'Spectrum point', spectrumCurve: 'Spectrum curve', heatmapSide: 'Heatmap side',
  heatmapCell: 'Heatmap cell', heatmap: 'Heatmap',
});

/** The generated field reference of docs/comparison.md. */
export function comparisonFieldReference(): string {
  return fieldReference(COMPARISON_JSON_SCHEMA, Object.keys(COMPARISON_JSON_SCHEMA.$defs as object), localLink, ['Comparison', 'def-comparison']);
}

/** Replaces the generated region of docs/comparison.md's text with the current field reference. */
export function updateComparisonDoc(page: string): string {
  return replaceRegion(page, comparisonFieldReference(), 'docs/comparison.md');
}

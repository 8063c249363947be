/**
 * The field reference of docs/schema.md, generated from the report's JSON Schema (schema.ts): one table per
 * object, nested objects after their parent. scripts/gen-report-schema.js writes it between the page's
 * BEGIN/END markers; a test checks the committed page is current.
 */
import { type JsonSchema, REPORT_JSON_SCHEMA } from './schema';

const DEF_TITLES: Record<string, string> = {
  checkpointRef: 'Checkpoint', adapterInfo: 'Adapter', pairingCounts: 'Pairing counts', pairingEntry: 'Pairing entry',
  pairResult: 'Pair', moduleInfo: 'Module', spectrumSummary: 'Spectrum', spectrumMetrics: 'Metrics', energyRank: 'Energy ranks',
  powerLaw: 'Power-law fit', noiseFloor: 'Noise floor', directionAnalysis: 'Directions', subspaceComparison: 'Subspace comparison',
  intruderAnalysis: 'Intruders', errorInfo: 'Error', vectorChange: 'Vector change', groupSummary: 'Group summary',
  modelSummary: 'Model summary', verdict: 'Verdict', verdictComponents: 'Verdict components', driver: 'Driver', evidence: 'Evidence',
};

const anchor = (def: string) => `def-${def.toLowerCase()}`;

function typeLabel(s: JsonSchema): string {
  if (typeof s.$ref === 'string') {
    const def = s.$ref.replace('#/$defs/', '');
    if (def === 'number') return 'number';
    if (def === 'bounded') return '**bounded**';
    return `[${DEF_TITLES[def] ?? def}](#${anchor(def)})`;
  }
  if ('const' in s) return `\`${JSON.stringify(s.const)}\``;
  if (Array.isArray(s.anyOf)) return (s.anyOf as JsonSchema[]).map(typeLabel).join(' or ');
  if (Array.isArray(s.enum)) return (s.enum as unknown[]).map((v) => `\`${String(v)}\``).join(' | ');
  if (s.type === 'array') {
    const items = typeLabel(s.items as JsonSchema);
    return s.minItems === 2 && s.maxItems === 2 ? `[${items}, ${items}]` : `array of ${items}`;
  }
  if (s.type === 'object' && s.additionalProperties) return `object of ${typeLabel(s.additionalProperties as JsonSchema)}`;
  if (s.type === 'object') return 'object (below)';
  if (s.type === 'integer') return 'integer ≥ 0';
  return String(s.type);
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function fieldTable(title: string, id: string, s: JsonSchema, out: string[], nested: Array<[string, string, JsonSchema]>): void {
  out.push(`### <a id="${id}"></a>${title}`, '', String(s.description ?? ''), '', '| field | type | required | description |', '|---|---|---|---|');
  const props = (s.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((s.required ?? []) as string[]);
  for (const [key, field] of Object.entries(props)) {
    let type = typeLabel(field);
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

/** The generated field reference of docs/schema.md (between its BEGIN/END markers). */
export function schemaFieldReference(): string {
  const out: string[] = [];
  const queue: Array<[string, string, JsonSchema]> = [['Report', 'def-report', REPORT_JSON_SCHEMA]];
  const defs = REPORT_JSON_SCHEMA.$defs as Record<string, JsonSchema>;
  for (const [name, s] of Object.entries(defs)) if (s.type === 'object') queue.push([DEF_TITLES[name] ?? name, anchor(name), s]);
  while (queue.length) {
    const [title, id, s] = queue.shift() as [string, string, JsonSchema];
    const nested: Array<[string, string, JsonSchema]> = [];
    fieldTable(title, id, s, out, nested);
    queue.unshift(...nested);
  }
  return out.join('\n');
}

export const SCHEMA_DOC_BEGIN = '<!-- BEGIN GENERATED FIELD REFERENCE (scripts/gen-report-schema.js) -->';
export const SCHEMA_DOC_END = '<!-- END GENERATED FIELD REFERENCE -->';

/** Replaces the generated region of docs/schema.md's text with the current field reference. */
export function updateSchemaDoc(page: string): string {
  const begin = page.indexOf(SCHEMA_DOC_BEGIN);
  const end = page.indexOf(SCHEMA_DOC_END);
  if (begin < 0 || end < begin) throw new Error('docs/schema.md: generated-region markers not found');
  return page.slice(0, begin + SCHEMA_DOC_BEGIN.length) + '\n\n' + schemaFieldReference() + '\n' + page.slice(end);
}

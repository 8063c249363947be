/**
 * A small JSON Schema validator for the subset the report schema uses (draft 2020-12 keywords: $ref to
 * #/$defs/…, type, const, enum, anyOf, oneOf, properties, required, additionalProperties, items,
 * minItems, maxItems, minimum, maximum). Unknown keywords other than annotations throw, so a schema that
 * starts using more than this validator understands is noticed rather than half-checked.
 *
 * `closed: true` additionally treats every object schema that has `properties` and no
 * `additionalProperties` as closed: a property the schema does not document is an error. The published
 * schema is open (consumers ignore unknown fields); the tests use closed mode to catch undocumented fields.
 */
type Schema = { [keyword: string]: unknown };

const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description', 'format', '$defs', 'default', 'examples']);
const KNOWN = new Set(['$ref', 'type', 'const', 'enum', 'anyOf', 'oneOf', 'properties', 'required', 'additionalProperties', 'items', 'minItems', 'maxItems', 'minimum', 'maximum']);

export interface ValidationOptions {
  closed?: boolean;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  const t = typeOf(value);
  return t === type || (type === 'number' && t === 'integer');
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Returns the list of errors ("path: message"); empty when the value is valid. */
export function validate(value: unknown, root: Schema, options: ValidationOptions = {}): string[] {
  const errors: string[] = [];
  const resolve = (ref: string): Schema => {
    const m = /^#\/\$defs\/([\w-]+)$/.exec(ref);
    const defs = root.$defs as Record<string, Schema> | undefined;
    const target = m && defs ? defs[m[1] as string] : undefined;
    if (!target) throw new Error(`unsupported or unresolved $ref ${ref}`);
    return target;
  };
  const check = (v: unknown, s: Schema, path: string, out: string[]): void => {
    for (const key of Object.keys(s)) if (!KNOWN.has(key) && !ANNOTATIONS.has(key)) throw new Error(`json-schema helper: unsupported keyword ${key} at ${path}`);
    if (typeof s.$ref === 'string') check(v, resolve(s.$ref), path, out);
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
      if (!types.some((t) => matchesType(v, t))) {
        out.push(`${path}: expected ${types.join(' | ')}, got ${typeOf(v)}`);
        return;
      }
    }
    if ('const' in s && !deepEqual(v, s.const)) out.push(`${path}: expected ${JSON.stringify(s.const)}, got ${JSON.stringify(v)}`);
    if (Array.isArray(s.enum) && !s.enum.some((e) => deepEqual(e, v))) out.push(`${path}: ${JSON.stringify(v)} is not one of ${JSON.stringify(s.enum)}`);
    if (Array.isArray(s.anyOf)) {
      const branches = (s.anyOf as Schema[]).map((b) => {
        const e: string[] = [];
        check(v, b, path, e);
        return e;
      });
      if (!branches.some((e) => e.length === 0)) out.push(`${path}: matches no anyOf branch (${branches.map((e) => e[0]).join('; ')})`);
    }
    if (Array.isArray(s.oneOf)) {
      const ok = (s.oneOf as Schema[]).filter((b) => {
        const e: string[] = [];
        check(v, b, path, e);
        return e.length === 0;
      }).length;
      if (ok !== 1) out.push(`${path}: matches ${ok} oneOf branches, expected exactly 1`);
    }
    if (typeof v === 'number') {
      if (typeof s.minimum === 'number' && v < s.minimum) out.push(`${path}: ${v} < minimum ${s.minimum}`);
      if (typeof s.maximum === 'number' && v > s.maximum) out.push(`${path}: ${v} > maximum ${s.maximum}`);
    }
    if (Array.isArray(v)) {
      if (typeof s.minItems === 'number' && v.length < s.minItems) out.push(`${path}: ${v.length} items < minItems ${s.minItems}`);
      if (typeof s.maxItems === 'number' && v.length > s.maxItems) out.push(`${path}: ${v.length} items > maxItems ${s.maxItems}`);
      if (s.items && typeof s.items === 'object') v.forEach((item, i) => check(item, s.items as Schema, `${path}[${i}]`, out));
    }
    if (typeOf(v) === 'object') {
      const obj = v as Record<string, unknown>;
      const props = (s.properties ?? {}) as Record<string, Schema>;
      for (const key of (s.required ?? []) as string[]) if (!(key in obj)) out.push(`${path}: missing required property ${key}`);
      for (const [key, child] of Object.entries(obj)) {
        const p = props[key];
        if (p) check(child, p, `${path}.${key}`, out);
        else if (s.additionalProperties === false) out.push(`${path}: unexpected property ${key}`);
        else if (s.additionalProperties && typeof s.additionalProperties === 'object') check(child, s.additionalProperties as Schema, `${path}.${key}`, out);
        else if (options.closed && s.properties) out.push(`${path}: property ${key} is not documented in the schema`);
      }
    }
  };
  check(value, root, '$', errors);
  return errors;
}

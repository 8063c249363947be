/**
 * A lossless JSON encoding of engine results for the result cache (cache.ts): what is decoded is
 * bit-for-bit what was encoded, so a run resumed from the cache writes the report an uncached run writes.
 *
 * Why not plain JSON: JSON numbers do round-trip finite doubles exactly (JavaScript prints the shortest
 * string that parses back to the same double), but not NaN, ±Infinity or −0, which metrics can hold
 * (a condition number of Infinity, an undefined fit), and typed arrays would lose their type. So:
 *  - a Float64Array / Float32Array becomes {"$f64": base64} / {"$f32": base64} of its bytes: exact by
 *    construction, and a third the size of the decimal text of a spectrum's values;
 *  - NaN, Infinity, −Infinity and −0 become {"$num": "NaN" | "Infinity" | "-Infinity" | "-0"};
 *  - every other value is plain JSON.
 * The bytes are the platform's (little-endian everywhere paramscope is built); the byte order is part
 * of every cache key (cache-key.ts), so an entry is never decoded on a platform of the other order.
 */

type Encoded = { $f64: string } | { $f32: string } | { $num: string };

const SPECIAL_NUMBERS: Readonly<Record<string, number>> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 };

const bytesOf = (a: Float64Array | Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

function encodeValue(value: unknown): unknown {
  if (value instanceof Float64Array) return { $f64: bytesOf(value) } satisfies Encoded;
  if (value instanceof Float32Array) return { $f32: bytesOf(value) } satisfies Encoded;
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return { $num: 'NaN' };
    if (value === Infinity) return { $num: 'Infinity' };
    if (value === -Infinity) return { $num: '-Infinity' };
    if (Object.is(value, -0)) return { $num: '-0' };
    return value;
  }
  if (ArrayBuffer.isView(value)) throw new TypeError('cache codec: only Float64Array and Float32Array are encoded');
  if (Array.isArray(value)) return value.map(encodeValue);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = encodeValue(v);
    return out;
  }
  return value;
}

/** A copy of the base64 bytes as a typed array (aligned: a fresh buffer), or undefined when they do not fit one. */
function typedArray(text: unknown, width: 4 | 8): Float64Array | Float32Array | undefined {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % width !== 0) return undefined;
  const out = width === 8 ? new Float64Array(bytes.length / 8) : new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** Thrown by {@link decodeResult} for text that is not an encoding this codec wrote. */
export class CodecError extends Error {}

function decodeValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeValue);
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  const record = value as Record<string, unknown>;
  if (keys.length === 1 && (keys[0] === '$f64' || keys[0] === '$f32')) {
    const array = typedArray(record[keys[0]], keys[0] === '$f64' ? 8 : 4);
    if (!array) throw new CodecError(`malformed ${keys[0]} array`);
    return array;
  }
  if (keys.length === 1 && keys[0] === '$num') {
    const name = record.$num;
    if (typeof name !== 'string' || !(name in SPECIAL_NUMBERS)) throw new CodecError('malformed $num');
    return SPECIAL_NUMBERS[name];
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    // Results have no such field; one in a file is not ours (and would set the prototype).
    if (k === '__proto__') throw new CodecError('unexpected __proto__ field');
    out[k] = decodeValue(record[k]);
  }
  return out;
}

/** The JSON text of `value` in the lossless encoding. */
export function encodeResult(value: unknown): string {
  return JSON.stringify(encodeValue(value));
}

/** The value {@link encodeResult} encoded; CodecError (or SyntaxError) for anything else. */
export function decodeResult(text: string): unknown {
  return decodeValue(JSON.parse(text));
}

/** The safetensors dtypes (SAFETENSORS.md §1) and how each is held in JS. */

export const DTYPES = [
  'BOOL', 'U8', 'I8', 'U16', 'I16', 'U32', 'I32', 'U64', 'I64', 'F16', 'BF16', 'F32', 'F64',
  'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64',
] as const;

export type Dtype = (typeof DTYPES)[number];

export interface DtypeInfo {
  /** Storage bits per element (F4 and F6 are packed below a byte). */
  bits: number;
  /** A real floating-point format (the spectral code analyses these; it skips integers and BOOL). */
  isFloat: boolean;
  /** Decodes to Float32Array (the sub-byte and complex formats do not: read them raw). */
  decodable: boolean;
  /** Significand bits, implicit bit included, of the format's rounding grid; 0 when it has none. */
  precision: number;
  /** Exponent of the smallest normal number (the grid's spacing stops shrinking below it). */
  minExponent: number;
}

const row = (bits: number, isFloat: boolean, decodable: boolean, precision = 0, minExponent = 0): DtypeInfo =>
  Object.freeze({ bits, isFloat, decodable, precision, minExponent });

/**
 * The dtype table, mirroring the core's (native/src/dtype.cpp; a test checks they agree). Every other
 * fact about a dtype in lib/ is derived from it.
 */
export const DTYPE_TABLE: Readonly<Record<Dtype, DtypeInfo>> = Object.freeze({
  BOOL: row(8, false, true), U8: row(8, false, true), I8: row(8, false, true), U16: row(16, false, true), I16: row(16, false, true),
  U32: row(32, false, true), I32: row(32, false, true), U64: row(64, false, true), I64: row(64, false, true),
  F16: row(16, true, true, 11, -14), BF16: row(16, true, true, 8, -126), F32: row(32, true, true, 24, -126), F64: row(64, true, true, 53, -1022),
  F8_E4M3: row(8, true, true, 4, -6), F8_E5M2: row(8, true, true, 3, -14), F8_E8M0: row(8, true, true, 1, -127),
  F8_E4M3FNUZ: row(8, true, true, 4, -7), F8_E5M2FNUZ: row(8, true, true, 3, -15),
  F4: row(4, true, false), F6_E2M3: row(6, true, false), F6_E3M2: row(6, true, false), C64: row(64, false, false),
});

/** Storage bits per element (F4 and F6 are packed below a byte). */
export const DTYPE_BITS: Readonly<Record<Dtype, number>> = Object.fromEntries(DTYPES.map((d) => [d, DTYPE_TABLE[d].bits])) as Record<Dtype, number>;

/** Formats that are real floating point (the spectral code analyses these; it skips integers and BOOL). */
export const FLOAT_DTYPES: ReadonlySet<Dtype> = new Set<Dtype>(DTYPES.filter((d) => DTYPE_TABLE[d].isFloat));

/** Formats that decode to Float32Array (the sub-byte and complex ones do not: read them raw). */
export const DECODABLE_DTYPES: ReadonlySet<Dtype> = new Set<Dtype>(DTYPES.filter((d) => DTYPE_TABLE[d].decodable));

/** The typed array a raw read returns for each dtype: the stored bits, unconverted. */
export type RawArray =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | BigUint64Array | BigInt64Array | Float32Array | Float64Array;

export function rawView(dtype: Dtype, buffer: ArrayBuffer): RawArray {
  switch (dtype) {
    case 'I8': return new Int8Array(buffer);
    case 'U16': case 'F16': case 'BF16': return new Uint16Array(buffer);
    case 'I16': return new Int16Array(buffer);
    case 'U32': return new Uint32Array(buffer);
    case 'I32': return new Int32Array(buffer);
    case 'U64': return new BigUint64Array(buffer);
    case 'I64': return new BigInt64Array(buffer);
    case 'F32': return new Float32Array(buffer);
    case 'F64': return new Float64Array(buffer);
    default: return new Uint8Array(buffer);
  }
}

export function isDtype(value: unknown): value is Dtype {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

/** The safetensors dtypes (SAFETENSORS.md §1) and how each is held in JS. */

export const DTYPES = [
  'BOOL', 'U8', 'I8', 'U16', 'I16', 'U32', 'I32', 'U64', 'I64', 'F16', 'BF16', 'F32', 'F64',
  'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64',
] as const;

export type Dtype = (typeof DTYPES)[number];

/** Storage bits per element (F4 and F6 are packed below a byte). */
export const DTYPE_BITS: Readonly<Record<Dtype, number>> = {
  BOOL: 8, U8: 8, I8: 8, U16: 16, I16: 16, U32: 32, I32: 32, U64: 64, I64: 64, F16: 16, BF16: 16, F32: 32,
  F64: 64, F8_E4M3: 8, F8_E5M2: 8, F8_E8M0: 8, F8_E4M3FNUZ: 8, F8_E5M2FNUZ: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6,
  C64: 64,
};

/** Formats that are real floating point (the spectral code analyses these; it skips integers and BOOL). */
export const FLOAT_DTYPES: ReadonlySet<Dtype> = new Set<Dtype>([
  'F16', 'BF16', 'F32', 'F64', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'F4', 'F6_E2M3', 'F6_E3M2',
]);

/** Formats that decode to Float32Array (the sub-byte and complex ones do not: read them raw). */
export const DECODABLE_DTYPES: ReadonlySet<Dtype> = new Set<Dtype>(DTYPES.filter((d) => !['F4', 'F6_E2M3', 'F6_E3M2', 'C64'].includes(d)));

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

/**
 * Quantized layouts written and decoded in plain TypeScript from the formats' bit definitions
 * (docs/formats.md), independent of the native decoders: FP8 E4M3 / E5M2 / FNUZ codes, E2M1 (FP4)
 * nibbles, E8M0 exponents; quantizers that produce codes and block scales the way the producers do
 * (amax / max-code per block, round to nearest); and float64 references of the decoded matrices.
 */
import { seededGaussian } from '../../lib/results/random';

export type Fp8Format = 'F8_E4M3' | 'F8_E5M2' | 'F8_E4M3FNUZ' | 'F8_E5M2FNUZ';

const FP8_BITS: Record<Fp8Format, { mantissa: number; bias: number; special: 'fn' | 'ieee' | 'fnuz' }> = {
  F8_E4M3: { mantissa: 3, bias: 7, special: 'fn' },
  F8_E5M2: { mantissa: 2, bias: 15, special: 'ieee' },
  F8_E4M3FNUZ: { mantissa: 3, bias: 8, special: 'fnuz' },
  F8_E5M2FNUZ: { mantissa: 2, bias: 16, special: 'fnuz' },
};

/** The value of an 8-bit float code: s · 2^(e − bias) · (1 + m/2^M), subnormal s · 2^(1 − bias) · m/2^M. */
export function fp8Value(format: Fp8Format, byte: number): number {
  const { mantissa, bias, special } = FP8_BITS[format];
  const expBits = 7 - mantissa;
  const e = (byte >> mantissa) & ((1 << expBits) - 1);
  const m = byte & ((1 << mantissa) - 1);
  const sign = byte & 0x80 ? -1 : 1;
  if (special === 'fnuz' && byte === 0x80) return NaN;
  if (special === 'fn' && (byte & 0x7f) === 0x7f) return NaN;
  if (special === 'ieee' && e === (1 << expBits) - 1) return m ? NaN : sign * Infinity;
  return e === 0 ? sign * m * 2 ** (1 - bias - mantissa) : sign * (1 + m / 2 ** mantissa) * 2 ** (e - bias);
}

/** The grid spacing (ulp) at a code. */
export function fp8Ulp(format: Fp8Format, byte: number): number {
  const { mantissa, bias } = FP8_BITS[format];
  const e = (byte & 0x7f) >> mantissa;
  return 2 ** (Math.max(e, 1) - bias - mantissa);
}

/** The largest finite code value. */
export function fp8Max(format: Fp8Format): number {
  let best = 0;
  for (let b = 0; b < 128; b++) {
    const v = fp8Value(format, b);
    if (Number.isFinite(v) && v > best) best = v;
  }
  return best;
}

/** The nearest code to x (ties to the even code; x within range). */
export function fp8Encode(format: Fp8Format, x: number): number {
  let best = 0, bestError = Infinity;
  for (let b = 0; b < 256; b++) {
    const v = fp8Value(format, b);
    if (!Number.isFinite(v)) continue;
    const error = Math.abs(v - x);
    if (error < bestError || (error === bestError && (b & 1) === 0)) {
      best = b;
      bestError = error;
    }
  }
  return best;
}

export const FP4_VALUES = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];

export function fp4Encode(x: number): number {
  let best = 0, bestError = Infinity;
  for (let c = 0; c < 16; c++) {
    const error = Math.abs((FP4_VALUES[c] as number) - x);
    if (error < bestError) {
      best = c;
      bestError = error;
    }
  }
  return best;
}

export function gaussianMatrix(rows: number, cols: number, seed: number, scale = 1): Float64Array {
  const next = seededGaussian(seed);
  return Float64Array.from({ length: rows * cols }, () => next() * scale);
}

/** f32 rounding, as the decoders do when they multiply code by scale. */
export const f32 = (x: number) => Math.fround(x);

/**
 * FP8 codes of W (rows × cols per expert, `experts` of them stacked) with one F32 scale per block of
 * br × bc (a partial last block has a scale of its own): scale = amax / max code (the inverse of the
 * quantizer's scale, as DeepSeek's weight_scale_inv), codes = nearest(w / scale). Returns the codes, the
 * scales (⌈rows/br⌉ × ⌈cols/bc⌉ per expert) and the decoded float64 matrix (f32 products).
 */
export function quantizeFp8(w: Float64Array, rows: number, cols: number, block: [number, number], format: Fp8Format = 'F8_E4M3', experts = 1) {
  const [br, bc] = block;
  const gr = Math.ceil(rows / br), gc = Math.ceil(cols / bc);
  const codes = new Uint8Array(experts * rows * cols);
  const scales = new Float32Array(experts * gr * gc);
  const decoded = new Float64Array(experts * rows * cols);
  const max = fp8Max(format);
  for (let e = 0; e < experts; e++)
    for (let i = 0; i < gr; i++)
      for (let j = 0; j < gc; j++) {
        let amax = 0;
        for (let r = i * br; r < Math.min(rows, (i + 1) * br); r++)
          for (let c = j * bc; c < Math.min(cols, (j + 1) * bc); c++) amax = Math.max(amax, Math.abs(w[(e * rows + r) * cols + c] as number));
        const s = f32(amax > 0 ? amax / max : 1);
        scales[(e * gr + i) * gc + j] = s;
        for (let r = i * br; r < Math.min(rows, (i + 1) * br); r++)
          for (let c = j * bc; c < Math.min(cols, (j + 1) * bc); c++) {
            const k = (e * rows + r) * cols + c;
            codes[k] = fp8Encode(format, (w[k] as number) / s);
            decoded[k] = f32(fp8Value(format, codes[k] as number) * s);
          }
      }
  return { codes, scales, decoded, grid: [gr, gc] as const };
}

/**
 * MXFP4 of W ([experts, rows, cols], cols a multiple of 32): E8M0 exponents per 32 values (the smallest
 * power of two with amax / 2^s ≤ 6), E2M1 nibbles packed low nibble first, as gpt-oss stores them:
 * blocks [E, rows, cols/32, 16] U8 and scales [E, rows, cols/32] U8. Returns the decoded float64 matrix.
 */
export function quantizeMxfp4(w: Float64Array, experts: number, rows: number, cols: number) {
  const groups = cols / 32;
  const blocks = new Uint8Array(experts * rows * groups * 16);
  const scales = new Uint8Array(experts * rows * groups);
  const decoded = new Float64Array(experts * rows * cols);
  for (let er = 0; er < experts * rows; er++)
    for (let g = 0; g < groups; g++) {
      let amax = 0;
      for (let k = 0; k < 32; k++) amax = Math.max(amax, Math.abs(w[er * cols + g * 32 + k] as number));
      const exponent = amax > 0 ? Math.ceil(Math.log2(amax / 6)) : -127;
      scales[er * groups + g] = exponent + 127;
      for (let k = 0; k < 32; k++) {
        const code = fp4Encode((w[er * cols + g * 32 + k] as number) / 2 ** exponent);
        const byte = (er * groups + g) * 16 + (k >> 1);
        blocks[byte] = (blocks[byte] as number) | (code << (4 * (k & 1)));
        decoded[er * cols + g * 32 + k] = (FP4_VALUES[code] as number) * 2 ** exponent;
      }
    }
  return { blocks, scales, decoded };
}

/** Matrix e of a stacked [E, rows, cols] array. */
export function expert(all: Float64Array, e: number, rows: number, cols: number): Float64Array {
  return all.slice(e * rows * cols, (e + 1) * rows * cols);
}

export function transpose(m: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c] as number;
  return out;
}

/** Rows offset, offset + stride, … (count of them) of a row-major matrix. */
export function takeRows(m: Float64Array, cols: number, offset: number, stride: number, count: number): Float64Array {
  const out = new Float64Array(count * cols);
  for (let i = 0; i < count; i++) out.set(m.subarray((offset + i * stride) * cols, (offset + i * stride + 1) * cols), i * cols);
  return out;
}

export const subtract = (a: Float64Array, b: Float64Array) => a.map((x, i) => x - (b[i] as number));

/** BF16 bits of f32 values (round to nearest even), and those values decoded. */
export function bf16(values: Float64Array): { bits: Uint16Array; decoded: Float64Array } {
  const f = Float32Array.from(values);
  const u = new Uint32Array(f.buffer);
  const bits = new Uint16Array(f.length);
  const decoded = new Float64Array(f.length);
  const view = new DataView(new ArrayBuffer(4));
  for (let i = 0; i < f.length; i++) {
    const x = u[i] as number;
    bits[i] = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
    view.setUint32(0, (bits[i] as number) << 16);
    decoded[i] = view.getFloat32(0);
  }
  return { bits, decoded };
}

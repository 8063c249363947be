/**
 * Quantized weights recognised from the headers (and config.json): a weight made of codes and a scale
 * tensor becomes one logical tensor whose values are codes × scales (docs/formats.md).
 *
 * - FP8 (F8_E4M3 / F8_E5M2 / FNUZ codes) with a companion scale, found by name: `<w>_scale_inv`,
 *   `<module>.weight_scale_inv` (DeepSeek / transformers "fp8", block scales), `<w>_scale`,
 *   `<module>.weight_scale` (compressed-tensors, vLLM, ModelOpt, FBGEMM), `<module>.scale` (DeepSeek-V4),
 *   `<module>.qscale_weight` (Mistral). The block each scale covers follows from the scale's shape:
 *   one value → per tensor; one per row → per channel; one per column → per output column of an
 *   [in, out] layout; a 2-D grid → blocks of `quantization_config.weight_block_size` (or
 *   `block_structure`, or `group_size` for per-group scales), 128 × 128 when the config says nothing and
 *   the grid fits it. Every convention multiplies: W = code · scale (the "_inv" is the inverse of the
 *   quantizer's scale).
 * - MXFP4: gpt-oss `<name>_blocks` U8 [..., G, 16] + `<name>_scales` U8 [..., G] (and the original
 *   checkpoint's `.blocks` / `.scales`), DeepSeek-V4 I8 [out, in/2] weights with an F8_E8M0 `.scale`
 *   [out, in/32], compressed-tensors `weight_packed` U8 + `weight_scale` U8: E2M1 codes, low nibble first,
 *   times 2^(s − 127) per 32 values.
 * A 1-byte float weight without a scale in a checkpoint whose other weights have scales (or whose config
 * says it is quantized) is an INVALID_QUANTIZATION problem, never read as plain values.
 */
import type { TensorInfo } from '../../read/checkpoint';
import type { JsonObject, ModelConfig } from '../../read/config';
import type { Dtype } from '../../read/dtypes';

export interface QuantizedLayout {
  encoding: 'scaled' | 'mxfp4';
  /** The codes tensor and its scale tensor. */
  codes: string;
  scale: string;
  /** Rows × cols of one (expert's) stored matrix that each scale covers. */
  block: readonly [number, number];
  /** For people: "FP8 block 128×128", "FP8 per-tensor", "FP8 per-channel", "FP8 per-column", "FP8 group 1×32", "MXFP4". */
  label: string;
  /** The logical shape (MXFP4: the codes unpacked, two per byte). */
  shape: readonly number[];
  /** Stored dtype of the codes and of the scales. */
  codesDtype: Dtype;
  scaleDtype: Dtype;
  /** The scale tensor's shape (for messages). */
  scaleShape: readonly number[];
}

export interface QuantizationScan {
  /** By logical name (the weight's name; MXFP4: without `_blocks` / `.blocks` / `_packed`). */
  layouts: Map<string, QuantizedLayout>;
  /** Tensors that belong to a logical tensor or to the quantization (scales, activation and KV-cache scales), with what they are. */
  companions: Map<string, string>;
  /** INVALID_QUANTIZATION problems: FP8 weights without a scale, scale grids that fit no block. */
  problems: Array<{ tensor: string; message: string }>;
}

const FP8: ReadonlySet<Dtype> = new Set<Dtype>(['F8_E4M3', 'F8_E5M2', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ']);
const FP8_SCALE_DTYPES: ReadonlySet<Dtype> = new Set<Dtype>(['F32', 'BF16', 'F16', 'F8_E8M0']);
/** Activation, input and KV-cache scales: part of the quantization, not weights. */
const ACTIVATION_SCALE = /(\.|_)(input_scale|activation_scale|qscale_act|input_scale_ub|input_global_scale|k_scale|v_scale|q_scale|kv_scale|output_scale)$/;
const QUANTIZED_METHODS = new Set(['fp8', 'compressed-tensors', 'modelopt', 'fbgemm_fp8', 'mxfp4', 'finegrained_fp8']);

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const squeeze = (shape: readonly number[]) => shape.filter((d) => d !== 1);
const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const ceilDiv = (a: number, b: number) => Math.ceil(a / b);
const pair = (v: unknown): [number, number] | null =>
  Array.isArray(v) && v.length === 2 && v.every((d) => Number.isSafeInteger(d) && (d as number) > 0) ? [v[0] as number, v[1] as number] : null;

/** Block sizes the config states: weight_block_size, compressed-tensors block_structure, group_size. */
function configuredBlocks(q: JsonObject | null): { blocks: Array<[number, number]>; groups: number[] } {
  const blocks: Array<[number, number]> = [];
  const groups: number[] = [];
  if (!q) return { blocks, groups };
  const direct = pair(q.weight_block_size);
  if (direct) blocks.push(direct);
  if (Number.isSafeInteger(q.group_size) && (q.group_size as number) > 0) groups.push(q.group_size as number);
  if (isObject(q.config_groups))
    for (const group of Object.values(q.config_groups)) {
      const w = isObject(group) ? group.weights : undefined;
      if (!isObject(w)) continue;
      const b = pair(w.block_structure);
      if (b) blocks.push(b);
      if (Number.isSafeInteger(w.group_size) && (w.group_size as number) > 0) groups.push(w.group_size as number);
    }
  return { blocks, groups };
}

/** One expert's stored matrix: [rows, cols] of a 2-D tensor, or of each slice of a 3-D one. */
function storedMatrix(shape: readonly number[]): { experts: number | null; rows: number; cols: number } {
  if (shape.length >= 3) return { experts: shape[0] as number, rows: shape[1] as number, cols: shape.slice(2).reduce((a, b) => a * b, 1) };
  if (shape.length === 2) return { experts: null, rows: shape[0] as number, cols: shape[1] as number };
  return { experts: null, rows: 1, cols: shape[0] ?? 1 };
}

/**
 * The block a scale tensor of `scaleShape` covers for codes of `shape`, and its label; a string
 * (the problem) when no block fits.
 */
export function fp8Block(shape: readonly number[], scaleShape: readonly number[], q: JsonObject | null): { block: [number, number]; label: string } | string {
  const { experts, rows, cols } = storedMatrix(shape);
  const lead = experts === null ? [] : [experts];
  const scale = squeeze(scaleShape);
  const fits = (grid: [number, number]) => same(scale, squeeze([...lead, ...grid]));
  const numel = scaleShape.reduce((a, b) => a * b, 1);
  // A square matrix's per-row and per-column scales squeeze alike: the literal shape decides ([n, 1] or
  // [n] per row, [1, n] per column).
  const tail = scaleShape.slice(lead.length);
  if (numel === (experts ?? 1) && fits([1, 1])) return { block: [rows, cols], label: 'FP8 per-tensor' };
  if (fits([rows, 1]) && (rows !== cols || same(tail, [rows, 1]) || same(tail, [rows]))) return { block: [1, cols], label: 'FP8 per-channel' };
  if (fits([1, cols]) && (rows !== cols || same(tail, [1, cols]))) return { block: [rows, 1], label: 'FP8 per-column' };
  const { blocks, groups } = configuredBlocks(q);
  for (const [br, bc] of [...blocks, [128, 128] as [number, number]])
    if (fits([ceilDiv(rows, br), ceilDiv(cols, bc)])) return { block: [br, bc], label: `FP8 block ${br}×${bc}` };
  for (const g of groups) if (fits([rows, ceilDiv(cols, g)])) return { block: [1, g], label: `FP8 group 1×${g}` };
  return `scale of shape [${scaleShape.join(', ')}] fits no block of codes [${shape.join(', ')}]` +
    (blocks.length ? ` with weight_block_size ${blocks.map((b) => `[${b.join(', ')}]`).join(' or ')}` : ' (128 × 128 assumed: set quantization_config.weight_block_size)');
}

/** Names a scale companion of FP8 weight `name` may have, in order. */
function fp8ScaleNames(name: string): string[] {
  const module = name.endsWith('.weight') ? name.slice(0, -'.weight'.length) : null;
  // For `<m>.weight`, `<name>_scale_inv` and `<m>.weight_scale_inv` are one name: list each once.
  return [...new Set([
    `${name}_scale_inv`, ...(module ? [`${module}.weight_scale_inv`] : []), `${name}_scale`,
    ...(module ? [`${module}.weight_scale`, `${module}.scale`, `${module}.qscale_weight`] : [`${name}.scale`]),
  ])];
}

/** MXFP4 pairs: [logical name, codes, scales] by the naming conventions of the module comment. */
function mxfp4Candidates(info: TensorInfo, byName: ReadonlyMap<string, TensorInfo>): { logical: string; scale: TensorInfo; shape: number[] } | null {
  const n = info.name;
  if (info.dtype !== 'U8' && info.dtype !== 'I8') return null;
  const options: Array<[string, string]> = [];
  if (n.endsWith('_blocks')) options.push([n.slice(0, -'_blocks'.length), n.slice(0, -'_blocks'.length) + '_scales']);
  if (n.endsWith('.blocks')) options.push([n.slice(0, -'.blocks'.length), n.slice(0, -'.blocks'.length) + '.scales']);
  if (n.endsWith('.weight_packed')) options.push([n.slice(0, -'_packed'.length), n.slice(0, -'_packed'.length) + '_scale']);
  if (n.endsWith('.weight')) options.push([n, n.slice(0, -'.weight'.length) + '.scale'], [n, n + '_scale']);
  for (const [logical, scaleName] of options) {
    const scale = byName.get(scaleName);
    if (!scale || (scale.dtype !== 'U8' && scale.dtype !== 'F8_E8M0')) continue;
    const s = info.shape;
    // gpt-oss: blocks [..., G, 16], scales [..., G]; packed rows: [..., R, C/2] with scales [..., R, C/32].
    if (s.length >= 3 && s[s.length - 1] === 16 && same(scale.shape, s.slice(0, -1)))
      return { logical, scale, shape: [...s.slice(0, -2), (s[s.length - 2] as number) * 32] };
    if (s.length >= 2 && scale.shape.length === s.length && same(scale.shape.slice(0, -1), s.slice(0, -1)) &&
        scale.shape[s.length - 1] === ceilDiv((s[s.length - 1] as number) * 2, 32))
      return { logical, scale, shape: [...s.slice(0, -1), (s[s.length - 1] as number) * 2] };
  }
  return null;
}

/** The quantized weights of a checkpoint's tensors (see the module comment). */
export function scanQuantization(tensors: readonly TensorInfo[], model: ModelConfig): QuantizationScan {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const layouts = new Map<string, QuantizedLayout>();
  const companions = new Map<string, string>();
  const problems: QuantizationScan['problems'] = [];
  const q = model.quantization;
  const unscaled: TensorInfo[] = [];
  for (const t of tensors) {
    if (companions.has(t.name)) continue;
    const mx = mxfp4Candidates(t, byName);
    if (mx) {
      layouts.set(mx.logical, {
        encoding: 'mxfp4', codes: t.name, scale: mx.scale.name, block: [1, 32], label: 'MXFP4', shape: mx.shape,
        codesDtype: t.dtype, scaleDtype: mx.scale.dtype, scaleShape: mx.scale.shape,
      });
      companions.set(mx.scale.name, `MXFP4 scales of ${mx.logical}`);
      continue;
    }
    if (!FP8.has(t.dtype) || t.shape.length < 2) continue;
    const scale = fp8ScaleNames(t.name).map((n) => byName.get(n)).find((s): s is TensorInfo => s !== undefined && FP8_SCALE_DTYPES.has(s.dtype));
    if (!scale) {
      unscaled.push(t);
      continue;
    }
    const fit = fp8Block(t.shape, scale.shape, q);
    companions.set(scale.name, `scale of ${t.name}`);
    if (typeof fit === 'string') {
      problems.push({ tensor: t.name, message: `${t.name} (${t.dtype} [${t.shape.join(', ')}]): ${fit}` });
      continue;
    }
    layouts.set(t.name, {
      encoding: 'scaled', codes: t.name, scale: scale.name, block: fit.block, label: fit.label, shape: t.shape,
      codesDtype: t.dtype, scaleDtype: scale.dtype, scaleShape: scale.shape,
    });
  }
  const quantized = layouts.size > 0 || QUANTIZED_METHODS.has(typeof q?.quant_method === 'string' ? q.quant_method.toLowerCase() : '');
  if (quantized) {
    for (const t of unscaled)
      problems.push({ tensor: t.name, message: `${t.name} is ${t.dtype} [${t.shape.join(', ')}] without a scale (looked for ${fp8ScaleNames(t.name).join(', ')}); its codes are not its values` });
    for (const t of tensors) if (!companions.has(t.name) && ACTIVATION_SCALE.test(t.name)) companions.set(t.name, 'activation / KV-cache scale');
  }
  return { layouts, companions, problems };
}

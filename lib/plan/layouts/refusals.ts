/**
 * Quantized layouts paramscope does not decode exactly, recognised from the config and from tensor-name
 * markers (docs/formats.md, "Refused"): GPTQ, AWQ, bitsandbytes 4/8-bit, HQQ, EETQ, packed-int and sparse
 * compressed-tensors, NVFP4, torchao, BitNet and the config-only methods. Such a checkpoint is refused
 * with UNSUPPORTED_QUANTIZATION listing what was found — its integer codes analysed as plain tensors
 * would give spectra of nothing.
 */
import type { TensorInfo } from '../../read/checkpoint';
import type { JsonObject, ModelConfig } from '../../read/config';

export interface Refusal {
  /** The method, in words ("GPTQ", "bitsandbytes 4-bit", …). */
  method: string;
  /** What was found: config keys and tensor markers, with counts and an example name each. */
  found: string[];
}

/** quant_method values refused from the config alone. */
const REFUSED_METHODS: Record<string, string> = {
  gptq: 'GPTQ', awq: 'AWQ', bitsandbytes: 'bitsandbytes', hqq: 'HQQ', eetq: 'EETQ', torchao: 'torchao', bitnet: 'BitNet',
  fp_quant: 'FP-Quant', quark: 'Quark', aqlm: 'AQLM', higgs: 'HIGGS', spqr: 'SpQR', vptq: 'VPTQ', 'auto-round': 'AutoRound',
  auto_round: 'AutoRound', exl2: 'EXL2', exl3: 'EXL3', quanto: 'optimum-quanto', 'optimum-quanto': 'optimum-quanto', gguf: 'GGUF', nvfp4: 'NVFP4',
};

/** compressed-tensors formats whose tensors are not one code per entry times a scale. */
const REFUSED_COMPRESSED_FORMATS = new Set(['pack-quantized', 'marlin-24', 'int-quantized', 'nvfp4-pack-quantized', 'mixed-precision']);

/** ModelOpt algorithms other than FP8 (FP8, FP8_PER_CHANNEL_PER_TOKEN and FP8_PB_WO are FP8 codes × scales). */
const ACCEPTED_MODELOPT = new Set(['fp8', 'fp8_per_channel_per_token', 'fp8_pb_wo']);

/** Tensor-name markers of refused layouts (suffix of the module name, or a pattern). */
const MARKERS: Array<[RegExp, string]> = [
  [/\.qweight$/, 'GPTQ/AWQ'], [/\.qzeros$/, 'GPTQ/AWQ'], [/\.g_idx$/, 'GPTQ'],
  [/\.(absmax|quant_map|nested_absmax|nested_quant_map)$/, 'bitsandbytes 4-bit'], [/\.quant_state\.bitsandbytes__(nf4|fp4)$/, 'bitsandbytes 4-bit'],
  [/\.SCB$/, 'bitsandbytes 8-bit'], [/\.weight_format$/, 'bitsandbytes 8-bit'],
  [/\.W_q$/, 'HQQ'], [/\.weight_scales$/, 'EETQ'],
  [/\.weight_shape$/, 'compressed-tensors pack-quantized'], [/\.weight_zero_point$/, 'compressed-tensors int (zero points)'],
  [/\.weight_g_idx$/, 'compressed-tensors (activation order)'],
  [/\.(weight_global_scale|weight_scale_2)$/, 'NVFP4'],
  [/\.(bitmask|row_offsets)$/, 'compressed-tensors sparse'],
  [/(\._weight_qdata|\._weight_scale|\.weight:qdata|\.weight:scale|:_data)$/, 'torchao'],
];

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const lower = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : '');

function configFindings(q: JsonObject | null, source: string | null, config: JsonObject | null): Refusal | null {
  const where = source ?? 'config.json';
  if (config && (config.load_in_4bit === true || config.load_in_8bit === true))
    return { method: 'bitsandbytes', found: [`${config.load_in_4bit === true ? 'load_in_4bit' : 'load_in_8bit'}: true (config.json)`] };
  if (!q) return null;
  const method = lower(q.quant_method);
  if (method === 'bitsandbytes' || q.load_in_4bit === true || q.load_in_8bit === true) {
    const bits = q.load_in_4bit === true ? '4-bit' : q.load_in_8bit === true ? '8-bit' : '';
    return { method: `bitsandbytes${bits ? ' ' + bits : ''}`, found: [`quant_method "${String(q.quant_method ?? 'bitsandbytes')}"${bits ? ` (load_in_${bits.replace('-bit', 'bit')})` : ''} (${where})`] };
  }
  if (REFUSED_METHODS[method]) {
    const details = ['bits', 'w_bit', 'group_size', 'q_group_size', 'quant_type', 'version', 'checkpoint_format']
      .filter((k) => q[k] !== undefined).map((k) => `${k} ${JSON.stringify(q[k])}`);
    return { method: REFUSED_METHODS[method] as string, found: [`quant_method "${method}"${details.length ? ', ' + details.join(', ') : ''} (${where})`] };
  }
  if (method === 'compressed-tensors') {
    const formats = new Set<string>();
    if (typeof q.format === 'string') formats.add(q.format);
    const weightTypes: string[] = [];
    if (isObject(q.config_groups))
      for (const group of Object.values(q.config_groups)) {
        if (!isObject(group)) continue;
        if (typeof group.format === 'string') formats.add(group.format);
        const w = group.weights;
        if (isObject(w) && (lower(w.type) === 'int' || (lower(w.type) === 'float' && Number(w.num_bits) === 4 && Number(w.group_size) === 16)))
          weightTypes.push(`${lower(w.type)}${String(w.num_bits ?? '')}${w.group_size ? ` group ${String(w.group_size)}` : ''}`);
      }
    const refused = [...formats].filter((f) => REFUSED_COMPRESSED_FORMATS.has(f));
    const sparsity = isObject(q.sparsity_config) && typeof q.sparsity_config.format === 'string' && q.sparsity_config.format !== 'dense' ? q.sparsity_config.format : null;
    if (refused.length || weightTypes.length || sparsity)
      return {
        method: `compressed-tensors ${[...refused, ...(sparsity ? [sparsity] : [])].join(', ') || weightTypes.join(', ')}`,
        found: [`quant_method "compressed-tensors", format ${[...formats].join(', ') || '(none)'}${weightTypes.length ? `, weights ${weightTypes.join(', ')}` : ''}${sparsity ? `, sparsity ${sparsity}` : ''} (${where})`],
      };
  }
  if (method === 'modelopt') {
    const algo = lower(q.quant_algo);
    if (algo && !ACCEPTED_MODELOPT.has(algo) && algo !== 'mixed_precision')
      return { method: `ModelOpt ${String(q.quant_algo)}`, found: [`quant_method "modelopt", quant_algo "${String(q.quant_algo)}" (${where})`] };
  }
  return null;
}

/**
 * The refused layout `tensors` and `model` show, or null. Tensor markers are checked whatever the config
 * says (a config can be missing or wrong; the headers are authoritative); the config alone also refuses.
 * Also refused: integer weights with a `weight_scale` (int8 compressed-tensors / W8A8) and torchao's
 * tensor-subclass metadata.
 */
export function findRefusal(tensors: readonly TensorInfo[], model: ModelConfig, metadata: Readonly<Record<string, string>>): Refusal | null {
  const byMethod = new Map<string, { count: number; example: string; marker: string }>();
  const note = (method: string, marker: string, name: string) => {
    const key = `${method}\u0000${marker}`;
    const seen = byMethod.get(key);
    if (seen) seen.count++;
    else byMethod.set(key, { count: 1, example: name, marker });
  };
  const names = new Set(tensors.map((t) => t.name));
  for (const t of tensors) {
    for (const [pattern, method] of MARKERS) {
      const m = pattern.exec(t.name);
      if (m) {
        note(method, `*${m[0]}`, t.name);
        break;
      }
    }
    if (/\.weight$/.test(t.name) && (t.dtype === 'I8' || t.dtype === 'I32' || t.dtype === 'U8') && t.shape.length >= 2) {
      const module = t.name.slice(0, -'.weight'.length);
      if (names.has(`${module}.weight_scale`) && !names.has(`${module}.weight_packed`) && t.dtype !== 'U8') note('integer codes with weight_scale (int8 / W8A8)', `*.weight ${t.dtype} + *.weight_scale`, t.name);
    }
    if (/\.weight_packed$/.test(t.name) && t.dtype === 'I32') note('compressed-tensors pack-quantized', '*.weight_packed I32', t.name);
  }
  if (metadata.tensor_names !== undefined && /"_type"/.test(Object.values(metadata).join(' ')))
    note('torchao', '__metadata__ with tensor_names and _type (tensor subclasses)', '(file metadata)');
  const fromConfig = configFindings(model.quantization, model.quantizationSource, model.config);
  if (byMethod.size === 0) return fromConfig;
  const methods = [...new Set([...byMethod.keys()].map((k) => k.split('\u0000')[0] as string))];
  const found = [...(fromConfig?.found ?? []), ...[...byMethod.values()].map((v) => `${v.count} tensor(s) ${v.marker} (e.g. ${v.example})`)];
  return { method: fromConfig?.method ?? methods.join(' / '), found };
}

/**
 * Fused mixture-of-experts tensors: all experts of one projection stacked in a 3-D tensor
 * (`…experts.gate_up_proj` [E, ·, ·], `…experts.down_proj`; gpt-oss `…experts.gate_up_proj_blocks`
 * decoded; the original gpt-oss `mlp1_weight` / `mlp2_weight`). Each expert is a matrix of its own:
 * reshaping [E, m, n] to E × (m·n) would give a meaningless spectrum.
 *
 * Orientation (docs/formats.md, "Fused experts"): transformers-v5 fused experts store each expert as
 * [out, in] ([E, 2I, H] / [E, H, I]); Llama-4, Qwen3-VL-MoE and gpt-oss in BF16 store [in, out]
 * ([E, H, 2I] / [E, I, H]); decoded MXFP4 blocks are [out, in]. The shapes decide when the hidden size
 * is known and the matrix is not square (gate_up [E, X, H] is [out, in], [E, H, Y] is [in, out]); else
 * the model family does. gate_up holds gate and up concatenated along out (gate first), except gpt-oss,
 * which interleaves them (gate = even rows of the [out, in] matrix, up = odd rows).
 */
import type { TensorInfo } from '../../read/checkpoint';
import { type ModelConfig, modelTypes, textConfigValue } from '../../read/config';

export type ExpertProjection = 'gate_up' | 'down' | 'up' | 'gate';

export interface FusedExperts {
  count: number;
  projection: ExpertProjection;
  /** How one expert's matrix is stored: 'out-in' ([E, out, in], nn.Linear) or 'in-out' ([E, in, out], bmm). */
  orientation: 'out-in' | 'in-out';
  /** gate_up only: gate and up concatenated (gate = first half of out) or interleaved (gate = even out rows). */
  gateUp: 'concat' | 'interleaved' | null;
  /** Why this orientation, in words (the shapes with the hidden size, or the model family). */
  reason: string;
}

/** What the checkpoint says about its model, for the fused-expert rules and the module classification. */
export interface ModelContext {
  family: 'gpt-oss' | 'llama4' | 'qwen3-vl-moe' | null;
  /** The language model's hidden size, when config.json or the embedding tells it. */
  hidden: number | null;
  /** An encoder–decoder speech model (Whisper, Qwen2-Audio style): `model.encoder.layers` are audio. */
  audioEncoder: boolean;
}

const FUSED_NAME = /(?:^|\.)(?:experts\.(gate_up_proj|down_proj|up_proj|gate_proj)|(mlp1_weight|mlp2_weight))(?:\.weight)?$/;

export function modelContext(tensors: readonly TensorInfo[], model: ModelConfig): ModelContext {
  const types = modelTypes(model.config);
  const names = tensors.map((t) => t.name);
  const has = (re: RegExp) => names.some((n) => re.test(n));
  let family: ModelContext['family'] = null;
  if (types.some((t) => t.startsWith('gpt_oss') || t.startsWith('gptoss')) || (has(/\.mlp\.router\.weight$/) && has(/experts\.gate_up_proj_bias$/)) || has(/mlp1_weight\.blocks$/))
    family = 'gpt-oss';
  else if (types.some((t) => t.startsWith('llama4')) || has(/feed_forward\.experts\.gate_up_proj$/)) family = 'llama4';
  else if (types.some((t) => t.startsWith('qwen3_vl_moe') || t.startsWith('qwen3vlmoe'))) family = 'qwen3-vl-moe';
  const configured = textConfigValue(model.config, 'hidden_size');
  let hidden = Number.isSafeInteger(configured) && (configured as number) > 0 ? (configured as number) : null;
  if (hidden === null) {
    const embeddings = tensors.filter((t) => /(^|\.)embed_tokens\.weight$/.test(t.name) && t.shape.length === 2);
    const language = embeddings.find((t) => /language_model|^model\.embed_tokens|^embed_tokens/.test(t.name)) ?? embeddings[0];
    if (language) hidden = language.shape[1] as number;
  }
  const audioEncoder = types.some((t) => t.includes('whisper') || t.includes('speech')) || (has(/^model\.encoder\.conv1\.weight$/) && has(/^model\.decoder\./));
  return { family, hidden, audioEncoder };
}

/** The fused-expert description of a logical tensor (3-D, a fused expert name), or null. */
export function fusedExperts(name: string, shape: readonly number[], mxfp4: boolean, context: ModelContext): FusedExperts | null {
  const m = FUSED_NAME.exec(name);
  if (!m || shape.length !== 3) return null;
  const projection: ExpertProjection = m[2] ? (m[2] === 'mlp1_weight' ? 'gate_up' : 'down') : (m[1]?.replace('_proj', '') as ExpertProjection);
  const [count, x, y] = shape as [number, number, number];
  const h = context.hidden;
  const gateUp: FusedExperts['gateUp'] = projection === 'gate_up' ? (context.family === 'gpt-oss' || mxfp4 || Boolean(m[2]) ? 'interleaved' : 'concat') : null;
  const base = { count, projection, gateUp };
  if (mxfp4 || m[2]) return { ...base, orientation: 'out-in', reason: 'MXFP4 blocks decode to [out, in] per expert' };
  if (h !== null && x !== y) {
    const outIn = projection === 'down' ? x === h && y !== h : y === h && x !== h;
    const inOut = projection === 'down' ? y === h && x !== h : x === h && y !== h;
    if (outIn || inOut)
      return { ...base, orientation: outIn ? 'out-in' : 'in-out', reason: `shape [${shape.join(', ')}] with hidden size ${h}` };
  }
  const inOut = context.family !== null;
  return { ...base, orientation: inOut ? 'in-out' : 'out-in', reason: inOut ? `${context.family} stores experts as [in, out]` : 'transformers-v5 fused experts are [out, in]' };
}

/** One expert's matrix as [out, in]: its rows and cols once an [in, out] layout is transposed. */
export function outInShape(shape: readonly number[], experts: FusedExperts): [number, number] {
  const [, x, y] = shape as [number, number, number];
  return experts.orientation === 'out-in' ? [x, y] : [y, x];
}

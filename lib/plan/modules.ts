/**
 * What a tensor name says about its place in a model: layer index, module type (q/k/v/o, gate/up/down,
 * embedding, lm_head, norms, …), component (language model, vision tower, projector, expert), so that
 * results can be aggregated per layer, per module type, per depth and per component.
 */

export type ModuleType =
  | 'q' | 'k' | 'v' | 'o' | 'qkv' | 'gate' | 'up' | 'down' | 'gate_up'
  | 'embedding' | 'lm_head' | 'norm' | 'router' | 'other';

export type Component = 'language' | 'vision' | 'projector' | 'audio' | 'other';

export interface ModuleInfo {
  /** Transformer block index, when the name has one (`layers.12.`, `h.3.`, `blocks.0.`). */
  layer: number | null;
  /** q/k/v/o, gate/up/down, … or `other`. */
  type: ModuleType;
  /** For `other`: the name with numbers replaced by `*` and the parameter suffix dropped, to group like with like. */
  group: string;
  component: Component;
  /** Mixture-of-experts expert index (`experts.7.`), when present. */
  expert: number | null;
}

// Ordered: the first pattern that matches the module's own name wins.
const TYPE_PATTERNS: Array<[RegExp, ModuleType]> = [
  [/(^|\.)(q_proj|query|wq|q_lin|to_q)$/, 'q'],
  [/(^|\.)(k_proj|key|wk|k_lin|to_k)$/, 'k'],
  [/(^|\.)(v_proj|value|wv|v_lin|to_v)$/, 'v'],
  [/(^|\.)(o_proj|out_proj|wo|out_lin|to_out(\.0)?|attention\.output\.dense|attn\.c_proj|self_attn\.dense|attention\.dense)$/, 'o'],
  [/(^|\.)(c_attn|qkv_proj|qkv|query_key_value|Wqkv|in_proj)$/, 'qkv'],
  [/(^|\.)(gate_up_proj)$/, 'gate_up'],
  [/(^|\.)(gate_proj|w1|wi_0)$/, 'gate'],
  [/(^|\.)(up_proj|w3|wi_1|c_fc|fc1|dense_h_to_4h|intermediate\.dense|wi)$/, 'up'],
  [/(^|\.)(down_proj|w2|wo_ffn|mlp\.c_proj|fc2|dense_4h_to_h|output\.dense)$/, 'down'],
  [/(^|\.)(embed_tokens|wte|word_embeddings|tok_embeddings|embeddings\.word_embeddings|embedding|embed)$/, 'embedding'],
  [/(^|\.)(lm_head|output|embed_out)$/, 'lm_head'],
  [/(norm|ln_\w+|ln\d*|layernorm|layer_norm|rms_norm)$/i, 'norm'],
  [/(^|\.)(router|gate)$/, 'router'],
];

const PARAMETER_SUFFIX = /\.(weight|bias|lora_[AB]\.weight|lora_[ab]|lora_(up|down)\.weight|scale)$/;

/** Classifies a tensor name; see {@link ModuleInfo}. */
export function classifyTensor(name: string): ModuleInfo {
  const module = name.replace(PARAMETER_SUFFIX, '');
  const layerMatch = /(?:^|\.)(?:layers|layer|h|blocks|block|decoder\.layers|encoder\.layers)\.(\d+)(?:\.|$)/.exec(module);
  const expertMatch = /(?:^|\.)experts\.(\d+)(?:\.|$)/.exec(module);
  let type: ModuleType = 'other';
  // Strip the path down to the part after the block index so "mlp.c_proj" and "attn.c_proj" stay distinguishable.
  const local = layerMatch ? module.slice((layerMatch.index ?? 0) + layerMatch[0].length) : module;
  for (const [pattern, t] of TYPE_PATTERNS) {
    if (pattern.test(local) || pattern.test(module)) {
      type = t;
      break;
    }
  }
  return {
    layer: layerMatch ? Number(layerMatch[1]) : null,
    type,
    group: type === 'other' ? module.replace(/\.\d+(?=\.|$)/g, '.*') : type,
    component: componentOf(name),
    expert: expertMatch ? Number(expertMatch[1]) : null,
  };
}

function componentOf(name: string): Component {
  if (/(vision_tower|vision_model|visual|image_encoder|vit\.)/.test(name)) return 'vision';
  if (/(multi_modal_projector|mm_projector|projector|connector)/.test(name)) return 'projector';
  if (/(audio_tower|audio_encoder|whisper)/.test(name)) return 'audio';
  if (/(language_model|model\.layers|transformer\.h|^layers\.|embed_tokens|lm_head|\.h\.\d+\.)/.test(name)) return 'language';
  return 'other';
}

/** Relative depth in [0, 1] of a layer among `layerCount` layers (0 first, 1 last). */
export function relativeDepth(layer: number, layerCount: number): number {
  return layerCount <= 1 ? 0 : layer / (layerCount - 1);
}

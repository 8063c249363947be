/**
 * What a tensor name says about its place in a model: layer index, module type (q/k/v/o, gate/up/down,
 * embedding, lm_head, norms, …), component (language model, vision tower, projector, audio encoder) and
 * mixture-of-experts role, so that results can be aggregated per layer, per module type, per depth and
 * per component. Layers are counted per component: a vision block 3 and a language block 3 are different
 * layers (aggregate/ keys them `vision/3`, `language/3` when a model has more than one component).
 *
 * Multimodal names follow docs/formats.md ("Multimodal naming"): both the legacy prefixes
 * (`language_model.model.layers.N`, `vision_tower.…`, `visual.blocks.N`) and transformers ≥ 4.52's
 * (`model.language_model.layers.N`, `model.vision_tower.…`, `model.visual.…`), LLaVA*, Gemma 3,
 * PaliGemma, Pixtral, Qwen2/2.5/3-VL, Idefics3/SmolVLM, mllama, Llama-4, InternVL, Phi-3.5-vision,
 * Phi-4-multimodal, Qwen2-Audio / Omni, Whisper (with `audioEncoder`), DeepSeek-V4.
 */

export type ModuleType =
  | 'q' | 'k' | 'v' | 'o' | 'qkv' | 'gate' | 'up' | 'down' | 'gate_up'
  | 'embedding' | 'lm_head' | 'norm' | 'router' | 'other';

export type Component = 'language' | 'vision' | 'projector' | 'audio' | 'other';

export const COMPONENTS: readonly Component[] = ['language', 'vision', 'projector', 'audio', 'other'];

export interface ModuleInfo {
  /** Block index within its component, when the name has one (`layers.12.`, `h.3.`, `blocks.0.`). */
  layer: number | null;
  /** q/k/v/o, gate/up/down, … or `other`. */
  type: ModuleType;
  /** For `other`: the name with numbers replaced by `*` and the parameter suffix dropped, to group like with like. */
  group: string;
  component: Component;
  /** Mixture-of-experts expert index (`experts.7.`, or `experts.gate_up_proj[7]` of a fused tensor), when present. */
  expert: number | null;
  /** Mixture-of-experts role: a routed expert, a shared expert, or the router; absent outside MoE blocks. */
  moe?: 'routed' | 'shared' | 'router';
}

/** What the checkpoint says beyond the name (plan/layouts/experts.ts: modelContext). */
export interface ClassifyContext {
  /** `model.encoder.layers` are an audio encoder (Whisper, speech encoder–decoders). */
  audioEncoder?: boolean;
}

// Ordered: the first pattern that matches the module's own name wins.
const TYPE_PATTERNS: Array<[RegExp, ModuleType]> = [
  [/(^|\.)(q_proj|query|wq|q_lin|to_q)$/, 'q'],
  [/(^|\.)(k_proj|key|wk|k_lin|to_k)$/, 'k'],
  [/(^|\.)(v_proj|value|wv|v_lin|to_v)$/, 'v'],
  [/(^|\.)(o_proj|out_proj|wo|out_lin|to_out(\.0)?|attention\.output\.dense|attn\.c_proj|self_attn\.dense|attention\.dense|attn\.proj)$/, 'o'],
  [/(^|\.)(c_attn|qkv_proj|qkv|query_key_value|Wqkv|in_proj)$/, 'qkv'],
  [/(^|\.)(gate_up_proj|mlp1_weight|w13)$/, 'gate_up'],
  [/(^|\.)(gate_proj|w1|wi_0)$/, 'gate'],
  [/(^|\.)(up_proj|w3|wi_1|c_fc|fc1|linear_fc1|dense_h_to_4h|intermediate\.dense|wi)$/, 'up'],
  [/(^|\.)(down_proj|w2|wo_ffn|mlp\.c_proj|fc2|linear_fc2|dense_4h_to_h|output\.dense|mlp2_weight)$/, 'down'],
  [/(^|\.)(embed_tokens|wte|word_embeddings|tok_embeddings|embeddings\.word_embeddings|embedding|embed)$/, 'embedding'],
  [/(^|\.)(lm_head|output|embed_out)$/, 'lm_head'],
  [/(norm|ln_\w+|ln\d*|layernorm|layer_norm|rms_norm)$/i, 'norm'],
  [/(^|\.)(router|gate)$/, 'router'],
];

const PARAMETER_SUFFIX = /\.(weight|bias|lora_[AB]\.weight|lora_[ab]|lora_(up|down)\.weight|scale)$/;
/** A fused expert slice: `…experts.gate_up_proj[3]` (plan/layouts). */
const SLICE = /\[(\d+)\]$/;

/**
 * Component rules, most specific first: [pattern, component, whether group 1 is the layer index]. A
 * pattern may match anywhere after a wrapper prefix (`model.`, `thinker.`, `base_model.model.`, …).
 */
const COMPONENT_RULES: Array<[RegExp, Component, boolean]> = [
  [/(?:^|\.)vision_tower\.vision_model\.encoder\.layers\.(\d+)\./, 'vision', true],
  [/(?:^|\.)vision_tower\.transformer\.layers\.(\d+)\./, 'vision', true],
  [/(?:^|\.)vision_tower\.encoder\.layers?\.(\d+)\./, 'vision', true],
  [/(?:^|\.)vision_tower\./, 'vision', false],
  [/(?:^|\.)visual\.blocks\.(\d+)\./, 'vision', true],
  [/(?:^|\.)visual\.(?:merger|deepstack_merger_list)\./, 'projector', false],
  [/(?:^|\.)visual\./, 'vision', false],
  [/(?:^|\.)vision_model\.vision_adapter\./, 'projector', false],
  [/(?:^|\.)vision_model\.(?:encoder|transformer|global_transformer|model)\.layers\.(\d+)\./, 'vision', true],
  [/(?:^|\.)vision_embed_tokens\.(?:img_projection|glb_GN|sub_GN)/, 'projector', false],
  [/(?:^|\.)embed_tokens_extend\.image_embed\.img_processor\.encoder\.layers\.(\d+)\./, 'vision', true],
  [/(?:^|\.)embed_tokens_extend\.image_embed\.img_projection/, 'projector', false],
  [/(?:^|\.)embed_tokens_extend\.image_embed\./, 'vision', false],
  [/(?:^|\.)embed_tokens_extend\.audio_embed\.audio_projection/, 'projector', false],
  [/(?:^|\.)embed_tokens_extend\.audio_embed\.encoder\.(?:encoders|layers)\.(\d+)\./, 'audio', true],
  [/(?:^|\.)embed_tokens_extend\.audio_embed\./, 'audio', false],
  [/(?:^|\.)(?:vision_model|vision_embed_tokens|image_encoder|vision_encoder|vit)\./, 'vision', false],
  [/^vision\.blocks\.(\d+)\./, 'vision', true],
  [/(?:^|\.)(?:multi_modal_projector|mm_projector|mm_input_projection(?:_weight)?|mm_soft_emb_norm|image_newline|connector|modality_projection)(?:\.|$)/, 'projector', false],
  [/^(?:model\.)?mlp1\.\d+\./, 'projector', false],
  [/(?:^|\.)audio_tower\.layers\.(\d+)\./, 'audio', true],
  [/(?:^|\.)(?:audio_tower|audio_encoder|audio_model|whisper)\./, 'audio', false],
  [/^(?:talker|token2wav|code2wav)\./, 'other', false],
  [/^mtp\.(\d+)\./, 'other', true],
];

const LAYER = /(?:^|\.)(?:layers|layer|h|blocks|block|decoder\.layers|encoder\.layers)\.(\d+)(?:\.|$)/;
const LANGUAGE = /(language_model|text_model|model\.layers|transformer\.h|^layers\.|embed_tokens|lm_head|\.h\.\d+\.)/;

/** Classifies a tensor name; see {@link ModuleInfo}. */
export function classifyTensor(name: string, context: ClassifyContext = {}): ModuleInfo {
  const slice = SLICE.exec(name);
  const module = name.replace(SLICE, '').replace(PARAMETER_SUFFIX, '');
  const generic = LAYER.exec(module);
  let component: Component | null = null;
  let layer: number | null = generic ? Number(generic[1]) : null;
  for (const [pattern, c, indexed] of COMPONENT_RULES) {
    const m = pattern.exec(name);
    if (!m) continue;
    component = c;
    layer = indexed ? Number(m[1]) : generic && c !== 'projector' ? Number(generic[1]) : null;
    break;
  }
  if (component === null && context.audioEncoder && /^(?:model\.)?encoder\./.test(name)) component = 'audio';
  if (component === null) component = LANGUAGE.test(name) || layer !== null ? 'language' : 'other';

  const expertMatch = /(?:^|\.)experts\.(\d+)(?:\.|$)/.exec(module);
  const expert = expertMatch ? Number(expertMatch[1]) : slice && /(?:^|\.)experts\.|mlp[12]_weight/.test(module) ? Number(slice[1]) : null;
  let type: ModuleType = 'other';
  // Strip the path down to the part after the block index so "mlp.c_proj" and "attn.c_proj" stay distinguishable.
  const local = generic ? module.slice((generic.index ?? 0) + generic[0].length) : module;
  for (const [pattern, t] of TYPE_PATTERNS) {
    if (pattern.test(local) || pattern.test(module)) {
      type = t;
      break;
    }
  }
  const info: ModuleInfo = {
    layer,
    type,
    group: type === 'other' ? module.replace(/\.\d+(?=\.|$)/g, '.*') : type,
    component,
    expert,
  };
  const moe = expert !== null ? 'routed' : /(?:^|\.)shared_experts?\./.test(module) ? 'shared' : type === 'router' ? 'router' : undefined;
  if (moe) info.moe = moe;
  return info;
}

/** Relative depth in [0, 1] of a layer among `layerCount` layers (0 first, 1 last). */
export function relativeDepth(layer: number, layerCount: number): number {
  return layerCount <= 1 ? 0 : layer / (layerCount - 1);
}

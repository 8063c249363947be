/** What an opened LoRA adapter is: its modules (ΔW = scale · B · A each), its other tensors, its notes. */
import type { Dtype } from '../../read/dtypes';

export type LoraLayout = 'peft' | 'mlx' | 'kohya' | 'diffusers' | 'cloneofsimo';

export interface LoraModule {
  /**
   * The base weight the update is added to: PEFT `base_model.model.<m>` → `<m>.weight`; MLX `<m>` →
   * `<m>.weight`; old diffusers `<m>.processor.to_q_lora` → `<m>.to_q.weight` (`to_out` → `to_out.0`).
   * kohya (`lora_unet_…`, dots written as `_`) and cloneofsimo (`text_encoder:3`, an index into the
   * patched modules) cannot be mapped without the model: their `name` is the `key`.
   */
  name: string;
  /** The module as the adapter writes it, without the factor suffix (`base_model.model.…q_proj`, `text_encoder:0`). */
  key: string;
  layout: LoraLayout;
  /** ΔW is rows × cols: the shape of the stored base weight (for GPT-2's Conv1D with fan_in_fan_out, in × out). */
  rows: number;
  cols: number;
  rank: number;
  scale: number;
  /** Where the scale came from, e.g. `lora_alpha/r = 16/8`. */
  scaleSource: string;
  /** True when the stored weight is (in × out) so ΔW = s·(B_layer·A_layer)ᵀ (PEFT fan_in_fan_out, PEFT embeddings). */
  transposed: boolean;
  /** The adapter tensors this module uses. */
  tensors: string[];
  /** rows × rank, row-major. */
  b: Float32Array;
  /** rank × cols, row-major. */
  a: Float32Array;
}

/** Why a tensor of the adapter is not part of a factor pair. */
export type FullTensorKind = 'modules_to_save' | 'token_embedding' | 'lora_bias' | 'magnitude' | 'unsupported' | 'other';

/** A tensor of the adapter that is not a LoRA factor: listed, never dropped. */
export interface FullTensor {
  /** Its name in the adapter file. */
  tensor: string;
  /** The base tensor it replaces or belongs to, where that can be told (PEFT prefix removed). */
  name: string;
  kind: FullTensorKind;
  dtype: Dtype;
  shape: readonly number[];
  note: string;
}

export interface Adapter {
  /** The .safetensors file read. */
  path: string;
  /** adapter_config.json, when one was found or given. */
  configPath: string | null;
  config: Readonly<Record<string, unknown>> | null;
  /** The layout of most modules (one adapter normally has one). */
  layout: LoraLayout;
  /** `base_model_name_or_path` (PEFT) or `model` (MLX) from the config, when present. */
  baseModel: string | null;
  modules: LoraModule[];
  fullTensors: FullTensor[];
  /** True when ΔW is not s·B·A alone (DoRA, PiSSA/OLoRA/CorDA/LoftQ initialisations): the true update needs the base. */
  needsBase: boolean;
  /** Report lines: what was detected and assumed (base dependence, defaults used, rank disagreements). */
  notes: string[];
}

export interface OpenAdapterOptions {
  /** Use this scale for every module instead of the layout's; the config is then not required. */
  scale?: number;
  /** PEFT without a config: whether the base weights are stored (in × out) (GPT-2 Conv1D). Default: the config's value, else false. */
  fanInFanOut?: boolean;
  /** adapter_config.json to use instead of the one beside the weights. */
  config?: string;
}

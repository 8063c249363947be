/**
 * The adapter's tensors that are not LoRA factors (modules_to_save, DoRA magnitudes, LoRA biases, token
 * embeddings, LyCORIS factors), listed, never dropped; and the reasons why s·B·A is not the whole update
 * (DoRA, initialisations that rewrite the base).
 */
import type { TensorInfo } from '../../read/checkpoint';
import { PEFT_PREFIX, stripPeftPrefix } from './factors';
import type { FullTensor } from './types';

/** A PEFT `modules_to_save` entry covers a tensor when it names one of the modules on its path. */
function inModulesToSave(modulePath: string, config: Record<string, unknown> | null): boolean {
  const names = config?.modules_to_save;
  if (!Array.isArray(names)) return false;
  return names.some((n) => typeof n === 'string' && `.${modulePath}.`.includes(`.${n}.`));
}

/** DoRA magnitudes: PEFT `lora_magnitude_vector`, kohya `dora_scale`, MLX `<m>.m` beside that module's lora_a / lora_b. */
function isMagnitudeVector(name: string, mlxModuleKeys: ReadonlySet<string>): boolean {
  if (/\.lora_magnitude_vector(\.[^.]+)?(\.weight)?$/.test(name) || /\.dora_scale$/.test(name)) return true;
  return name.endsWith('.m') && mlxModuleKeys.has(name.slice(0, -2));
}

interface FullTensorContext {
  metadata: Readonly<Record<string, string>>;
  config: Record<string, unknown> | null;
  mlxModuleKeys: ReadonlySet<string>;
}

export function describeFullTensor(info: TensorInfo, { metadata, config, mlxModuleKeys }: FullTensorContext): FullTensor {
  const base = { tensor: info.name, dtype: info.dtype, shape: info.shape };
  // PEFT saves modules_to_save as `<m>.modules_to_save.<adapter>.<param>` in some versions and `<m>.<param>` in others.
  const name = stripPeftPrefix(info.name).replace(/\.modules_to_save\.[^.]+\./, '.');
  if (isMagnitudeVector(info.name, mlxModuleKeys))
    return { ...base, name, kind: 'magnitude', note: 'DoRA magnitude vector: the update depends on the base weights' };
  if (/\.lora_B(\.[^.]+)?\.bias$/.test(info.name))
    return { ...base, name: name.replace(/\.lora_B(\.[^.]+)?\.bias$/, '.bias'), kind: 'lora_bias', note: 'bias update of the LoRA B factor (lora_bias=True)' };
  if (/^<[^>]+>$/.test(info.name) || metadata[info.name] === '<embed>')
    return { ...base, name, kind: 'token_embedding', note: 'learned token embedding (textual inversion), not a weight update' };
  if (/\.(hada_|lokr_)/.test(info.name))
    return { ...base, name, kind: 'unsupported', note: 'LyCORIS (LoHa / LoKr) factor: not a LoRA pair, not analysed' };
  if (info.name.startsWith(PEFT_PREFIX) && inModulesToSave(stripPeftPrefix(info.name), config))
    return { ...base, name, kind: 'modules_to_save', note: 'full weight trained in place (modules_to_save): a replacement, not a delta; compare it with the base to get ΔW' };
  return { ...base, name, kind: 'other', note: 'not a LoRA factor' };
}

const BASE_CHANGING_INITS: Array<[RegExp, string]> = [
  [/^pissa/i, 'PiSSA'],
  [/^olora$/i, 'OLoRA'],
  [/^corda$/i, 'CorDA'],
  [/^loftq$/i, 'LoftQ'],
];

/** Reasons why s·B·A is not the whole update (DoRA, initialisations that rewrite the base). */
export function detectBaseDependence(config: Record<string, unknown> | null, fullTensors: readonly FullTensor[]): string[] {
  const reasons: string[] = [];
  const magnitudes = fullTensors.filter((t) => t.kind === 'magnitude').length;
  if (config?.use_dora === true || config?.fine_tune_type === 'dora' || magnitudes > 0)
    reasons.push(`DoRA${config?.use_dora === true ? ' (use_dora)' : ''}${magnitudes ? `, ${magnitudes} magnitude vectors` : ''}: ` +
      'W′ = m ⊙ (W + s·B·A) / ‖W + s·B·A‖ per output, so the update depends on the base weights');
  const init = config?.init_lora_weights;
  if (typeof init === 'string') {
    const known = BASE_CHANGING_INITS.find(([pattern]) => pattern.test(init));
    if (known)
      reasons.push(`${known[1]} initialisation (init_lora_weights="${init}"): the base weights were modified at initialisation (W_base − s·B₀·A₀), so the true update is s·(B·A − B₀·A₀) and needs the base`);
  }
  const loftq = config?.loftq_config;
  if (typeof loftq === 'object' && loftq !== null && Object.keys(loftq).length > 0 && !reasons.some((r) => r.startsWith('LoftQ')))
    reasons.push('LoftQ (loftq_config): the base weights were quantised and corrected at initialisation, so the true update needs the base');
  return reasons;
}

/**
 * Recognising LoRA factors by name in every layout (PEFT, MLX, kohya, diffusers, cloneofsimo) and grouping
 * them by module: the down (A) and up (B) factor, and kohya's scalar alpha.
 */
import type { TensorInfo } from '../../read/checkpoint';
import { ParamscopeError } from '../../errors';
import type { LoraLayout } from './types';

/** PEFT writes every module under this prefix; the base weight's name is the rest. */
export const PEFT_PREFIX = 'base_model.model.';

export function stripPeftPrefix(key: string): string {
  return key.startsWith(PEFT_PREFIX) ? key.slice(PEFT_PREFIX.length) : key;
}

type FactorRole = 'down' | 'up';

/** The tensors of one adapted module. `down` is A (r × in), `up` is B (out × r), in the layout's storage. */
export interface ModuleParts {
  layout: LoraLayout;
  key: string;
  /** PEFT `lora_embedding_A/B`: an embedding, whose stored weight is (num_embeddings × dim). */
  embedding: boolean;
  down?: TensorInfo;
  up?: TensorInfo;
  /** kohya's scalar `.alpha`. */
  alpha?: TensorInfo;
}

interface FactorMatch {
  layout: LoraLayout;
  key: string;
  role: FactorRole;
  embedding?: boolean;
}

/** Factor name patterns, first match wins. */
const FACTOR_PATTERNS: Array<{ layout: LoraLayout; pattern: RegExp; role: (m: RegExpExecArray) => FactorRole; embedding?: boolean }> = [
  // PEFT; the adapter name ('.default') is usually removed on save but kept by some tools.
  { layout: 'peft', pattern: /^(.+)\.lora_([AB])(?:\.[^.]+)?\.weight$/, role: (m) => (m[2] === 'A' ? 'down' : 'up') },
  { layout: 'peft', pattern: /^(.+)\.lora_embedding_([AB])(?:\.[^.]+)?$/, role: (m) => (m[2] === 'A' ? 'down' : 'up'), embedding: true },
  { layout: 'mlx', pattern: /^(.+)\.lora_([ab])$/, role: (m) => (m[2] === 'a' ? 'down' : 'up') },
  { layout: 'kohya', pattern: /^(.+)\.lora_(down|up)\.weight$/, role: (m) => m[2] as FactorRole },
  // Old diffusers attention processors (`to_q_lora.down.weight`) and LoRACompatibleLinear (`to_q.lora.down.weight`).
  { layout: 'diffusers', pattern: /^(.+?)[._]lora\.(down|up)\.weight$/, role: (m) => m[2] as FactorRole },
  { layout: 'cloneofsimo', pattern: /^(.+:\d+):(down|up)$/, role: (m) => m[2] as FactorRole },
];

function matchFactor(name: string): FactorMatch | null {
  for (const { layout, pattern, role, embedding } of FACTOR_PATTERNS) {
    const m = pattern.exec(name);
    if (m) return { layout, key: m[1] as string, role: role(m), ...(embedding ? { embedding } : {}) };
  }
  return null;
}

/** Pairs the factors by module; everything else (alpha scalars of no module included) is a leftover. */
export function groupAdapterTensors(tensors: readonly TensorInfo[]): { modules: ModuleParts[]; leftovers: TensorInfo[] } {
  const byKey = new Map<string, ModuleParts>();
  const leftovers: TensorInfo[] = [];
  for (const info of tensors) {
    const match = matchFactor(info.name);
    if (!match) {
      leftovers.push(info);
      continue;
    }
    const id = `${match.layout}\u0000${match.key}`;
    const parts = byKey.get(id) ?? { layout: match.layout, key: match.key, embedding: Boolean(match.embedding) };
    if (parts[match.role])
      throw new ParamscopeError(`two ${match.role} factors for module ${match.key}: ${parts[match.role]?.name} and ${info.name}`, { code: 'ADAPTER_INVALID', tensor: info.name });
    parts[match.role] = info;
    byKey.set(id, parts);
  }
  // kohya's per-module scalar alpha belongs to its module, not to the leftovers.
  const kohyaKeys = new Map([...byKey.values()].filter((p) => p.layout === 'kohya').map((p) => [`${p.key}.alpha`, p]));
  const remaining = leftovers.filter((info) => {
    const owner = kohyaKeys.get(info.name);
    if (owner && info.numel === 1) owner.alpha = info;
    return !(owner && info.numel === 1);
  });
  const modules = [...byKey.values()];
  for (const parts of modules) {
    if (!parts.down || !parts.up) {
      const present = (parts.down ?? parts.up) as TensorInfo;
      throw new ParamscopeError(`LoRA factor ${present.name} has no ${parts.down ? 'up (B)' : 'down (A)'} partner: the adapter is incomplete`, { code: 'ADAPTER_INVALID', tensor: present.name });
    }
  }
  return { modules, leftovers: remaining };
}

/**
 * The scale s of each module's ΔW = s·B·A, as its layout prescribes: PEFT lora_alpha/r (rsLoRA alpha/√r,
 * rank_pattern / alpha_pattern per module), MLX lora_parameters.scale, kohya alpha/r, 1 for diffusers and
 * cloneofsimo; options.scale overrides them all.
 */
import * as path from 'node:path';
import type { Checkpoint } from '../../read/checkpoint';
import { ParamscopeError } from '../../errors';
import { type ModuleParts, stripPeftPrefix } from './factors';
import { checkedScale, type PeftPatterns } from './config-values';
import { CONFIG_FILE } from './files';
import { PeftPatternTable } from './patterns';
import type { OpenAdapterOptions } from './types';

/** What building an adapter's modules needs: its config (and where it came from), the options, and the notes collected on the way. */
export interface ScaleContext {
  config: Record<string, unknown> | null;
  configPath: string | null;
  weights: string;
  options: OpenAdapterOptions;
  /** Notes collected while building modules (defaults assumed, rank disagreements). */
  notes: string[];
  /** The config's rank_pattern / alpha_pattern, compiled and checked (config-values.ts); absent without a config. */
  patterns?: PeftPatterns;
}

/** PEFT and MLX keep the scale in adapter_config.json: without it (and without options.scale) the ΔW is unknown. */
export function requireConfigWhereNeeded(modules: readonly ModuleParts[], context: ScaleContext): void {
  if (context.config || context.options.scale !== undefined) return;
  const needing = modules.find((m) => m.layout === 'peft' || m.layout === 'mlx');
  if (!needing) return;
  const missing = path.join(path.dirname(context.weights), CONFIG_FILE);
  const what = needing.layout === 'peft' ? 'lora_alpha and r (scale lora_alpha/r) and fan_in_fan_out' : 'lora_parameters.scale';
  throw new ParamscopeError(
    `${missing} is missing: ${needing.layout === 'peft' ? 'PEFT' : 'MLX'} adapters keep ${what} there, so the update ΔW = s·B·A of ` +
      `${path.basename(context.weights)} cannot be scaled. Put the adapter's adapter_config.json beside it, name it with ` +
      `options.config (--config), or give the scale explicitly with options.scale (--scale).`,
    { code: 'ADAPTER_CONFIG_MISSING', file: missing },
  );
}

/** AdaLoRA, LoHa, VeRA … reuse PEFT's file layout but not ΔW = s·B·A (AdaLoRA adds a λ vector between B and A). */
export function rejectNonLoraPeftTypes(modules: readonly ModuleParts[], context: ScaleContext): void {
  const peftType = context.config?.peft_type;
  if (peftType === undefined || peftType === 'LORA' || !modules.some((m) => m.layout === 'peft')) return;
  throw new ParamscopeError(`adapter config ${context.configPath} has peft_type ${JSON.stringify(peftType)}: only plain LoRA ("LORA") is supported, its update is not s·B·A`, {
    code: 'ADAPTER_INVALID',
    file: context.configPath ?? context.weights,
  });
}

/**
 * PEFT's `get_pattern_key`: the value of the first key of a rank_pattern / alpha_pattern that matches
 * the module path as a regex suffix, `^(.*\.)?(<key>)$` (matched in linear time: patterns.ts).
 */
export function peftPatternValue(pattern: unknown, modulePath: string): unknown {
  return new PeftPatternTable(pattern, 'pattern', 'adapter config').lookup(modulePath)?.value;
}

function peftConfigValue(config: Record<string, unknown>, field: 'r' | 'lora_alpha', fallback: number, context: ScaleContext): number {
  const value = config[field];
  if (value === undefined) {
    const note = `adapter config has no ${field}: PEFT's default ${field} = ${fallback} is assumed`;
    if (!context.notes.includes(note)) context.notes.push(note);
    return fallback;
  }
  return value as number; // checked by checkAdapterConfig
}

/** s = lora_alpha / r, or lora_alpha / √r with use_rslora; rank_pattern and alpha_pattern override r and lora_alpha per module. */
function peftScale(parts: ModuleParts, tensorRank: number, context: ScaleContext): { scale: number; source: string } {
  const config = context.config as Record<string, unknown>;
  const modulePath = stripPeftPrefix(parts.key);
  const r = (context.patterns?.rank.lookup(modulePath)?.value as number | undefined) ?? peftConfigValue(config, 'r', 8, context);
  const alpha = (context.patterns?.alpha.lookup(modulePath)?.value as number | undefined) ?? peftConfigValue(config, 'lora_alpha', 8, context);
  if (r !== tensorRank)
    context.notes.push(`${parts.key}: the config gives rank ${r} but the factors have rank ${tensorRank}; the scale uses the config's ${r}, as PEFT would`);
  if (config.use_rslora === true) return { scale: alpha / Math.sqrt(r), source: `lora_alpha/√r = ${alpha}/√${r} (use_rslora)` };
  return { scale: alpha / r, source: `lora_alpha/r = ${alpha}/${r}` };
}

function mlxScale(context: ScaleContext): { scale: number; source: string } {
  const parameters = context.config?.lora_parameters as Record<string, unknown> | undefined;
  const scale = parameters?.scale;
  if (typeof scale !== 'number' || !Number.isFinite(scale))
    throw new ParamscopeError(`adapter config ${context.configPath} has no numeric lora_parameters.scale, which MLX adapters need; pass options.scale (--scale)`, { code: 'ADAPTER_INVALID', file: context.configPath ?? context.weights });
  return { scale, source: 'lora_parameters.scale' };
}

/**
 * kohya: s = alpha / r from the module's scalar `.alpha`; sd-scripts treats a missing (or zero) alpha as
 * alpha = r. A NaN or infinite alpha is refused: it would make every value of ΔW NaN or infinite.
 */
async function kohyaScale(checkpoint: Checkpoint, parts: ModuleParts, rank: number): Promise<{ scale: number; source: string }> {
  if (!parts.alpha) return { scale: 1, source: 'no .alpha tensor: alpha = r' };
  const alpha = (await checkpoint.read(parts.alpha.name)).data[0] as number;
  if (!Number.isFinite(alpha))
    throw new ParamscopeError(`kohya alpha ${parts.alpha.name} in ${checkpoint.path} is ${alpha}, not a finite number`, { code: 'ADAPTER_INVALID', file: checkpoint.path, tensor: parts.alpha.name });
  if (!alpha) return { scale: 1, source: '.alpha = 0: alpha = r' };
  return { scale: alpha / rank, source: `alpha/r = ${alpha}/${rank}` };
}

export async function moduleScale(checkpoint: Checkpoint, parts: ModuleParts, rank: number, context: ScaleContext): Promise<{ scale: number; source: string }> {
  const result = await layoutScale(checkpoint, parts, rank, context);
  checkedScale(result.scale, result.source, `module ${parts.key} of ${context.weights}`, context.configPath ?? context.weights, parts.up?.name);
  return result;
}

async function layoutScale(checkpoint: Checkpoint, parts: ModuleParts, rank: number, context: ScaleContext): Promise<{ scale: number; source: string }> {
  if (context.options.scale !== undefined) return { scale: context.options.scale, source: 'options.scale' };
  switch (parts.layout) {
    case 'peft': return peftScale(parts, rank, context);
    case 'mlx': return mlxScale(context);
    case 'kohya': return kohyaScale(checkpoint, parts, rank);
    case 'diffusers': return { scale: 1, source: 'diffusers LoRA: 1 (network_alpha not stored)' };
    case 'cloneofsimo': return { scale: 1, source: 'cloneofsimo LoRA: 1 (the user picks the scale when applying it)' };
  }
}

/**
 * The values of an adapter config, checked once when the adapter is opened, before any scale is
 * computed from them: a rank of 0, 4.5 or "8", an alpha of NaN, a `fan_in_fan_out` of "yes" would each
 * give a wrong ΔW (or an infinite scale) reported as a result. Every failure is ADAPTER_INVALID naming
 * the file, the key and the value.
 */
import { ParamscopeError } from '../../errors';
import { PeftPatternTable } from './patterns';

/** A config value as a message shows it: JSON, cut to about 40 characters; NaN and ±Infinity by name. */
export function shownValue(value: unknown): string {
  if (typeof value === 'number') return String(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

function invalid(file: string, key: string, expected: string, value: unknown): never {
  throw new ParamscopeError(`adapter config ${file}: ${key} must be ${expected}, got ${shownValue(value)}`, { code: 'ADAPTER_INVALID', file });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const positiveInteger = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
const finiteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The per-module patterns of a PEFT config, compiled (patterns.ts), their values checked. */
export interface PeftPatterns {
  rank: PeftPatternTable;
  alpha: PeftPatternTable;
}

/**
 * Checks the settings paramscope reads from `config` (at `file`) and compiles the PEFT patterns:
 * - PEFT: `r` and the values of `rank_pattern` positive integers; `lora_alpha` and the values of
 *   `alpha_pattern` finite numbers; `fan_in_fan_out`, `use_rslora`, `use_dora` booleans (null or absent:
 *   PEFT's default, false); `peft_type` a string;
 * - MLX: `lora_parameters` an object, its `scale` a finite number and its `rank` a positive integer
 *   when present.
 */
export function checkAdapterConfig(config: Record<string, unknown>, file: string): PeftPatterns {
  if (config.r !== undefined && !positiveInteger(config.r)) invalid(file, 'r', 'a positive integer', config.r);
  if (config.lora_alpha !== undefined && !finiteNumber(config.lora_alpha)) invalid(file, 'lora_alpha', 'a finite number', config.lora_alpha);
  for (const key of ['fan_in_fan_out', 'use_rslora', 'use_dora'])
    if (config[key] !== undefined && config[key] !== null && typeof config[key] !== 'boolean') invalid(file, key, 'true or false', config[key]);
  if (config.peft_type !== undefined && typeof config.peft_type !== 'string') invalid(file, 'peft_type', 'a string', config.peft_type);
  const rank = new PeftPatternTable(config.rank_pattern, 'rank_pattern', file);
  for (const { key, value } of rank.entries) if (!positiveInteger(value)) invalid(file, `rank_pattern[${shownValue(key)}]`, 'a positive integer', value);
  const alpha = new PeftPatternTable(config.alpha_pattern, 'alpha_pattern', file);
  for (const { key, value } of alpha.entries) if (!finiteNumber(value)) invalid(file, `alpha_pattern[${shownValue(key)}]`, 'a finite number', value);
  const mlx = config.lora_parameters;
  if (mlx !== undefined) {
    if (!isObject(mlx)) invalid(file, 'lora_parameters', 'an object', mlx);
    if (mlx.scale !== undefined && !finiteNumber(mlx.scale)) invalid(file, 'lora_parameters.scale', 'a finite number', mlx.scale);
    if (mlx.rank !== undefined && !positiveInteger(mlx.rank)) invalid(file, 'lora_parameters.rank', 'a positive integer', mlx.rank);
  }
  return { rank, alpha };
}

/** A scale computed from checked values can still overflow (alpha 1e308 / r): refuse it rather than report Infinity. */
export function checkedScale(scale: number, source: string, where: string, file: string, tensor?: string): number {
  if (!Number.isFinite(scale))
    throw new ParamscopeError(`${where}: the scale ${source} is ${scale}, not a finite number`, { code: 'ADAPTER_INVALID', file, ...(tensor ? { tensor } : {}) });
  return scale;
}

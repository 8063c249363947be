/**
 * The small JSON files beside a checkpoint that say how its tensors are laid out: `config.json` (model
 * type, hidden size, `quantization_config`), ModelOpt's `hf_quant_config.json` and the legacy GPTQ/AWQ
 * `quantize_config.json`. Read once per checkpoint, synchronously (they are a few kilobytes); a missing or
 * unparsable file is simply absent: the tensor headers stay authoritative (docs/formats.md).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Checkpoint } from './checkpoint';

export type JsonObject = Readonly<Record<string, unknown>>;

export interface ModelConfig {
  /** The directory the files were looked for in. */
  directory: string;
  /** config.json, or null. */
  config: JsonObject | null;
  /**
   * The quantization settings, from the first of: config.json's `quantization_config`,
   * hf_quant_config.json's `quantization` (ModelOpt), quantize_config.json (GPTQ/AWQ); null when none.
   */
  quantization: JsonObject | null;
  /** Which file `quantization` came from. */
  quantizationSource: string | null;
}

const cache = new WeakMap<Checkpoint, ModelConfig>();

function readJson(file: string): JsonObject | null {
  try {
    const value: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : null;
  } catch {
    return null;
  }
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The configuration files of `checkpoint` (beside its file or index, or inside its directory). */
export function readModelConfig(checkpoint: Checkpoint): ModelConfig {
  const known = cache.get(checkpoint);
  if (known) return known;
  const directory = checkpoint.kind === 'directory' ? checkpoint.path : path.dirname(checkpoint.path);
  const config = readJson(path.join(directory, 'config.json'));
  let quantization: JsonObject | null = null;
  let quantizationSource: string | null = null;
  if (config && isObject(config.quantization_config)) {
    quantization = config.quantization_config;
    quantizationSource = 'config.json';
  } else {
    const modelopt = readJson(path.join(directory, 'hf_quant_config.json'));
    const legacy = readJson(path.join(directory, 'quantize_config.json'));
    if (modelopt && isObject(modelopt.quantization)) {
      quantization = { quant_method: 'modelopt', ...modelopt.quantization };
      quantizationSource = 'hf_quant_config.json';
    } else if (legacy) {
      quantization = { quant_method: legacy.quant_method ?? (legacy.version !== undefined || legacy.w_bit !== undefined ? 'awq' : 'gptq'), ...legacy };
      quantizationSource = 'quantize_config.json';
    }
  }
  const result = { directory, config, quantization, quantizationSource };
  cache.set(checkpoint, result);
  return result;
}

/** A setting of the language model's config: `text_config.<key>` first (multimodal configs), then `<key>`. */
export function textConfigValue(config: JsonObject | null, key: string): unknown {
  if (!config) return undefined;
  const text = config.text_config;
  if (isObject(text) && text[key] !== undefined) return text[key];
  return config[key];
}

/** model_type of the config and of its text_config, and the architectures, lowercased, for family checks. */
export function modelTypes(config: JsonObject | null): string[] {
  if (!config) return [];
  const out: string[] = [];
  for (const v of [config.model_type, isObject(config.text_config) ? config.text_config.model_type : undefined])
    if (typeof v === 'string') out.push(v.toLowerCase());
  if (Array.isArray(config.architectures)) for (const a of config.architectures) if (typeof a === 'string') out.push(a.toLowerCase());
  return out;
}

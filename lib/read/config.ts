/**
 * The small JSON files beside a checkpoint that say how its tensors are laid out: `config.json` (model
 * type, hidden size, `quantization_config`), ModelOpt's `hf_quant_config.json` and the legacy GPTQ/AWQ
 * `quantize_config.json`. Read once per checkpoint, synchronously (they are a few kilobytes, capped at
 * MAX_CONFIG_BYTES); a missing or unparsable file is simply absent: the tensor headers stay authoritative
 * (docs/formats.md). A FIFO, a device or an oversized file in their place is refused, and so is a link
 * that leads out of the directory (read/links.ts; docs/security.md).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ParamscopeError } from '../errors';
import type { Checkpoint } from './checkpoint';
import { asJsonObject, MAX_CONFIG_BYTES, parseJsonBytes, readBoundedFile } from './json-file';
import { requireInside } from './links';

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

/**
 * A config file as a null-prototype object, or null when it is absent or is not a JSON object. Read
 * bounded and without blocking (json-file.ts): a FIFO, a device or a file above MAX_CONFIG_BYTES is an
 * error (NOT_A_REGULAR_FILE, INPUT_TOO_LARGE), not an absent file; text that is not JSON is absent, as
 * documented. Duplicate keys: the last wins, as in Python's json, which wrote the file.
 */
function readJson(directory: string, name: string): JsonObject | null {
  const file = path.join(directory, name);
  if (!fs.existsSync(file)) return null;
  requireInside(directory, file, 'model config');
  let bytes: Buffer;
  try {
    bytes = readBoundedFile(file, 'model config', MAX_CONFIG_BYTES);
  } catch (error) {
    if (error instanceof ParamscopeError && error.code === 'FILE_NOT_FOUND') return null;
    throw error;
  }
  try {
    return asJsonObject(parseJsonBytes(bytes, file, { what: 'model config', code: 'INVALID_METADATA', duplicates: 'last' }));
  } catch (error) {
    if (error instanceof ParamscopeError && error.code === 'INVALID_METADATA') return null;
    throw error;
  }
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The configuration files of `checkpoint` (beside its file or index, or inside its directory). */
export function readModelConfig(checkpoint: Checkpoint): ModelConfig {
  const known = cache.get(checkpoint);
  if (known) return known;
  const directory = checkpoint.kind === 'directory' ? checkpoint.path : path.dirname(checkpoint.path);
  const config = readJson(directory, 'config.json');
  let quantization: JsonObject | null = null;
  let quantizationSource: string | null = null;
  if (config && isObject(config.quantization_config)) {
    quantization = config.quantization_config;
    quantizationSource = 'config.json';
  } else {
    const modelopt = readJson(directory, 'hf_quant_config.json');
    const legacy = readJson(directory, 'quantize_config.json');
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

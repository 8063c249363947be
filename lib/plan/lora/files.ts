/** Where an adapter's files are (weights, adapter_config.json), reading the config, checking openAdapter's arguments. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkPath, invalidArgument, ParamscopeError } from '../../errors';
import { asJsonObject, readJsonFile } from '../../read/json-file';
import { requireInside } from '../../read/links';
import type { OpenAdapterOptions } from './types';

/** File names of the weights in an adapter directory, in the order they are looked for. */
const WEIGHT_FILES = ['adapter_model.safetensors', 'adapters.safetensors'];
export const CONFIG_FILE = 'adapter_config.json';

export function checkOpenOptions(target: unknown, options: OpenAdapterOptions): void {
  checkPath('openAdapter: path', target);
  if (typeof options !== 'object' || options === null) invalidArgument('openAdapter: options', 'an object', options);
  if (options.scale !== undefined && !(typeof options.scale === 'number' && Number.isFinite(options.scale)))
    invalidArgument('openAdapter: scale', 'a finite number', options.scale);
  if (options.fanInFanOut !== undefined && typeof options.fanInFanOut !== 'boolean')
    invalidArgument('openAdapter: fanInFanOut', 'a boolean', options.fanInFanOut);
  if (options.config !== undefined) checkPath('openAdapter: config', options.config);
}

export function resolveAdapterFiles(target: string, configOverride: string | undefined): { weights: string; config: string | null } {
  const stat = fs.statSync(target, { throwIfNoEntry: false });
  if (!stat) throw new ParamscopeError(`${target} does not exist`, { code: 'FILE_NOT_FOUND', file: target });
  const dir = stat.isDirectory() ? target : path.dirname(target);
  // What is found in the directory obeys the link rule (read/links.ts); what is named is followed.
  const weights = stat.isDirectory() ? weightsInDirectory(target) : target;
  if (stat.isDirectory()) requireInside(dir, weights, 'adapter weights');
  const beside = path.join(dir, CONFIG_FILE);
  const config = configOverride ?? (fs.existsSync(beside) ? beside : null);
  if (config === beside) requireInside(dir, beside, 'adapter config');
  if (configOverride !== undefined && !fs.existsSync(configOverride))
    throw new ParamscopeError(`adapter config ${configOverride} does not exist`, { code: 'FILE_NOT_FOUND', file: configOverride });
  return { weights, config };
}

function weightsInDirectory(dir: string): string {
  for (const name of WEIGHT_FILES) if (fs.existsSync(path.join(dir, name))) return path.join(dir, name);
  const candidates = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors'));
  if (candidates.length === 1) return path.join(dir, candidates[0] as string);
  if (candidates.length > 1)
    throw new ParamscopeError(`${dir} holds several .safetensors files (${candidates.slice(0, 4).join(', ')}) and none is named ${WEIGHT_FILES.join(' or ')}: pass the adapter file itself`, { code: 'ADAPTER_INVALID', file: dir });
  const pickle = fs.existsSync(path.join(dir, 'adapter_model.bin')) ? ' (adapter_model.bin is a pickle, which paramscope does not read: convert it to safetensors)' : '';
  throw new ParamscopeError(`${dir} holds no adapter .safetensors file${pickle}`, { code: 'EMPTY_CHECKPOINT', file: dir });
}

/**
 * adapter_config.json as a null-prototype object: read bounded and without blocking (read/json-file.ts),
 * duplicate keys refused (two `r` values would mean different adapters to different readers).
 */
export function readConfig(file: string): Record<string, unknown> {
  const config = asJsonObject(readJsonFile(file, { what: 'adapter config', code: 'ADAPTER_INVALID' }));
  if (!config) throw new ParamscopeError(`adapter config ${file} is not a JSON object`, { code: 'ADAPTER_INVALID', file });
  return config;
}

export function baseModelOf(config: Record<string, unknown> | null): string | null {
  const value = config?.base_model_name_or_path ?? config?.model;
  return typeof value === 'string' ? value : null;
}

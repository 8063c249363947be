/**
 * LoRA adapters (SAFETENSORS.md §4): find the factor pairs of every layout, orient them so that the update
 * of each module is ΔW = scale · B · A with B (rows × r) and A (r × cols), rows × cols being the shape of
 * the stored base weight that ΔW is added to, and work out the scale the layout prescribes.
 *
 * | layout        | keys                                                | B, A as read            | ΔW                      | scale                          |
 * |---------------|-----------------------------------------------------|-------------------------|-------------------------|--------------------------------|
 * | `peft`        | `base_model.model.<m>.lora_A.weight` / `lora_B`     | B = lora_B, A = lora_A  | s·B·A (s·(B·A)ᵀ when fan_in_fan_out, and for `lora_embedding_A/B`) | lora_alpha/r, or lora_alpha/√r with use_rslora; rank_pattern / alpha_pattern per module |
 * | `mlx`         | `<m>.lora_a` (in × r), `<m>.lora_b` (r × out)       | B = lora_bᵀ, A = lora_aᵀ | s·(a·b)ᵀ = s·B·A        | `lora_parameters.scale`        |
 * | `kohya`       | `<m>.lora_down.weight`, `.lora_up.weight`, `.alpha` | B = up, A = down        | s·up·down               | alpha/r (1 without `.alpha`)   |
 * | `diffusers`   | `<m>.lora.down.weight` / `<m>_lora.up.weight`       | B = up, A = down        | up·down                 | 1                              |
 * | `cloneofsimo` | `<group>:<i>:down`, `<group>:<i>:up`                | B = up, A = down        | up·down                 | 1                              |
 *
 * Convolution factors (A of shape r × in × kh × kw, B of shape out × r × 1 × 1) are flattened: ΔW is
 * out × (in·kh·kw), the base kernel read as a matrix the way the engine reads any ≥3-D tensor.
 *
 * @example
 * const adapter = await openAdapter('checkpoint-1000');          // adapter_model.safetensors + adapter_config.json
 * for (const m of adapter.modules) console.log(m.name, m.rows, m.cols, m.rank, m.scale);
 * const jobs = loraJobs(adapter);                                  // → runSpectra(jobs)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Checkpoint, openCheckpoint, type TensorInfo } from '../../read/checkpoint';
import { DECODABLE_DTYPES, FLOAT_DTYPES, type Dtype } from '../../read/dtypes';
import type { MatrixJob } from '../../engine/run';
import { invalidArgument, ParamscopeError } from '../../errors';

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

/** File names of the weights in an adapter directory, in the order they are looked for. */
const WEIGHT_FILES = ['adapter_model.safetensors', 'adapters.safetensors'];
const CONFIG_FILE = 'adapter_config.json';
const PEFT_PREFIX = 'base_model.model.';

/**
 * Opens a LoRA adapter: a directory holding adapter_model.safetensors (PEFT) or adapters.safetensors (MLX)
 * and adapter_config.json, or a .safetensors file (its config, if any, beside it). Reads the factors.
 *
 * Throws ParamscopeError: ADAPTER_CONFIG_MISSING (PEFT or MLX factors without adapter_config.json and no
 * `options.scale`), ADAPTER_INVALID (an unpaired factor, a config without a usable scale, a non-LoRA PEFT
 * type, no LoRA tensor at all), SHAPE_MISMATCH (factors whose ranks disagree), and the reader's codes.
 */
export async function openAdapter(target: string, options: OpenAdapterOptions = {}): Promise<Adapter> {
  checkOptions(target, options);
  const files = resolveAdapterFiles(target, options.config);
  const config = files.config ? readConfig(files.config) : null;
  const checkpoint = await openCheckpoint(files.weights);
  try {
    const groups = groupAdapterTensors(checkpoint.tensors);
    if (groups.modules.length === 0)
      throw new ParamscopeError(`${files.weights} holds no LoRA factor pair (lora_A/lora_B, lora_a/lora_b, lora_down/lora_up, :down/:up)`, { code: 'ADAPTER_INVALID', file: files.weights });
    const context: ScaleContext = { config, configPath: files.config, weights: files.weights, options, notes: [] };
    requireConfigWhereNeeded(groups.modules, context);
    rejectNonLoraPeftTypes(groups.modules, context);
    const modules: LoraModule[] = [];
    for (const parts of groups.modules) modules.push(await buildModule(checkpoint, parts, context));
    const mlxModuleKeys = new Set(groups.modules.filter((m) => m.layout === 'mlx').map((m) => m.key));
    const fullTensors = groups.leftovers.map((info) => describeFullTensor(info, { metadata: checkpoint.metadata, config, mlxModuleKeys }));
    const baseDependence = detectBaseDependence(config, fullTensors);
    const notes = [...baseDependence, ...context.notes];
    if (!config && options.fanInFanOut === undefined && modules.some((m) => m.layout === 'peft'))
      notes.push('no adapter_config.json: fan_in_fan_out is assumed false (set options.fanInFanOut for GPT-2 style Conv1D weights)');
    if (baseDependence.length) notes.push('without the base checkpoint, the ΔW reported for each module is only the low-rank part s·B·A');
    return {
      path: files.weights,
      configPath: files.config,
      config,
      layout: dominantLayout(modules),
      baseModel: baseModelOf(config),
      modules,
      fullTensors,
      needsBase: baseDependence.length > 0,
      notes,
    };
  } finally {
    checkpoint.close();
  }
}

/** The engine jobs for the adapter's modules: ΔW = scale·B·A, rows × cols, never formed as a matrix. */
export function loraJobs(adapter: Adapter): MatrixJob[] {
  return adapter.modules.map((m) => ({ kind: 'lowrank', name: m.name, rows: m.rows, cols: m.cols, rank: m.rank, b: m.b, a: m.a, scale: m.scale }));
}

// ---------------------------------------------------------------------------------------------------
// Files and config

function checkOptions(target: unknown, options: OpenAdapterOptions): void {
  if (typeof target !== 'string' || target === '') invalidArgument('openAdapter: path', 'a non-empty string', target);
  if (typeof options !== 'object' || options === null) invalidArgument('openAdapter: options', 'an object', options);
  if (options.scale !== undefined && !(typeof options.scale === 'number' && Number.isFinite(options.scale)))
    invalidArgument('openAdapter: scale', 'a finite number', options.scale);
  if (options.fanInFanOut !== undefined && typeof options.fanInFanOut !== 'boolean')
    invalidArgument('openAdapter: fanInFanOut', 'a boolean', options.fanInFanOut);
  if (options.config !== undefined && (typeof options.config !== 'string' || options.config === ''))
    invalidArgument('openAdapter: config', 'a path', options.config);
}

function resolveAdapterFiles(target: string, configOverride: string | undefined): { weights: string; config: string | null } {
  const stat = fs.statSync(target, { throwIfNoEntry: false });
  if (!stat) throw new ParamscopeError(`${target} does not exist`, { code: 'FILE_NOT_FOUND', file: target });
  const dir = stat.isDirectory() ? target : path.dirname(target);
  const weights = stat.isDirectory() ? weightsInDirectory(target) : target;
  const beside = path.join(dir, CONFIG_FILE);
  const config = configOverride ?? (fs.existsSync(beside) ? beside : null);
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

function readConfig(file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ParamscopeError(`cannot read adapter config ${file}: ${error instanceof Error ? error.message : String(error)}`, { code: 'ADAPTER_INVALID', file, cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ParamscopeError(`adapter config ${file} is not a JSON object`, { code: 'ADAPTER_INVALID', file });
  return parsed as Record<string, unknown>;
}

function baseModelOf(config: Record<string, unknown> | null): string | null {
  const value = config?.base_model_name_or_path ?? config?.model;
  return typeof value === 'string' ? value : null;
}

// ---------------------------------------------------------------------------------------------------
// Recognising factors

type FactorRole = 'down' | 'up';

/** The tensors of one adapted module. `down` is A (r × in), `up` is B (out × r), in the layout's storage. */
interface ModuleParts {
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
function groupAdapterTensors(tensors: readonly TensorInfo[]): { modules: ModuleParts[]; leftovers: TensorInfo[] } {
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

function dominantLayout(modules: readonly LoraModule[]): LoraLayout {
  const counts = new Map<LoraLayout, number>();
  for (const m of modules) counts.set(m.layout, (counts.get(m.layout) ?? 0) + 1);
  return [...counts].reduce((best, c) => (c[1] > best[1] ? c : best))[0];
}

// ---------------------------------------------------------------------------------------------------
// Scales

interface ScaleContext {
  config: Record<string, unknown> | null;
  configPath: string | null;
  weights: string;
  options: OpenAdapterOptions;
  /** Notes collected while building modules (defaults assumed, rank disagreements). */
  notes: string[];
}

/** PEFT and MLX keep the scale in adapter_config.json: without it (and without options.scale) the ΔW is unknown. */
function requireConfigWhereNeeded(modules: readonly ModuleParts[], context: ScaleContext): void {
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
function rejectNonLoraPeftTypes(modules: readonly ModuleParts[], context: ScaleContext): void {
  const peftType = context.config?.peft_type;
  if (peftType === undefined || peftType === 'LORA' || !modules.some((m) => m.layout === 'peft')) return;
  throw new ParamscopeError(`adapter config ${context.configPath} has peft_type ${JSON.stringify(peftType)}: only plain LoRA ("LORA") is supported, its update is not s·B·A`, {
    code: 'ADAPTER_INVALID',
    file: context.configPath ?? context.weights,
  });
}

function positiveNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/**
 * PEFT's `get_pattern_key`: the first key of a rank_pattern / alpha_pattern that matches the module path
 * as a regex suffix, `^(.*\.)?(<key>)$`.
 */
export function peftPatternValue(pattern: unknown, modulePath: string): number | undefined {
  if (typeof pattern !== 'object' || pattern === null) return undefined;
  for (const [key, value] of Object.entries(pattern as Record<string, unknown>)) {
    let matches: boolean;
    try {
      matches = new RegExp(`^(.*\\.)?(${key})$`).test(modulePath);
    } catch {
      matches = modulePath === key || modulePath.endsWith(`.${key}`);
    }
    if (matches && typeof value === 'number') return value;
  }
  return undefined;
}

function peftConfigValue(config: Record<string, unknown>, field: 'r' | 'lora_alpha', fallback: number, context: ScaleContext): number {
  const value = config[field];
  if (value === undefined) {
    const note = `adapter config has no ${field}: PEFT's default ${field} = ${fallback} is assumed`;
    if (!context.notes.includes(note)) context.notes.push(note);
    return fallback;
  }
  if (!positiveNumber(value))
    throw new ParamscopeError(`adapter config ${context.configPath}: ${field} must be a positive number, got ${JSON.stringify(value)}`, { code: 'ADAPTER_INVALID', file: context.configPath ?? context.weights });
  return value;
}

/** s = lora_alpha / r, or lora_alpha / √r with use_rslora; rank_pattern and alpha_pattern override r and lora_alpha per module. */
function peftScale(parts: ModuleParts, tensorRank: number, context: ScaleContext): { scale: number; source: string } {
  const config = context.config as Record<string, unknown>;
  const modulePath = stripPeftPrefix(parts.key);
  const r = peftPatternValue(config.rank_pattern, modulePath) ?? peftConfigValue(config, 'r', 8, context);
  const alpha = peftPatternValue(config.alpha_pattern, modulePath) ?? peftConfigValue(config, 'lora_alpha', 8, context);
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

/** kohya: s = alpha / r from the module's scalar `.alpha`; sd-scripts treats a missing (or zero) alpha as alpha = r. */
async function kohyaScale(checkpoint: Checkpoint, parts: ModuleParts, rank: number): Promise<{ scale: number; source: string }> {
  if (!parts.alpha) return { scale: 1, source: 'no .alpha tensor: alpha = r' };
  const alpha = (await checkpoint.read(parts.alpha.name)).data[0] as number;
  if (!alpha) return { scale: 1, source: '.alpha = 0: alpha = r' };
  return { scale: alpha / rank, source: `alpha/r = ${alpha}/${rank}` };
}

async function moduleScale(checkpoint: Checkpoint, parts: ModuleParts, rank: number, context: ScaleContext): Promise<{ scale: number; source: string }> {
  if (context.options.scale !== undefined) return { scale: context.options.scale, source: 'options.scale' };
  switch (parts.layout) {
    case 'peft': return peftScale(parts, rank, context);
    case 'mlx': return mlxScale(context);
    case 'kohya': return kohyaScale(checkpoint, parts, rank);
    case 'diffusers': return { scale: 1, source: 'diffusers LoRA: 1 (network_alpha not stored)' };
    case 'cloneofsimo': return { scale: 1, source: 'cloneofsimo LoRA: 1 (the user picks the scale when applying it)' };
  }
}

// ---------------------------------------------------------------------------------------------------
// Building modules

function stripPeftPrefix(key: string): string {
  return key.startsWith(PEFT_PREFIX) ? key.slice(PEFT_PREFIX.length) : key;
}

/** The base weight name a module's update is added to; see {@link LoraModule.name}. */
function baseWeightName(layout: LoraLayout, key: string): string {
  switch (layout) {
    case 'peft': return `${stripPeftPrefix(key)}.weight`;
    case 'mlx': return `${key}.weight`;
    case 'diffusers': return `${key.replace('.processor.', '.').replace(/(^|\.)to_out$/, '$1to_out.0')}.weight`;
    case 'kohya':
    case 'cloneofsimo': return key;
  }
}

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j] as number;
  return out;
}

const product = (dims: readonly number[]) => dims.reduce((p, d) => p * d, 1);

function requireFloatFactor(info: TensorInfo): void {
  if (!FLOAT_DTYPES.has(info.dtype) || !DECODABLE_DTYPES.has(info.dtype))
    throw new ParamscopeError(`LoRA factor ${info.name} has dtype ${info.dtype}, which is not a decodable float`, { code: 'ADAPTER_INVALID', tensor: info.name });
}

function rankMismatch(parts: ModuleParts, downRank: number, upRank: number): ParamscopeError {
  const down = parts.down as TensorInfo;
  const up = parts.up as TensorInfo;
  return new ParamscopeError(
    `LoRA factors of ${parts.key} disagree on the rank: ${down.name} [${down.shape.join(', ')}] gives ${downRank}, ${up.name} [${up.shape.join(', ')}] gives ${upRank}`,
    { code: 'SHAPE_MISMATCH', tensor: up.name },
  );
}

/** The factors in layer orientation: B (out × r) and A (r × in), before any fan_in_fan_out transpose. */
async function layerFactors(checkpoint: Checkpoint, parts: ModuleParts): Promise<{ out: number; inFeatures: number; rank: number; b: Float32Array; a: Float32Array }> {
  const down = parts.down as TensorInfo;
  const up = parts.up as TensorInfo;
  requireFloatFactor(down);
  requireFloatFactor(up);
  if (parts.layout === 'mlx') {
    // lora_a is (in × r) and lora_b is (r × out): ΔW = s·(a·b)ᵀ = s·bᵀ·aᵀ.
    if (down.shape.length !== 2 || up.shape.length !== 2)
      throw new ParamscopeError(`MLX factors of ${parts.key} are not matrices ([${down.shape.join(', ')}], [${up.shape.join(', ')}]); stacked-expert LoRA is not supported`, { code: 'ADAPTER_INVALID', tensor: down.name });
    const [inFeatures, rank] = down.shape as [number, number];
    const [upRank, out] = up.shape as [number, number];
    if (rank !== upRank) throw rankMismatch(parts, rank, upRank);
    const a = transpose((await checkpoint.read(down.name)).data, inFeatures, rank);
    const b = transpose((await checkpoint.read(up.name)).data, rank, out);
    return { out, inFeatures, rank, b, a };
  }
  // A / down is (r × in …), B / up is (out × r) or (out × r × 1 × 1) for a convolution.
  const rank = down.shape[0] ?? 0;
  if (down.shape.length < 2 || up.shape.length < 2 || product(up.shape.slice(2)) !== 1)
    throw new ParamscopeError(`LoRA factors of ${parts.key} have unusable shapes: down [${down.shape.join(', ')}], up [${up.shape.join(', ')}]`, { code: 'ADAPTER_INVALID', tensor: down.name });
  if (up.shape[1] !== rank) throw rankMismatch(parts, rank, up.shape[1] as number);
  const out = up.shape[0] as number;
  const inFeatures = product(down.shape.slice(1));
  const b = (await checkpoint.read(up.name)).data;
  const a = (await checkpoint.read(down.name)).data;
  return { out, inFeatures, rank, b, a };
}

/** PEFT stores the weights of Conv1D (fan_in_fan_out) and embeddings as (in × out): ΔW = s·(B·A)ᵀ. */
function isTransposed(parts: ModuleParts, context: ScaleContext): boolean {
  if (parts.layout !== 'peft') return false;
  if (parts.embedding) return true;
  const configured = context.config?.fan_in_fan_out;
  return context.options.fanInFanOut ?? configured === true;
}

async function buildModule(checkpoint: Checkpoint, parts: ModuleParts, context: ScaleContext): Promise<LoraModule> {
  const factors = await layerFactors(checkpoint, parts);
  const { scale, source } = await moduleScale(checkpoint, parts, factors.rank, context);
  const transposed = isTransposed(parts, context);
  const { out, inFeatures, rank } = factors;
  const tensors = [parts.down, parts.up, parts.alpha].filter((t): t is TensorInfo => Boolean(t)).map((t) => t.name);
  const oriented = transposed
    ? { rows: inFeatures, cols: out, b: transpose(factors.a, rank, inFeatures), a: transpose(factors.b, out, rank) }
    : { rows: out, cols: inFeatures, b: factors.b, a: factors.a };
  return { name: baseWeightName(parts.layout, parts.key), key: parts.key, layout: parts.layout, ...oriented, rank, scale, scaleSource: source, transposed, tensors };
}

// ---------------------------------------------------------------------------------------------------
// Full tensors and base dependence

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

function describeFullTensor(info: TensorInfo, { metadata, config, mlxModuleKeys }: FullTensorContext): FullTensor {
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
function detectBaseDependence(config: Record<string, unknown> | null, fullTensors: readonly FullTensor[]): string[] {
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

/**
 * One module's ΔW from its factors: read them, orient them so ΔW = scale · B · A with B (rows × r) and
 * A (r × cols) in the shape of the stored base weight, and name the base weight it is added to.
 */
import type { Checkpoint, TensorInfo } from '../../read/checkpoint';
import { DECODABLE_DTYPES, FLOAT_DTYPES } from '../../read/dtypes';
import { ParamscopeError } from '../../errors';
import { type ModuleParts, stripPeftPrefix } from './factors';
import { moduleScale, type ScaleContext } from './scales';
import type { LoraLayout, LoraModule } from './types';

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

/**
 * Rank 0 (`lora_A` [0, n], `lora_B` [m, 0]) or an empty side: no tool writes such factors (PEFT, kohya
 * and MLX all refuse a rank below 1), and their update is empty, so the file is refused rather than
 * reported as an adapter that changed nothing. (A hand-built module of rank 0 given to the engine is the
 * zero matrix.)
 */
function requireNonEmpty(file: string, parts: ModuleParts, out: number, inFeatures: number, rank: number): void {
  if (rank > 0 && out > 0 && inFeatures > 0) return;
  const down = parts.down as TensorInfo;
  const up = parts.up as TensorInfo;
  const what = rank === 0 ? 'rank 0' : `an empty ${out === 0 ? 'output' : 'input'} side`;
  throw new ParamscopeError(`${file}: LoRA factors of ${parts.key} have ${what} (${down.name} [${down.shape.join(', ')}], ${up.name} [${up.shape.join(', ')}]): no update can be formed from them`, {
    code: 'ADAPTER_INVALID',
    file,
    tensor: rank === 0 || inFeatures === 0 ? down.name : up.name,
  });
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
    requireNonEmpty(checkpoint.path, parts, out, inFeatures, rank);
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
  requireNonEmpty(checkpoint.path, parts, out, inFeatures, rank);
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

export async function buildModule(checkpoint: Checkpoint, parts: ModuleParts, context: ScaleContext): Promise<LoraModule> {
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

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
import { openCheckpoint } from '../../read/checkpoint';
import { ParamscopeError } from '../../errors';
import { buildModule } from './build-module';
import { checkAdapterConfig } from './config-values';
import { groupAdapterTensors } from './factors';
import { baseModelOf, checkOpenOptions, readConfig, resolveAdapterFiles } from './files';
import { describeFullTensor, detectBaseDependence } from './full-tensors';
import { rejectNonLoraPeftTypes, requireConfigWhereNeeded, type ScaleContext } from './scales';
import type { Adapter, LoraLayout, LoraModule, OpenAdapterOptions } from './types';

/**
 * Opens a LoRA adapter: a directory holding adapter_model.safetensors (PEFT) or adapters.safetensors (MLX)
 * and adapter_config.json, or a .safetensors file (its config, if any, beside it). Reads the factors.
 *
 * Throws ParamscopeError: ADAPTER_CONFIG_MISSING (PEFT or MLX factors without adapter_config.json and no
 * `options.scale`), ADAPTER_INVALID (an unpaired factor, a config without a usable scale, a non-LoRA PEFT
 * type, no LoRA tensor at all), SHAPE_MISMATCH (factors whose ranks disagree), and the reader's codes.
 */
export async function openAdapter(target: string, options: OpenAdapterOptions = {}): Promise<Adapter> {
  checkOpenOptions(target, options);
  const files = resolveAdapterFiles(target, options.config);
  const config = files.config ? readConfig(files.config) : null;
  const checkpoint = await openCheckpoint(files.weights);
  try {
    const groups = groupAdapterTensors(checkpoint.tensors);
    if (groups.modules.length === 0)
      throw new ParamscopeError(`${files.weights} holds no LoRA factor pair (lora_A/lora_B, lora_a/lora_b, lora_down/lora_up, :down/:up)`, { code: 'ADAPTER_INVALID', file: files.weights });
    const context: ScaleContext = { config, configPath: files.config, weights: files.weights, options, notes: [] };
    if (config && files.config) context.patterns = checkAdapterConfig(config, files.config);
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

function dominantLayout(modules: readonly LoraModule[]): LoraLayout {
  const counts = new Map<LoraLayout, number>();
  for (const m of modules) counts.set(m.layout, (counts.get(m.layout) ?? 0) + 1);
  return [...counts].reduce((best, c) => (c[1] > best[1] ? c : best))[0];
}

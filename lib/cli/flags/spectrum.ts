/** The spectrum options shared by analyze, diff, lora and compare, parsed from command-line flags. */
import type { SpectrumOptions } from '../../engine/types';
import { parseBytes } from './bytes';
import { integerFlag, numberFlag } from './numbers';

export const spectrumFlags = `  --mode exact|truncated   all singular values, or the top --rank with error bounds (default: exact)
  --rank <k>            truncated mode: how many singular values (default 64)
  --tolerance <t>       truncated mode: iterate until every error bound <= t * sigma_i
  --power-iterations <q>  truncated mode: power iterations (default 2)
  --precision f32|f64   truncated mode: arithmetic of the products (default f32: faster; f64: tighter bounds)
  --seed <n>            random start of the truncated solver (default fixed: runs are reproducible)
  --threads <n>         threads for the math (default: all cores)
  --parallel-matrices <n>  matrices computed at once (default: one per thread, at most one per 512MiB
                        of the memory budget; 1: all threads and memory on one)
  --memory-budget <b>   bytes for the matrices computed at once, e.g. 512MiB, 4GiB (default 2GiB)
  --backend auto|cpu|cuda  where the heavy operations run (default auto: the CUDA plugin when it loads
                        and finds a device, else the CPU; also PARAMSCOPE_BACKEND)
  --device-memory-budget <b>  bytes a device backend may allocate (default: the plugin's own)`;

export const spectrumFlagOptions = {
  mode: { type: 'string' }, rank: { type: 'string' }, tolerance: { type: 'string' }, seed: { type: 'string' },
  'power-iterations': { type: 'string' }, threads: { type: 'string' }, 'memory-budget': { type: 'string' },
  precision: { type: 'string' }, 'parallel-matrices': { type: 'string' }, backend: { type: 'string' },
  'device-memory-budget': { type: 'string' },
} as const;

export function spectrumOptionsFrom(values: Record<string, unknown>): SpectrumOptions {
  const options: SpectrumOptions = {};
  if (values.mode !== undefined) options.mode = values.mode as SpectrumOptions['mode'];
  const rank = integerFlag('--rank', values.rank, 1);
  if (rank !== undefined) options.rank = rank;
  const tolerance = numberFlag('--tolerance', values.tolerance);
  if (tolerance !== undefined) options.tolerance = tolerance;
  const seed = integerFlag('--seed', values.seed);
  if (seed !== undefined) options.seed = seed;
  const q = integerFlag('--power-iterations', values['power-iterations']);
  if (q !== undefined) options.powerIterations = q;
  const threads = integerFlag('--threads', values.threads);
  if (threads !== undefined) options.threads = threads;
  const parallel = integerFlag('--parallel-matrices', values['parallel-matrices']);
  if (parallel !== undefined) options.parallelMatrices = parallel;
  if (values.precision !== undefined) options.precision = values.precision as SpectrumOptions['precision'];
  if (values['memory-budget'] !== undefined) options.memoryBudget = parseBytes(String(values['memory-budget']));
  if (values.backend !== undefined) options.backend = values.backend as SpectrumOptions['backend'];
  if (values['device-memory-budget'] !== undefined) options.deviceMemoryBudget = parseBytes(String(values['device-memory-budget']), '--device-memory-budget');
  return options;
}

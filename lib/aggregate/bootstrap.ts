/**
 * Bootstrap intervals over matrices: how much a report's summary numbers (the verdict score, its
 * components, the relative update, …) depend on which matrices the model happens to have. The per-matrix
 * records are resampled with replacement, the statistic is recomputed on each resample by the caller's
 * function (the same aggregate code the single report uses), and the percentile interval of the
 * replicates is reported. A paired bootstrap of two arms resamples the matrices both share with ONE set
 * of indices, so what the matrices have in common cancels in the difference.
 *
 * Deterministic: the resampling is driven by results/random.ts's seeded generator, its seed derived from
 * the caller's seed and a key naming the task (an arm, a pair of arms), so the same seed gives identical
 * intervals on every platform and adding an arm does not change the others'. Long runs yield to the event
 * loop between batches of replicates and stop with ABORTED when the signal fires.
 *
 * @example
 * const [mean] = await bootstrap(values, (sample) => [sample.reduce((a, b) => a + b, 0) / sample.length], { seed: 7 });
 * console.log(mean.lo, mean.hi);
 */
import { abortError, invalidArgument } from '../errors';
import { seededRandom } from '../results/random';

/** What a bootstrap does when not told otherwise. */
export const BOOTSTRAP_DEFAULTS = Object.freeze({ replicates: 1000, level: 0.95, seed: 1 });

export interface BootstrapOptions {
  /** Resamples drawn (default 1000); 0 computes the estimates only (intervals NaN). */
  replicates?: number;
  /** Central coverage of the percentile interval, in (0, 1) (default 0.95). */
  level?: number;
  /** Seed of the resampling (default 1). */
  seed?: number;
  /** Names the task, so each arm and pair gets its own stream of the seed. */
  key?: string;
  signal?: AbortSignal;
}

/** A statistic's value on the data and its percentile interval over the resamples. */
export interface BootstrapInterval {
  estimate: number;
  /** The interval's ends (NaN when there are no replicates or the statistic is undefined). */
  lo: number;
  hi: number;
}

/** Replicates computed between two yields to the event loop. */
const BATCH = 50;

/** The settings of a bootstrap, checked with one wording. */
export function bootstrapSettings(options: BootstrapOptions = {}): { replicates: number; level: number; seed: number } {
  const { replicates = BOOTSTRAP_DEFAULTS.replicates, level = BOOTSTRAP_DEFAULTS.level, seed = BOOTSTRAP_DEFAULTS.seed } = options;
  if (!Number.isSafeInteger(replicates) || replicates < 0 || replicates > 1_000_000) invalidArgument('bootstrap replicates', 'an integer from 0 to 1000000', replicates);
  if (typeof level !== 'number' || !(level > 0 && level < 1)) invalidArgument('interval level', 'a number in (0, 1)', level);
  if (!Number.isSafeInteger(seed) || seed < 0) invalidArgument('seed', 'a non-negative integer', seed);
  return { replicates, level, seed };
}

/** FNV-1a of the key mixed into the seed: one independent stream per task. */
function streamSeed(seed: number, key: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return Math.imul(h ^ Math.floor(seed / 2 ** 32), 0x9e3779b1) >>> 0;
}

/** The q-quantile of sorted values, linearly interpolated (Hyndman–Fan type 7, R's default). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const i = Math.floor(h);
  const lo = sorted[i] as number, hi = sorted[Math.min(sorted.length - 1, i + 1)] as number;
  return lo + (h - i) * (hi - lo);
}

/** The central `level` percentile interval of replicates (non-finite replicates are left out). */
export function percentileInterval(replicates: readonly number[], level: number): [number, number] {
  const finite = replicates.filter(Number.isFinite).sort((a, b) => a - b);
  // An interval from a few finite replicates would claim more than it knows.
  if (finite.length === 0 || finite.length < replicates.length / 2) return [NaN, NaN];
  return [quantile(finite, (1 - level) / 2), quantile(finite, (1 + level) / 2)];
}

const pause = () => new Promise<void>((resolve) => setImmediate(resolve));

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/**
 * Runs `replicates` resamples of index sets 0…n−1 (with replacement) and collects the statistic vectors
 * `compute(indices)` returns; the estimate is `compute` on the identity.
 */
async function resample(n: number, compute: (indices: readonly number[]) => readonly number[], options: BootstrapOptions): Promise<BootstrapInterval[]> {
  const { replicates, level, seed } = bootstrapSettings(options);
  const identity = Array.from({ length: n }, (_, i) => i);
  const estimates = compute(identity);
  const draws: number[][] = estimates.map(() => []);
  if (n > 0 && replicates > 0) {
    const random = seededRandom(streamSeed(seed, options.key ?? ''));
    const indices = new Array<number>(n);
    for (let r = 0; r < replicates; r++) {
      if (r % BATCH === 0 && r > 0) {
        checkAbort(options.signal);
        await pause();
      }
      for (let i = 0; i < n; i++) indices[i] = Math.floor(random() * n);
      const values = compute(indices);
      values.forEach((v, k) => draws[k]?.push(v));
    }
  }
  checkAbort(options.signal);
  return estimates.map((estimate, k) => {
    const [lo, hi] = replicates > 0 && n > 0 ? percentileInterval(draws[k] as number[], level) : [NaN, NaN];
    return { estimate, lo, hi };
  });
}

/** Percentile intervals of each component of `statistic` over resamples of `items`. */
export function bootstrap<T>(items: readonly T[], statistic: (sample: readonly T[]) => readonly number[], options: BootstrapOptions = {}): Promise<BootstrapInterval[]> {
  const sample: T[] = [];
  return resample(items.length, (indices) => {
    sample.length = 0;
    for (const i of indices) sample.push(items[i] as T);
    return statistic(sample);
  }, options);
}

/**
 * Percentile intervals of statisticA(a) − statisticB(b), component by component, where a[i] and b[i] are
 * the two arms' records of the same matrix and every resample draws the same indices from both.
 */
export function pairedBootstrap<A, B>(
  a: readonly A[], b: readonly B[],
  statisticA: (sample: readonly A[]) => readonly number[], statisticB: (sample: readonly B[]) => readonly number[],
  options: BootstrapOptions = {},
): Promise<BootstrapInterval[]> {
  if (a.length !== b.length) invalidArgument('paired bootstrap', 'two record lists of one length', `${a.length} and ${b.length}`);
  const sampleA: A[] = [], sampleB: B[] = [];
  return resample(a.length, (indices) => {
    sampleA.length = 0;
    sampleB.length = 0;
    for (const i of indices) {
      sampleA.push(a[i] as A);
      sampleB.push(b[i] as B);
    }
    const x = statisticA(sampleA), y = statisticB(sampleB);
    return x.map((v, k) => v - (y[k] as number));
  }, options);
}

/**
 * Percentile intervals of statisticA(a) − statisticB(b) when the two have no matrices in common: each
 * replicate resamples a and b independently (one seeded stream draws both index sets).
 */
export async function independentBootstrap<A, B>(
  a: readonly A[], b: readonly B[],
  statisticA: (sample: readonly A[]) => readonly number[], statisticB: (sample: readonly B[]) => readonly number[],
  options: BootstrapOptions = {},
): Promise<BootstrapInterval[]> {
  const { replicates, level, seed } = bootstrapSettings(options);
  const estimateB = statisticB(b);
  const estimates = statisticA(a).map((v, k) => v - (estimateB[k] as number));
  const draws: number[][] = estimates.map(() => []);
  if (a.length > 0 && b.length > 0 && replicates > 0) {
    const random = seededRandom(streamSeed(seed, options.key ?? ''));
    const sampleA = new Array<A>(a.length), sampleB = new Array<B>(b.length);
    for (let r = 0; r < replicates; r++) {
      if (r % BATCH === 0 && r > 0) {
        checkAbort(options.signal);
        await pause();
      }
      for (let i = 0; i < a.length; i++) sampleA[i] = a[Math.floor(random() * a.length)] as A;
      for (let i = 0; i < b.length; i++) sampleB[i] = b[Math.floor(random() * b.length)] as B;
      const x = statisticA(sampleA), y = statisticB(sampleB);
      x.forEach((v, k) => draws[k]?.push(v - (y[k] as number)));
    }
  }
  checkAbort(options.signal);
  return estimates.map((estimate, k) => {
    const [lo, hi] = draws[k]?.length ? percentileInterval(draws[k] as number[], level) : [NaN, NaN];
    return { estimate, lo, hi };
  });
}

/** True when the interval of a difference lies wholly on one side of 0 (ends NaN: not decided, false). */
export function excludesZero(interval: BootstrapInterval): boolean {
  return (interval.lo > 0 && interval.hi > 0) || (interval.lo < 0 && interval.hi < 0);
}

/**
 * Shard plans: which of a plan's units of work (a matrix of `analyze` or `diff`, an adapter module, a
 * fine-tune's matrix of `compare`, …) shard i of N computes. Every process of a job array computes the
 * same plan from the headers alone and takes its own part, so the shards need no coordination; the
 * merge (lib/merge.ts) puts the parts back together.
 *
 * Balance: each unit's estimated time is its flops and stored bytes (plan/cost.ts, the one cost model)
 * at the nominal rates below; the units are assigned longest first, each to the shard with the least
 * estimated time so far (LPT greedy: within 4/3 of the best possible long pole), ties broken by the
 * unit's key and then by the lowest shard index. So a 32000-row embedding weighs what it costs and lands
 * on a shard of its own while the many small matrices fill the others. Nothing in it depends on the
 * machine, the clock or the order the units were listed in: the same units give the same shards in
 * every process (IEEE double arithmetic, a total order on keys).
 */
import { ParamscopeError } from '../errors';
import type { JobCost } from './cost';

/** Shard `index` of `count`, 0-based (Slurm array and Kubernetes completion indexes count from 0). */
export interface ShardSpec {
  index: number;
  count: number;
}

/** One unit of work: a key unique in its plan (a matrix or module name, `run/name` across runs) and its cost. */
export interface ShardUnit {
  key: string;
  cost: JobCost;
}

/**
 * The nominal machine the balance is computed for: one node's sustained flop rate on these solvers and
 * its rate of reading and decoding stored bytes. Only their ratio matters for the balance (it weighs a
 * byte against a flop); they are fixed, not measured, so every process computes the same plan.
 */
export const NOMINAL_FLOPS_PER_SECOND = 2e11;
export const NOMINAL_BYTES_PER_SECOND = 2e9;

/** The largest shard count accepted (a guard against a typo like 0/1000000000, not a real limit of the plan). */
export const MAX_SHARD_COUNT = 100_000;

/** A unit's estimated seconds on the nominal machine: its flops plus its bytes. */
export function estimatedSeconds(cost: JobCost): number {
  return cost.flops / NOMINAL_FLOPS_PER_SECOND + cost.bytes / NOMINAL_BYTES_PER_SECOND;
}

/** Throws SHARD_INVALID unless `shard` is integers 0 ≤ index < count ≤ MAX_SHARD_COUNT; `from` says where the values came from. */
export function checkShard(shard: ShardSpec, from = '--shard'): ShardSpec {
  const { index, count } = shard;
  const ok = Number.isSafeInteger(index) && Number.isSafeInteger(count) && count >= 1 && count <= MAX_SHARD_COUNT && index >= 0 && index < count;
  if (!ok)
    throw new ParamscopeError(
      `${from}: shard ${String(index)}/${String(count)} is not a shard: expected index/count with integers 0 ≤ index < count ≤ ${MAX_SHARD_COUNT} (0-based)`,
      { code: 'SHARD_INVALID' },
    );
  return { index, count };
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** How a plan's units fall on `count` shards: per shard, the keys of its units (in the order given) and its estimated seconds. */
export interface ShardAssignment {
  shards: Array<{ keys: string[]; seconds: number }>;
}

/**
 * Balances `units` over `count` shards (LPT greedy on estimated seconds, ties by key, then by shard
 * index). Every unit lands on exactly one shard; with more shards than units the last ones are empty.
 * Throws SHARD_INVALID for a bad count, INVALID_ARGUMENT for a key listed twice.
 */
export function balanceShards(units: readonly ShardUnit[], count: number): ShardAssignment {
  checkShard({ index: 0, count });
  const seen = new Set<string>();
  for (const u of units) {
    if (seen.has(u.key)) throw new ParamscopeError(`shard plan: unit ${JSON.stringify(u.key)} is listed twice`, { code: 'INVALID_ARGUMENT' });
    seen.add(u.key);
  }
  const order = units.map((u, i) => ({ i, key: u.key, seconds: estimatedSeconds(u.cost) }));
  order.sort((a, b) => b.seconds - a.seconds || byKey(a.key, b.key));
  const load = new Array<number>(count).fill(0);
  const owner = new Array<number>(units.length);
  for (const u of order) {
    let best = 0;
    for (let s = 1; s < count; s++) if ((load[s] as number) < (load[best] as number)) best = s;
    load[best] = (load[best] as number) + u.seconds;
    owner[u.i] = best;
  }
  const shards = load.map((seconds) => ({ keys: [] as string[], seconds }));
  units.forEach((u, i) => shards[owner[i] as number]?.keys.push(u.key));
  return { shards };
}

/**
 * The keys of the units shard `shard` computes, in the order the units were given: the function every
 * sharded command calls on its plan (analyze, diff, lora, compare; trajectory too).
 */
export function selectShard(units: readonly ShardUnit[], shard: ShardSpec): Set<string> {
  const { index, count } = checkShard(shard);
  return new Set(balanceShards(units, count).shards[index]?.keys ?? []);
}

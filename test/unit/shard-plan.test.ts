/**
 * The shard plan (lib/plan/shard.ts): every unit on exactly one shard, balanced on the cost model's
 * estimated time (flops and bytes), the same shards whatever order the units come in, and SHARD_INVALID
 * for what is not a shard.
 */
import { describe, expect, it } from 'vitest';
import { balanceShards, checkShard, estimatedSeconds, NOMINAL_BYTES_PER_SECOND, NOMINAL_FLOPS_PER_SECOND, selectShard, type ShardUnit } from '../../lib/plan/shard';
import { seededRandom } from '../../lib/results/random';

/** A Llama-like plan: a big embedding and lm_head, then 32 layers of 7 matrices with mixed sizes. */
function llamaUnits(): ShardUnit[] {
  const units: ShardUnit[] = [{ key: 'model.embed_tokens.weight', cost: { flops: 4e12, bytes: 5e8 } }];
  for (let l = 0; l < 32; l++)
    for (const [m, f] of [['q', 1], ['k', 0.25], ['v', 0.25], ['o', 1], ['gate', 2.7], ['up', 2.7], ['down', 2.7]] as const)
      units.push({ key: `model.layers.${l}.${m}`, cost: { flops: f * 1e11, bytes: f * 3.3e7 } });
  units.push({ key: 'lm_head.weight', cost: { flops: 4e12, bytes: 5e8 } });
  return units;
}

function shuffled<T>(list: readonly T[], seed: number): T[] {
  const next = seededRandom(seed), out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('balanceShards', () => {
  it('puts every unit on exactly one shard, for any count, and empty shards beyond the unit count', () => {
    const units = llamaUnits();
    for (const count of [1, 2, 3, 7, 64, units.length, units.length + 5]) {
      const { shards } = balanceShards(units, count);
      expect(shards.length).toBe(count);
      expect(shards.flatMap((s) => s.keys).sort()).toEqual(units.map((u) => u.key).sort());
      if (count > units.length) expect(shards.filter((s) => s.keys.length === 0).length).toBe(count - units.length);
    }
  });

  it('weighs flops and bytes: the time of a unit is flops/F + bytes/B', () => {
    expect(estimatedSeconds({ flops: NOMINAL_FLOPS_PER_SECOND * 3, bytes: NOMINAL_BYTES_PER_SECOND * 2 })).toBeCloseTo(5, 12);
  });

  it('keeps the long poles apart and the long pole within 4/3 of the best possible (LPT), against the lower bound max(largest, mean)', () => {
    const units = llamaUnits();
    const total = units.reduce((s, u) => s + estimatedSeconds(u.cost), 0);
    const largest = Math.max(...units.map((u) => estimatedSeconds(u.cost)));
    for (const count of [2, 4, 8, 16]) {
      const { shards } = balanceShards(units, count);
      const embed = shards.findIndex((s) => s.keys.includes('model.embed_tokens.weight'));
      const head = shards.findIndex((s) => s.keys.includes('lm_head.weight'));
      expect(embed).not.toBe(head);
      const pole = Math.max(...shards.map((s) => s.seconds));
      const bound = Math.max(largest, total / count);
      expect(pole).toBeLessThanOrEqual((4 / 3) * bound + 1e-9);
      // The loads it reports are its units' times.
      for (const s of shards) expect(s.seconds).toBeCloseTo(s.keys.reduce((t, k) => t + estimatedSeconds(units.find((u) => u.key === k)!.cost), 0), 9);
    }
  });

  it('beats splitting by count: 8 shards of a plan with one heavy matrix', () => {
    const units = llamaUnits();
    const byCount = Array.from({ length: 8 }, (_, s) => units.filter((_, i) => i % 8 === s).reduce((t, u) => t + estimatedSeconds(u.cost), 0));
    const lpt = balanceShards(units, 8).shards.map((s) => s.seconds);
    expect(Math.max(...lpt)).toBeLessThan(Math.max(...byCount));
  });

  it('is the same whatever order the units are listed in (ties broken by key), and keys keep their order within a shard', () => {
    // Many equal costs: ties everywhere.
    const units = Array.from({ length: 50 }, (_, i) => ({ key: `m${String(i).padStart(2, '0')}`, cost: { flops: (i % 3) * 1e9, bytes: 1e6 } }));
    const reference = balanceShards(units, 6).shards.map((s) => [...s.keys].sort());
    for (const seed of [1, 2, 3]) {
      const shards = balanceShards(shuffled(units, seed), 6).shards;
      expect(shards.map((s) => [...s.keys].sort())).toEqual(reference);
    }
    expect([...selectShard(units, { index: 2, count: 6 })]).toEqual(reference[2]);
  });

  it('refuses a key listed twice', () => {
    expect(() => balanceShards([{ key: 'a', cost: { flops: 1, bytes: 1 } }, { key: 'a', cost: { flops: 2, bytes: 1 } }], 2)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('checkShard', () => {
  it.each([[{ index: 3, count: 3 }], [{ index: -1, count: 3 }], [{ index: 0, count: 0 }], [{ index: 0.5, count: 2 }], [{ index: 0, count: 100_001 }], [{ index: Number.NaN, count: 2 }]])(
    'SHARD_INVALID for %o, with the values', (shard) => {
      expect(() => checkShard(shard)).toThrow(expect.objectContaining({ code: 'SHARD_INVALID', message: expect.stringContaining(`${shard.index}/${shard.count}`) }));
    });

  it('accepts 0/1 and N−1/N', () => {
    expect(checkShard({ index: 0, count: 1 })).toEqual({ index: 0, count: 1 });
    expect(checkShard({ index: 99, count: 100 })).toEqual({ index: 99, count: 100 });
  });
});

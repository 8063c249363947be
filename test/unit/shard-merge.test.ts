/**
 * Shard + merge = a single run, for every sharded command (analyze, diff, lora, compare) and for the
 * splits that go wrong first: one shard, an uneven split, more shards than matrices (empty shards that
 * still write valid partials). The partials go through their files (serializePartial → merge reads
 * them), and the merged report's JSON is compared with the single run's, timings and timestamps aside.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeCheckpoint } from '../../lib/analyze';
import { compare } from '../../lib/compare';
import { diff } from '../../lib/diff';
import { analyzeAdapter } from '../../lib/lora';
import { analysisDocument } from '../../lib/report/header';
import { toJson } from '../../lib/report/json';
import { serializeReport } from '../../lib/report/schema';
import { estimate } from '../../lib/estimate';
import { adapterShard, analyzeShard, compareShard, diffShard, shardEstimates } from '../../lib/shard';
import { temporaryDirectory } from '../helpers/paths';
import { type ShardFixtures, shardAndMerge, withoutTimings, writeShardFixtures } from '../helpers/shard-fixtures';

const tmp = temporaryDirectory('paramscope-shard-');
let fx: ShardFixtures;
beforeAll(() => {
  fx = writeShardFixtures(path.join(tmp.dir, 'fixtures'));
});
afterAll(() => tmp.cleanup());


const compareDocument = (r: { base: string; ranking: Array<{ name: string; path: string; report: Parameters<typeof serializeReport>[0] }> }) =>
  JSON.stringify({ base: r.base, ranking: r.ranking.map((a) => ({ name: a.name, path: a.path, report: JSON.parse(serializeReport(a.report)) })) });

describe('shard + merge = one run', () => {
  const options = { mode: 'truncated' as const, rank: 8 };

  it.each([1, 3, 40])('diff, %i shard(s): the merged report is the single run\'s (pairs, aggregates, verdict, directions)', async (count) => {
    const single = await diff(fx.base, fx.concentrated, options);
    expect(single.options.directions.enabled).toBe(true); // the direction analysis is sharded too
    const { merged, partials } = await shardAndMerge(tmp.dir, count, (s) => diffShard(fx.base, fx.concentrated, s, options));
    expect(merged.command).toBe('diff');
    if (merged.command !== 'diff') return;
    expect(withoutTimings(serializeReport(merged.report))).toEqual(withoutTimings(serializeReport(single)));
    // Every matrix on exactly one shard; with 40 shards for 16 matrices, 24 empty shards.
    const covered = partials.flatMap((p) => p.runs[0]?.covers ?? []);
    expect(covered.sort()).toEqual(single.pairs.map((p) => p.name).sort());
    expect(partials.filter((p) => p.runs[0]?.covers.length === 0).length).toBe(Math.max(0, count - fx.matrices));
  });

  it.each([1, 3, 20])('analyze, %i shard(s): the merged analysis document is the single run\'s', async (count) => {
    const single = await analyzeCheckpoint(fx.base, options);
    const { merged } = await shardAndMerge(tmp.dir, count, (s) => analyzeShard(fx.base, s, options));
    expect(merged.command).toBe('analyze');
    if (merged.command !== 'analyze') return;
    expect(merged.report.totals.matrices).toBe(fx.matrices);
    expect(withoutTimings(toJson(analysisDocument(merged.report)))).toEqual(withoutTimings(toJson(analysisDocument(single))));
  });

  it.each([1, 3, 6])('lora with its base, %i shard(s): the merged report is the single run\'s', async (count) => {
    const single = await analyzeAdapter(fx.adapter, { base: fx.base });
    expect(single.pairs.length).toBe(fx.modules);
    const { merged } = await shardAndMerge(tmp.dir, count, (s) => adapterShard(fx.adapter, s, { base: fx.base }));
    expect(merged.command).toBe('lora');
    if (merged.command !== 'lora') return;
    expect(withoutTimings(serializeReport(merged.report))).toEqual(withoutTimings(serializeReport(single)));
  });

  it.each([1, 5, 40])('compare of two fine-tunes, %i shard(s): the merged ranking and both reports are the single run\'s', async (count) => {
    const tuned = [fx.concentrated, fx.dispersed];
    const single = await compare(fx.base, tuned, options);
    const { merged, partials } = await shardAndMerge(tmp.dir, count, (s) => compareShard(fx.base, tuned, s, options));
    expect(merged.command).toBe('compare');
    if (merged.command !== 'compare') return;
    expect(merged.result.ranking.map((a) => a.name)).toEqual(single.ranking.map((a) => a.name));
    expect(withoutTimings(compareDocument(merged.result))).toEqual(withoutTimings(compareDocument(single)));
    // The fine-tunes are balanced together: with 5 shards, some shard holds matrices of both.
    if (count === 5) expect(partials.some((p) => p.runs.every((r) => r.covers.length > 0))).toBe(true);
  });
});

describe('plan --shards', () => {
  it('shows the split --shard computes: the same matrices on every shard, for diff with directions and for analyze', async () => {
    const e = await estimate([fx.base, fx.concentrated], { rank: 8, calibrate: false });
    const split = shardEstimates(e, 3);
    for (const s of split) {
      const part = await diffShard(fx.base, fx.concentrated, { index: s.index, count: 3 }, { rank: 8 });
      expect(part.runs[0]?.covers).toEqual(s.names);
    }
    const a = shardEstimates(await estimate([fx.base], { mode: 'truncated', rank: 8, calibrate: false }), 4);
    for (const s of a) expect((await analyzeShard(fx.base, { index: s.index, count: 4 }, { mode: 'truncated', rank: 8 })).runs[0]?.covers).toEqual(s.names);
    expect(split.reduce((t, s) => t + s.flops, 0)).toBeCloseTo(e.totals.flops, -3);
  });
});

describe('partials', () => {
  it('record their shard, the plan identity and the units they cover; the identity depends on what changes the numbers', async () => {
    const a = await diffShard(fx.base, fx.concentrated, { index: 1, count: 3 }, { rank: 8 });
    const b = await diffShard(fx.base, fx.concentrated, { index: 2, count: 3 }, { rank: 8 });
    expect(a.shard).toEqual({ index: 1, count: 3 });
    expect(a.plan.id).toMatch(/^[0-9a-f]{64}$/);
    expect(b.plan.id).toBe(a.plan.id);
    expect(a.plan.units).toBe(fx.matrices);
    const run = a.runs[0];
    expect(run?.covers.length).toBeGreaterThan(0);
    expect(run?.results.map((r) => r.name)).toEqual(run?.covers);
    const otherRank = await diffShard(fx.base, fx.concentrated, { index: 0, count: 3 }, { rank: 9, directions: false });
    const otherSeed = await diffShard(fx.base, fx.concentrated, { index: 0, count: 3 }, { rank: 8, seed: 5, directions: false });
    const otherTuned = await diffShard(fx.base, fx.dispersed, { index: 0, count: 3 }, { rank: 8, directions: false });
    const plain = await diffShard(fx.base, fx.concentrated, { index: 0, count: 3 }, { rank: 8, directions: false });
    const ids = new Set([a.plan.id, otherRank.plan.id, otherSeed.plan.id, otherTuned.plan.id, plain.plan.id]);
    expect(ids.size).toBe(5);
    // Threads do not change the numbers' plan.
    const threads = await diffShard(fx.base, fx.concentrated, { index: 0, count: 3 }, { rank: 8, directions: false, threads: 1 });
    expect(threads.plan.id).toBe(plain.plan.id);
  });

  it('the plan identity ignores where the checkpoints are (a copy elsewhere that keeps its times is the same plan)', async () => {
    const elsewhere = path.join(tmp.dir, 'elsewhere');
    fs.mkdirSync(elsewhere, { recursive: true });
    for (const [from, to] of [[fx.base, 'b.safetensors'], [fx.concentrated, 't.safetensors']] as const) {
      fs.copyFileSync(from, path.join(elsewhere, to));
      const { atime, mtime } = fs.statSync(from);
      fs.utimesSync(path.join(elsewhere, to), atime, mtime); // cp -p
    }
    const here = await diffShard(fx.base, fx.concentrated, { index: 0, count: 2 }, { rank: 8 });
    const there = await diffShard(path.join(elsewhere, 'b.safetensors'), path.join(elsewhere, 't.safetensors'), { index: 0, count: 2 }, { rank: 8 });
    expect(there.plan.id).toBe(here.plan.id);
    expect(there.runs[0]?.covers).toEqual(here.runs[0]?.covers);
  });
});

/**
 * trajectory --shard + merge = a single trajectory run: full checkpoints (with the direction analysis,
 * so every kind of unit is sharded: a step's matrices against the base, against the previous step, and
 * their settling) and LoRA checkpoints (with their base, and without), for one shard, uneven splits and
 * more shards than units. The partials go through their files; the merged trajectory document and every
 * step's reports are compared with the single run's, timings and timestamps aside. Also: partials of
 * another plan are refused (MERGE_PLAN_MISMATCH), and the CLI's --out set — trajectory.*, the steps'
 * reports and the comparison family — is the same from one run and from merge.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { merge } from '../../lib/merge';
import { writeSafetensorsSync } from '../../lib/read/writer';
import { type PartialReport, serializePartial } from '../../lib/report/partial';
import { serializeReport } from '../../lib/report/schema';
import { trajectoryJson } from '../../lib/report/trajectory-render';
import { diffShard } from '../../lib/shard';
import { trajectory, type TrajectoryOptions, type TrajectoryResult, trajectoryShard } from '../../lib/trajectory';
import { seededGaussian } from '../../lib/results/random';
import { runCli } from '../helpers/cli';
import { temporaryDirectory } from '../helpers/paths';
import { shardAndMerge, withoutTimings } from '../helpers/shard-fixtures';

const tmp = temporaryDirectory('paramscope-tshard-');
afterAll(() => tmp.cleanup());

const STEPS = [10, 20, 30];
const SHAPES: Record<string, [number, number]> = { 'self_attn.q_proj': [24, 16], 'mlp.down_proj': [16, 32] };
const LAYERS = 2;
const MATRICES = LAYERS * Object.keys(SHAPES).length;

/** A base and three full checkpoints whose updates grow in rank (1, 2, 3) and strength: the settling is not trivial. */
function writeFull(dir: string): { base: string; run: string } {
  const next = seededGaussian(11);
  const base: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  const steps = STEPS.map(() => ({} as typeof base));
  for (let l = 0; l < LAYERS; l++)
    for (const [m, [rows, cols]] of Object.entries(SHAPES)) {
      const name = `model.layers.${l}.${m}.weight`;
      const w = Float32Array.from({ length: rows * cols }, () => 0.05 * next());
      base[name] = { dtype: 'F32', shape: [rows, cols], data: w };
      const us = [0, 1, 2].map(() => Array.from({ length: rows }, next)), vs = [0, 1, 2].map(() => Array.from({ length: cols }, next));
      STEPS.forEach((_, s) => {
        const d = Float32Array.from(w);
        for (let k = 0; k <= s; k++)
          for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) d[r * cols + c]! += 0.01 * (s + 1) * (1 - 0.2 * k) * (us[k]![r] as number) * (vs[k]![c] as number);
        steps[s]![name] = { dtype: 'F32', shape: [rows, cols], data: d };
      });
    }
  const out = { base: path.join(dir, 'base.safetensors'), run: path.join(dir, 'run') };
  writeSafetensorsSync(out.base, base);
  STEPS.forEach((step, s) => {
    fs.mkdirSync(path.join(out.run, `checkpoint-${step}`), { recursive: true });
    writeSafetensorsSync(path.join(out.run, `checkpoint-${step}`, 'model.safetensors'), steps[s]!);
  });
  return out;
}

/** A base and two PEFT LoRA checkpoints (rank 2) on q and v of one layer. */
function writeLora(dir: string): { base: string; run: string } {
  const next = seededGaussian(12);
  const shapes: Record<string, [number, number]> = { q_proj: [24, 16], v_proj: [12, 16] };
  const base = path.join(dir, 'lora-base.safetensors');
  writeSafetensorsSync(base, Object.fromEntries(Object.entries(shapes).map(([m, [r, c]]) =>
    [`model.layers.0.self_attn.${m}.weight`, { dtype: 'F32' as const, shape: [r, c], data: Float32Array.from({ length: r * c }, next) }])));
  const run = path.join(dir, 'lora-run');
  for (const step of [100, 200]) {
    const ckpt = path.join(run, `checkpoint-${step}`);
    fs.mkdirSync(ckpt, { recursive: true });
    fs.writeFileSync(path.join(ckpt, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 4 }));
    const tensors: Parameters<typeof writeSafetensorsSync>[1] = {};
    for (const [m, [r, c]] of Object.entries(shapes)) {
      const key = `base_model.model.model.layers.0.self_attn.${m}`;
      tensors[`${key}.lora_A.weight`] = { dtype: 'F32', shape: [2, c], data: Float32Array.from({ length: 2 * c }, () => next() * step / 100) };
      tensors[`${key}.lora_B.weight`] = { dtype: 'F32', shape: [r, 2], data: Float32Array.from({ length: 2 * r }, next) };
    }
    writeSafetensorsSync(path.join(ckpt, 'adapter_model.safetensors'), tensors);
  }
  return { base, run };
}

let full: { base: string; run: string };
let lora: { base: string; run: string };
beforeAll(() => {
  full = writeFull(tmp.dir);
  lora = writeLora(tmp.dir);
});


/** The merged trajectory equals the single run's: its document and every step's reports. */
function expectSame(merged: TrajectoryResult, single: TrajectoryResult): void {
  expect(withoutTimings(trajectoryJson(merged.report))).toEqual(withoutTimings(trajectoryJson(single.report)));
  expect(merged.steps.map((s) => s.step)).toEqual(single.steps.map((s) => s.step));
  merged.steps.forEach((s, i) => {
    const t = single.steps[i] as TrajectoryResult['steps'][number];
    expect(withoutTimings(serializeReport(s.vsBase))).toEqual(withoutTimings(serializeReport(t.vsBase)));
    expect(s.vsPrevious === null ? null : withoutTimings(serializeReport(s.vsPrevious))).toEqual(t.vsPrevious === null ? null : withoutTimings(serializeReport(t.vsPrevious)));
  });
}

const coveredUnits = (partials: readonly PartialReport[]) => partials.reduce((s, p) => s + p.runs.reduce((t, r) => t + r.covers.length, 0), 0);

describe('trajectory shard + merge = one trajectory run', () => {
  const options: TrajectoryOptions = { mode: 'truncated', rank: 6, directionRank: 4 };
  // Units: per step its matrices against the base; from the second step also against the previous step, and their settling.
  const units = STEPS.length * MATRICES + 2 * (STEPS.length - 1) * MATRICES;

  it.each([1, 3, 7, units + 9])('full checkpoints, %i shard(s)', async (count) => {
    const single = await trajectory(full.base, [full.run], options);
    expect(single.report.options.directions.enabled).toBe(true);
    expect(single.report.steps[1]?.settling?.left.matrices).toBe(MATRICES); // the settling is computed, so it is sharded
    const { merged, partials } = await shardAndMerge(tmp.dir, count, (s) => trajectoryShard(full.base, [full.run], s, options));
    expect(merged.command).toBe('trajectory');
    if (merged.command !== 'trajectory') return;
    expectSame(merged.result, single);
    expect(partials.every((p) => p.plan.units === units)).toBe(true);
    expect(coveredUnits(partials)).toBe(units); // every unit on exactly one shard
    if (count > units) expect(partials.filter((p) => p.runs.every((r) => r.covers.length === 0)).length).toBe(count - units);
    // Balanced across the steps: with 3 shards, every shard holds units of more than one step.
    if (count === 3) for (const p of partials) expect(new Set(p.runs.filter((r) => r.covers.length > 0).map((r) => r.run?.split(/[-/]/)[1])).size).toBeGreaterThan(1);
  });

  it.each([1, 4, 20])('LoRA checkpoints with their base, %i shard(s)', async (count) => {
    const single = await trajectory(lora.base, [lora.run]);
    expect(single.report.kind).toBe('adapter');
    expect(single.report.steps[1]?.settling).not.toBeNull();
    const { merged, partials } = await shardAndMerge(tmp.dir, count, (s) => trajectoryShard(lora.base, [lora.run], s));
    if (merged.command !== 'trajectory') throw new Error(merged.command);
    expectSame(merged.result, single);
    expect(coveredUnits(partials)).toBe(2 * 2 + 2 + 2); // 2 modules at 2 steps; at the second, against the previous step and their settling
  });

  it('LoRA checkpoints without their base, 3 shards', async () => {
    const single = await trajectory(null, [lora.run]);
    const { merged } = await shardAndMerge(tmp.dir, 3, (s) => trajectoryShard(null, [lora.run], s));
    if (merged.command !== 'trajectory') throw new Error(merged.command);
    expectSame(merged.result, single);
    expect(merged.result.report.notes).toEqual(single.report.notes);
    expect(merged.result.report.notes.length).toBe(1);
  });
});

describe('trajectory partials of another plan', () => {
  it('are refused by merge with MERGE_PLAN_MISMATCH: a diff\'s, another overlap rank\'s, another checkpoint list\'s', async () => {
    const options: TrajectoryOptions = { mode: 'truncated', rank: 6, directionRank: 4 };
    const dir = path.join(tmp.dir, 'mixed');
    fs.mkdirSync(dir);
    const file = (name: string, p: PartialReport) => {
      fs.writeFileSync(path.join(dir, name), serializePartial(p));
      return path.join(dir, name);
    };
    const a = file('a.json', await trajectoryShard(full.base, [full.run], { index: 0, count: 2 }, options));
    const others = [
      file('diff.json', await diffShard(full.base, path.join(full.run, 'checkpoint-10'), { index: 1, count: 2 }, options)),
      file('overlap.json', await trajectoryShard(full.base, [full.run], { index: 1, count: 2 }, { ...options, overlapRank: 3 })),
      file('fewer.json', await trajectoryShard(full.base, [path.join(full.run, 'checkpoint-10'), path.join(full.run, 'checkpoint-20')], { index: 1, count: 2 }, options)),
    ];
    for (const other of others) {
      const error = await merge([a, other]).then(() => null, (e: unknown) => e as { code?: string; message: string });
      expect(error?.code, other).toBe('MERGE_PLAN_MISMATCH');
      expect(error?.message).toContain(path.basename(other));
    }
  });
});

describe('the CLI', () => {
  it('trajectory --out writes the comparison family beside trajectory.* and the steps\' reports; --shard + merge --out writes the same set', () => {
    const args = [full.base, full.run, '--rank', '6', '--direction-rank', '4', '--no-cache', '--bootstrap', '50'];
    const single = path.join(tmp.dir, 'cli-single');
    const one = runCli(['trajectory', ...args, '--out', single]);
    expect(one.status, one.stderr).toBe(0);
    const names = fs.readdirSync(single).sort();
    for (const f of ['comparison.html', 'comparison.json', 'comparison.csv', 'comparison.md', 'trajectory.json', 'step-10.report.html', 'step-30-vs-20.pairs.csv'])
      expect(names, f).toContain(f);
    const comparison = JSON.parse(fs.readFileSync(path.join(single, 'comparison.json'), 'utf8')) as { axis: { name: string } | null; arms: Array<{ label: string; step?: number }> };
    expect(comparison.axis?.name).toBe('step');
    expect(comparison.arms.map((a) => [a.label, a.step])).toEqual(STEPS.map((s) => [`step-${s}`, s]));
    expect(fs.readFileSync(path.join(single, 'comparison.html'), 'utf8')).toContain('step-10.report.html');

    const parts = path.join(tmp.dir, 'cli-parts');
    for (const i of [0, 1]) {
      const shard = runCli(['trajectory', ...args, '--shard', `${i}/2`, '--out', parts]);
      expect(shard.status, shard.stderr).toBe(0);
      expect(shard.stderr).toMatch(new RegExp(`shard ${i}/2: \\d+ of ${3 * MATRICES + 4 * MATRICES} units`));
    }
    const mergedDir = path.join(tmp.dir, 'cli-merged');
    const m = runCli(['merge', path.join(parts, 'part-0-of-2.json'), path.join(parts, 'part-1-of-2.json'), '--bootstrap', '50', '--out', mergedDir]);
    expect(m.status, m.stderr).toBe(0);
    expect(m.stdout).toMatch(/^3 checkpoints against .*base\.safetensors, in step order:/);
    expect(fs.readdirSync(mergedDir).sort()).toEqual(names);
    const read = (dir: string, f: string) => withoutTimings(fs.readFileSync(path.join(dir, f), 'utf8'));
    for (const f of ['trajectory.json', 'comparison.json', 'step-20.report.json']) expect(read(mergedDir, f), f).toEqual(read(single, f));
  }, 120_000);

  it('trajectory --help lists --shard', () => {
    const help = runCli(['trajectory', '--help']);
    expect(help.stdout).toContain('--shard <i/N|auto>');
    expect(help.stdout).toContain('comparison.html');
  });
});

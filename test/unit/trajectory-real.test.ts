/**
 * `trajectory` on the real two-checkpoint LoRA runs of ../shared/fixtures/real (SOURCES.md): PEFT LoRA
 * r=8 on roberta-base (checkpoint-230 → 460) and r=16 on GPT-2 with fan_in_fan_out (checkpoint-500 →
 * 1000), laid out as Trainer run directories in a temporary directory, analysed without their base.
 * Each step's spectra against REFERENCE.json (numpy, float64); the step's update ‖ΔW_k − ΔW_{k−1}‖ formed
 * densely in float64; the overlap of the two steps' top singular subspaces against an SVD of the factors
 * computed here in float64.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAdapter } from '../../lib/plan/lora/open-adapter';
import type { Adapter } from '../../lib/plan/lora/types';
import { trajectory, type TrajectoryResult } from '../../lib/trajectory';
import { runCli } from '../helpers/cli';
import { denseLowRank, lowRankSvd, subspaceSimilarity } from '../helpers/dense-svd';
import { noteSkippedWithoutShared, realFixturesDir, temporaryDirectory } from '../helpers/paths';

noteSkippedWithoutShared('trajectory on the real LoRA checkpoints');

interface ReferenceModule { singular_values: number[]; rank: number; scale: number }

const RUNS = [
  { fixture: 'peft-lora-roberta-mrpc', steps: [230, 460], rank: 8, modules: 24 },
  { fixture: 'trl-kto-lora-gpt2', steps: [500, 1000], rank: 16, modules: 12 },
] as const;

describe.skipIf(!realFixturesDir)('trajectory on the real LoRA checkpoints', () => {
  let dir: string;
  let cleanup: () => void;
  let reference: Record<string, Record<string, ReferenceModule>>;

  beforeAll(() => {
    ({ dir, cleanup } = temporaryDirectory());
    reference = (JSON.parse(fs.readFileSync(path.join(realFixturesDir as string, 'REFERENCE.json'), 'utf8')) as { lora: typeof reference }).lora;
  });
  afterAll(() => cleanup());

  /** The fixture's checkpoints copied into a run directory of checkpoint-N/ (later step first, to test the order). */
  function runDirectory(fixture: string, steps: readonly number[]): string {
    const run = path.join(dir, fixture);
    for (const step of [...steps].reverse()) {
      const to = path.join(run, `checkpoint-${step}`);
      fs.mkdirSync(to, { recursive: true });
      for (const f of ['adapter_model.safetensors', 'adapter_config.json']) fs.copyFileSync(path.join(realFixturesDir as string, fixture, `checkpoint-${step}`, f), path.join(to, f));
    }
    return run;
  }

  for (const { fixture, steps, rank, modules } of RUNS) {
    describe(`${fixture}: checkpoint-${steps[0]} → checkpoint-${steps[1]}`, () => {
      let run: string;
      let result: TrajectoryResult;
      let adapters: Adapter[];

      beforeAll(async () => {
        run = runDirectory(fixture, steps);
        result = await trajectory(null, [run], {});
        adapters = await Promise.all(steps.map((s) => openAdapter(path.join(run, `checkpoint-${s}`))));
      });

      it('the steps in order, each update\'s spectrum as REFERENCE.json has it', () => {
        const { report } = result;
        expect(report.kind).toBe('adapter');
        expect(report.base).toBeNull();
        expect(report.steps.map((s) => s.step)).toEqual([...steps]);
        expect(report.matrices).toHaveLength(modules);
        for (const [i, step] of steps.entries()) {
          const ref = reference[`${fixture}/checkpoint-${step}/adapter_model.safetensors`] as Record<string, ReferenceModule>;
          const pairs = result.steps[i]?.vsBase.pairs ?? [];
          expect(pairs).toHaveLength(modules);
          for (const m of adapters[i]?.modules ?? []) {
            const expected = ref[m.key]?.singular_values as number[];
            const got = pairs.find((p) => p.name === m.name)?.spectrum?.values as Float64Array;
            expect(expected, m.key).toHaveLength(rank);
            for (let k = 0; k < rank; k++) expect(Math.abs((got[k] as number) - (expected[k] as number)) / (expected[0] as number), `${m.key} σ${k + 1}`).toBeLessThan(1e-6);
          }
        }
      });

      it('the step\'s update ΔW_k − ΔW_{k−1}: its energy and its size relative to ΔW_{k−1}, against the matrices formed in float64', () => {
        const [before, after] = adapters as [Adapter, Adapter];
        const stepPairs = result.steps[1]?.vsPrevious?.pairs ?? [];
        expect(stepPairs).toHaveLength(modules);
        let stepEnergy = 0, previousEnergy = 0;
        for (const m of after.modules) {
          const p = before.modules.find((x) => x.name === m.name) as Adapter['modules'][number];
          const now = denseLowRank(m.b, m.a, m.rows, m.cols, m.rank, m.scale);
          const then = denseLowRank(p.b, p.a, p.rows, p.cols, p.rank, p.scale);
          let d2 = 0, t2 = 0;
          for (let i = 0; i < now.length; i++) {
            d2 += ((now[i] as number) - (then[i] as number)) ** 2;
            t2 += (then[i] as number) ** 2;
          }
          stepEnergy += d2;
          previousEnergy += t2;
          const pair = stepPairs.find((x) => x.name === m.name);
          expect(pair?.rankCap).toBe(2 * rank);
          expect(Math.abs((pair?.spectrum?.frobeniusSquared as number) / d2 - 1), m.name).toBeLessThan(1e-5);
          const values = Array.from(pair?.spectrum?.values ?? []);
          expect(Math.abs(values.reduce((s, v) => s + v * v, 0) / d2 - 1), `${m.name}: Σσ² of the step`).toBeLessThan(1e-5);
          const series = result.report.matrices.find((x) => x.name === m.name);
          expect(Math.abs((series?.stepUpdate[1] as number) / Math.sqrt(d2 / t2) - 1), m.name).toBeLessThan(1e-5);
        }
        expect(Math.abs((result.report.steps[1]?.vsPrevious?.relativeToPreviousUpdate as number) / Math.sqrt(stepEnergy / previousEnergy) - 1)).toBeLessThan(1e-5);
      });

      it('where the directions settle: the overlap of the two steps\' top-r subspaces against a float64 SVD of the factors', () => {
        const [before, after] = adapters as [Adapter, Adapter];
        const sims: number[] = [];
        for (const m of after.modules) {
          const p = before.modules.find((x) => x.name === m.name) as Adapter['modules'][number];
          const now = lowRankSvd(m.b, m.a, m.rows, m.cols, m.rank, m.scale);
          const then = lowRankSvd(p.b, p.a, p.rows, p.cols, p.rank, p.scale);
          // The reference SVD is the reference's: its values are REFERENCE.json's.
          const ref = reference[`${fixture}/checkpoint-${steps[1]}/adapter_model.safetensors`]?.[m.key]?.singular_values as number[];
          expect(Math.abs((now.values[rank - 1] as number) - (ref[rank - 1] as number)) / (ref[0] as number)).toBeLessThan(1e-9);
          const series = result.report.matrices.find((x) => x.name === m.name);
          expect(series?.overlapK[1], m.name).toBe(rank); // every direction of a trained adapter is signal
          const left = subspaceSimilarity(now.u, then.u, m.rows, rank);
          const right = subspaceSimilarity(now.v, then.v, m.cols, rank);
          expect(Math.abs((series?.leftOverlap[1] as number) - left), `${m.name} left`).toBeLessThan(1e-6);
          expect(Math.abs((series?.rightOverlap[1] as number) - right), `${m.name} right`).toBeLessThan(1e-6);
          sims.push(left);
        }
        const settling = result.report.steps[1]?.settling;
        sims.sort((a, b) => a - b);
        const median = sims.length % 2 ? sims[(sims.length - 1) / 2] : ((sims[sims.length / 2 - 1] as number) + (sims[sims.length / 2] as number)) / 2;
        expect(settling?.left.median).toBeCloseTo(median as number, 9);
        expect(settling?.left.matrices).toBe(modules);
        // Two checkpoints of one run: far more aligned than random rank-r subspaces (r/n).
        expect(median as number).toBeGreaterThan(0.3);
      });

      it('the CLI: a table row per step, trajectory.json in --out', () => {
        const out = path.join(dir, `${fixture}-out`);
        const cli = runCli(['trajectory', '--no-base', run, '--out', out]);
        expect(cli.status, cli.stderr).toBe(0);
        expect(cli.stdout).toMatch(/^2 adapter checkpoints against \(no base\), in step order:/);
        for (const step of steps) expect(cli.stdout).toMatch(new RegExp(`\\n${step}\\s+0\\.\\d+\\s+(concentrated|mixed|dispersed)`));
        const written = JSON.parse(fs.readFileSync(path.join(out, 'trajectory.json'), 'utf8')) as TrajectoryResult['report'];
        expect(written.matrices.map((m) => m.leftOverlap[1])).toEqual(result.report.matrices.map((m) => m.leftOverlap[1]));
      });
    });
  }
});

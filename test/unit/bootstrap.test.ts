/**
 * The bootstrap over matrices (lib/aggregate/bootstrap.ts) and the statistics it recomputes
 * (lib/aggregate/arm-statistics.ts): reproducible with a seed, intervals that cover a known truth about
 * as often as they claim on synthetic data of known variance, and the "differs" decision of the
 * comparison on arms that clearly differ and on identical copies.
 */
import { describe, expect, it } from 'vitest';
import { type UpdateUnit, updateStatistics, UPDATE_STATISTICS } from '../../lib/aggregate/arm-statistics';
import { bootstrap, percentileInterval, quantile } from '../../lib/aggregate/bootstrap';
import { buildComparison } from '../../lib/report/comparison/build';
import { seededGaussian, seededRandom } from '../../lib/results/random';
import { syntheticDiffReport } from '../helpers/synthetic-arms';

const mean = (xs: readonly number[]) => [xs.reduce((a, b) => a + b, 0) / xs.length];

describe('percentile interval', () => {
  it('interpolates quantiles like R type 7 and leaves non-finite replicates out', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10, 20, 30, 40, 50], 0.25)).toBe(20);
    expect(quantile([0, 10], 0.025)).toBeCloseTo(0.25, 12);
    expect(percentileInterval([5, NaN, 1, 3, 2, 4], 0.5)).toEqual([2, 4]);
    // Mostly undefined replicates: no interval rather than one from a handful.
    expect(percentileInterval([1, NaN, NaN, NaN], 0.9)).toEqual([NaN, NaN]);
  });
});

describe('reproducible with a seed', () => {
  const next = seededGaussian(3);
  const data = Array.from({ length: 80 }, () => 2 + next());

  it('the same seed gives identical intervals; another seed different but overlapping ones', async () => {
    const a = await bootstrap(data, mean, { seed: 11, replicates: 1000 });
    const b = await bootstrap(data, mean, { seed: 11, replicates: 1000 });
    const c = await bootstrap(data, mean, { seed: 12, replicates: 1000 });
    expect(b).toEqual(a);
    expect(c[0]?.estimate).toBe(a[0]?.estimate);
    expect([c[0]?.lo, c[0]?.hi]).not.toEqual([a[0]?.lo, a[0]?.hi]);
    const [x, y] = [a[0]!, c[0]!];
    expect(Math.max(x.lo, y.lo)).toBeLessThan(Math.min(x.hi, y.hi));
    // Monte-Carlo error of a 1000-replicate percentile end is a few % of the width, not more.
    expect(Math.abs(x.lo - y.lo)).toBeLessThan(0.1 * (x.hi - x.lo));
  });

  it('a comparison document is identical for one seed (up to its timestamp) and records the seed', async () => {
    const arms = ['a', 'b', 'c'].map((label, i) => ({ label, kind: 'diff' as const, report: syntheticDiffReport({ label, layers: 6, spread: 0.1 + 0.2 * i, seed: i + 1 }) }));
    const one = await buildComparison({ arms }, { seed: 5, replicates: 300 });
    const two = await buildComparison({ arms }, { seed: 5, replicates: 300 });
    const three = await buildComparison({ arms }, { seed: 6, replicates: 300 });
    expect({ ...two, createdAt: '' }).toEqual({ ...one, createdAt: '' });
    expect(one.bootstrap).toEqual({ replicates: 300, seed: 5, level: 0.95, unit: 'matrix', method: 'percentile' });
    expect(three.arms[0]?.statistics.score?.lo).not.toBe(one.arms[0]?.statistics.score?.lo);
    expect(three.arms[0]?.statistics.score?.estimate).toBe(one.arms[0]?.statistics.score?.estimate);
  });
});

describe('interval coverage on synthetic updates of known variance', () => {
  // n matrices, each ‖W‖² = 1 and ‖ΔW‖² ~ N(μ, σ²) (kept positive), each with signal with probability p.
  // True relative update √μ (to first order), true coverage p. A 95 % interval should cover each in
  // about 95 % of independent draws; with 200 draws the binomial sd is 1.5 %, so [88 %, 99.5 %] is a
  // test that fails for a wrong interval (e.g. a 68 % one, or one centred off the estimate) but not by chance.
  const n = 100, mu = 1e-4, sigma = 3e-5, p = 0.6, trials = 200;
  const draw = (seed: number): UpdateUnit[] => {
    const g = seededGaussian(seed), u = seededRandom(seed + 1_000_003);
    return Array.from({ length: n }, (_, i) => {
      const energy = Math.max(1e-9, mu + sigma * g());
      const signal = u() < p;
      return { name: `m${i}`, shape: '8x8', term: { energy, signal, spread: [0.5, 0.5] as [number, number] }, updateEnergy: energy, baseEnergy: 1 };
    });
  };
  const relative = UPDATE_STATISTICS.findIndex((s) => s.key === 'relativeUpdate');
  const coverage = UPDATE_STATISTICS.findIndex((s) => s.key === 'coverage');

  it(`covers the true relative update and coverage in 88–99.5 % of ${trials} draws, with the delta-method width`, async () => {
    let coveredRelative = 0, coveredCoverage = 0;
    const widths: number[] = [];
    for (let t = 0; t < trials; t++) {
      const [rel, cov] = await bootstrap(draw(t * 7 + 1), (s) => {
        const v = updateStatistics(s);
        return [v[relative] as number, v[coverage] as number];
      }, { seed: t, replicates: 400 });
      if (rel!.lo <= Math.sqrt(mu) && Math.sqrt(mu) <= rel!.hi) coveredRelative++;
      if (cov!.lo <= p && p <= cov!.hi) coveredCoverage++;
      widths.push(rel!.hi - rel!.lo);
    }
    expect(coveredRelative / trials).toBeGreaterThanOrEqual(0.88);
    expect(coveredRelative / trials).toBeLessThanOrEqual(0.995);
    expect(coveredCoverage / trials).toBeGreaterThanOrEqual(0.88);
    expect(coveredCoverage / trials).toBeLessThanOrEqual(0.995);
    // √(mean u) has standard error σ / (2 √μ √n) (delta method): a 95 % interval is 3.92 of those wide.
    const expected = (3.92 * sigma) / (2 * Math.sqrt(mu) * Math.sqrt(n));
    const typical = widths.sort((a, b) => a - b)[trials >> 1] as number;
    expect(Math.abs(typical / expected - 1)).toBeLessThan(0.15);
  }, 60_000);
});

describe('"differs": the interval of a paired difference', () => {
  it('excludes 0 for clearly different arms, is exactly [0, 0] for identical copies', async () => {
    const narrow = syntheticDiffReport({ label: 'narrow', layers: 8, spread: 0.01, seed: 1 });
    const broad = syntheticDiffReport({ label: 'broad', layers: 8, spread: 0.8, seed: 2 });
    const doc = await buildComparison({ arms: [
      { label: 'narrow', kind: 'diff', report: narrow }, { label: 'broad', kind: 'diff', report: broad }, { label: 'narrow-copy', kind: 'diff', report: structuredClone(narrow) },
    ] }, { replicates: 500 });
    const pair = (a: string, b: string) => doc.differences.find((d) => d.a === a && d.b === b)!;
    const different = pair('narrow', 'broad');
    expect(different.pairing).toBe('paired');
    expect(different.sharedMatrices).toBe(56);
    expect(different.statistics.score?.differs).toBe(true);
    expect(different.statistics.score!.lo).toBeGreaterThan(0); // broad minus narrow: more dispersed
    expect(different.statistics.directionalSpread?.differs).toBe(true);
    const same = pair('narrow', 'narrow-copy');
    for (const s of doc.statistics) {
      expect(same.statistics[s.key]?.differs, s.key).toBe(false);
      expect(same.statistics[s.key]?.estimate, s.key).toBe(0);
      expect([same.statistics[s.key]?.lo, same.statistics[s.key]?.hi], s.key).toEqual([0, 0]);
    }
  });

  it('two draws of one population do not differ in score', async () => {
    const a = syntheticDiffReport({ label: 'a', layers: 10, spread: 0.2, seed: 21 });
    const b = syntheticDiffReport({ label: 'b', layers: 10, spread: 0.2, seed: 22 });
    const doc = await buildComparison({ arms: [{ label: 'a', kind: 'diff', report: a }, { label: 'b', kind: 'diff', report: b }] }, { replicates: 1000 });
    const d = doc.differences[0]!;
    expect(d.statistics.score?.differs).toBe(false);
    expect(d.statistics.score!.lo).toBeLessThan(0);
    expect(d.statistics.score!.hi).toBeGreaterThan(0);
  });
});

import { describe, expect, it } from 'vitest';
import { gini, normalizedEntropy, summarizeGroups } from '../../lib/aggregate/groups';

describe('aggregation', () => {
  it('summarises groups with parameter-weighted means, medians and energy shares', () => {
    const items = [
      { layer: '0', parameters: 100, energy: 1, metrics: { r: 2 } },
      { layer: '0', parameters: 300, energy: 3, metrics: { r: 4 } },
      { layer: '1', parameters: 100, energy: 4, metrics: { r: 10, s: Number.NaN } },
      { layer: null, parameters: 5, energy: 2, metrics: { r: 99 } },
    ];
    const groups = summarizeGroups(items, (i) => i.layer);
    expect(groups.map((g) => g.key)).toEqual(['0', '1']);
    const [g0, g1] = groups;
    expect(g0?.matrices).toBe(2);
    expect(g0?.parameters).toBe(400);
    expect(g0?.mean.r).toBeCloseTo((2 * 100 + 4 * 300) / 400, 12);
    expect(g0?.median.r).toBe(3);
    expect(g0?.energyShare).toBeCloseTo(4 / 10, 12); // total energy includes the ungrouped item
    expect(g1?.mean.s).toBeUndefined(); // NaN left out
  });

  it('entropy and Gini of concentrated and even distributions', () => {
    expect(normalizedEntropy([1, 1, 1, 1])).toBeCloseTo(1, 12);
    expect(normalizedEntropy([1, 0, 0, 0])).toBe(0);
    expect(gini([1, 1, 1, 1])).toBeCloseTo(0, 12);
    expect(gini([0, 0, 0, 4])).toBeCloseTo(0.75, 12);
  });
});

import { regimeVerdict, type RegimeMatrix } from '../../lib/aggregate/regime';

describe('regime verdict', () => {
  // A matrix whose signal has `rank` equal singular values of size `value` above a noise edge of 1.
  const matrix = (name: string, layer: number, rank: number, value: number, cap = 256): RegimeMatrix => ({
    name, layer, moduleType: 'q', rankCap: cap, energy: rank * value * value,
    values: new Float64Array(Array.from({ length: cap }, (_, i) => (i < rank ? value : 0.5))),
    frobeniusSquared: rank * value * value + (cap - rank) * 0.25, noiseEdge: 1,
  });

  it('few directions in few matrices is concentrated; many in all is dispersed', () => {
    const narrow = regimeVerdict([matrix('a', 0, 2, 10), ...Array.from({ length: 7 }, (_, i) => matrix(`z${i}`, i + 1, 0, 0))]);
    expect(narrow.label).toBe('concentrated');
    expect(narrow.components.directionalSpread[0]).toBeCloseTo(Math.sqrt(2 / 256), 12);
    expect(narrow.components.coverage).toBeCloseTo(1 / 8, 12);
    const broad = regimeVerdict(Array.from({ length: 8 }, (_, i) => matrix(`m${i}`, i, 200, 3)));
    expect(broad.label).toBe('dispersed');
    expect(broad.components.layerSpread).toBeCloseTo(1, 12);
    expect(broad.score).toBeCloseTo(0.75 * Math.sqrt(200 / 256) + 0.15 + 0.1, 12);
  });

  it('a low-rank update of every matrix still reads concentrated (D dominates)', () => {
    const everywhere = regimeVerdict(Array.from({ length: 12 }, (_, i) => matrix(`m${i}`, i, 4, 10, 2048)));
    expect(everywhere.label).toBe('concentrated');
  });

  it('is indeterminate with low confidence when most energy is below the noise floor, and no-signal when all is', () => {
    const hidden = regimeVerdict(Array.from({ length: 8 }, (_, i) => matrix(`m${i}`, i, 3, 2)), 0.2);
    expect(hidden.label).toBe('indeterminate');
    expect(hidden.confidence).toBe('low');
    expect(hidden.confidenceNote).toContain('20.0% of the update energy');
    const none = regimeVerdict([matrix('a', 0, 0, 0)]);
    expect(none.label).toBe('no-signal');
  });

  it('hidden energy below the edge widens D from the fewest directions it can fill to all of them', () => {
    // 2 directions of energy 100 each, plus 50 of hidden energy: below an edge of 1, it fills ≥ 50 directions.
    const m: RegimeMatrix = { ...matrix('a', 0, 2, 10), hiddenEnergy: 50 };
    const erank = (count: number) => {
      const parts = [100, 100, ...new Array<number>(count).fill(50 / count)];
      const total = 250;
      return Math.exp(-parts.reduce((s, e) => s + (e / total) * Math.log(e / total), 0));
    };
    const verdict = regimeVerdict([m]);
    expect(verdict.components.directionalSpread[0]).toBeCloseTo(Math.sqrt(erank(50) / 256), 12);
    expect(verdict.components.directionalSpread[1]).toBeCloseTo(Math.sqrt(erank(254) / 256), 12);
    expect(verdict.evidence.some((e) => e.text.includes('20.0% of the signal lies below the noise edge'))).toBe(true);
    // A matrix whose only signal is hidden still counts as changed.
    const onlyHidden: RegimeMatrix = { ...matrix('b', 1, 0, 0), hiddenEnergy: 30, energy: 30 };
    expect(regimeVerdict([m, onlyHidden]).components.coverage).toBe(1);
  });
});

import { noiseFloor, ROUNDING_MARGIN } from '../../lib/results/noise';
import type { SpectrumResult } from '../../lib/engine/types';

describe('storage-noise floor of ΔW', () => {
  // An exact 100×400 spectrum: 3 values above the edge σ(√100 + √400) = 30σ, the rest in the bulk.
  const sigma = 0.01, edge = 30 * sigma;
  const values = Float64Array.from({ length: 100 }, (_, i) => (i < 3 ? 1 - 0.1 * i : 0.2));
  const spectrum = (roundingEnergy?: number): SpectrumResult => ({
    index: 0, name: 'w', rows: 100, cols: 400, seconds: 0, values, errorBounds: new Float64Array(100),
    frobeniusSquared: values.reduce((s, v) => s + v * v, 0), complete: true, converged: true, powerIterations: 0, passes: 1, method: 'gram',
    metrics: { noiseEdge: edge, aboveNoiseEdge: 3 } as SpectrumResult['metrics'],
    ...(roundingEnergy === undefined ? {} : { roundingEnergy }),
  });

  it('counts below-edge energy beyond the rounding energy (with its margin) as hidden update', () => {
    const total = spectrum().frobeniusSquared, above = 1 + 0.81 + 0.64, below = 97 * 0.04;
    const rounding = 2;  // below-edge 3.88 > 1.25 × 2: 1.38 of it is hidden update
    const floor = noiseFloor(spectrum(rounding));
    expect(floor?.energyShareAbove).toBeCloseTo(above / total, 12);
    expect(floor?.roundingEnergy).toBe(rounding);
    expect(floor?.hiddenShare).toBeCloseTo((below - ROUNDING_MARGIN * rounding) / total, 12);
    // All of the bulk within what rounding explains: nothing hidden; no rounding energy: not reported.
    expect(noiseFloor(spectrum(4))?.hiddenShare).toBe(0);
    expect(noiseFloor(spectrum())?.hiddenShare).toBeUndefined();
  });
});

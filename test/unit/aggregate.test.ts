import { describe, expect, it } from 'vitest';
import { gini, normalizedEntropy, summarizeGroups } from '../../lib/aggregate';

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

import { regimeVerdict, type RegimeMatrix } from '../../lib/regime';

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
});

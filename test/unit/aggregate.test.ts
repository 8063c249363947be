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

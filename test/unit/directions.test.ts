import { describe, expect, it } from 'vitest';
import { compareSubspaces, intruderDimensions, randomIntruderProbability } from '../../lib/results/directions';
import { symmetricEigenvalues, smallSingularValues } from '../../lib/results/small-linalg';

/** Column-major n × k block whose columns are the given standard basis vectors, rotated by angle in the (0, last) plane. */
function basis(n: number, columns: number[], angle = 0): Float64Array {
  const out = new Float64Array(n * columns.length);
  columns.forEach((c, j) => {
    out[j * n + c] = c === 0 ? Math.cos(angle) : 1;
    if (c === 0 && angle) out[j * n + (n - 1)] = Math.sin(angle);
  });
  return out;
}

describe('small linear algebra', () => {
  it('Jacobi eigenvalues match a hand-computed 3×3 case', () => {
    // [[2,1,0],[1,2,0],[0,0,5]] has eigenvalues 5, 3, 1.
    const values = symmetricEigenvalues([2, 1, 0, 1, 2, 0, 0, 0, 5], 3);
    expect(values[0]).toBeCloseTo(5, 12);
    expect(values[1]).toBeCloseTo(3, 12);
    expect(values[2]).toBeCloseTo(1, 12);
  });
  it('singular values of a diagonal-by-permutation matrix', () => {
    expect(smallSingularValues([0, 3, 4, 0], 2, 2).map((v) => +v.toFixed(12))).toEqual([4, 3]);
  });
});

describe('subspaces and intruders', () => {
  it('identical subspaces score 1 with zero angles; orthogonal ones 0 with 90°', () => {
    const n = 10;
    const same = compareSubspaces(basis(n, [0, 1]), basis(n, [1, 0]), n, 2);
    expect(same.similarity).toBeCloseTo(1, 12);
    expect(same.principalAnglesDeg.every((a) => a < 1e-5)).toBe(true);
    expect(same.randomBaseline).toBeCloseTo(0.2, 12);
    const orthogonal = compareSubspaces(basis(n, [0, 1]), basis(n, [2, 3]), n, 2);
    expect(orthogonal.similarity).toBeCloseTo(0, 12);
    expect(orthogonal.principalAnglesDeg.every((a) => Math.abs(a - 90) < 1e-5)).toBe(true);
  });

  it('a rotated direction shows up as one principal angle of that size', () => {
    const n = 8;
    const cmp = compareSubspaces(basis(n, [0, 1], (30 * Math.PI) / 180), basis(n, [0, 1]), n, 2);
    expect(cmp.principalAnglesDeg[0]).toBeCloseTo(0, 6);
    expect(cmp.principalAnglesDeg[1]).toBeCloseTo(30, 6);
  });

  it('flags new directions as intruders and reweighted ones not', () => {
    const n = 12;
    const base = basis(n, [0, 1, 2]);
    const tuned = basis(n, [1, 0, 5]); // two old directions reordered, one new
    const result = intruderDimensions(tuned, base, n, 3, 0.5);
    expect(result.intruders).toEqual([2]);
    expect(result.bestCosines.slice(0, 2)).toEqual([1, 1]);
  });

  it('random baseline: high dimension makes random vectors intruders, low dimension does not', () => {
    expect(randomIntruderProbability(4096, 16, 0.5)).toBeCloseTo(1, 12);
    expect(randomIntruderProbability(2, 2, 0.5)).toBe(0); // in R² some coordinate is ≥ 1/√2
    // The large-n formula and sampling agree where they meet: n = 64, k = 8, threshold 0.2.
    const formula = randomIntruderProbability(64, 8, 0.2);
    const sampled = randomIntruderProbability(63, 8, 0.2, 20000);
    expect(Math.abs(formula - sampled)).toBeLessThan(0.03);
    expect(formula).toBeGreaterThan(0.2);
    expect(formula).toBeLessThan(0.9);
  });
});

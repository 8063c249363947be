/**
 * Dense linear algebra on the small matrices the report layer needs (k × k with k ≤ a few hundred):
 * products of column-major blocks and the eigenvalues of a symmetric matrix by cyclic Jacobi rotations,
 * which is accurate to working precision and plenty fast at these sizes.
 */

/** C = Aᵀ·B for column-major A (n × ka) and B (n × kb); returns column-major ka × kb. */
export function transposeTimes(a: ArrayLike<number>, b: ArrayLike<number>, n: number, ka: number, kb: number): Float64Array {
  const c = new Float64Array(ka * kb);
  for (let j = 0; j < kb; j++)
    for (let i = 0; i < ka; i++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += (a[i * n + r] as number) * (b[j * n + r] as number);
      c[j * ka + i] = s;
    }
  return c;
}

/** Eigenvalues (descending) of the symmetric n × n matrix `s` (column-major; only read, not modified). */
export function symmetricEigenvalues(s: ArrayLike<number>, n: number): number[] {
  const a = Float64Array.from(s as ArrayLike<number>);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += (a[q * n + p] as number) ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n - 1; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[q * n + p] as number;
        if (Math.abs(apq) < 1e-300) continue;
        const app = a[p * n + p] as number, aqq = a[q * n + q] as number;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), sn = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[p * n + k] as number, akq = a[q * n + k] as number;
          a[p * n + k] = c * akp - sn * akq;
          a[q * n + k] = sn * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[k * n + p] as number, aqk = a[k * n + q] as number;
          a[k * n + p] = c * apk - sn * aqk;
          a[k * n + q] = sn * apk + c * aqk;
        }
      }
  }
  return Array.from({ length: n }, (_, i) => a[i * n + i] as number).sort((x, y) => y - x);
}

/** Singular values (descending) of a column-major m × n matrix with small n, via the eigenvalues of MᵀM. */
export function smallSingularValues(m: ArrayLike<number>, rows: number, cols: number): number[] {
  return symmetricEigenvalues(transposeTimes(m, m, rows, cols, cols), cols).map((l) => Math.sqrt(Math.max(0, l)));
}

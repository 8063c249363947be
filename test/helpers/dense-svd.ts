/**
 * Dense double-precision references for tests, independent of the native code: a one-sided Jacobi SVD
 * (Hestenes) for small matrices, and the singular values of a low-rank product s·B·A from its r×r core.
 * Slow and simple on purpose: what they compute is easy to check by reading them.
 */

/** Cyclic Jacobi eigenvalues of a symmetric n×n matrix (row-major, copied), descending. */
export function symmetricEigenvalues(matrix: Float64Array, n: number): number[] {
  const m = Float64Array.from(matrix);
  const at = (i: number, j: number) => m[i * n + j] as number;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diagonal = 0;
    for (let i = 0; i < n; i++) {
      diagonal += at(i, i) ** 2;
      for (let j = i + 1; j < n; j++) off += at(i, j) ** 2;
    }
    if (off <= 1e-30 * diagonal || off === 0) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = at(p, q);
        if (apq === 0) continue;
        // The rotation that zeroes m[p][q] (Golub & Van Loan, Algorithm 8.4.1).
        const tau = (at(q, q) - at(p, p)) / (2 * apq);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = at(k, p);
          const mkq = at(k, q);
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = at(p, k);
          const mqk = at(q, k);
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
      }
  }
  return Array.from({ length: n }, (_, i) => at(i, i)).sort((x, y) => y - x);
}

/**
 * All min(rows, cols) singular values of a dense row-major matrix, descending, by one-sided Jacobi:
 * rotate pairs of columns until they are mutually orthogonal; the column norms are then the singular values.
 */
export function jacobiSingularValues(matrix: Float64Array, rows: number, cols: number): number[] {
  // Work on the orientation with fewer columns: the same singular values, fewer column pairs.
  const transposeFirst = cols > rows;
  const m = transposeFirst ? cols : rows;
  const n = transposeFirst ? rows : cols;
  const columns = Array.from({ length: n }, (_, j) => {
    const column = new Float64Array(m);
    for (let i = 0; i < m; i++) column[i] = transposeFirst ? (matrix[j * cols + i] as number) : (matrix[i * cols + j] as number);
    return column;
  });
  const dot = (x: Float64Array, y: Float64Array) => {
    let sum = 0;
    for (let i = 0; i < x.length; i++) sum += (x[i] as number) * (y[i] as number);
    return sum;
  };
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const x = columns[p] as Float64Array;
        const y = columns[q] as Float64Array;
        const alpha = dot(x, x);
        const beta = dot(y, y);
        const gamma = dot(x, y);
        if (Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta) || gamma === 0) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < m; i++) {
          const xi = x[i] as number;
          const yi = y[i] as number;
          x[i] = c * xi - s * yi;
          y[i] = s * xi + c * yi;
        }
      }
    if (!rotated) break;
  }
  return columns.map((c) => Math.sqrt(dot(c, c))).sort((x, y) => y - x);
}

/** ΔW = scale·B·A formed densely in double (B rows×rank, A rank×cols, row-major). */
export function denseLowRank(b: Float32Array, a: Float32Array, rows: number, cols: number, rank: number, scale: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let k = 0; k < rank; k++) {
      const bik = scale * (b[i * rank + k] as number);
      if (bik === 0) continue;
      for (let j = 0; j < cols; j++) out[i * cols + j] = (out[i * cols + j] as number) + bik * (a[k * cols + j] as number);
    }
  return out;
}

/**
 * The `rank` singular values of scale·B·A without forming it: σᵢ² are the eigenvalues of (BᵀB)(AAᵀ),
 * computed as those of the symmetric G^½·H·G^½ with G = BᵀB and H = AAᵀ (r×r, in double).
 */
export function lowRankSingularValues(b: Float32Array, a: Float32Array, rows: number, cols: number, rank: number, scale: number): number[] {
  const gram = (get: (k: number, l: number, i: number) => number, length: number) => {
    const g = new Float64Array(rank * rank);
    for (let k = 0; k < rank; k++)
      for (let l = k; l < rank; l++) {
        let sum = 0;
        for (let i = 0; i < length; i++) sum += get(k, l, i);
        g[k * rank + l] = sum;
        g[l * rank + k] = sum;
      }
    return g;
  };
  const g = gram((k, l, i) => (b[i * rank + k] as number) * (b[i * rank + l] as number), rows); // BᵀB
  const h = gram((k, l, j) => (a[k * cols + j] as number) * (a[l * cols + j] as number), cols); // AAᵀ
  const root = symmetricSquareRoot(g, rank);
  const core = multiply(multiply(root, h, rank), root, rank);
  return symmetricEigenvalues(core, rank).map((lambda) => Math.abs(scale) * Math.sqrt(Math.max(lambda, 0)));
}

function multiply(x: Float64Array, y: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const xik = x[i * n + k] as number;
      for (let j = 0; j < n; j++) out[i * n + j] = (out[i * n + j] as number) + xik * (y[k * n + j] as number);
    }
  return out;
}

/** G^½ of a symmetric positive semi-definite G, by Jacobi rotations that also accumulate the eigenvectors. */
function symmetricSquareRoot(matrix: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += (m[i * n + j] as number) ** 2;
    if (off === 0) break;
    let rotated = false;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q] as number;
        const app = m[p * n + p] as number;
        const aqq = m[q * n + q] as number;
        if (Math.abs(apq) <= 1e-18 * Math.sqrt(Math.abs(app * aqq))) continue;
        rotated = true;
        const tau = (aqq - app) / (2 * apq);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (const target of [m, v]) {
          for (let k = 0; k < n; k++) {
            const kp = target[k * n + p] as number;
            const kq = target[k * n + q] as number;
            target[k * n + p] = c * kp - s * kq;
            target[k * n + q] = s * kp + c * kq;
          }
        }
        for (let k = 0; k < n; k++) {
          const pk = m[p * n + k] as number;
          const qk = m[q * n + k] as number;
          m[p * n + k] = c * pk - s * qk;
          m[q * n + k] = s * pk + c * qk;
        }
      }
    if (!rotated) break;
  }
  // G = V·diag(λ)·Vᵀ, so G^½ = V·diag(√λ)·Vᵀ.
  const root = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += (v[i * n + k] as number) * Math.sqrt(Math.max(m[k * n + k] as number, 0)) * (v[j * n + k] as number);
      root[i * n + j] = sum;
    }
  return root;
}

export interface DenseSvd {
  /** Descending. */
  values: number[];
  /** Column-major rows × p and cols × p (p = min(rows, cols)), in the order of `values`. */
  u: Float64Array;
  v: Float64Array;
}

/**
 * The thin SVD of a dense row-major matrix in double by one-sided Jacobi (as jacobiSingularValues, also
 * rotating an identity alongside to get V; U's columns are the rotated columns over their norms).
 */
export function jacobiSvd(matrix: Float64Array, rows: number, cols: number): DenseSvd {
  const transposeFirst = cols > rows;
  const m = transposeFirst ? cols : rows;
  const n = transposeFirst ? rows : cols;
  const columns = Array.from({ length: n }, (_, j) => {
    const column = new Float64Array(m);
    for (let i = 0; i < m; i++) column[i] = transposeFirst ? (matrix[j * cols + i] as number) : (matrix[i * cols + j] as number);
    return column;
  });
  const rotations = Array.from({ length: n }, (_, j) => {
    const e = new Float64Array(n);
    e[j] = 1;
    return e;
  });
  const dot = (x: Float64Array, y: Float64Array) => {
    let sum = 0;
    for (let i = 0; i < x.length; i++) sum += (x[i] as number) * (y[i] as number);
    return sum;
  };
  const rotate = (x: Float64Array, y: Float64Array, c: number, s: number) => {
    for (let i = 0; i < x.length; i++) {
      const xi = x[i] as number, yi = y[i] as number;
      x[i] = c * xi - s * yi;
      y[i] = s * xi + c * yi;
    }
  };
  for (let sweep = 0; sweep < 80; sweep++) {
    let rotated = false;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const x = columns[p] as Float64Array, y = columns[q] as Float64Array;
        const alpha = dot(x, x), beta = dot(y, y), gamma = dot(x, y);
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        rotate(x, y, c, c * t);
        rotate(rotations[p] as Float64Array, rotations[q] as Float64Array, c, c * t);
      }
    if (!rotated) break;
  }
  const norms = columns.map((c) => Math.sqrt(dot(c, c)));
  const order = norms.map((_, j) => j).sort((a, b) => (norms[b] as number) - (norms[a] as number));
  const left = new Float64Array(m * n), right = new Float64Array(n * n);
  order.forEach((j, k) => {
    const sigma = norms[j] as number;
    for (let i = 0; i < m; i++) left[k * m + i] = sigma > 0 ? ((columns[j] as Float64Array)[i] as number) / sigma : 0;
    right.set(rotations[j] as Float64Array, k * n);
  });
  const values = order.map((j) => norms[j] as number);
  return transposeFirst ? { values, u: right, v: left } : { values, u: left, v: right };
}

/** Q (rows × k, column-major, orthonormal) and R (k × k, row-major) of a column-major block, by modified Gram–Schmidt twice. */
function thinQr(block: Float64Array, rows: number, k: number): { q: Float64Array; r: Float64Array } {
  const q = Float64Array.from(block);
  const r = new Float64Array(k * k);
  for (let pass = 0; pass < 2; pass++)
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < j; i++) {
        let d = 0;
        for (let t = 0; t < rows; t++) d += (q[i * rows + t] as number) * (q[j * rows + t] as number);
        for (let t = 0; t < rows; t++) q[j * rows + t] = (q[j * rows + t] as number) - d * (q[i * rows + t] as number);
        r[i * k + j] = (r[i * k + j] as number) + d;
      }
      let norm = 0;
      for (let t = 0; t < rows; t++) norm += (q[j * rows + t] as number) ** 2;
      norm = Math.sqrt(norm);
      for (let t = 0; t < rows; t++) q[j * rows + t] = norm > 0 ? (q[j * rows + t] as number) / norm : 0;
      r[j * k + j] = pass === 0 ? norm : (r[j * k + j] as number) * norm;
    }
  return { q, r };
}

/**
 * The SVD of scale·B·A (B rows×rank, A rank×cols, row-major, in double) without forming it:
 * B = Q_B R_B, Aᵀ = Q_A R_A, then the SVD of scale·R_B·R_Aᵀ (rank × rank) lifted by Q_B and Q_A.
 */
export function lowRankSvd(b: ArrayLike<number>, a: ArrayLike<number>, rows: number, cols: number, rank: number, scale: number): DenseSvd {
  const bCols = new Float64Array(rows * rank), aRows = new Float64Array(cols * rank);
  for (let i = 0; i < rows; i++) for (let k = 0; k < rank; k++) bCols[k * rows + i] = b[i * rank + k] as number;
  for (let k = 0; k < rank; k++) for (let j = 0; j < cols; j++) aRows[k * cols + j] = a[k * cols + j] as number;
  const qb = thinQr(bCols, rows, rank), qa = thinQr(aRows, cols, rank);
  const core = new Float64Array(rank * rank);
  for (let i = 0; i < rank; i++)
    for (let j = 0; j < rank; j++) {
      let s = 0;
      for (let t = 0; t < rank; t++) s += (qb.r[i * rank + t] as number) * (qa.r[j * rank + t] as number);
      core[i * rank + j] = scale * s;
    }
  const small = jacobiSvd(core, rank, rank);
  const lift = (q: Float64Array, n: number, w: Float64Array) => {
    const out = new Float64Array(n * rank);
    for (let k = 0; k < rank; k++) for (let t = 0; t < rank; t++) {
      const c = w[k * rank + t] as number;
      if (c !== 0) for (let i = 0; i < n; i++) out[k * n + i] = (out[k * n + i] as number) + c * (q[t * n + i] as number);
    }
    return out;
  };
  return { values: small.values, u: lift(qb.q, rows, small.u), v: lift(qa.q, cols, small.v) };
}

/** ‖PᵀQ‖²_F / k of the first k columns of two column-major n-row blocks (the subspace similarity). */
export function subspaceSimilarity(p: Float64Array, q: Float64Array, n: number, k: number): number {
  let sum = 0;
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      let d = 0;
      for (let t = 0; t < n; t++) d += (p[i * n + t] as number) * (q[j * n + t] as number);
      sum += d * d;
    }
  return sum / k;
}

#pragma once
// Singular values of an operator: the full spectrum (exact routes) or the top k (randomized subspace
// iteration), each with per-value error bounds and the exact Frobenius norm for the tail.
//
// Exact routes:
//  * Gram (default for values): G = A·Aᵀ (m ≤ n) or Aᵀ·A (m > n) accumulated in double from the panels
//    (dsyrk / dgemm), then the eigenvalues of G (LAPACK, see GramEigensolver) and σ = √max(λ, 0).
//    Accuracy: the products of stored values are exact in double, so G carries only summation error,
//    ‖ΔG‖₂ ≤ k·u·‖A‖_F² (k = the inner dimension, u = 2⁻⁵³), and the eigensolver adds ≤ p(g)·u·‖G‖₂.
//    With δλ = u·(k·‖A‖_F² + g·σ₁²) the bound per value is |σ̂ − σ| ≤ min(√δλ, δλ/σ̂): large values are
//    accurate to ~1e-16 relative, but squaring loses relative accuracy for small ones (absolute error
//    ≈ u·σ₁²/σᵢ, at worst √δλ, typically ~1e-8·σ₁ and far below the 1e-5·σ₁ that the tests demand).
//  * Direct: dgesdd (LAPACK) or Eigen's BDCSVD on the matrix in double, |σ̂ − σ| ≤ p(g)·u·σ₁ for every
//    value, small ones included. Needs the whole matrix in memory; used when vectors are requested.
//  * Low-rank factors: for a LowRankOp s·B·A, QR of B and Aᵀ then the SVD of the r×r core; the other
//    min(m, n) − r values are exactly zero.
#include <cstdint>
#include <string>
#include <vector>

#include "paramscope/backend.hpp"
#include "paramscope/linop.hpp"

namespace paramscope {

struct Spectrum {
  uint64_t rows = 0, cols = 0;
  // Singular values, descending: all min(rows, cols) of them when `complete`, else the top k.
  std::vector<double> values;
  // |values[i] − σᵢ| ≤ error_bounds[i] (a priori bound for exact routes, residual bound for truncated).
  std::vector<double> error_bounds;
  // ‖A‖_F², exact up to double rounding (one streaming pass); the tail energy in truncated mode is
  // frobenius_squared − Σ values².
  double frobenius_squared = 0;
  bool complete = false;
  // Truncated: whether every error bound of the top k met the tolerance (always true without one).
  bool converged = true;
  uint32_t power_iterations = 0;  // truncated: power iterations done
  uint64_t passes = 0;            // streaming passes over the matrix
  std::string method;             // "gram-dsyevd", "gram-eigen", "dgesdd", "eigen-bdcsvd", "low-rank-factors", "randomized"
  // Singular vectors when requested: u is rows × vector_count, v is cols × vector_count, column-major.
  uint64_t vector_count = 0;
  std::vector<double> u, v;
  // Where the time went, seconds: reading and decoding the stored matrix (into a resident copy, or
  // the exact routes' streaming pass with its Gram update), products with it (streamed products include
  // their decoding), orthonormalisation, and the eigensolver or small SVDs.
  struct Timing {
    double read_decode = 0, products = 0, orthonormalize = 0, eigensolver = 0;
  } timing;
};

enum class ExactRoute { Auto, Gram, Direct };

struct ExactOptions {
  // Auto: low-rank factors for a LowRankOp, Direct when vectors are requested, else Gram.
  ExactRoute route = ExactRoute::Auto;
  bool vectors = false;
  GramEigensolver eigensolver = GramEigensolver::Auto;
};

// The full spectrum. Memory: Gram needs min(m,n)²·8 bytes plus panels; Direct needs m·n·8 bytes (plus
// (m+n)·min(m,n)·8 for vectors); OUT_OF_MEMORY when the operator's memory budget is too small.
// NON_FINITE_INPUT for NaN/Inf entries; ABORTED when control.cancel is set; NOT_CONVERGED when LAPACK fails.
Spectrum exact_spectrum(const LinearOperator& op, const ExactOptions& options = {}, const RunControl& control = {});

struct TruncatedOptions {
  uint64_t rank = 64;          // k: values wanted
  uint64_t oversampling = 10;  // p: the subspace has k + p columns
  uint32_t power_iterations = 2;
  // When > 0: keep iterating (up to max_iterations power iterations) until error_bounds[i] ≤
  // tolerance·values[i] for every i < k; Spectrum::converged says whether that happened.
  double tolerance = 0;
  uint32_t max_iterations = 50;
  uint64_t seed = 0x5EED;
  bool vectors = false;
  // Do the products in single precision (ResidentF32Op: sgemm, half the memory, about twice as fast on
  // skinny products) when the matrix is held in memory. The error bounds then carry f32's rounding floor,
  // u_f32·(m + n)·‖A‖_F instead of u_f64·(m + n)·‖A‖_F.
  bool single_precision = false;
};

// The top k singular values by randomized subspace iteration (Halko, Martinsson & Tropp 2011, Alg. 4.4)
// with QR re-orthonormalisation after every product and a Rayleigh–Ritz step on the final subspace.
// Ritz values never exceed the true ones (σ̂ᵢ ≤ σᵢ); error_bounds[i] is the residual norm of the Ritz
// triplet as an eigenpair of [[0, A], [Aᵀ, 0]], √((‖A·vᵢ − σ̂ᵢ·uᵢ‖² + ‖Aᵀ·uᵢ − σ̂ᵢ·vᵢ‖²)/2), so some
// singular value lies within it (the i-th one when the values are separated by more than the bound).
// Deterministic: the same seed on the same machine and thread count gives bit-identical output.
// Passes over the matrix: 2·(power_iterations + 1) + 1, all apply/apply_t on k + p columns.
Spectrum truncated_spectrum(const LinearOperator& op, const TruncatedOptions& options, const RunControl& control = {});

}  // namespace paramscope

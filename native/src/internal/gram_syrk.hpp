#pragma once
// The exact route's Gram product, C = A·Aᵀ (lower triangle, double), on AVX-512F: the largest piece of
// an exact spectrum (4096 × 11008: 185 GFLOP of the route's ~280).
//
// Why our own here: the Gram is the one product where a BLAS's speed decides the exact route's wall time,
// and which kernels a BLAS runs depends on its build and the host, not on the CPU alone: some hosts pin
// OpenBLAS's kernels (OPENBLAS_CORETYPE=Haswell, AVX2: 1.82 s for that Gram where its AVX-512
// Cooperlake kernels take 1.08 s, on the same two cores; the Eigen fallback is built for baseline x86-64).
// Where the BLAS runs without AVX-512 this kernel gives most of the AVX-512 rate (1.37–1.66 s there), with
// the same bits on every AVX-512F CPU; each entry's sum runs in one fixed order whatever the thread count.
// docs/backends.md has the rates.
#include <cstdint>

namespace paramscope::cpu {

// Whether this CPU runs the kernel (AVX-512F; not with PARAMSCOPE_SIMD=off).
bool gram_syrk_available() noexcept;

// Whether the CPU backend computes its Grams with the kernel: where it is the faster one, an AVX-512F
// CPU whose BLAS runs without AVX-512 (the Eigen fallback, or OpenBLAS on its AVX2 kernels). Against
// OpenBLAS's own AVX-512 kernels it is about 25 % slower, so there the BLAS keeps the Gram.
bool gram_syrk_preferred();

// dsyrk's lower case with alpha = 1: C (n×n, column-major, ldc) = beta·C + A·Aᵀ (trans false: A n×k) or
// + Aᵀ·A (trans true: A k×n), A column-major (lda); only the lower triangle of C is read or written.
// Returns false, C untouched, when the CPU or the call (alpha ≠ 1, beta not 0 or 1, n < 256, k small) is
// not one it handles; the caller then uses its BLAS. Runs on `threads` threads (the caller's one included).
bool gram_syrk(bool trans, uint64_t n, uint64_t k, double alpha, const double* a, uint64_t lda, double beta, double* c, uint64_t ldc,
               int threads);

}  // namespace paramscope::cpu

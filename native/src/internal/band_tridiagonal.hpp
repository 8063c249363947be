#pragma once
// The second stage of the exact route's eigensolver: a symmetric band matrix to tridiagonal form, by
// Householder bulge chasing (Bischof, Lang & Sun's successive band reduction, one column per sweep, in
// the task order of LAPACK's dsytrd_sb2st), with the sweeps pipelined over several threads.
//
// Why our own rather than LAPACK's: OpenBLAS's dsbtrd (Givens rotations) and dsytrd_sb2st are serial
// (sb2st is parallel only in an OpenMP build of LAPACK), and on 4096² with band width 64 they took
// 2.0 s and 2.8 s on one core while the other core idled: as long as the dense-to-band stage that
// precedes it. This one applies each reflector to blocks of at most kd × kd that stay in the L1 cache,
// and chases groups of sweeps as cache-sized wavefronts, each group one block behind the group before
// it on another thread.
#include <cstdint>

namespace paramscope {

// A (n × n, symmetric) in LAPACK's lower band storage: A(i, j) = band[(i − j) + j·ldab] for
// 0 ≤ i − j ≤ kd, ldab ≥ kd + 1; the band is read, not changed. Writes the diagonal d (n) and the
// subdiagonal e (n − 1) of a tridiagonal matrix orthogonally similar to A. `threads` ≥ 1 threads
// (the caller's and threads − 1 started here) share the work; the result does not depend on it.
void band_to_tridiagonal(uint64_t n, uint64_t kd, const double* band, uint64_t ldab, double* d, double* e, int threads);

}  // namespace paramscope

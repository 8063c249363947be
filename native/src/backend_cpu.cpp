// The CPU backend: BLAS/LAPACK calls when OpenBLAS is loaded, Eigen otherwise, and the splitting of
// large skinny products over a lane's threads (engine.hpp says why).
#include "internal/dense.hpp"
#include "paramscope/backend.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <climits>
#include <exception>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "internal/band_tridiagonal.hpp"
#include "internal/blas.hpp"
#include "internal/gram_syrk.hpp"
#include "internal/skinny_sgemm.hpp"
#include "internal/workspace.hpp"
#include "paramscope/error.hpp"

namespace paramscope {

namespace {

int as_blas_int(uint64_t value) {
  if (value > static_cast<uint64_t>(INT_MAX))
    throw Error(ErrorCode::INVALID_ARGUMENT, "a matrix dimension of " + std::to_string(value) + " exceeds the BLAS integer range");
  return static_cast<int>(value);
}

using ConstMap = Eigen::Map<const Eigen::MatrixXd, 0, Eigen::OuterStride<>>;
using MutableMap = Eigen::Map<Eigen::MatrixXd, 0, Eigen::OuterStride<>>;

void check_lapack_info(int info, const char* routine) {
  if (info > 0) throw Error(ErrorCode::NOT_CONVERGED, std::string(routine) + " did not converge (info=" + std::to_string(info) + ")");
  if (info < 0) throw Error(ErrorCode::INTERNAL, std::string(routine) + " rejected argument " + std::to_string(-info));
}

std::vector<double> eigenvalues_dsyevd(const blas::Backend& backend, bool two_stage, int g, double* gram) {
  auto routine = two_stage ? backend.fn.dsyevd_2stage : backend.fn.dsyevd;
  std::vector<double> w(g);
  int lwork = -1, liwork = -1, info = 0, iwork_query = 0;
  double work_query = 0;
  routine("N", "L", &g, gram, &g, w.data(), &work_query, &lwork, &iwork_query, &liwork, &info, 1, 1);
  lwork = std::max(1, static_cast<int>(work_query));
  liwork = std::max(1, iwork_query);
  std::vector<double> work(lwork);
  std::vector<int> iwork(liwork);
  routine("N", "L", &g, gram, &g, w.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
  check_lapack_info(info, two_stage ? "dsyevd_2stage" : "dsyevd");
  return w;
}

// Dense → band with BLAS-3 (dsytrd_sy2sb), band → tridiagonal (our pipelined bulge chasing, on the job's
// BLAS threads: band_tridiagonal.hpp), then root-free QR (dsterf).
std::vector<double> eigenvalues_band_reduction(const blas::Backend& backend, int g, double* gram) {
  const int kd = 64, ldab = kd + 1;
  std::vector<double> band(static_cast<size_t>(ldab) * g), tau(g), d(g), e(g);
  int lwork = -1, info = 0;
  double work_query = 0;
  backend.fn.dsytrd_sy2sb("L", &g, &kd, gram, &g, band.data(), &ldab, tau.data(), &work_query, &lwork, &info, 1);
  lwork = std::max(1, static_cast<int>(work_query));
  std::vector<double> work(lwork);
  backend.fn.dsytrd_sy2sb("L", &g, &kd, gram, &g, band.data(), &ldab, tau.data(), work.data(), &lwork, &info, 1);
  check_lapack_info(info, "dsytrd_sy2sb");
  band_to_tridiagonal(g, kd, band.data(), ldab, d.data(), e.data(), blas::threads());
  backend.fn.dsterf(&g, d.data(), e.data(), &info);
  check_lapack_info(info, "dsterf");
  return d;
}

std::vector<double> lapack_gram_eigenvalues(uint64_t g, double* gram, GramEigensolver choice, std::string& method) {
  const blas::Backend& backend = blas::backend();
  if (!backend.lapack) {
    method = "gram-eigen";
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(Eigen::Map<Eigen::MatrixXd>(gram, g, g), Eigen::EigenvaluesOnly);
    if (solver.info() != Eigen::Success) throw Error(ErrorCode::NOT_CONVERGED, "Eigen's symmetric eigensolver did not converge");
    const Eigen::VectorXd& w = solver.eigenvalues();
    return std::vector<double>(w.data(), w.data() + g);
  }
  const int n = as_blas_int(g);
  const bool band_available = backend.fn.dsytrd_sy2sb && backend.fn.dsterf;
  const bool band_wanted = choice == GramEigensolver::BandReduction || choice == GramEigensolver::Auto;
  if (band_wanted && band_available && g > 2 * 64) {
    method = "gram-band-reduction";
    return eigenvalues_band_reduction(backend, n, gram);
  }
  if (choice == GramEigensolver::Dsyevd2Stage && backend.fn.dsyevd_2stage) {
    method = "gram-dsyevd-2stage";
    return eigenvalues_dsyevd(backend, true, n, gram);
  }
  method = "gram-dsyevd";
  return eigenvalues_dsyevd(backend, false, n, gram);
}

}  // namespace

namespace cpu {

namespace {
thread_local int t_split_threads = 1;

// Whether a product should be split over the calling thread's split threads (set_split_threads): big
// enough to pay for starting them, and with enough rows of C to share.
int split_parts(uint64_t m, uint64_t n, uint64_t k) {
  constexpr double kMinFlops = 1e7;  // ≈ 0.3 ms single-threaded; starting a thread costs ~30 µs
  constexpr uint64_t kMinRows = 64;
  if (t_split_threads <= 1 || 2.0 * double(m) * double(n) * double(k) < kMinFlops) return 1;
  return static_cast<int>(std::min<uint64_t>(uint64_t(t_split_threads), m / kMinRows));
}

// Runs product(r0, r1) for `parts` row ranges of C, one on the calling thread and the others on threads
// started for it (single-threaded themselves: split settings are per thread).
template <typename Product>
void split_rows(int parts, uint64_t m, const Product& product) {
  // Multiples of 16 rows, so every part but the last keeps whole micro-kernel tiles.
  const uint64_t step = ((m + uint64_t(parts) - 1) / uint64_t(parts) + 15) / 16 * 16;
  std::vector<std::thread> helpers;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(parts));
  uint64_t inline_from = m;
  size_t part = 1;
  for (uint64_t r0 = step; r0 < m; r0 += step, ++part) {
    const uint64_t r1 = std::min(m, r0 + step);
    try {
      helpers.emplace_back([&product, &errors, part, r0, r1] {
        try {
          product(r0, r1);
        } catch (...) {
          errors[part] = std::current_exception();
        }
      });
    } catch (const std::system_error&) {
      inline_from = r0;  // no thread to spare: the caller does the rest
      break;
    }
  }
  try {
    product(0, std::min(m, step));
    for (uint64_t r0 = inline_from; r0 < m; r0 += step) product(r0, std::min(m, r0 + step));
  } catch (...) {
    errors[0] = std::current_exception();
  }
  for (std::thread& t : helpers) t.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

// The BLAS (or Eigen) call itself, on the calling thread.
void sgemm_direct(bool trans_a, bool trans_b, uint64_t m, uint64_t n, uint64_t k, const float* a, uint64_t lda, const float* b,
                  uint64_t ldb, float* c, uint64_t ldc) {
  if (skinny_sgemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc)) return;  // the solver's thin products
  const blas::Backend& backend = blas::backend();
  if (backend.fn.sgemm) {
    backend.fn.sgemm(blas::ColMajor, trans_a ? blas::Trans : blas::NoTrans, trans_b ? blas::Trans : blas::NoTrans,
                     as_blas_int(m), as_blas_int(n), as_blas_int(k), 1.0f, a, as_blas_int(std::max<uint64_t>(lda, 1)), b,
                     as_blas_int(std::max<uint64_t>(ldb, 1)), 0.0f, c, as_blas_int(ldc));
    return;
  }
  using ConstMapF = Eigen::Map<const Eigen::MatrixXf, 0, Eigen::OuterStride<>>;
  Eigen::Map<Eigen::MatrixXf, 0, Eigen::OuterStride<>> cm(c, m, n, Eigen::OuterStride<>(ldc));
  cm.setZero();
  if (k == 0) return;
  ConstMapF am(a, trans_a ? k : m, trans_a ? m : k, Eigen::OuterStride<>(std::max<uint64_t>(lda, 1)));
  ConstMapF bm(b, trans_b ? n : k, trans_b ? k : n, Eigen::OuterStride<>(std::max<uint64_t>(ldb, 1)));
  if (trans_a && trans_b) cm.noalias() += am.transpose() * bm.transpose();
  else if (trans_a) cm.noalias() += am.transpose() * bm;
  else if (trans_b) cm.noalias() += am * bm.transpose();
  else cm.noalias() += am * bm;
}

void gemm_direct(bool trans_a, bool trans_b, uint64_t m, uint64_t n, uint64_t k, double alpha, const double* a, uint64_t lda,
                 const double* b, uint64_t ldb, double beta, double* c, uint64_t ldc) {
  const blas::Backend& backend = blas::backend();
  if (backend.fn.dgemm) {
    backend.fn.dgemm(blas::ColMajor, trans_a ? blas::Trans : blas::NoTrans, trans_b ? blas::Trans : blas::NoTrans,
                     as_blas_int(m), as_blas_int(n), as_blas_int(k), alpha, a, as_blas_int(std::max<uint64_t>(lda, 1)), b,
                     as_blas_int(std::max<uint64_t>(ldb, 1)), beta, c, as_blas_int(ldc));
    return;
  }
  MutableMap cm(c, m, n, Eigen::OuterStride<>(ldc));
  // beta == 0 must overwrite, not scale: C may hold uninitialised memory (NaN · 0 is NaN).
  if (beta == 0.0) cm.setZero();
  else if (beta != 1.0) cm *= beta;
  if (k == 0) return;
  ConstMap am(a, trans_a ? k : m, trans_a ? m : k, Eigen::OuterStride<>(lda));
  ConstMap bm(b, trans_b ? n : k, trans_b ? k : n, Eigen::OuterStride<>(ldb));
  if (trans_a && trans_b) cm.noalias() += alpha * am.transpose() * bm.transpose();
  else if (trans_a) cm.noalias() += alpha * am.transpose() * bm;
  else if (trans_b) cm.noalias() += alpha * am * bm.transpose();
  else cm.noalias() += alpha * am * bm;
}
}  // namespace

void set_split_threads(int threads) { t_split_threads = std::max(1, threads); }

void sgemm(bool trans_a, bool trans_b, uint64_t m, uint64_t n, uint64_t k, const float* a, uint64_t lda, const float* b,
           uint64_t ldb, float* c, uint64_t ldc) {
  if (m == 0 || n == 0) return;
  if (int parts = split_parts(m, n, k); parts > 1)
    return split_rows(parts, m, [&](uint64_t r0, uint64_t r1) {
      sgemm_direct(trans_a, trans_b, r1 - r0, n, k, trans_a ? a + r0 * lda : a + r0, lda, b, ldb, c + r0, ldc);
    });
  sgemm_direct(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
}

void gemm(bool trans_a, bool trans_b, uint64_t m, uint64_t n, uint64_t k, double alpha, const double* a, uint64_t lda,
          const double* b, uint64_t ldb, double beta, double* c, uint64_t ldc) {
  if (m == 0 || n == 0) return;
  if (int parts = split_parts(m, n, k); parts > 1)
    return split_rows(parts, m, [&](uint64_t r0, uint64_t r1) {
      gemm_direct(trans_a, trans_b, r1 - r0, n, k, alpha, trans_a ? a + r0 * lda : a + r0, lda, b, ldb, beta, c + r0, ldc);
    });
  gemm_direct(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void syrk_lower(bool trans, uint64_t n, uint64_t k, double alpha, const double* a, uint64_t lda, double beta, double* c,
                uint64_t ldc) {
  if (n == 0) return;
  if (gram_syrk_preferred() && gram_syrk(trans, n, k, alpha, a, lda, beta, c, ldc, blas::threads())) return;  // large Grams
  const blas::Backend& backend = blas::backend();
  if (backend.fn.dsyrk) {
    backend.fn.dsyrk(blas::ColMajor, blas::Lower, trans ? blas::Trans : blas::NoTrans, as_blas_int(n), as_blas_int(k), alpha, a,
                     as_blas_int(std::max<uint64_t>(lda, 1)), beta, c, as_blas_int(ldc));
    return;
  }
  MutableMap cm(c, n, n, Eigen::OuterStride<>(ldc));
  if (beta == 0.0) cm.triangularView<Eigen::Lower>().setZero();
  else if (beta != 1.0) cm.triangularView<Eigen::Lower>() *= beta;
  if (k == 0) return;
  ConstMap am(a, trans ? k : n, trans ? n : k, Eigen::OuterStride<>(lda));
  if (trans) cm.selfadjointView<Eigen::Lower>().rankUpdate(am.transpose(), alpha);
  else cm.selfadjointView<Eigen::Lower>().rankUpdate(am, alpha);
}

namespace {
void householder_orthonormalize(uint64_t m, uint64_t n, double* a, uint64_t lda) {
  const blas::Backend& backend = blas::backend();
  if (backend.lapack) {
    const int mi = as_blas_int(m), ni = as_blas_int(n), ld = as_blas_int(lda);
    std::vector<double> tau(n);
    int info = 0, lwork = -1;
    double query = 0;
    backend.fn.dgeqrf(&mi, &ni, a, &ld, tau.data(), &query, &lwork, &info);
    lwork = std::max<int>(static_cast<int>(query), ni);
    std::vector<double> work(lwork);
    backend.fn.dgeqrf(&mi, &ni, a, &ld, tau.data(), work.data(), &lwork, &info);
    if (info == 0) {
      lwork = -1;
      backend.fn.dorgqr(&mi, &ni, &ni, a, &ld, tau.data(), &query, &lwork, &info);
      lwork = std::max<int>(static_cast<int>(query), ni);
      work.resize(lwork);
      backend.fn.dorgqr(&mi, &ni, &ni, a, &ld, tau.data(), work.data(), &lwork, &info);
    }
    if (info != 0) throw Error(ErrorCode::INTERNAL, "LAPACK QR returned info=" + std::to_string(info));
    return;
  }
  MutableMap am(a, m, n, Eigen::OuterStride<>(lda));
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(am);
  am = qr.householderQ() * Eigen::MatrixXd::Identity(m, n);
}

// One CholeskyQR step: Q = A·R⁻¹ with RᵀR = AᵀA, through BLAS-3 only (a Gram product and a product with
// the n×n inverse), written to q (leading dimension ldq). False, q untouched, when the Cholesky
// factorisation fails or, when `max_departure` ≥ 0, when AᵀA is further than that from the identity
// (entrywise).
bool cholesky_qr_step(uint64_t m, uint64_t n, const double* a, uint64_t lda, double max_departure, double* q, uint64_t ldq) {
  Eigen::MatrixXd gram(n, n);
  syrk_lower(true, n, m, 1.0, a, lda, 0.0, gram.data(), n);
  gram.triangularView<Eigen::StrictlyUpper>() = gram.transpose();
  if (max_departure >= 0 && (gram - Eigen::MatrixXd::Identity(n, n)).cwiseAbs().maxCoeff() > max_departure) return false;
  Eigen::LLT<Eigen::MatrixXd> cholesky(gram);
  if (cholesky.info() != Eigen::Success) return false;
  const Eigen::MatrixXd r_inverse = cholesky.matrixU().solve(Eigen::MatrixXd::Identity(n, n));
  if (!r_inverse.allFinite()) return false;
  gemm(false, false, m, n, n, 1.0, a, lda, r_inverse.data(), n, 0.0, q, ldq);
  return true;
}
}  // namespace

void orthonormalize_columns(uint64_t m, uint64_t n, double* a, uint64_t lda, bool well_conditioned_is_enough) {
  if (n == 0) return;
  // Tall blocks (the randomized solver's m×(k+p) and n×(k+p)) go through CholeskyQR2 (Fukaya et al.
  // 2014): two CholeskyQR steps, orthonormal to working precision when A's condition number is below
  // about 1e8, and several times faster than Householder QR, whose panels are BLAS-2. The second step
  // keeps its result only when the first left QᵀQ within 0.1 of the identity (else the condition was too
  // large); rank-deficient or ill-conditioned blocks fall back to Householder on the original A.
  if (m >= 4 * n && n >= 8) {
    // A → first step → scratch → second step → A; A keeps the original until the second step succeeds.
    Buffer<double> first(m * n);
    if (cholesky_qr_step(m, n, a, lda, -1, first.data(), m)) {
      if (well_conditioned_is_enough) {
        for (uint64_t j = 0; j < n; ++j) std::copy(first.data() + j * m, first.data() + (j + 1) * m, a + j * lda);
        return;
      }
      if (cholesky_qr_step(m, n, first.data(), m, 0.1, a, lda)) return;
    }
  }
  householder_orthonormalize(m, n, a, lda);
}

}  // namespace cpu

namespace {

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  void gemm(bool trans_a, bool trans_b, uint64_t m, uint64_t n, uint64_t k, double alpha, const double* a, uint64_t lda,
            const double* b, uint64_t ldb, double beta, double* c, uint64_t ldc) const override {
    cpu::gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  void sgemm(bool trans_a, bool trans_b, uint64_t m, uint64_t n, uint64_t k, const float* a, uint64_t lda, const float* b,
             uint64_t ldb, float* c, uint64_t ldc) const override {
    cpu::sgemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
  }
  void syrk_lower(bool trans, uint64_t n, uint64_t k, double alpha, const double* a, uint64_t lda, double beta, double* c,
                  uint64_t ldc) const override {
    cpu::syrk_lower(trans, n, k, alpha, a, lda, beta, c, ldc);
  }
  std::vector<double> gram_eigenvalues(uint64_t g, double* gram, GramEigensolver choice, std::string& method) const override {
    return lapack_gram_eigenvalues(g, gram, choice, method);
  }
  // Eigen's solver copies its input once more.
  bool gram_eigenvalues_copy_input() const override { return !blas::backend().lapack; }
  void orthonormalize_columns(uint64_t m, uint64_t n, double* a, uint64_t lda, bool well_conditioned_is_enough) const override {
    cpu::orthonormalize_columns(m, n, a, lda, well_conditioned_is_enough);
  }
};

}  // namespace

const Backend& cpu_backend() {
  static const CpuBackend backend;
  return backend;
}

namespace dense {
void set_split_threads(int threads) { cpu::set_split_threads(threads); }
}  // namespace dense

}  // namespace paramscope

// Exact and truncated spectra against a double-precision reference (Eigen's BDCSVD on the same matrix in
// double), on the matrix families the accuracy statement covers, with fixed seeds and explicit
// tolerances. Runs against whichever backend is loaded (OpenBLAS, or Eigen with PARAMSCOPE_BLAS=eigen).
#include <Eigen/Dense>
#include <Eigen/SVD>
#include <atomic>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "internal/blas.hpp"
#include "paramscope/spectrum.hpp"
#include "test_support.hpp"

using namespace paramscope;

namespace {

// A portable Gaussian stream so the test matrices are the same on every platform.
struct TestRng {
  uint64_t state;
  explicit TestRng(uint64_t seed) : state(seed) {}
  uint64_t bits() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double gaussian() {
    const double u1 = double((bits() >> 11) + 1) * 0x1.0p-53, u2 = double(bits() >> 11) * 0x1.0p-53;
    return std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  Eigen::MatrixXd gaussian_matrix(int rows, int cols) {
    Eigen::MatrixXd m(rows, cols);
    for (int j = 0; j < cols; ++j)
      for (int i = 0; i < rows; ++i) m(i, j) = gaussian();
    return m;
  }
  Eigen::MatrixXd orthonormal(int rows, int cols) {
    Eigen::HouseholderQR<Eigen::MatrixXd> qr(gaussian_matrix(rows, cols));
    return qr.householderQ() * Eigen::MatrixXd::Identity(rows, cols);
  }
};

struct TestMatrix {
  std::string name;
  int rows, cols;
  std::vector<float> values;  // row-major f32: what a decoded checkpoint panel holds
  Eigen::MatrixXd as_double() const {
    Eigen::MatrixXd m(rows, cols);
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j) m(i, j) = values[size_t(i) * cols + j];
    return m;
  }
};

TestMatrix to_f32(std::string name, const Eigen::MatrixXd& m) {
  TestMatrix t{std::move(name), int(m.rows()), int(m.cols()), std::vector<float>(m.size())};
  for (int i = 0; i < m.rows(); ++i)
    for (int j = 0; j < m.cols(); ++j) t.values[size_t(i) * m.cols() + j] = float(m(i, j));
  return t;
}

TestMatrix with_spectrum(TestRng& rng, std::string name, int rows, int cols, const std::vector<double>& sigma) {
  const int g = std::min(rows, cols);
  Eigen::VectorXd s = Eigen::VectorXd::Zero(g);
  for (int i = 0; i < g && i < int(sigma.size()); ++i) s(i) = sigma[i];
  return to_f32(std::move(name), rng.orthonormal(rows, g) * s.asDiagonal() * rng.orthonormal(cols, g).transpose());
}

// The families named by the accuracy requirement, in a wide and a tall shape.
std::vector<TestMatrix> families() {
  TestRng rng(20240501);
  std::vector<TestMatrix> out;
  for (auto [rows, cols] : {std::pair{300, 500}, std::pair{500, 200}}) {
    const std::string shape = std::to_string(rows) + "x" + std::to_string(cols);
    const int g = std::min(rows, cols);
    out.push_back(to_f32("gaussian " + shape, rng.gaussian_matrix(rows, cols)));
    std::vector<double> power(g);
    for (int i = 0; i < g; ++i) power[i] = 10.0 * std::pow(i + 1.0, -1.5);
    out.push_back(with_spectrum(rng, "power-law " + shape, rows, cols, power));
    out.push_back(to_f32("low-rank+noise " + shape,
                         rng.gaussian_matrix(rows, 8) * rng.gaussian_matrix(8, cols) + 1e-3 * rng.gaussian_matrix(rows, cols)));
    out.push_back(to_f32("rank-deficient " + shape, rng.gaussian_matrix(rows, 20) * rng.gaussian_matrix(20, cols)));
  }
  return out;
}

Eigen::VectorXd reference_values(const TestMatrix& t) {
  Eigen::BDCSVD<Eigen::MatrixXd> svd(t.as_double());
  return svd.singularValues();
}

double max_abs_error(const std::vector<double>& values, const Eigen::VectorXd& reference) {
  double worst = 0;
  for (size_t i = 0; i < values.size(); ++i) worst = std::max(worst, std::abs(values[i] - reference(i)));
  return worst;
}

void check_exact_accuracy(const TestMatrix& t, const Spectrum& s, const Eigen::VectorXd& ref) {
  const double sigma1 = ref(0);
  CHECK(s.complete);
  CHECK(s.values.size() == size_t(ref.size()));
  const double worst = max_abs_error(s.values, ref);
  if (!(worst <= 1e-5 * sigma1)) std::printf("  %s via %s: max error %.3g·σ₁\n", t.name.c_str(), s.method.c_str(), worst / sigma1);
  CHECK(worst <= 1e-5 * sigma1);
  for (size_t i = 0; i < s.values.size(); ++i) CHECK(std::abs(s.values[i] - ref(i)) <= s.error_bounds[i] + 1e-13 * sigma1);
  CHECK_NEAR(s.frobenius_squared, ref.squaredNorm(), 1e-10 * ref.squaredNorm());
}

}  // namespace

TEST_CASE(gram_route_meets_the_accuracy_statement_on_every_family) {
  for (const TestMatrix& t : families()) {
    DenseOp op(t.rows, t.cols, t.values.data());
    check_exact_accuracy(t, exact_spectrum(op), reference_values(t));
  }
}

TEST_CASE(direct_route_meets_the_accuracy_statement_and_returns_singular_triplets) {
  for (const TestMatrix& t : families()) {
    DenseOp op(t.rows, t.cols, t.values.data());
    ExactOptions options;
    options.vectors = true;
    Spectrum s = exact_spectrum(op, options);
    check_exact_accuracy(t, s, reference_values(t));
    const int g = std::min(t.rows, t.cols);
    CHECK(s.vector_count == uint64_t(g));
    Eigen::Map<const Eigen::MatrixXd> u(s.u.data(), t.rows, g), v(s.v.data(), t.cols, g);
    const Eigen::MatrixXd a = t.as_double();
    Eigen::VectorXd sigma = Eigen::Map<const Eigen::VectorXd>(s.values.data(), g);
    CHECK((a * v - u * sigma.asDiagonal()).norm() <= 1e-10 * s.values[0] * g);
    CHECK((u.transpose() * u - Eigen::MatrixXd::Identity(g, g)).norm() <= 1e-10 * g);
  }
}

TEST_CASE(every_gram_eigensolver_gives_the_same_spectrum) {
  const TestMatrix t = families()[1];
  const Eigen::VectorXd ref = reference_values(t);
  DenseOp op(t.rows, t.cols, t.values.data());
  for (GramEigensolver solver : {GramEigensolver::Dsyevd, GramEigensolver::Dsyevd2Stage, GramEigensolver::BandReduction}) {
    ExactOptions options;
    options.route = ExactRoute::Gram;
    options.eigensolver = solver;
    check_exact_accuracy(t, exact_spectrum(op, options), ref);
  }
}

TEST_CASE(gram_route_streams_in_blocks_when_the_budget_is_small) {
  for (const TestMatrix& t : {families()[0], families()[4]}) {
    DenseOp op(t.rows, t.cols, t.values.data());
    const uint64_t g = std::min(t.rows, t.cols);
    // Room for the Gram matrix and about 90 rows of the matrix: several blocks / many panels.
    op.set_memory_budget(g * g * 8 * (blas::backend().lapack ? 1 : 2) + 90 * t.cols * 8 * 4 / 3);
    Spectrum s = exact_spectrum(op);
    check_exact_accuracy(t, s, reference_values(t));
    CHECK(t.rows > t.cols ? s.passes == 1 : s.passes > 2);
  }
}

TEST_CASE(too_small_a_budget_is_out_of_memory) {
  const TestMatrix t = families()[0];
  DenseOp op(t.rows, t.cols, t.values.data());
  op.set_memory_budget(1000);
  CHECK_THROWS_CODE(exact_spectrum(op), OUT_OF_MEMORY);
  ExactOptions direct;
  direct.route = ExactRoute::Direct;
  CHECK_THROWS_CODE(exact_spectrum(op, direct), OUT_OF_MEMORY);
}

TEST_CASE(truncated_top_k_is_accurate_and_its_error_bounds_hold) {
  for (const TestMatrix& t : families()) {
    DenseOp op(t.rows, t.cols, t.values.data());
    TruncatedOptions options;
    options.rank = 12;
    Spectrum s = truncated_spectrum(op, options);
    const Eigen::VectorXd ref = reference_values(t);
    CHECK(!s.complete && s.values.size() == 12);
    CHECK(s.passes == 7);
    CHECK_NEAR(s.frobenius_squared, ref.squaredNorm(), 1e-10 * ref.squaredNorm());
    for (size_t i = 0; i < s.values.size(); ++i) {
      const double error = std::abs(s.values[i] - ref(i));
      CHECK(error <= s.error_bounds[i]);
      CHECK(s.values[i] <= ref(i) * (1 + 1e-12));  // Ritz values never exceed the true ones
    }
    // Decaying spectra converge in two power iterations (measured: σ₁ to 1e-15, σ₁₂ to 1e-6 relative);
    // a flat Gaussian spectrum only roughly (measured 6e-2), which its error bounds then say.
    const bool decaying = t.name.rfind("gaussian", 0) != 0;
    CHECK(std::abs(s.values[0] - ref(0)) <= (decaying ? 1e-12 : 1e-1) * ref(0));
    CHECK(max_abs_error(s.values, ref) <= (decaying ? 1e-5 : 1e-1) * ref(0));
  }
}

// Single-precision products: the same accuracy where f32 suffices, and error bounds that still hold
// because they carry f32's rounding floor.
TEST_CASE(truncated_single_precision_products_keep_their_bounds) {
  for (const TestMatrix& t : families()) {
    DenseOp op(t.rows, t.cols, t.values.data());
    TruncatedOptions options;
    options.rank = 12;
    options.single_precision = true;
    Spectrum s = truncated_spectrum(op, options);
    const Eigen::VectorXd ref = reference_values(t);
    CHECK(s.method == "randomized-f32");
    CHECK_NEAR(s.frobenius_squared, ref.squaredNorm(), 1e-10 * ref.squaredNorm());
    for (size_t i = 0; i < s.values.size(); ++i) CHECK(std::abs(s.values[i] - ref(i)) <= s.error_bounds[i]);
    const bool decaying = t.name.rfind("gaussian", 0) != 0;
    CHECK(std::abs(s.values[0] - ref(0)) <= (decaying ? 1e-5 : 1e-1) * ref(0));
  }
}

TEST_CASE(truncated_is_deterministic_for_a_seed) {
  const TestMatrix t = families()[2];
  DenseOp op(t.rows, t.cols, t.values.data());
  TruncatedOptions options;
  options.rank = 16;
  options.vectors = true;
  Spectrum a = truncated_spectrum(op, options), b = truncated_spectrum(op, options);
  CHECK(std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(double)) == 0);
  CHECK(std::memcmp(a.error_bounds.data(), b.error_bounds.data(), a.error_bounds.size() * sizeof(double)) == 0);
  CHECK(a.u == b.u && a.v == b.v);
  options.seed = 7;
  Spectrum c = truncated_spectrum(op, options);
  CHECK(c.values != a.values);
}

TEST_CASE(truncated_vectors_are_singular_triplets) {
  const TestMatrix t = families()[5];
  DenseOp op(t.rows, t.cols, t.values.data());
  TruncatedOptions options;
  options.rank = 8;
  options.vectors = true;
  Spectrum s = truncated_spectrum(op, options);
  Eigen::Map<const Eigen::MatrixXd> u(s.u.data(), t.rows, 8), v(s.v.data(), t.cols, 8);
  const Eigen::MatrixXd a = t.as_double();
  for (int i = 0; i < 8; ++i) {
    CHECK((a * v.col(i) - s.values[i] * u.col(i)).norm() <= s.error_bounds[i] * std::sqrt(2.0) + 1e-12);
    CHECK_NEAR(u.col(i).norm(), 1.0, 1e-12);
  }
}

TEST_CASE(tolerance_iterates_to_convergence_or_reports_failure) {
  const TestMatrix decaying = families()[1], flat = families()[0];
  TruncatedOptions options;
  options.rank = 10;
  options.tolerance = 1e-9;
  DenseOp op(decaying.rows, decaying.cols, decaying.values.data());
  Spectrum s = truncated_spectrum(op, options);
  CHECK(s.converged);
  for (size_t i = 0; i < s.values.size(); ++i) CHECK(s.error_bounds[i] <= 1e-9 * s.values[i]);

  DenseOp flat_op(flat.rows, flat.cols, flat.values.data());
  options.tolerance = 1e-12;
  options.max_iterations = 4;
  Spectrum f = truncated_spectrum(flat_op, options);
  CHECK(!f.converged);
  CHECK(f.power_iterations == 4);
  options.tolerance = 0;
  CHECK(truncated_spectrum(flat_op, options).converged);  // no target, nothing to miss
}

TEST_CASE(non_finite_input_is_a_clear_error) {
  TestMatrix t = families()[0];
  t.values[7] = std::nanf("");
  t.values[4000] = INFINITY;
  t.values[90000] = -INFINITY;
  DenseOp op(t.rows, t.cols, t.values.data());
  op.set_label("tensor w");
  ExactOptions direct;
  direct.route = ExactRoute::Direct;
  for (int route = 0; route < 3; ++route) {
    try {
      if (route == 0) exact_spectrum(op);
      else if (route == 1) exact_spectrum(op, direct);
      else truncated_spectrum(op, TruncatedOptions{});
      CHECK(false);
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::NON_FINITE_INPUT);
      const std::string message = e.what();
      CHECK(message.find("tensor w contains 3 NaN or infinite value(s), the first in row 0") != std::string::npos);
    }
  }
}

TEST_CASE(zero_matrix_gives_zeros) {
  std::vector<float> zeros(40 * 30, 0.0f);
  DenseOp op(40, 30, zeros.data());
  Spectrum exact = exact_spectrum(op);
  CHECK(exact.values.size() == 30);
  for (double s : exact.values) CHECK(s == 0.0);
  ExactOptions direct;
  direct.route = ExactRoute::Direct;
  for (double s : exact_spectrum(op, direct).values) CHECK(s == 0.0);
  TruncatedOptions options;
  options.rank = 5;
  options.tolerance = 1e-6;
  Spectrum truncated = truncated_spectrum(op, options);
  CHECK(truncated.converged);
  for (double s : truncated.values) CHECK(s == 0.0);
}

TEST_CASE(low_rank_operator_spectrum_through_its_factors) {
  TestRng rng(99);
  const int m = 200, n = 150, r = 6;
  std::vector<float> b(m * r), a(r * n);
  for (float& x : b) x = float(rng.gaussian());
  for (float& x : a) x = float(rng.gaussian());
  LowRankOp op(m, n, r, b.data(), a.data(), 0.5);
  Eigen::MatrixXd dense(m, n);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double sum = 0;
      for (int k = 0; k < r; ++k) sum += double(b[i * r + k]) * a[k * n + j];
      dense(i, j) = 0.5 * sum;
    }
  Eigen::BDCSVD<Eigen::MatrixXd> svd(dense);
  const Eigen::VectorXd ref = svd.singularValues();
  ExactOptions with_vectors;
  with_vectors.vectors = true;
  Spectrum s = exact_spectrum(op, with_vectors);
  CHECK(s.method == "low-rank-factors");
  CHECK(s.values.size() == size_t(n) && s.vector_count == uint64_t(r));
  CHECK(max_abs_error(s.values, ref) <= 1e-12 * ref(0));
  Eigen::Map<const Eigen::MatrixXd> u(s.u.data(), m, r), v(s.v.data(), n, r);
  for (int i = 0; i < r; ++i) CHECK((dense * v.col(i) - s.values[i] * u.col(i)).norm() <= 1e-10 * ref(0));
  ExactOptions gram;
  gram.route = ExactRoute::Gram;
  CHECK(max_abs_error(exact_spectrum(op, gram).values, ref) <= 1e-5 * ref(0));
  TruncatedOptions options;
  options.rank = 4;
  Spectrum t = truncated_spectrum(op, options);
  for (int i = 0; i < 4; ++i) CHECK_NEAR(t.values[i], ref(i), 1e-10 * ref(0));
  CHECK_NEAR(s.frobenius_squared, ref.squaredNorm(), 1e-10 * ref.squaredNorm());
}

TEST_CASE(cancellation_throws_aborted) {
  const TestMatrix t = families()[0];
  DenseOp op(t.rows, t.cols, t.values.data());
  std::atomic<bool> cancel{true};
  RunControl control;
  control.cancel = &cancel;
  CHECK_THROWS_CODE(exact_spectrum(op, {}, control), ABORTED);
  CHECK_THROWS_CODE(truncated_spectrum(op, TruncatedOptions{}, control), ABORTED);
  // Cancelled mid-way, from the progress callback, as an AbortSignal would.
  cancel = false;
  op.set_memory_budget(8 << 20);
  RunControl midway;
  midway.cancel = &cancel;
  uint64_t panels_seen = 0;
  midway.on_progress = [&](uint64_t panels, double) {
    panels_seen = panels;
    if (panels >= 2) cancel = true;
  };
  TruncatedOptions streamed;
  streamed.rank = 4;
  CHECK_THROWS_CODE(truncated_spectrum(op, streamed, midway), ABORTED);
  CHECK(panels_seen >= 2);
}

TEST_CASE(progress_reports_panels_and_flops) {
  const TestMatrix t = families()[4];
  DenseOp op(t.rows, t.cols, t.values.data());
  RunControl control;
  uint64_t panels = 0;
  double flops = 0;
  control.on_progress = [&](uint64_t p, double f) { panels = p, flops = f; };
  exact_spectrum(op, {}, control);
  CHECK(panels >= 1);
  CHECK_NEAR(flops, double(t.cols) * t.cols * t.rows, 1.0);
}

TEST_CASE(invalid_options_are_rejected) {
  const TestMatrix t = families()[0];
  DenseOp op(t.rows, t.cols, t.values.data());
  ExactOptions gram_with_vectors;
  gram_with_vectors.route = ExactRoute::Gram;
  gram_with_vectors.vectors = true;
  CHECK_THROWS_CODE(exact_spectrum(op, gram_with_vectors), INVALID_ARGUMENT);
  TruncatedOptions zero_rank;
  zero_rank.rank = 0;
  CHECK_THROWS_CODE(truncated_spectrum(op, zero_rank), INVALID_ARGUMENT);
  TruncatedOptions bad_tolerance;
  bad_tolerance.tolerance = -1;
  CHECK_THROWS_CODE(truncated_spectrum(op, bad_tolerance), INVALID_ARGUMENT);
}

TEST_CASE(rank_zero_factors_are_the_zero_matrix) {
  LowRankOp op(7, 5, 0, nullptr, nullptr, 2.0);
  Spectrum exact = exact_spectrum(op, {});
  CHECK(exact.values.size() == 5 && exact.frobenius_squared == 0);
  for (double v : exact.values) CHECK(v == 0);
  TruncatedOptions options;
  options.rank = 3;
  Spectrum truncated = truncated_spectrum(op, options);
  CHECK(truncated.values.size() == 3 && truncated.frobenius_squared == 0);
  for (double v : truncated.values) CHECK(v == 0);
}

TEST_MAIN()

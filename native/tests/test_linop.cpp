// The operators against dense products computed directly: apply/apply_t/Frobenius with panels forced
// small, T − B fused subtraction across dtypes, the low-rank product, and a checkpoint tensor streamed
// through checkpoint_row_source.
#include <Eigen/Dense>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "paramscope/checkpoint.hpp"
#include "paramscope/dtype.hpp"
#include "internal/kernels.hpp"
#include "paramscope/linop.hpp"
#include "internal/dense.hpp"
#include "internal/resident.hpp"
#include "internal/workspace.hpp"
#include "test_support.hpp"

using namespace paramscope;

namespace {

std::vector<float> pattern(uint64_t count, double phase) {
  std::vector<float> v(count);
  for (uint64_t i = 0; i < count; ++i) v[i] = float(std::sin(0.37 * double(i) + phase) * (1 + 0.01 * double(i % 17)));
  return v;
}

Eigen::MatrixXd as_matrix(const std::vector<float>& row_major, int rows, int cols) {
  Eigen::MatrixXd m(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) m(i, j) = row_major[size_t(i) * cols + j];
  return m;
}

Eigen::MatrixXd as_row_major(const std::vector<double>& row_major, int rows, int cols) {
  return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(row_major.data(), rows, cols);
}

// apply, apply_t and frobenius_squared of `op` against the dense matrix it should present.
void check_operator(const LinearOperator& op, const Eigen::MatrixXd& expected) {
  const int m = int(op.rows()), n = int(op.cols()), b = 3;
  Eigen::MatrixXd x = as_matrix(pattern(n * b, 0.5), n, b), xt = as_matrix(pattern(m * b, 1.5), m, b);
  Eigen::MatrixXd y(m, b), yt(n, b);
  double frobenius = -1;
  op.apply(x.data(), b, y.data(), RunControl{}, &frobenius);
  op.apply_t(xt.data(), b, yt.data(), RunControl{});
  const double scale = expected.norm() + 1;
  CHECK((y - expected * x).norm() <= 1e-12 * scale * x.norm());
  CHECK((yt - expected.transpose() * xt).norm() <= 1e-12 * scale * xt.norm());
  CHECK_NEAR(frobenius, expected.squaredNorm(), 1e-12 * expected.squaredNorm());
  CHECK_NEAR(op.frobenius_squared(RunControl{}), expected.squaredNorm(), 1e-12 * expected.squaredNorm());
}

}  // namespace

TEST_CASE(dense_operator_matches_dense_products_with_small_panels) {
  const int m = 37, n = 23;
  std::vector<float> values = pattern(m * n, 0);
  DenseOp op(m, n, values.data());
  op.set_memory_budget(5 * op.bytes_per_panel_row());  // 5-row panels, the last one partial
  check_operator(op, as_matrix(values, m, n));
  CHECK(op.panel_rows_within(op.memory_budget()) == 5);
}

TEST_CASE(diff_operator_equals_dense_subtraction_across_dtypes) {
  const int m = 29, n = 31;
  std::vector<float> tuned = pattern(m * n, 0), base_f32 = pattern(m * n, 0.01);
  // The base is stored as BF16 and decoded by its own source, as a base checkpoint would be.
  std::vector<uint16_t> base_bf16(m * n);
  encode_from_f32(DType::BF16, base_f32.data(), base_f32.size(), base_bf16.data());
  std::vector<float> base_decoded(m * n);
  decode_to_f32(DType::BF16, base_bf16.data(), base_bf16.size(), base_decoded.data());
  DiffOp op(m, n, [&](uint64_t r0, uint64_t r1, float* dst) { std::copy(&tuned[r0 * n], &tuned[r1 * n], dst); },
            [&](uint64_t r0, uint64_t r1, float* dst) { decode_to_f32(DType::BF16, &base_bf16[r0 * n], (r1 - r0) * n, dst); });
  op.set_memory_budget(4 * op.bytes_per_panel_row());
  check_operator(op, as_matrix(tuned, m, n) - as_matrix(base_decoded, m, n));
  // The operand norms were recorded during the passes above, and agree with a fresh DiffOp that has to
  // make a pass of its own to find them.
  OperandNorms recorded = *op.operand_norms(RunControl{});
  CHECK_NEAR(recorded.tuned_squared, as_matrix(tuned, m, n).squaredNorm(), 1e-12 * as_matrix(tuned, m, n).squaredNorm());
  CHECK_NEAR(recorded.base_squared, as_matrix(base_decoded, m, n).squaredNorm(), 1e-12 * as_matrix(base_decoded, m, n).squaredNorm());
  DiffOp fresh(m, n, [&](uint64_t r0, uint64_t r1, float* dst) { std::copy(&tuned[r0 * n], &tuned[r1 * n], dst); },
               [&](uint64_t r0, uint64_t r1, float* dst) { decode_to_f32(DType::BF16, &base_bf16[r0 * n], (r1 - r0) * n, dst); });
  CHECK(fresh.operand_norms(RunControl{})->base_squared == recorded.base_squared);
}

TEST_CASE(diff_operator_counts_non_finite_values_of_both_operands) {
  const int m = 10, n = 4;
  std::vector<float> tuned = pattern(m * n, 0), base = pattern(m * n, 1);
  tuned[9] = NAN;
  base[21] = INFINITY;
  base[39] = NAN;
  auto source = [n](const std::vector<float>& v) {
    return [&v, n](uint64_t r0, uint64_t r1, float* dst) { std::copy(&v[r0 * n], &v[r1 * n], dst); };
  };
  DiffOp op(m, n, source(tuned), source(base));
  op.set_memory_budget(3 * op.bytes_per_panel_row());
  try {
    op.frobenius_squared(RunControl{});
    CHECK(false);
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::NON_FINITE_INPUT);
    CHECK(std::string(e.what()).find("3 NaN or infinite value(s), the first in row 2") != std::string::npos);
  }
}

TEST_CASE(resident_f32_copies_of_dense_and_difference_operators_are_exact) {
  // The fused route (decode into the destination, sums by the kernels) against double arithmetic: the
  // matrix must be the stored one (T − B rounded once to f32), the norms those of the exact values.
  const int m = 37, n = 29;  // odd sizes: every kernel has a tail
  std::vector<float> tuned = pattern(m * n, 0), base = pattern(m * n, 0.3);
  auto source = [n](const std::vector<float>& v) {
    return [&v, n](uint64_t r0, uint64_t r1, float* dst) { std::copy(&v[r0 * n], &v[r1 * n], dst); };
  };
  DiffOp diff(m, n, source(tuned), source(base));
  ResidentF32Op resident(diff, RunControl{});
  const Eigen::MatrixXd t = as_matrix(tuned, m, n), b = as_matrix(base, m, n), d = t - b;
  const Eigen::MatrixXd rounded = d.cast<float>().cast<double>();
  Eigen::MatrixXd held(m, n);
  resident.for_each_row_panel(0, m, m, [&](uint64_t r0, uint64_t r1, const double* panel) {
    for (uint64_t i = r0; i < r1; ++i)
      for (int j = 0; j < n; ++j) held(i, j) = panel[(i - r0) * n + j];
  }, RunControl{});
  CHECK(held == rounded);
  Eigen::MatrixXd x = as_matrix(pattern(n * 3, 0.5), n, 3), y(m, 3);
  resident.apply(x.data(), 3, y.data(), RunControl{});  // sgemm: f32 rounding of the products
  CHECK((y - rounded * x).norm() <= 1e-6 * rounded.norm() * x.norm());
  CHECK_NEAR(resident.frobenius_squared(RunControl{}), d.squaredNorm(), 1e-13 * d.squaredNorm());
  OperandNorms norms = *diff.operand_norms(RunControl{});
  CHECK(norms.tuned_rounding_energy == -1 && norms.base_rounding_energy == -1);  // formats not given
  CHECK_NEAR(norms.tuned_squared, t.squaredNorm(), 1e-13 * t.squaredNorm());
  CHECK_NEAR(norms.base_squared, b.squaredNorm(), 1e-13 * b.squaredNorm());

  // With formats, both routes (resident copy, panels) record each side's rounding energy.
  DiffOp with_formats(m, n, source(tuned), source(base));
  with_formats.set_storage_formats(storage_format(DType::F32), storage_format(DType::BF16));
  ResidentF32Op resident_with_formats(with_formats, RunControl{});
  DiffOp panels(m, n, source(tuned), source(base));
  panels.set_storage_formats(storage_format(DType::F32), storage_format(DType::BF16));
  panels.set_memory_budget(3 * panels.bytes_per_panel_row());
  const OperandNorms fused = *with_formats.operand_norms(RunControl{}), streamed = *panels.operand_norms(RunControl{});
  CHECK_NEAR(fused.tuned_rounding_energy, kernels::rounding_energy(tuned.data(), tuned.size(), storage_format(DType::F32)), 1e-12 * fused.tuned_rounding_energy);
  CHECK_NEAR(fused.base_rounding_energy, kernels::rounding_energy(base.data(), base.size(), storage_format(DType::BF16)), 1e-12 * fused.base_rounding_energy);
  CHECK_NEAR(streamed.base_rounding_energy, fused.base_rounding_energy, 1e-12 * fused.base_rounding_energy);
  CHECK(fused.base_rounding_energy > 1e4 * fused.tuned_rounding_energy);  // bf16 spacing vs f32 spacing

  DenseOp dense(m, n, tuned.data());
  std::vector<float> copy(m * n);
  CHECK(dense.rounding_energy() == -1);
  CHECK_NEAR(dense.copy_to_f32(copy.data(), RunControl{}), t.squaredNorm(), 1e-13 * t.squaredNorm());
  CHECK(copy == tuned);
  CHECK(dense.rounding_energy() == -1);  // no format: nothing recorded
  const double expected_energy = kernels::rounding_energy(tuned.data(), tuned.size(), storage_format(DType::BF16));
  DenseOp resident_route(m, n, tuned.data()), panel_route(m, n, tuned.data());
  resident_route.set_storage_format(storage_format(DType::BF16));
  panel_route.set_storage_format(storage_format(DType::BF16));
  resident_route.copy_to_f32(copy.data(), RunControl{});
  panel_route.set_memory_budget(4 * panel_route.bytes_per_panel_row());
  panel_route.frobenius_squared(RunControl{});
  CHECK_NEAR(resident_route.rounding_energy(), expected_energy, 1e-12 * expected_energy);
  CHECK_NEAR(panel_route.rounding_energy(), expected_energy, 1e-12 * expected_energy);

  // NaN/Inf: the same error, with the same count, as the panel route gives.
  base[5] = NAN;
  tuned[33 * n + 2] = -INFINITY;
  DiffOp bad(m, n, source(tuned), source(base));
  try {
    ResidentF32Op failing(bad, RunControl{});
    CHECK(false);
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::NON_FINITE_INPUT);
    CHECK(std::string(e.what()).find("2 NaN or infinite value(s), the first in row 0") != std::string::npos);
  }
  DenseOp bad_dense(m, n, tuned.data());
  CHECK_THROWS_CODE(bad_dense.copy_to_f32(copy.data(), RunControl{}), NON_FINITE_INPUT);
}

TEST_CASE(whole_matrix_copies_are_exact_and_the_same_on_any_thread_count) {
  // copy_to_f64 (the exact Gram route's block) and copy_to_f32 share row blocks out over control.threads
  // threads: the copy must be the stored values (T − B in double), and the sums and counts the same
  // bits whatever the thread count (each block sums into its own slot, added in block order).
  const int m = 61, n = 2053;  // 15 rows per cache block: five blocks, the last one short
  std::vector<float> tuned = pattern(m * n, 0), base = pattern(m * n, 0.3);
  for (int i = 0; i < m * n; i += 7) base[i] = tuned[i];  // identical entries to count
  auto source = [n](const std::vector<float>& v) {
    return [&v, n](uint64_t r0, uint64_t r1, float* dst) { std::copy(&v[r0 * n], &v[r1 * n], dst); };
  };
  const Eigen::MatrixXd t = as_matrix(tuned, m, n), b = as_matrix(base, m, n), d = t - b;
  std::vector<double> first_copy;
  double first_frobenius = 0, first_energy = 0;
  OperandNorms first_norms;
  for (int threads : {1, 2, 3, 8}) {
    RunControl control;
    control.threads = threads;
    DenseOp dense(m, n, source(tuned));
    dense.set_storage_format(storage_format(DType::BF16));
    std::vector<double> copy(size_t(m) * n);
    const double frobenius = dense.copy_to_f64(copy.data(), control);
    CHECK(as_row_major(copy, m, n) == t);
    CHECK_NEAR(frobenius, t.squaredNorm(), 1e-13 * t.squaredNorm());
    const double energy = kernels::rounding_energy(tuned.data(), tuned.size(), storage_format(DType::BF16));
    CHECK_NEAR(dense.rounding_energy(), energy, 1e-12 * energy);

    DiffOp diff(m, n, source(tuned), source(base));
    diff.set_storage_formats(storage_format(DType::F32), storage_format(DType::BF16));
    std::vector<double> difference(size_t(m) * n);
    const double difference_squared = diff.copy_to_f64(difference.data(), control);
    CHECK(as_row_major(difference, m, n) == d);
    CHECK_NEAR(difference_squared, d.squaredNorm(), 1e-13 * d.squaredNorm());
    const OperandNorms norms = *diff.operand_norms(control);
    CHECK(norms.identical_entries == (m * n + 6) / 7);
    CHECK(norms.below_spacing_entries >= norms.identical_entries);
    if (threads == 1) {
      first_copy = difference;
      first_frobenius = frobenius;
      first_energy = dense.rounding_energy();
      first_norms = norms;
      continue;
    }
    CHECK(difference == first_copy);
    CHECK(frobenius == first_frobenius && dense.rounding_energy() == first_energy);
    CHECK(norms.tuned_squared == first_norms.tuned_squared && norms.base_squared == first_norms.base_squared);
    CHECK(norms.tuned_rounding_energy == first_norms.tuned_rounding_energy && norms.base_rounding_energy == first_norms.base_rounding_energy);
    CHECK(norms.below_spacing_entries == first_norms.below_spacing_entries);
    std::vector<float> copy32(size_t(m) * n);
    RunControl serial;
    DenseOp one(m, n, source(tuned)), many(m, n, source(tuned));
    CHECK(one.copy_to_f32(copy32.data(), serial) == many.copy_to_f32(copy32.data(), control));
    CHECK(copy32 == tuned);
  }

  // NaN/Inf in a late block: the panel route's message (first row, whole count) on any thread count.
  tuned[size_t(47) * n + 5] = NAN;
  base[size_t(60) * n + 1] = INFINITY;
  for (int threads : {1, 3}) {
    RunControl control;
    control.threads = threads;
    std::vector<double> copy(size_t(m) * n);
    DiffOp bad(m, n, source(tuned), source(base));
    try {
      bad.copy_to_f64(copy.data(), control);
      CHECK(false);
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::NON_FINITE_INPUT);
      CHECK(std::string(e.what()).find("2 NaN or infinite value(s), the first in row 47") != std::string::npos);
    }
    DenseOp bad_dense(m, n, source(tuned));
    CHECK_THROWS_CODE(bad_dense.copy_to_f64(copy.data(), control), NON_FINITE_INPUT);
  }

  // Cancellation reaches every thread; progress is one panel per block, reported on the calling thread.
  std::atomic<bool> cancel{true};
  RunControl cancelled;
  cancelled.cancel = &cancel;
  cancelled.threads = 3;
  std::vector<double> copy(size_t(m) * n);
  const std::vector<float> finite = pattern(m * n, 0.7);
  DenseOp dense(m, n, source(finite));
  CHECK_THROWS_CODE(dense.copy_to_f64(copy.data(), cancelled), ABORTED);
  RunControl counted;
  counted.threads = 3;
  uint64_t panels = 0;
  counted.on_progress = [&](uint64_t done, double) { panels = done; };
  dense.copy_to_f64(copy.data(), counted);
  CHECK(panels == 5);
}

TEST_CASE(kernels_match_double_arithmetic) {
  for (size_t n : {0, 1, 3, 4, 15, 16, 17, 1001}) {
    std::vector<float> t = pattern(n, 0.1), b = pattern(n, 2.2), out(n);
    double tt = 0, bb = 0, dd = 0;
    for (size_t i = 0; i < n; ++i) {
      tt += double(t[i]) * t[i];
      bb += double(b[i]) * b[i];
      dd += (double(t[i]) - b[i]) * (double(t[i]) - b[i]);
    }
    CHECK_NEAR(kernels::sum_of_squares(t.data(), n), tt, 1e-13 * (tt + 1));
    kernels::DifferenceSums sums;
    kernels::subtract(t.data(), b.data(), out.data(), n, sums);
    CHECK_NEAR(sums.tuned_squared, tt, 1e-13 * (tt + 1));
    CHECK_NEAR(sums.base_squared, bb, 1e-13 * (bb + 1));
    CHECK_NEAR(sums.difference_squared, dd, 1e-13 * (dd + 1));
    bool exact = true;
    for (size_t i = 0; i < n; ++i) exact = exact && out[i] == float(double(t[i]) - double(b[i]));
    CHECK(exact);
    if (n > 0) {
      t[n - 1] = NAN;  // in the tail or the vector body: the sums must turn non-finite either way
      CHECK(!std::isfinite(kernels::sum_of_squares(t.data(), n)));
      kernels::DifferenceSums poisoned;
      kernels::subtract(t.data(), b.data(), out.data(), n, poisoned);
      CHECK(!std::isfinite(poisoned.tuned_squared));
    }
  }
}

TEST_CASE(rounding_energy_reads_each_value_spacing_from_its_exponent) {
  // ulp²/12 summed: bf16 spacing at 1.0 is 2⁻⁷ and at 3.0 2⁻⁶; 0 and tiny values take the spacing of the
  // smallest normal binade; f16 keeps 2⁻²⁴ below its smallest normal 2⁻¹⁴.
  const StorageFormat bf16 = storage_format(DType::BF16), f16 = storage_format(DType::F16);
  std::vector<float> v = {1.0f, -3.0f, 0.0f, 1e-30f};
  for (int i = 0; i < 20; ++i) v.push_back(0.75f);  // e = −1: spacing 2⁻⁸ (and the vector loop runs)
  const double expected = (std::ldexp(1.0, -14) + std::ldexp(1.0, -12) + 2 * std::ldexp(1.0, 2 * (-126 - 7)) + 20 * std::ldexp(1.0, -16)) / 12;
  CHECK_NEAR(kernels::rounding_energy(v.data(), v.size(), bf16), expected, 1e-15 * expected);
  const std::vector<float> small = {1e-6f, 1e-6f, 1e-6f, 1e-6f, 1e-6f, 1e-6f, 1e-6f, 1e-6f, 2.0f};
  CHECK_NEAR(kernels::rounding_energy(small.data(), small.size(), f16), (8 * std::ldexp(1.0, -48) + std::ldexp(1.0, -18)) / 12, 1e-25);
  CHECK(!storage_format(DType::I32).known());
}

TEST_CASE(orthonormalize_columns_on_well_and_ill_conditioned_blocks) {
  // Well conditioned (CholeskyQR2), graded to condition 1e12 and exactly rank-deficient (both past
  // CholeskyQR2: Householder): the result is orthonormal and spans the original columns.
  const int m = 400, n = 20;
  Eigen::MatrixXd base = as_matrix(pattern(m * n, 0.4), m, n) + 0.5 * as_matrix(pattern(m * n, 7.1), m, n).cwiseAbs();
  Eigen::MatrixXd graded = base;
  for (int j = 0; j < n; ++j) graded.col(j) *= std::pow(10.0, -12.0 * j / (n - 1));
  Eigen::MatrixXd deficient = base;
  deficient.col(7) = deficient.col(3);
  for (const Eigen::MatrixXd* a : {&base, &graded, &deficient}) {
    Eigen::MatrixXd q = *a;
    dense::orthonormalize_columns(m, n, q.data(), m);
    CHECK((q.transpose() * q - Eigen::MatrixXd::Identity(n, n)).norm() <= 1e-13);
    CHECK((q * (q.transpose() * *a) - *a).norm() <= 1e-12 * a->norm());
  }
  // A well-conditioned basis is enough for intermediate power steps: one CholeskyQR step.
  Eigen::MatrixXd q = base;
  dense::orthonormalize_columns(m, n, q.data(), m, true);
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(q);
  CHECK(svd.singularValues()(0) / svd.singularValues()(n - 1) < 1.001);
  CHECK((q * (q.transpose() * base) - base).norm() <= 1e-10 * base.norm());
}

TEST_CASE(split_products_equal_single_products) {
  const int m = 300, n = 37, k = 500;
  Eigen::MatrixXd a = as_matrix(pattern(k * m, 0.8), k, m), b = as_matrix(pattern(k * n, 1.9), k, n);
  Eigen::MatrixXd whole(m, n), split(m, n);
  dense::gemm(true, false, m, n, k, 1.0, a.data(), k, b.data(), k, 0.0, whole.data(), m);
  dense::set_split_threads(3);
  dense::gemm(true, false, m, n, k, 1.0, a.data(), k, b.data(), k, 0.0, split.data(), m);
  dense::set_split_threads(1);
  CHECK((whole - a.transpose() * b).norm() <= 1e-12 * whole.norm());
  CHECK((split - whole).norm() <= 1e-13 * whole.norm());
}

TEST_CASE(buffer_cache_reuses_pages_within_its_limit) {
  BufferCache cache(64 << 20);
  BufferCache::Scope scope(cache);
  const void* first;
  {
    Buffer<double> big(1 << 20);  // 8 MiB
    first = big.data();
    big[0] = 1;
    big[(1 << 20) - 1] = 2;
  }
  CHECK(cache.cached_bytes() >= (8u << 20));
  {
    Buffer<float> smaller(1000);  // the smallest cached block that fits: the 8 MiB one
    CHECK(static_cast<const void*>(smaller.data()) == first);
    Buffer<double> other(1 << 20);  // nothing cached fits: a new mapping
    CHECK(static_cast<const void*>(other.data()) != first);
  }
  {
    Buffer<char> huge(60 << 20);  // over the limit with what is cached: the cached blocks are unmapped
    CHECK(cache.cached_bytes() == 0);
  }
  Buffer<int> moved(10);
  Buffer<int> target = std::move(moved);
  CHECK(moved.data() == nullptr && target.size() == 10);
}

TEST_CASE(low_rank_operator_matches_its_dense_product) {
  const int m = 40, n = 25, r = 4;
  std::vector<float> b = pattern(m * r, 0.2), a = pattern(r * n, 0.9);
  LowRankOp op(m, n, r, b.data(), a.data(), -1.5);
  const Eigen::MatrixXd expected = -1.5 * as_matrix(b, m, r) * as_matrix(a, r, n);
  check_operator(op, expected);
  // Its row panels present the same matrix (the default, streaming apply path).
  Eigen::MatrixXd from_panels(m, n);
  op.for_each_row_panel(0, m, 7, [&](uint64_t r0, uint64_t r1, const double* panel) {
    for (uint64_t i = r0; i < r1; ++i)
      for (int j = 0; j < n; ++j) from_panels(i, j) = panel[(i - r0) * n + j];
  }, RunControl{});
  CHECK((from_panels - expected).norm() <= 1e-12 * expected.norm());
  std::vector<float> bad = a;
  bad[3] = NAN;
  CHECK_THROWS_CODE(LowRankOp(m, n, r, b.data(), bad.data(), 1.0), NON_FINITE_INPUT);
}

TEST_CASE(resident_operator_is_the_source_in_memory) {
  const int m = 13, n = 11;
  std::vector<float> values = pattern(m * n, 2);
  DenseOp source(m, n, values.data());
  ResidentOp resident(source, RunControl{});
  check_operator(resident, as_matrix(values, m, n));
  source.set_memory_budget(m * n * 8 - 1);
  CHECK_THROWS_CODE(ResidentOp(source, RunControl{}), OUT_OF_MEMORY);
}

TEST_CASE(panel_sizing_respects_the_budget) {
  std::vector<float> values(10 * 1000, 1.0f);
  DenseOp op(10, 1000, values.data());
  CHECK(op.bytes_per_panel_row() == 1000 * 12);
  CHECK(op.panel_rows_within(36000) == 3);
  CHECK(op.panel_rows_within(1ULL << 30) == 10);
  CHECK_THROWS_CODE(op.panel_rows_within(11999), OUT_OF_MEMORY);
}

TEST_CASE(checkpoint_tensors_stream_as_matrices) {
  // A BF16 tensor of shape [6, 2, 5] (a 6×10 matrix) and an F32 vector of 10 (one row).
  std::vector<float> w = pattern(60, 0.3), v = pattern(10, 0.7);
  std::vector<uint16_t> w_bf16(60);
  encode_from_f32(DType::BF16, w.data(), 60, w_bf16.data());
  std::string header = R"({"w":{"dtype":"BF16","shape":[6,2,5],"data_offsets":[0,120]},)"
                       R"("v":{"dtype":"F32","shape":[10],"data_offsets":[120,160]}})";
  while (header.size() % 8) header += ' ';
  const std::string path = (std::filesystem::temp_directory_path() / "paramscope-test-linop.safetensors").string();
  {
    std::ofstream out(path, std::ios::binary);
    const uint64_t length = header.size();
    out.write(reinterpret_cast<const char*>(&length), 8);
    out.write(header.data(), header.size());
    out.write(reinterpret_cast<const char*>(w_bf16.data()), 120);
    out.write(reinterpret_cast<const char*>(v.data()), 40);
  }
  std::shared_ptr<const Checkpoint> checkpoint = Checkpoint::open(path, Checkpoint::Options{});
  const CheckpointTensor& wt = checkpoint->get("w");
  const MatrixShape shape = matrix_shape(*wt.info);
  CHECK(shape.rows == 6 && shape.cols == 10);
  DenseOp op(shape.rows, shape.cols, checkpoint_row_source(checkpoint, wt));
  op.set_memory_budget(2 * op.bytes_per_panel_row());
  std::vector<float> w_decoded(60);
  decode_to_f32(DType::BF16, w_bf16.data(), 60, w_decoded.data());
  check_operator(op, as_matrix(w_decoded, 6, 10));

  const CheckpointTensor& vt = checkpoint->get("v");
  const MatrixShape vshape = matrix_shape(*vt.info);
  CHECK(vshape.rows == 1 && vshape.cols == 10);
  DenseOp vop(vshape.rows, vshape.cols, checkpoint_row_source(checkpoint, vt));
  check_operator(vop, as_matrix(v, 1, 10));
  std::remove(path.c_str());
}

TEST_MAIN()

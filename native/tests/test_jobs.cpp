// The job builder (paramscope/jobs.hpp) and its noise policy, against values computed here from the
// stored bits: the rounding energy Σ ulp²/12 of each stored value, the dtype's epsilon, the operand
// norms of a difference, the rms model when no pass measured the energy; the validation of specs; and
// the engine running such jobs (results in order, a failed job reported with its code).
#include <atomic>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "paramscope/dtype.hpp"
#include "paramscope/engine.hpp"
#include "paramscope/jobs.hpp"
#include "test_files.hpp"
#include "test_support.hpp"

using namespace paramscope;
using namespace test_files;

namespace {

std::string bf16_bytes(const std::vector<float>& values) {
  std::string out(values.size() * 2, '\0');
  encode_from_f32(DType::BF16, values.data(), values.size(), out.data());
  return out;
}

std::vector<float> bf16_rounded(const std::vector<float>& values) {
  const std::string bytes = bf16_bytes(values);
  std::vector<float> out(values.size());
  decode_to_f32(DType::BF16, bytes.data(), values.size(), out.data());
  return out;
}

// ulp(x)²/12 for a value of a format with `precision` significand bits and smallest normal exponent `emin`.
double rounding_variance(double x, int precision, int emin) {
  const int e = x == 0 ? emin : std::max(emin, std::ilogb(x));
  const double ulp = std::ldexp(1.0, e - precision + 1);
  return ulp * ulp / 12;
}

std::vector<float> ramp(size_t n, float scale, float offset) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = offset + scale * std::sin(0.7f * float(i) + 0.3f);
  return v;
}

constexpr uint64_t kRows = 6, kCols = 5;

// base.weight and tuned.weight BF16 [6,5], wide.weight F32 [6,4], packed F4 [4,2].
std::shared_ptr<const Checkpoint> checkpoint(const std::vector<float>& base, const std::vector<float>& tuned) {
  const std::string path = temp().write("jobs.safetensors", safetensors_file({
      {"base.weight", "BF16", "[6,5]", bf16_bytes(base)},
      {"tuned.weight", "BF16", "[6,5]", bf16_bytes(tuned)},
      {"wide.weight", "F32", "[6,4]", f32_bytes({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24})},
      {"packed", "F4", "[4,2]", std::string(4, '\0')},
  }));
  return Checkpoint::open(path, {});
}

std::vector<JobResult> run(std::vector<MatrixJob> jobs, SpectrumMode mode = SpectrumMode::Exact) {
  std::vector<JobResult> results;
  EngineOptions options;
  options.mode = mode;
  EngineCallbacks callbacks;
  callbacks.on_result = [&](JobResult&& r) { results.push_back(std::move(r)); };
  std::atomic<bool> cancel{false};
  run_engine(jobs, options, callbacks, cancel);
  return results;
}

}  // namespace

TEST_CASE(dense_job_noise_floor_is_the_measured_rounding_energy) {
  const std::vector<float> base = ramp(kRows * kCols, 0.5f, 0.1f), tuned = ramp(kRows * kCols, 0.5f, 0.12f);
  auto ckpt = checkpoint(base, tuned);
  std::vector<JobResult> results = run({dense_job({"W", {ckpt, "base.weight"}, std::nullopt})});
  CHECK(results.size() == 1 && !results[0].error);
  double energy = 0, squares = 0;
  for (float v : bf16_rounded(base)) {
    energy += rounding_variance(v, 8, -126);
    squares += double(v) * v;
  }
  const double sigma = std::sqrt(energy / double(kRows * kCols));
  CHECK(results[0].metrics.mp_edge.has_value());
  CHECK_NEAR(*results[0].metrics.mp_edge, sigma * (std::sqrt(double(kRows)) + std::sqrt(double(kCols))), 1e-12 * sigma);
  CHECK_NEAR(results[0].spectrum.frobenius_squared, squares, 1e-12 * squares);
  // The numerical-rank threshold scales with BF16's epsilon 2⁻⁷.
  CHECK_NEAR(results[0].metrics.numerical_rank_tolerance, 6 * 0x1.0p-7 * results[0].spectrum.values[0], 1e-12);
  CHECK(results[0].base_frobenius_squared < 0);  // not a difference
}

TEST_CASE(difference_job_adds_both_sides_rounding_and_records_operand_norms) {
  const std::vector<float> base = ramp(kRows * kCols, 0.5f, 0.1f), tuned = ramp(kRows * kCols, 0.52f, 0.1f);
  auto ckpt = checkpoint(base, tuned);
  std::vector<JobResult> results = run({difference_job({"dW", {ckpt, "tuned.weight"}, {ckpt, "base.weight"}, std::nullopt, std::nullopt})});
  CHECK(results.size() == 1 && !results[0].error);
  double energy = 0, tuned_squares = 0, base_squares = 0, update = 0;
  const std::vector<float> b = bf16_rounded(base), t = bf16_rounded(tuned);
  for (size_t i = 0; i < b.size(); ++i) {
    energy += rounding_variance(b[i], 8, -126) + rounding_variance(t[i], 8, -126);
    tuned_squares += double(t[i]) * t[i];
    base_squares += double(b[i]) * b[i];
    update += (double(t[i]) - b[i]) * (double(t[i]) - b[i]);
  }
  const JobResult& r = results[0];
  CHECK_NEAR(r.rounding_energy, energy, 1e-12 * energy);
  CHECK_NEAR(r.tuned_frobenius_squared, tuned_squares, 1e-12 * tuned_squares);
  CHECK_NEAR(r.base_frobenius_squared, base_squares, 1e-12 * base_squares);
  CHECK_NEAR(r.spectrum.frobenius_squared, update, 1e-12 * update);
  const double sigma = std::sqrt(energy / double(kRows * kCols));
  CHECK_NEAR(*r.metrics.mp_edge, sigma * (std::sqrt(double(kRows)) + std::sqrt(double(kCols))), 1e-12 * sigma);
}

TEST_CASE(noise_policy_models_the_rms_when_no_pass_measured_it) {
  // An operator without a storage format records no rounding energy: the policy falls back to the rms
  // model 2^(−p−1)·rms of the dtype it is told.
  const std::vector<float> values = ramp(kRows * kCols, 1.0f, 0.0f);
  DenseOp op(kRows, kCols, values.data());
  Spectrum spectrum;
  spectrum.frobenius_squared = 0;
  for (float v : values) spectrum.frobenius_squared += double(v) * v;
  const double rms = std::sqrt(spectrum.frobenius_squared / double(kRows * kCols));
  CHECK_NEAR(stored_matrix_metrics(DType::BF16, op, spectrum).noise_sigma, std::ldexp(rms, -9), 1e-15);
  CHECK_NEAR(stored_matrix_metrics(DType::F16, op, spectrum).noise_sigma, std::ldexp(rms, -12), 1e-15);
  CHECK(stored_matrix_metrics(DType::I32, op, spectrum).noise_sigma == 0);  // no rounding grid
  CHECK(stored_matrix_metrics(DType::F8_E4M3, op, spectrum).dtype_epsilon == 0x1.0p-3);
  // A difference of unknown formats models each side from its operand norm and adds the variances.
  DiffOp diff(kRows, kCols, [&](uint64_t r0, uint64_t r1, float* dst) { std::copy(values.begin() + r0 * kCols, values.begin() + r1 * kCols, dst); },
              [&](uint64_t r0, uint64_t r1, float* dst) { for (uint64_t i = r0 * kCols; i < r1 * kCols; ++i) dst[i - r0 * kCols] = 0.5f * values[i]; });
  const MetricsOptions m = difference_metrics(DType::BF16, DType::F16, diff, RunControl{});
  const double expected = std::sqrt(std::pow(std::ldexp(rms, -9), 2) + std::pow(std::ldexp(0.5 * rms, -12), 2));
  CHECK_NEAR(m.noise_sigma, expected, 1e-15);
  CHECK(m.dtype_epsilon == 0x1.0p-7);  // the coarser of the two
}

TEST_CASE(resized_rows_compare_the_shared_leading_rows) {
  const std::vector<float> base = ramp(kRows * kCols, 0.5f, 0.1f), tuned = ramp(kRows * kCols, 0.6f, 0.1f);
  auto ckpt = checkpoint(base, tuned);
  std::vector<JobResult> results = run({difference_job({"dW", {ckpt, "tuned.weight"}, {ckpt, "base.weight"}, 4, std::nullopt})});
  CHECK(results.size() == 1 && results[0].rows == 4 && results[0].cols == kCols);
}

TEST_CASE(specs_are_validated_before_anything_is_read) {
  const std::vector<float> base = ramp(kRows * kCols, 0.5f, 0.1f);
  auto ckpt = checkpoint(base, base);
  CHECK_THROWS_CODE(dense_job({"x", {ckpt, "missing"}, std::nullopt}), TENSOR_NOT_FOUND);
  CHECK_THROWS_CODE(dense_job({"x", {ckpt, "packed"}, std::nullopt}), UNSUPPORTED_DTYPE);
  CHECK_THROWS_CODE(dense_job({"x", {nullptr, "base.weight"}, std::nullopt}), INVALID_ARGUMENT);
  CHECK_THROWS_CODE(difference_job({"x", {ckpt, "wide.weight"}, {ckpt, "base.weight"}, std::nullopt, std::nullopt}), SHAPE_MISMATCH);
  CHECK_THROWS_CODE(difference_job({"x", {ckpt, "tuned.weight"}, {ckpt, "base.weight"}, 7, std::nullopt}), SHAPE_MISMATCH);
  CHECK_THROWS_CODE(low_rank_job({"x", 4, 3, 2, std::vector<float>(7), std::vector<float>(6), 1.0, std::nullopt}), INVALID_ARGUMENT);
}

TEST_CASE(low_rank_jobs_and_failures_come_back_in_order_with_their_codes) {
  std::vector<float> b = {1, 0, 0, 2, 1, 1, 0, 1}, a = {1, 0, 0, 0, 1, 0};  // B 4×2, A 2×3
  std::vector<float> nan_b = b;
  nan_b[3] = std::nanf("");
  std::vector<MatrixJob> jobs;
  jobs.push_back(low_rank_job({"ok", 4, 3, 2, b, a, 2.0, std::nullopt}));
  jobs.push_back(low_rank_job({"nan", 4, 3, 2, nan_b, a, 2.0, std::nullopt}));
  std::vector<JobResult> results = run(std::move(jobs));
  CHECK(results.size() == 2);
  CHECK(results[0].name == "ok" && !results[0].error && results[0].spectrum.method == "low-rank-factors");
  CHECK(results[1].name == "nan" && results[1].error == ErrorCode::NON_FINITE_INPUT);
  CHECK(!results[1].error_message.empty());
}

TEST_CASE(engine_defaults_and_lane_policy) {
  const EngineOptions defaults;
  CHECK(defaults.mode == SpectrumMode::Exact && defaults.truncated.rank == 64 && defaults.truncated.single_precision);
  CHECK(defaults.memory_budget == config::kDefaultMemoryBudget);
  EngineOptions two;
  two.threads = 8;
  CHECK(lane_count(two, 100) == 4);   // 2 GiB / 512 MiB per lane
  CHECK(lane_count(two, 3) == 3);     // never more lanes than jobs
  two.lanes = 1;
  CHECK(lane_count(two, 100) == 1);
  two.lanes = 0;
  two.memory_budget = 1;
  CHECK(lane_count(two, 100) == 1);   // at least one
}

TEST_MAIN()

#include "paramscope/linop.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <exception>
#include <system_error>
#include <thread>

#include "paramscope/blas.hpp"
#include "paramscope/dtype.hpp"
#include "paramscope/error.hpp"
#include "paramscope/kernels.hpp"

namespace paramscope {

void RunControl::check_cancelled() const {
  if (cancel && cancel->load(std::memory_order_relaxed)) throw Error(ErrorCode::ABORTED, "the computation was cancelled");
}

void RunControl::add_progress(uint64_t panels, double flops) const {
  panels_done_ += panels;
  flops_done_ += flops;
  if (panels && on_progress) on_progress(panels_done_, flops_done_);
}

namespace {

// NON_FINITE_INPUT with the total count: after the first bad panel the remaining rows are only decoded
// and counted, so the message can say how many values are bad (one corrupt value reads differently from
// a diverged checkpoint).
[[noreturn]] void throw_non_finite(const std::string& label, uint64_t first_row, uint64_t count) {
  throw Error(ErrorCode::NON_FINITE_INPUT, label + " contains " + std::to_string(count) +
                                               " NaN or infinite value(s), the first in row " +
                                               std::to_string(first_row) + "; a spectrum needs finite input");
}

uint64_t first_non_finite_row(const float* values, uint64_t rows, uint64_t cols) {
  for (uint64_t r = 0; r < rows; ++r)
    if (count_non_finite(values + r * cols, cols)) return r;
  return rows;
}

int as_blas_int(uint64_t value) {
  if (value > static_cast<uint64_t>(INT_MAX))
    throw Error(ErrorCode::INVALID_ARGUMENT, "a matrix dimension of " + std::to_string(value) + " exceeds the BLAS integer range");
  return static_cast<int>(value);
}

using ConstMap = Eigen::Map<const Eigen::MatrixXd, 0, Eigen::OuterStride<>>;
using MutableMap = Eigen::Map<Eigen::MatrixXd, 0, Eigen::OuterStride<>>;

}  // namespace

uint64_t LinearOperator::panel_rows_within(uint64_t bytes) const {
  const uint64_t per_row = bytes_per_panel_row();
  if (per_row == 0) return std::max<uint64_t>(rows(), 1);
  if (bytes < per_row)
    throw Error(ErrorCode::OUT_OF_MEMORY, "one row of " + label() + " needs " + std::to_string(per_row) +
                                              " bytes of panel buffers, more than the " + std::to_string(bytes) +
                                              " bytes left in the memory budget");
  // Panels are capped (config::kMaxPanelBytes) for prompt cancellation, but hold at least one row.
  const uint64_t fit = std::max<uint64_t>(1, std::min<uint64_t>(bytes, config::kMaxPanelBytes) / per_row);
  return std::min<uint64_t>(fit, std::max<uint64_t>(rows(), 1));
}

namespace {
double sum_of_squares(const double* values, uint64_t count) {
  double total = 0;
  for (uint64_t i = 0; i < count; ++i) total += values[i] * values[i];
  return total;
}
}  // namespace

void LinearOperator::apply(const double* x, uint64_t b, double* y, const RunControl& control,
                           double* frobenius_squared_out) const {
  const uint64_t m = rows(), n = cols();
  double frobenius = 0;
  for_each_row_panel(0, m, panel_rows_within(memory_budget()), [&](uint64_t r0, uint64_t r1, const double* panel) {
    // The row-major panel read column-major is its transpose (n × rows), hence the transposed operand.
    dense::gemm(true, false, r1 - r0, b, n, 1.0, panel, n, x, n, 0.0, y + r0, m);
    if (frobenius_squared_out) frobenius += sum_of_squares(panel, (r1 - r0) * n);
    control.add_progress(0, 2.0 * double(r1 - r0) * double(n) * double(b));
  }, control);
  if (frobenius_squared_out) *frobenius_squared_out = frobenius;
}

void LinearOperator::apply_t(const double* x, uint64_t b, double* y, const RunControl& control) const {
  const uint64_t m = rows(), n = cols();
  std::fill(y, y + n * b, 0.0);
  for_each_row_panel(0, m, panel_rows_within(memory_budget()), [&](uint64_t r0, uint64_t r1, const double* panel) {
    dense::gemm(false, false, n, b, r1 - r0, 1.0, panel, n, x + r0, m, 1.0, y, n);
    control.add_progress(0, 2.0 * double(r1 - r0) * double(n) * double(b));
  }, control);
}

double LinearOperator::frobenius_squared(const RunControl& control) const {
  double total = 0;
  const uint64_t n = cols();
  for_each_row_panel(0, rows(), panel_rows_within(memory_budget()), [&](uint64_t r0, uint64_t r1, const double* panel) {
    total += sum_of_squares(panel, (r1 - r0) * n);
  }, control);
  return total;
}

double LinearOperator::copy_to_f32(float* dst, const RunControl& control) const {
  const uint64_t n = cols(), reserved = rows() * n * sizeof(float);
  double total = 0;
  for_each_row_panel(0, rows(), panel_rows_within(memory_budget() > reserved ? memory_budget() - reserved : 0), [&](uint64_t r0, uint64_t r1, const double* panel) {
    const uint64_t count = (r1 - r0) * n;
    float* out = dst + r0 * n;
    for (uint64_t i = 0; i < count; ++i) out[i] = static_cast<float>(panel[i]);
    total += sum_of_squares(panel, count);
  }, control);
  return total;
}

namespace {
// Rows per block of copy_to_f32: about 128 KiB of f32, so a block decoded into the destination is still
// in L2 when the next kernel reads it back (and a difference's two operands fit there together).
uint64_t cache_block_rows(uint64_t cols) { return std::max<uint64_t>(1, (uint64_t(32) << 10) / std::max<uint64_t>(cols, 1)); }
}  // namespace

// ---- DenseOp ----

DenseOp::DenseOp(uint64_t rows, uint64_t cols, RowPanelSource source)
    : rows_(rows), cols_(cols), source_(std::move(source)) {}

DenseOp::DenseOp(uint64_t rows, uint64_t cols, const float* values)
    : rows_(rows), cols_(cols), source_([values, cols](uint64_t r0, uint64_t r1, float* dst) {
        std::memcpy(dst, values + r0 * cols, (r1 - r0) * cols * sizeof(float));
      }) {}

void DenseOp::for_each_row_panel(uint64_t row_begin, uint64_t row_end, uint64_t max_rows, const RowPanelVisitor& visit,
                                 const RunControl& control) const {
  max_rows = std::max<uint64_t>(1, std::min(max_rows, row_end - row_begin));
  std::vector<float> decoded(max_rows * cols_);
  std::vector<double> panel(max_rows * cols_);
  const bool record = format_.known() && rounding_energy_ < 0 && row_begin == 0 && row_end == rows_;
  double energy = 0;
  for (uint64_t r0 = row_begin; r0 < row_end; r0 += max_rows) {
    control.check_cancelled();
    const uint64_t r1 = std::min(row_end, r0 + max_rows), count = (r1 - r0) * cols_;
    source_(r0, r1, decoded.data());
    if (record) energy += kernels::rounding_energy(decoded.data(), count, format_);
    if (uint64_t bad = count_non_finite(decoded.data(), count)) {
      const uint64_t first = r0 + first_non_finite_row(decoded.data(), r1 - r0, cols_);
      for (uint64_t s0 = r1; s0 < row_end; s0 += max_rows) {
        const uint64_t s1 = std::min(row_end, s0 + max_rows);
        source_(s0, s1, decoded.data());
        bad += count_non_finite(decoded.data(), (s1 - s0) * cols_);
      }
      throw_non_finite(label(), first, bad);
    }
    std::copy(decoded.begin(), decoded.begin() + count, panel.begin());
    visit(r0, r1, panel.data());
    control.add_progress(1, 0);
  }
  if (record) rounding_energy_ = energy;
}

double DenseOp::copy_to_f32(float* dst, const RunControl& control) const {
  const uint64_t block = cache_block_rows(cols_);
  double total = 0, energy = 0;
  for (uint64_t r0 = 0; r0 < rows_; r0 += block) {
    control.check_cancelled();
    const uint64_t r1 = std::min(rows_, r0 + block), count = (r1 - r0) * cols_;
    float* out = dst + r0 * cols_;
    source_(r0, r1, out);
    total += kernels::sum_of_squares(out, count);
    if (format_.known()) energy += kernels::rounding_energy(out, count, format_);
    control.add_progress(1, 0);
  }
  // NaN/Inf make the sum non-finite (kernels.hpp); the panel route then reports where and how many.
  if (!std::isfinite(total)) for_each_row_panel(0, rows_, panel_rows_within(memory_budget()), [](uint64_t, uint64_t, const double*) {}, control);
  if (format_.known()) rounding_energy_ = energy;
  return total;
}

// ---- DiffOp ----

DiffOp::DiffOp(uint64_t rows, uint64_t cols, RowPanelSource tuned, RowPanelSource base)
    : rows_(rows), cols_(cols), tuned_(std::move(tuned)), base_(std::move(base)) {}

void DiffOp::for_each_row_panel(uint64_t row_begin, uint64_t row_end, uint64_t max_rows, const RowPanelVisitor& visit,
                                const RunControl& control) const {
  max_rows = std::max<uint64_t>(1, std::min(max_rows, row_end - row_begin));
  std::vector<float> tuned(max_rows * cols_), base(max_rows * cols_);
  std::vector<double> panel(max_rows * cols_);
  const bool whole_matrix = !norms_known_ && row_begin == 0 && row_end == rows_;
  OperandNorms norms = empty_norms();
  for (uint64_t r0 = row_begin; r0 < row_end; r0 += max_rows) {
    control.check_cancelled();
    const uint64_t r1 = std::min(row_end, r0 + max_rows), count = (r1 - r0) * cols_;
    tuned_(r0, r1, tuned.data());
    base_(r0, r1, base.data());
    // Either operand being NaN/Inf makes the difference meaningless (Inf − Inf is NaN, not 0).
    if (count_non_finite(tuned.data(), count) + count_non_finite(base.data(), count)) {
      uint64_t first = row_end, bad = 0;
      for (uint64_t s0 = r0; s0 < row_end; s0 += max_rows) {
        const uint64_t s1 = std::min(row_end, s0 + max_rows), n = (s1 - s0) * cols_;
        if (s0 != r0) {
          tuned_(s0, s1, tuned.data());
          base_(s0, s1, base.data());
        }
        bad += count_non_finite(tuned.data(), n) + count_non_finite(base.data(), n);
        if (first == row_end)
          first = s0 + std::min(first_non_finite_row(tuned.data(), s1 - s0, cols_), first_non_finite_row(base.data(), s1 - s0, cols_));
      }
      throw_non_finite(label(), first, bad);
    }
    for (uint64_t i = 0; i < count; ++i) panel[i] = double(tuned[i]) - double(base[i]);
    if (whole_matrix) {
      norms.tuned_squared += kernels::sum_of_squares(tuned.data(), count);
      norms.base_squared += kernels::sum_of_squares(base.data(), count);
      add_rounding_energies(tuned.data(), base.data(), count, norms);
    }
    visit(r0, r1, panel.data());
    control.add_progress(1, 0);
  }
  if (whole_matrix) {
    norms_ = norms;
    norms_known_ = true;
  }
}

DiffOp::OperandNorms DiffOp::empty_norms() const noexcept {
  OperandNorms norms;
  norms.tuned_rounding_energy = tuned_format_.known() ? 0 : -1;
  norms.base_rounding_energy = base_format_.known() ? 0 : -1;
  return norms;
}

void DiffOp::add_rounding_energies(const float* tuned, const float* base, uint64_t count, OperandNorms& norms) const {
  if (tuned_format_.known()) norms.tuned_rounding_energy += kernels::rounding_energy(tuned, count, tuned_format_);
  if (base_format_.known()) norms.base_rounding_energy += kernels::rounding_energy(base, count, base_format_);
}

double DiffOp::copy_to_f32(float* dst, const RunControl& control) const {
  const uint64_t block = cache_block_rows(cols_);
  std::vector<float> base(std::min(block, std::max<uint64_t>(rows_, 1)) * cols_);
  kernels::DifferenceSums sums;
  OperandNorms norms = empty_norms();
  for (uint64_t r0 = 0; r0 < rows_; r0 += block) {
    control.check_cancelled();
    const uint64_t r1 = std::min(rows_, r0 + block), count = (r1 - r0) * cols_;
    float* out = dst + r0 * cols_;
    tuned_(r0, r1, out);
    base_(r0, r1, base.data());
    // The rounding energies read the stored values, so before `out` is overwritten by the difference
    // (whose kernel also sums both operands' squares).
    add_rounding_energies(out, base.data(), count, norms);
    kernels::subtract(out, base.data(), out, count, sums);
    control.add_progress(1, 0);
  }
  if (!std::isfinite(sums.tuned_squared) || !std::isfinite(sums.base_squared))
    for_each_row_panel(0, rows_, panel_rows_within(memory_budget()), [](uint64_t, uint64_t, const double*) {}, control);
  norms.tuned_squared = sums.tuned_squared;
  norms.base_squared = sums.base_squared;
  norms_ = norms;
  norms_known_ = true;
  return sums.difference_squared;
}

DiffOp::OperandNorms DiffOp::operand_norms(const RunControl& control) const {
  if (!norms_known_) for_each_row_panel(0, rows_, panel_rows_within(memory_budget()), [](uint64_t, uint64_t, const double*) {}, control);
  return norms_;
}

// ---- LowRankOp ----

LowRankOp::LowRankOp(uint64_t rows, uint64_t cols, uint64_t rank, const float* b_rows_by_rank, const float* a_rank_by_cols,
                     double scale)
    : rows_(rows), cols_(cols), rank_(rank), b_(rows * rank), at_(cols * rank), scale_(scale) {
  const uint64_t bad = count_non_finite(b_rows_by_rank, rows * rank) + count_non_finite(a_rank_by_cols, rank * cols) +
                       (std::isfinite(scale) ? 0 : 1);
  if (bad)
    throw Error(ErrorCode::NON_FINITE_INPUT, "the low-rank factors (or the scale) of " + label() + " contain " +
                                                 std::to_string(bad) + " NaN or infinite value(s)");
  for (uint64_t i = 0; i < rows; ++i)
    for (uint64_t j = 0; j < rank; ++j) b_[i + j * rows] = b_rows_by_rank[i * rank + j];
  for (uint64_t j = 0; j < rank; ++j)
    for (uint64_t c = 0; c < cols; ++c) at_[c + j * cols] = a_rank_by_cols[j * cols + c];
}

void LowRankOp::for_each_row_panel(uint64_t row_begin, uint64_t row_end, uint64_t max_rows, const RowPanelVisitor& visit,
                                   const RunControl& control) const {
  max_rows = std::max<uint64_t>(1, std::min(max_rows, row_end - row_begin));
  std::vector<double> panel(max_rows * cols_);
  for (uint64_t r0 = row_begin; r0 < row_end; r0 += max_rows) {
    control.check_cancelled();
    const uint64_t r1 = std::min(row_end, r0 + max_rows);
    // Row-major rows of s·B·A are, read column-major, s·Aᵀ·B[r0:r1]ᵀ.
    dense::gemm(false, true, cols_, r1 - r0, rank_, scale_, at_.data(), cols_, b_.data() + r0, rows_, 0.0, panel.data(), cols_);
    visit(r0, r1, panel.data());
    control.add_progress(1, 2.0 * double(r1 - r0) * double(cols_) * double(rank_));
  }
}

void LowRankOp::apply(const double* x, uint64_t b, double* y, const RunControl& control,
                      double* frobenius_squared_out) const {
  control.check_cancelled();
  if (frobenius_squared_out) *frobenius_squared_out = frobenius_squared(control);
  std::vector<double> ax(rank_ * b);
  dense::gemm(true, false, rank_, b, cols_, 1.0, at_.data(), cols_, x, cols_, 0.0, ax.data(), rank_);
  dense::gemm(false, false, rows_, b, rank_, scale_, b_.data(), rows_, ax.data(), rank_, 0.0, y, rows_);
  control.add_progress(1, 2.0 * double(rows_ + cols_) * double(rank_) * double(b));
}

void LowRankOp::apply_t(const double* x, uint64_t b, double* y, const RunControl& control) const {
  control.check_cancelled();
  std::vector<double> btx(rank_ * b);
  dense::gemm(true, false, rank_, b, rows_, 1.0, b_.data(), rows_, x, rows_, 0.0, btx.data(), rank_);
  dense::gemm(false, false, cols_, b, rank_, scale_, at_.data(), cols_, btx.data(), rank_, 0.0, y, cols_);
  control.add_progress(1, 2.0 * double(rows_ + cols_) * double(rank_) * double(b));
}

double LowRankOp::frobenius_squared(const RunControl& control) const {
  control.check_cancelled();
  std::vector<double> gram_b(rank_ * rank_), gram_a(rank_ * rank_);
  dense::gemm(true, false, rank_, rank_, rows_, 1.0, b_.data(), rows_, b_.data(), rows_, 0.0, gram_b.data(), rank_);
  dense::gemm(true, false, rank_, rank_, cols_, 1.0, at_.data(), cols_, at_.data(), cols_, 0.0, gram_a.data(), rank_);
  double total = 0;
  for (uint64_t i = 0; i < rank_ * rank_; ++i) total += gram_b[i] * gram_a[i];
  // Rounding can take a tiny true value below zero; a squared norm is not negative.
  return std::max(0.0, scale_ * scale_ * total);
}

// ---- ResidentOp ----

namespace {
// The label and budget of a resident copy are its source's; OUT_OF_MEMORY when `bytes` exceed the budget.
void adopt_source(LinearOperator& resident, const LinearOperator& source, uint64_t bytes) {
  resident.set_label(source.label());
  resident.set_memory_budget(source.memory_budget());
  if (bytes > source.memory_budget())
    throw Error(ErrorCode::OUT_OF_MEMORY, source.label() + " needs " + std::to_string(bytes) + " bytes in memory, more than the budget of " +
                                              std::to_string(source.memory_budget()) + " bytes");
}
}  // namespace

ResidentOp::ResidentOp(const LinearOperator& source, const RunControl& control)
    : rows_(source.rows()), cols_(source.cols()) {
  const uint64_t bytes = rows_ * cols_ * sizeof(double);
  adopt_source(*this, source, bytes);
  values_.resize(rows_ * cols_);
  source.for_each_row_panel(0, rows_, source.panel_rows_within(source.memory_budget() - bytes), [&](uint64_t r0, uint64_t r1, const double* panel) {
    std::copy(panel, panel + (r1 - r0) * cols_, values_.begin() + r0 * cols_);
  }, control);
}

void ResidentOp::for_each_row_panel(uint64_t row_begin, uint64_t row_end, uint64_t max_rows, const RowPanelVisitor& visit,
                                    const RunControl& control) const {
  max_rows = std::max<uint64_t>(1, std::min(max_rows, row_end - row_begin));
  for (uint64_t r0 = row_begin; r0 < row_end; r0 += max_rows) {
    control.check_cancelled();
    const uint64_t r1 = std::min(row_end, r0 + max_rows);
    visit(r0, r1, values_.data() + r0 * cols_);
    control.add_progress(1, 0);
  }
}

ResidentF32Op::ResidentF32Op(const LinearOperator& source, const RunControl& control)
    : rows_(source.rows()), cols_(source.cols()) {
  adopt_source(*this, source, rows_ * cols_ * sizeof(float));
  values_ = Buffer<float>(rows_ * cols_);
  frobenius_squared_ = source.copy_to_f32(values_.data(), control);
}

void ResidentF32Op::for_each_row_panel(uint64_t row_begin, uint64_t row_end, uint64_t max_rows, const RowPanelVisitor& visit,
                                       const RunControl& control) const {
  max_rows = std::max<uint64_t>(1, std::min(max_rows, row_end - row_begin));
  std::vector<double> panel(max_rows * cols_);
  for (uint64_t r0 = row_begin; r0 < row_end; r0 += max_rows) {
    control.check_cancelled();
    const uint64_t r1 = std::min(row_end, r0 + max_rows), count = (r1 - r0) * cols_;
    const float* in = values_.data() + r0 * cols_;
    for (uint64_t i = 0; i < count; ++i) panel[i] = in[i];
    visit(r0, r1, panel.data());
    control.add_progress(1, 0);
  }
}

namespace {
Buffer<float> to_float(const double* x, uint64_t count) {
  Buffer<float> out(count);
  for (uint64_t i = 0; i < count; ++i) out[i] = static_cast<float>(x[i]);
  return out;
}
}  // namespace

void ResidentF32Op::apply(const double* x, uint64_t b, double* y, const RunControl& control, double* frobenius_squared_out) const {
  control.check_cancelled();
  const Buffer<float> xf = to_float(x, cols_ * b);
  Buffer<float> yf(rows_ * b);
  // The row-major matrix read column-major is Aᵀ (cols × rows): Y = (Aᵀ)ᵀ·X.
  dense::sgemm(true, false, rows_, b, cols_, values_.data(), cols_, xf.data(), cols_, yf.data(), rows_);
  for (uint64_t i = 0; i < rows_ * b; ++i) y[i] = yf[i];
  if (frobenius_squared_out) *frobenius_squared_out = frobenius_squared_;
  control.add_progress(1, 2.0 * double(rows_) * double(cols_) * double(b));
}

void ResidentF32Op::apply_t(const double* x, uint64_t b, double* y, const RunControl& control) const {
  control.check_cancelled();
  const Buffer<float> xf = to_float(x, rows_ * b);
  Buffer<float> yf(cols_ * b);
  dense::sgemm(false, false, cols_, b, rows_, values_.data(), cols_, xf.data(), rows_, yf.data(), cols_);
  for (uint64_t i = 0; i < cols_ * b; ++i) y[i] = yf[i];
  control.add_progress(1, 2.0 * double(rows_) * double(cols_) * double(b));
}

// ---- checkpoint tensors as matrices ----

MatrixShape matrix_shape(const TensorInfo& info) noexcept {
  if (info.shape.empty()) return {1, 1};
  if (info.shape.size() == 1) return {1, info.shape[0]};
  return {info.shape[0], info.shape[0] ? info.numel / info.shape[0] : 0};
}

RowPanelSource checkpoint_row_source(std::shared_ptr<const Checkpoint> checkpoint, const CheckpointTensor& tensor) {
  const bool single_row = tensor.info->shape.size() <= 1;
  return [checkpoint = std::move(checkpoint), tensor, single_row](uint64_t r0, uint64_t r1, float* dst) {
    // Scalars and vectors are one row; RowRange counts leading-dimension entries, so read them whole.
    RowRange rows = single_row ? RowRange{} : RowRange{false, r0, r1};
    checkpoint->read_f32(tensor, rows, dst);
  };
}

// ---- dense kernels ----

namespace dense {

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

}  // namespace dense

}  // namespace paramscope

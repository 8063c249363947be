// Resident copies of an operator in double (ResidentOp) and single precision (ResidentF32Op).
#include "internal/resident.hpp"

#include <algorithm>

#include "internal/dense.hpp"
#include "paramscope/error.hpp"

namespace paramscope {

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

}  // namespace paramscope

#pragma once
// Resident copies: another operator read once into memory, so the passes of a solver after the first
// read memory instead of decoding the file again. The truncated solver makes one when the matrix fits
// its budget beside the work arrays.
#include <cstdint>
#include <vector>

#include "internal/workspace.hpp"
#include "paramscope/linop.hpp"

namespace paramscope {

// Another operator read once into memory as a row-major double matrix; later passes hand out pointers
// into it without copying. Solvers use it when several passes are needed and the matrix fits the budget.
class ResidentOp : public LinearOperator {
 public:
  explicit ResidentOp(const LinearOperator& source, const RunControl& control);

  uint64_t rows() const override { return rows_; }
  uint64_t cols() const override { return cols_; }
  const double* data() const noexcept { return values_.data(); }
  void for_each_row_panel(uint64_t row_begin, uint64_t row_end, uint64_t max_rows, const RowPanelVisitor& visit,
                          const RunControl& control) const override;
  uint64_t bytes_per_panel_row() const override { return 0; }
  bool in_memory() const noexcept override { return true; }

 private:
  uint64_t rows_, cols_;
  std::vector<double> values_;
};

// Another operator read once into memory in single precision, with A·X and Aᵀ·X done by sgemm (X and Y
// stay double at the interface). Stored BF16/F16/F32 values and differences of two BF16 values are exact
// in f32, so the matrix is the stored one; only the products round in f32, which the truncated solver's
// error bounds account for. Half the memory and about twice the speed of ResidentOp on skinny products.
class ResidentF32Op : public LinearOperator {
 public:
  explicit ResidentF32Op(const LinearOperator& source, const RunControl& control);

  uint64_t rows() const override { return rows_; }
  uint64_t cols() const override { return cols_; }
  void for_each_row_panel(uint64_t row_begin, uint64_t row_end, uint64_t max_rows, const RowPanelVisitor& visit,
                          const RunControl& control) const override;
  uint64_t bytes_per_panel_row() const override { return cols_ * sizeof(double); }
  void apply(const double* x, uint64_t b, double* y, const RunControl& control,
             double* frobenius_squared_out = nullptr) const override;
  void apply_t(const double* x, uint64_t b, double* y, const RunControl& control) const override;
  double frobenius_squared(const RunControl& control) const override { return frobenius_squared_; }
  bool in_memory() const noexcept override { return true; }

 private:
  uint64_t rows_, cols_;
  Buffer<float> values_;  // row-major
  double frobenius_squared_ = 0;
};

}  // namespace paramscope

// s·B·A held as its factors: products through them, and the exact spectrum from the r×r core.
#include <Eigen/Dense>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <limits>

#include "internal/dense.hpp"
#include "paramscope/error.hpp"
#include "paramscope/linop.hpp"
#include "paramscope/spectrum.hpp"

namespace paramscope {

namespace {
constexpr double kUnitRoundoff = std::numeric_limits<double>::epsilon() / 2;
using MatrixMap = Eigen::Map<Eigen::MatrixXd>;
using ConstMatrixMap = Eigen::Map<const Eigen::MatrixXd>;
}  // namespace

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

// s·B·A = Q_B·(s·R_B·R_Aᵀ)·Q_Aᵀ with B = Q_B·R_B and Aᵀ = Q_A·R_A: the SVD of an r×r core.
bool LowRankOp::structured_spectrum(bool vectors, const RunControl& control, Spectrum& result) const {
  const uint64_t m = rows_, n = cols_, r = rank_, g = std::min(m, n);
  if (r >= g) return false;
  control.check_cancelled();
  if (r == 0) {  // factors of rank 0: the zero matrix (Eigen's QR wants at least one column)
    result = Spectrum{};
    result.method = "low-rank-factors";
    result.values.assign(g, 0.0);
    result.error_bounds.assign(g, 0.0);
    return true;
  }
  Eigen::HouseholderQR<Eigen::MatrixXd> qr_b(ConstMatrixMap(b_.data(), m, r));
  Eigen::HouseholderQR<Eigen::MatrixXd> qr_a(ConstMatrixMap(at_.data(), n, r));
  const Eigen::MatrixXd r_b = qr_b.matrixQR().topRows(r).triangularView<Eigen::Upper>();
  const Eigen::MatrixXd r_a = qr_a.matrixQR().topRows(r).triangularView<Eigen::Upper>();
  const Eigen::MatrixXd core = scale_ * r_b * r_a.transpose();
  Eigen::BDCSVD<Eigen::MatrixXd> svd(core, vectors ? Eigen::ComputeFullU | Eigen::ComputeFullV : 0);
  if (svd.info() != Eigen::Success) throw Error(ErrorCode::NOT_CONVERGED, "Eigen's BDCSVD did not converge on the low-rank core");

  result = Spectrum{};
  result.method = "low-rank-factors";
  result.frobenius_squared = frobenius_squared(control);
  result.values.assign(g, 0.0);
  std::copy(svd.singularValues().data(), svd.singularValues().data() + r, result.values.begin());
  if (vectors) {
    result.vector_count = r;
    result.u.resize(m * r);
    result.v.resize(n * r);
    MatrixMap(result.u.data(), m, r) = qr_b.householderQ() * (Eigen::MatrixXd::Identity(m, r) * svd.matrixU());
    MatrixMap(result.v.data(), n, r) = qr_a.householderQ() * (Eigen::MatrixXd::Identity(n, r) * svd.matrixV());
  }
  const double factor_norms = std::abs(scale_) * r_b.norm() * r_a.norm();
  result.error_bounds.assign(g, kUnitRoundoff * double(m + n + r) * factor_norms);
  return true;
}

}  // namespace paramscope

#include "paramscope/linop.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "internal/dense.hpp"
#include "internal/kernels.hpp"
#include "internal/parallel_blocks.hpp"
#include "paramscope/dtype.hpp"
#include "paramscope/error.hpp"

namespace paramscope {

void RunControl::check_cancelled() const {
  if (cancel && cancel->load(std::memory_order_relaxed)) throw Error(ErrorCode::ABORTED, "the computation was cancelled");
}

void RunControl::add_progress(uint64_t panels, double flops) const {
  panels_done_ += panels;
  flops_done_ += flops;
  if ((panels || flops) && on_progress) on_progress(panels_done_, flops_done_);
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

namespace {
// The default whole-matrix copy: through double panels, within what the budget leaves beside `dst`.
template <typename T>
double copy_through_panels(const LinearOperator& op, T* dst, const RunControl& control) {
  const uint64_t n = op.cols(), reserved = op.rows() * n * sizeof(T), budget = op.memory_budget();
  double total = 0;
  op.for_each_row_panel(0, op.rows(), op.panel_rows_within(budget > reserved ? budget - reserved : 0), [&](uint64_t r0, uint64_t r1, const double* panel) {
    const uint64_t count = (r1 - r0) * n;
    T* out = dst + r0 * n;
    for (uint64_t i = 0; i < count; ++i) out[i] = static_cast<T>(panel[i]);
    total += sum_of_squares(panel, count);
  }, control);
  return total;
}
}  // namespace

double LinearOperator::copy_to_f32(float* dst, const RunControl& control) const { return copy_through_panels(*this, dst, control); }
double LinearOperator::copy_to_f64(double* dst, const RunControl& control) const { return copy_through_panels(*this, dst, control); }

namespace {
// Rows per block of the whole-matrix copies: about 128 KiB of f32, so a block decoded into the
// destination is still in L2 when the next kernel reads it back (and a difference's two operands fit
// there together).
uint64_t cache_block_rows(uint64_t cols) { return std::max<uint64_t>(1, (uint64_t(32) << 10) / std::max<uint64_t>(cols, 1)); }

// How a whole-matrix copy is cut: rows per block, values a block buffer holds, blocks, threads.
struct CopyPlan {
  uint64_t block_rows, values, blocks;
  int threads;
};
CopyPlan copy_plan(uint64_t rows, uint64_t cols, const RunControl& control) {
  const uint64_t block = cache_block_rows(cols);
  return {block, std::min(block, std::max<uint64_t>(rows, 1)) * cols, row_block_count(rows, block), row_block_threads(rows, block, control.threads)};
}

// Σ of per-block sums in block order: the same bits whichever thread computed which block.
double ordered_sum(const std::vector<double>& per_block) {
  double total = 0;
  for (double v : per_block) total += v;
  return total;
}
}  // namespace

// ---- RowSource ----

RowSource RowSource::with_spacing(GridPanelSource source) {
  RowSource s;
  s.grid_ = std::move(source);
  return s;
}

void RowSource::read(uint64_t r0, uint64_t r1, float* dst) const {
  if (grid_) grid_(r0, r1, dst, nullptr);
  else values_(r0, r1, dst);
}

void RowSource::read(uint64_t r0, uint64_t r1, uint64_t count, float* dst, float* spacing) const {
  if (grid_) return grid_(r0, r1, dst, spacing);
  values_(r0, r1, dst);
  if (spacing) kernels::grid_spacing(dst, count, format_, spacing);
}

double RowSource::rounding_energy(const float* values, const float* spacing, uint64_t count) const {
  if (!grid_) return kernels::rounding_energy(values, count, format_);
  return kernels::sum_of_squares(spacing, count) / 12;
}

// ---- DenseOp ----

DenseOp::DenseOp(uint64_t rows, uint64_t cols, RowSource source) : rows_(rows), cols_(cols), source_(std::move(source)) {}

DenseOp::DenseOp(uint64_t rows, uint64_t cols, const float* values)
    : rows_(rows), cols_(cols), source_(RowPanelSource([values, cols](uint64_t r0, uint64_t r1, float* dst) {
        std::memcpy(dst, values + r0 * cols, (r1 - r0) * cols * sizeof(float));
      })) {}

void DenseOp::for_each_row_panel(uint64_t row_begin, uint64_t row_end, uint64_t max_rows, const RowPanelVisitor& visit,
                                 const RunControl& control) const {
  max_rows = std::max<uint64_t>(1, std::min(max_rows, row_end - row_begin));
  std::vector<float> decoded(max_rows * cols_);
  std::vector<double> panel(max_rows * cols_);
  const bool record = source_.has_grid() && rounding_energy_ < 0 && row_begin == 0 && row_end == rows_;
  // A source that writes its own spacing (quantized layouts) needs a buffer for it to sum its energy.
  std::vector<float> spacing(record && !source_.plain() ? max_rows * cols_ : 0);
  double energy = 0;
  for (uint64_t r0 = row_begin; r0 < row_end; r0 += max_rows) {
    control.check_cancelled();
    const uint64_t r1 = std::min(row_end, r0 + max_rows), count = (r1 - r0) * cols_;
    source_.read(r0, r1, count, decoded.data(), spacing.empty() ? nullptr : spacing.data());
    if (record) energy += source_.rounding_energy(decoded.data(), spacing.data(), count);
    if (uint64_t bad = count_non_finite(decoded.data(), count)) {
      const uint64_t first = r0 + first_non_finite_row(decoded.data(), r1 - r0, cols_);
      for (uint64_t s0 = r1; s0 < row_end; s0 += max_rows) {
        const uint64_t s1 = std::min(row_end, s0 + max_rows);
        source_.read(s0, s1, decoded.data());
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

// Decodes each block in place (float) or into a thread's f32 scratch and widens it (double).
template <typename T>
double DenseOp::copy_rows(T* dst, const RunControl& control) const {
  constexpr bool widen = std::is_same_v<T, double>;
  const CopyPlan plan = copy_plan(rows_, cols_, control);
  const bool grid = source_.has_grid();
  std::vector<std::vector<float>> decoded(widen ? plan.threads : 0, std::vector<float>(plan.values));
  std::vector<std::vector<float>> spacing(plan.threads, std::vector<float>(grid && !source_.plain() ? plan.values : 0));
  std::vector<double> squares(plan.blocks), energy(grid ? plan.blocks : 0);
  for_each_row_block(rows_, plan.block_rows, plan.threads, control, [&](int t, uint64_t k, uint64_t r0, uint64_t r1) {
    const uint64_t count = (r1 - r0) * cols_;
    float* out;
    if constexpr (widen) out = decoded[t].data();
    else out = dst + r0 * cols_;
    float* out_spacing = spacing[t].empty() ? nullptr : spacing[t].data();
    source_.read(r0, r1, count, out, out_spacing);
    squares[k] = kernels::sum_of_squares(out, count);
    if (grid) energy[k] = source_.rounding_energy(out, out_spacing, count);
    if constexpr (widen) std::copy(out, out + count, dst + r0 * cols_);
  });
  const double total = ordered_sum(squares);
  // NaN/Inf make the sum non-finite (kernels.hpp); the panel route then reports where and how many.
  if (!std::isfinite(total)) for_each_row_panel(0, rows_, panel_rows_within(memory_budget()), [](uint64_t, uint64_t, const double*) {}, control);
  if (grid) rounding_energy_ = ordered_sum(energy);
  return total;
}

double DenseOp::copy_to_f32(float* dst, const RunControl& control) const { return copy_rows(dst, control); }
double DenseOp::copy_to_f64(double* dst, const RunControl& control) const { return copy_rows(dst, control); }

// ---- DiffOp ----

DiffOp::DiffOp(uint64_t rows, uint64_t cols, RowSource tuned, RowSource base)
    : rows_(rows), cols_(cols), tuned_(std::move(tuned)), base_(std::move(base)) {}

namespace {
// Both sides plain sources with a known grid: their spacings follow from the values (no buffers).
bool plain_grids(const RowSource& tuned, const RowSource& base) noexcept {
  return tuned.plain() && base.plain() && tuned.has_grid() && base.has_grid();
}
}  // namespace

// Decode buffers of one pass: both operands, and their spacings where the pass records them.
struct DiffOp::Buffers {
  std::vector<float> tuned, base, tuned_spacing, base_spacing;
  float* spacing_of_tuned() { return tuned_spacing.empty() ? nullptr : tuned_spacing.data(); }
  float* spacing_of_base() { return base_spacing.empty() ? nullptr : base_spacing.data(); }
};

double DiffOp::subtract_block(uint64_t r0, uint64_t r1, Buffers& buffers, float* out32, double* out64, OperandNorms* norms,
                              uint64_t panel_rows, uint64_t row_end) const {
  const uint64_t count = (r1 - r0) * cols_;
  // The tuned side decodes into out32 when it is given (the resident copy), so T − B overwrites it.
  float* tuned = out32 ? out32 : buffers.tuned.data();
  tuned_.read(r0, r1, count, tuned, buffers.spacing_of_tuned());
  base_.read(r0, r1, count, buffers.base.data(), buffers.spacing_of_base());
  if (row_end != 0 && count_non_finite(tuned, count) + count_non_finite(buffers.base.data(), count)) {
    // Either operand being NaN/Inf makes the difference meaningless (Inf − Inf is NaN, not 0).
    uint64_t first = row_end, bad = 0;
    for (uint64_t s0 = r0; s0 < row_end; s0 += panel_rows) {
      const uint64_t s1 = std::min(row_end, s0 + panel_rows), n = (s1 - s0) * cols_;
      if (s0 != r0) {
        tuned_.read(s0, s1, tuned);
        base_.read(s0, s1, buffers.base.data());
      }
      bad += count_non_finite(tuned, n) + count_non_finite(buffers.base.data(), n);
      if (first == row_end)
        first = s0 + std::min(first_non_finite_row(tuned, s1 - s0, cols_), first_non_finite_row(buffers.base.data(), s1 - s0, cols_));
    }
    throw_non_finite(label(), first, bad);
  }
  if (!norms) {
    for (uint64_t i = 0; i < count; ++i) out64[i] = double(tuned[i]) - double(buffers.base[i]);
    return 0;
  }
  // Two plain grids: the kernel makes both spacings from the values. Otherwise it reads the spacing
  // arrays when both sides have them, and the rounding energy of a side it does not sum is added here.
  const bool on_grids = plain_grids(tuned_, base_);
  const bool both = on_grids || (buffers.spacing_of_tuned() && buffers.spacing_of_base());
  if (!both && tuned_.has_grid()) norms->tuned_rounding_energy += tuned_.rounding_energy(tuned, buffers.spacing_of_tuned(), count);
  if (!both && base_.has_grid()) norms->base_rounding_energy += base_.rounding_energy(buffers.base.data(), buffers.spacing_of_base(), count);
  kernels::DifferenceSums sums;
  if (on_grids)
    kernels::subtract_counting_on_grids(tuned, buffers.base.data(), tuned_.format(), base_.format(), out32, out64, count, sums);
  else
    kernels::subtract_counting(tuned, buffers.base.data(), both ? buffers.spacing_of_tuned() : nullptr, both ? buffers.spacing_of_base() : nullptr,
                               out32, out64, count, sums);
  norms->tuned_squared += sums.tuned_squared;
  norms->base_squared += sums.base_squared;
  norms->identical_entries += static_cast<int64_t>(sums.identical);
  if (both) {
    norms->tuned_rounding_energy += sums.tuned_spacing_squared / 12;
    norms->base_rounding_energy += sums.base_spacing_squared / 12;
    norms->below_spacing_entries += static_cast<int64_t>(sums.below_spacing);
  }
  return sums.difference_squared;
}

namespace {
// Spacing buffers a recording pass needs: both sides when both have a grid (to count the entries below
// one storage step) unless both are plain (the kernel makes their spacings), and a side that writes its
// own spacing for its rounding energy.
void size_buffers(const RowSource& tuned, const RowSource& base, bool recording, uint64_t values, std::vector<float>& tuned_spacing,
                  std::vector<float>& base_spacing) {
  const bool both = tuned.has_grid() && base.has_grid() && !plain_grids(tuned, base);
  tuned_spacing.assign(recording && tuned.has_grid() && (both || !tuned.plain()) ? values : 0, 0.0f);
  base_spacing.assign(recording && base.has_grid() && (both || !base.plain()) ? values : 0, 0.0f);
}
}  // namespace

void DiffOp::for_each_row_panel(uint64_t row_begin, uint64_t row_end, uint64_t max_rows, const RowPanelVisitor& visit,
                                const RunControl& control) const {
  max_rows = std::max<uint64_t>(1, std::min(max_rows, row_end - row_begin));
  Buffers buffers{std::vector<float>(max_rows * cols_), std::vector<float>(max_rows * cols_), {}, {}};
  std::vector<double> panel(max_rows * cols_);
  const bool whole_matrix = !norms_known_ && row_begin == 0 && row_end == rows_;
  size_buffers(tuned_, base_, whole_matrix, max_rows * cols_, buffers.tuned_spacing, buffers.base_spacing);
  OperandNorms norms = empty_norms();
  for (uint64_t r0 = row_begin; r0 < row_end; r0 += max_rows) {
    control.check_cancelled();
    const uint64_t r1 = std::min(row_end, r0 + max_rows);
    subtract_block(r0, r1, buffers, nullptr, panel.data(), whole_matrix ? &norms : nullptr, max_rows, row_end);
    visit(r0, r1, panel.data());
    control.add_progress(1, 0);
  }
  if (whole_matrix) {
    norms_ = norms;
    norms_known_ = true;
  }
}

OperandNorms DiffOp::empty_norms() const noexcept {
  OperandNorms norms;
  norms.tuned_rounding_energy = tuned_.has_grid() ? 0 : -1;
  norms.base_rounding_energy = base_.has_grid() ? 0 : -1;
  norms.below_spacing_entries = spacings() ? 0 : -1;
  return norms;
}

// The tuned side decodes in place (float) or into a thread's scratch (double); each block's sums and
// counts go to its own slot and are added in block order.
template <typename T>
double DiffOp::copy_rows(T* dst, const RunControl& control) const {
  constexpr bool widen = std::is_same_v<T, double>;
  const CopyPlan plan = copy_plan(rows_, cols_, control);
  std::vector<Buffers> buffers(plan.threads);
  for (Buffers& b : buffers) {
    b.tuned.resize(widen ? plan.values : 0);
    b.base.resize(plan.values);
    size_buffers(tuned_, base_, true, plan.values, b.tuned_spacing, b.base_spacing);
  }
  OperandNorms zero;
  zero.tuned_rounding_energy = zero.base_rounding_energy = 0;
  zero.below_spacing_entries = 0;
  std::vector<OperandNorms> block_norms(plan.blocks, zero);
  std::vector<double> difference_squared(plan.blocks);
  for_each_row_block(rows_, plan.block_rows, plan.threads, control, [&](int t, uint64_t k, uint64_t r0, uint64_t r1) {
    float* out32 = nullptr;
    double* out64 = nullptr;
    if constexpr (widen) out64 = dst + r0 * cols_;
    else out32 = dst + r0 * cols_;
    difference_squared[k] = subtract_block(r0, r1, buffers[t], out32, out64, &block_norms[k], plan.block_rows, 0);
  });
  OperandNorms norms = empty_norms();
  for (const OperandNorms& b : block_norms) {
    norms.tuned_squared += b.tuned_squared;
    norms.base_squared += b.base_squared;
    norms.identical_entries += b.identical_entries;
    if (norms.tuned_rounding_energy >= 0) norms.tuned_rounding_energy += b.tuned_rounding_energy;
    if (norms.base_rounding_energy >= 0) norms.base_rounding_energy += b.base_rounding_energy;
    if (norms.below_spacing_entries >= 0) norms.below_spacing_entries += b.below_spacing_entries;
  }
  // NaN/Inf make the sums non-finite (kernels.hpp); the panel route then reports where and how many.
  if (!std::isfinite(norms.tuned_squared) || !std::isfinite(norms.base_squared))
    for_each_row_panel(0, rows_, panel_rows_within(memory_budget()), [](uint64_t, uint64_t, const double*) {}, control);
  norms_ = norms;
  norms_known_ = true;
  return ordered_sum(difference_squared);
}

double DiffOp::copy_to_f32(float* dst, const RunControl& control) const { return copy_rows(dst, control); }
double DiffOp::copy_to_f64(double* dst, const RunControl& control) const { return copy_rows(dst, control); }

std::optional<OperandNorms> DiffOp::operand_norms(const RunControl& control) const {
  if (!norms_known_) for_each_row_panel(0, rows_, panel_rows_within(memory_budget()), [](uint64_t, uint64_t, const double*) {}, control);
  return norms_;
}

double DiffOp::stored_rounding_energy(const RunControl& control) const {
  const OperandNorms norms = *operand_norms(control);
  return norms.tuned_rounding_energy >= 0 && norms.base_rounding_energy >= 0 ? norms.tuned_rounding_energy + norms.base_rounding_energy : -1;
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

}  // namespace paramscope

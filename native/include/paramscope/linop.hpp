#pragma once
// Matrices as operators streamed in row panels. A weight matrix is never required to be in memory: an
// operator hands out consecutive row panels, widened to double, within a memory budget, and everything
// else (A·X, Aᵀ·X, the Gram matrix, the Frobenius norm) is computed from those panels. Three operators:
// a dense tensor W, the difference T − B of two tensors (decoded and subtracted panel by panel), and a
// low-rank product s·B·A held in memory.
//
// Precision: panels and the blocks X, Y of apply/apply_t are double. Stored values (f32 or narrower) are
// exact in double and the difference of two f32 values is exact in double whenever their exponents differ
// by less than 29, so the matrix an operator presents is the stored matrix, not a rounded copy; products
// then carry double rounding (~1e-16 relative), which keeps residual-based error estimates meaningful far
// below f32 precision. The cost is the double GEMM rate (about half the f32 rate).
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "paramscope/checkpoint.hpp"
#include "paramscope/config.hpp"
#include "paramscope/dtype.hpp"

namespace paramscope {

struct Spectrum;

// Cancellation and progress for long computations. `cancel` is polled between panels and between solver
// iterations (Error ABORTED once it reads true); `on_progress` is called after every panel and every
// product with running totals for the whole call it was passed to.
struct RunControl {
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(uint64_t panels_done, double flops_done)> on_progress;
  // Threads the computation may use for its own work besides BLAS's (copying a whole matrix into memory:
  // copy_to_f32, copy_to_f64); the engine sets its lane's. Progress is still reported on the calling thread.
  int threads = 1;

  void check_cancelled() const;
  void add_progress(uint64_t panels, double flops) const;

 private:
  mutable uint64_t panels_done_ = 0;
  mutable double flops_done_ = 0;
};

// Decodes rows [row_begin, row_end) of a matrix into `dst`, row-major f32, (row_end − row_begin) · cols
// floats. This is how the engine streams a (possibly BF16, memory-mapped) tensor: see checkpoint_row_source.
using RowPanelSource = std::function<void(uint64_t row_begin, uint64_t row_end, float* dst)>;

// Decodes rows like a RowPanelSource and, when `spacing` is not null, writes there the spacing of the
// storage grid at each value: what one step of the stored format is worth at that entry (for quantized
// layouts the code's ulp times its block's scale, which the decoded value alone does not tell).
using GridPanelSource = std::function<void(uint64_t row_begin, uint64_t row_end, float* dst, float* spacing)>;

// The rows of a stored matrix and, when known, its storage grid: either a plain source whose grid is a
// storage format (the spacing at a value is read from the value's exponent), or a source that writes
// the spacing itself (stored_matrix_source for quantized layouts).
class RowSource {
 public:
  RowSource() = default;
  // A plain source (any callable of RowPanelSource's signature); its grid is unknown until set_format.
  template <typename F, typename = std::enable_if_t<std::is_invocable_v<F&, uint64_t, uint64_t, float*> &&
                                                    !std::is_same_v<std::decay_t<F>, RowSource>>>
  RowSource(F&& values) : values_(std::forward<F>(values)) {}  // NOLINT: implicit on purpose
  RowSource(RowPanelSource values, StorageFormat format) : values_(std::move(values)), format_(format) {}
  static RowSource with_spacing(GridPanelSource source);

  // The grid of a plain source (ignored by a source that writes its own spacing).
  void set_format(StorageFormat format) noexcept { format_ = format; }
  StorageFormat format() const noexcept { return format_; }
  bool has_grid() const noexcept { return static_cast<bool>(grid_) || format_.known(); }
  // True when the spacing is derived from the values and the format (no spacing buffer is needed for
  // the rounding energy: kernels::rounding_energy reads it from the values).
  bool plain() const noexcept { return !grid_; }

  void read(uint64_t row_begin, uint64_t row_end, float* dst) const;
  // Also writes the spacing of the `count` values read when `spacing` is not null. Precondition for a
  // non-null spacing: has_grid().
  void read(uint64_t row_begin, uint64_t row_end, uint64_t count, float* dst, float* spacing) const;
  // Σ ulp²/12 over `count` values just read: from the values for a plain source, else from `spacing` (the
  // buffer read() filled; it must not be null then). Precondition: has_grid().
  double rounding_energy(const float* values, const float* spacing, uint64_t count) const;

 private:
  RowPanelSource values_;
  GridPanelSource grid_;
  StorageFormat format_;
};

// Receives one row panel: rows [row_begin, row_end), row-major double with cols() values per row. The
// pointer is valid only during the call.
using RowPanelVisitor = std::function<void(uint64_t row_begin, uint64_t row_end, const double* panel)>;

// ‖T‖_F² and ‖B‖_F² of the two operands of a difference T − B (for the relative update), Σ ulp²/12 of
// each side's stored values (−1 when its format has no rounding grid), and how sparse the update is:
// entries whose two values are bit-identical, and entries that changed by less than one storage step
// (|T − B| below the larger grid spacing of the two sides there; −1 when a side has no grid).
struct OperandNorms {
  double tuned_squared = 0, base_squared = 0;
  double tuned_rounding_energy = -1, base_rounding_energy = -1;
  int64_t identical_entries = 0, below_spacing_entries = -1;
};

class LinearOperator {
 public:
  virtual ~LinearOperator() = default;

  virtual uint64_t rows() const = 0;
  virtual uint64_t cols() const = 0;

  // Streams rows [row_begin, row_end) once as consecutive panels of at most `max_rows` rows. Throws
  // NON_FINITE_INPUT (naming how many NaN/Inf values the rows hold) when a panel contains any.
  virtual void for_each_row_panel(uint64_t row_begin, uint64_t row_end, uint64_t max_rows, const RowPanelVisitor& visit,
                                  const RunControl& control) const = 0;

  // Scratch bytes for_each_row_panel needs per panel row (decode buffers and the double panel); used to
  // size panels within the memory budget.
  virtual uint64_t bytes_per_panel_row() const = 0;

  // Y = A·X and Y = Aᵀ·X for a block of b columns. X and Y are column-major: apply takes X cols()×b
  // (leading dimension cols()) and writes Y rows()×b (leading dimension rows()); apply_t the reverse.
  // One streaming pass over the matrix each; when `frobenius_squared_out` is not null, apply also stores
  // ‖A‖_F² from the same pass (solvers get the exact norm without an extra pass).
  virtual void apply(const double* x, uint64_t b, double* y, const RunControl& control,
                     double* frobenius_squared_out = nullptr) const;
  virtual void apply_t(const double* x, uint64_t b, double* y, const RunControl& control) const;

  // ‖A‖_F², exact up to double rounding, in one streaming pass.
  virtual double frobenius_squared(const RunControl& control) const;

  // Writes the whole matrix into `dst` (rows()·cols() floats, row-major) in one pass and returns ‖A‖_F²
  // (of the values before rounding to f32). Throws NON_FINITE_INPUT like for_each_row_panel. Dense and
  // difference operators decode straight into `dst` in cache-sized blocks, on control.threads threads
  // (the sums come out the same for any count); the default goes through double panels on the calling
  // thread. This is how ResidentF32Op is filled.
  virtual double copy_to_f32(float* dst, const RunControl& control) const;
  // The same in double (rows()·cols() doubles): how the exact Gram route holds a matrix that fits.
  virtual double copy_to_f64(double* dst, const RunControl& control) const;

  // Bytes a computation over this operator may use for panels and its own work arrays.
  uint64_t memory_budget() const noexcept { return memory_budget_; }
  void set_memory_budget(uint64_t bytes) noexcept { memory_budget_ = bytes; }

  // The largest panel (in rows) that fits in `bytes`; OUT_OF_MEMORY when not even one row fits.
  uint64_t panel_rows_within(uint64_t bytes) const;

  // A name for messages ("tensor model.embed_tokens.weight", "T − B of ...").
  const std::string& label() const noexcept { return label_; }
  void set_label(std::string label) { label_ = std::move(label); }

  // Σ ulp²/12 over the stored values the matrix is made of (both operands of a difference): the expected
  // energy of their storage rounding. −1 when a format has no rounding grid or no pass has recorded it.
  virtual double stored_rounding_energy(const RunControl& control) const { return -1; }

  // The operands' norms of a difference T − B (computed with one pass if none has recorded them yet);
  // empty for every other operator.
  virtual std::optional<OperandNorms> operand_norms(const RunControl& control) const { return std::nullopt; }

  // True when apply and apply_t work from memory without decoding anything (a low-rank product, a
  // resident copy): the truncated solver then makes no resident copy of its own.
  virtual bool in_memory() const noexcept { return false; }

  // An operator with an exact route cheaper than the generic ones (a low-rank product through its
  // factors) writes its full spectrum to `out` and returns true; the others return false.
  virtual bool structured_spectrum(bool vectors, const RunControl& control, Spectrum& out) const { return false; }

 private:
  uint64_t memory_budget_ = config::kDefaultMemoryBudget;
  std::string label_ = "matrix";
};

// A dense matrix whose rows come from a RowPanelSource (or from an in-memory row-major float array).
class DenseOp : public LinearOperator {
 public:
  DenseOp(uint64_t rows, uint64_t cols, RowSource source);
  // Views `values` (rows·cols floats, row-major); the array must outlive the operator.
  DenseOp(uint64_t rows, uint64_t cols, const float* values);

  uint64_t rows() const override { return rows_; }
  uint64_t cols() const override { return cols_; }
  void for_each_row_panel(uint64_t row_begin, uint64_t row_end, uint64_t max_rows, const RowPanelVisitor& visit,
                          const RunControl& control) const override;
  uint64_t bytes_per_panel_row() const override { return cols_ * ((source_.plain() ? 1 : 2) * sizeof(float) + sizeof(double)); }
  double copy_to_f32(float* dst, const RunControl& control) const override;
  double copy_to_f64(double* dst, const RunControl& control) const override;

  // The format the values were stored in, when known: a pass over all rows then also sums their
  // rounding energy (kernels::rounding_energy). A source that writes its own spacing needs none.
  void set_storage_format(StorageFormat format) noexcept { source_.set_format(format); }
  // Σ ulp²/12 over the stored values, recorded by the first pass over all rows; −1 before that or when
  // the format is unknown.
  double rounding_energy() const noexcept { return rounding_energy_; }
  double stored_rounding_energy(const RunControl&) const override { return rounding_energy_; }

 private:
  template <typename T>
  double copy_rows(T* dst, const RunControl& control) const;

  uint64_t rows_, cols_;
  RowSource source_;
  mutable double rounding_energy_ = -1;
};

// T − B for two matrices of the same shape whose rows come from two sources (their stored dtypes may
// differ: each source decodes its own). The subtraction is done in double, panel by panel.
class DiffOp : public LinearOperator {
 public:
  DiffOp(uint64_t rows, uint64_t cols, RowSource tuned, RowSource base);

  uint64_t rows() const override { return rows_; }
  uint64_t cols() const override { return cols_; }
  void for_each_row_panel(uint64_t row_begin, uint64_t row_end, uint64_t max_rows, const RowPanelVisitor& visit,
                          const RunControl& control) const override;
  uint64_t bytes_per_panel_row() const override { return cols_ * ((spacings() ? 4 : 2) * sizeof(float) + sizeof(double)); }
  double copy_to_f32(float* dst, const RunControl& control) const override;
  double copy_to_f64(double* dst, const RunControl& control) const override;

  // The formats the operands were stored in, when known: operand_norms then also sums each side's
  // rounding energy (kernels::rounding_energy), the expected energy of storage noise in T − B, and
  // counts the entries that changed by less than one storage step. Sources that write their own
  // spacing (quantized layouts) need none.
  void set_storage_formats(StorageFormat tuned, StorageFormat base) noexcept {
    tuned_.set_format(tuned);
    base_.set_format(base);
  }

  // Recorded for free during the first pass over all rows; computed with one extra pass if no
  // computation has made one yet.
  std::optional<OperandNorms> operand_norms(const RunControl& control) const override;
  // Both sides' rounding energy added, when both formats are known (−1 otherwise).
  double stored_rounding_energy(const RunControl& control) const override;

 private:
  // Zero sums, with −1 for the rounding energy of a side whose format is unknown.
  OperandNorms empty_norms() const noexcept;
  // Both sides have a grid: the recording pass reads both spacings and counts below-spacing entries.
  bool spacings() const noexcept { return tuned_.has_grid() && base_.has_grid(); }
  // Decodes rows [r0, r1) of both operands (with spacings where `buffers` has room for them), throws
  // NON_FINITE_INPUT for bad values when `row_end` is not 0 (counted up to row_end, panel_rows at a
  // time), and subtracts into out32 (the tuned side is decoded there) or out64; when `norms` is not null
  // adds the block's sums and counts to it and returns Σ (T − B)² of the block.
  struct Buffers;
  double subtract_block(uint64_t r0, uint64_t r1, Buffers& buffers, float* out32, double* out64, OperandNorms* norms, uint64_t panel_rows,
                      uint64_t row_end) const;
  template <typename T>
  double copy_rows(T* dst, const RunControl& control) const;

  uint64_t rows_, cols_;
  RowSource tuned_, base_;
  mutable bool norms_known_ = false;
  mutable OperandNorms norms_;
};

// s·B·A with B m×r and A r×n given row-major (the LoRA layout: lora_B is out×r, lora_A is r×in). Held in
// memory in double; apply and apply_t go through the factors (O((m+n)·r·b) instead of O(m·n·b)).
class LowRankOp : public LinearOperator {
 public:
  LowRankOp(uint64_t rows, uint64_t cols, uint64_t rank, const float* b_rows_by_rank, const float* a_rank_by_cols, double scale);

  uint64_t rows() const override { return rows_; }
  uint64_t cols() const override { return cols_; }
  uint64_t rank() const noexcept { return rank_; }
  double scale() const noexcept { return scale_; }
  // Column-major copies of the factors: B is rows()×rank(), Aᵀ is cols()×rank().
  const std::vector<double>& b_factor() const noexcept { return b_; }
  const std::vector<double>& a_transposed_factor() const noexcept { return at_; }

  void for_each_row_panel(uint64_t row_begin, uint64_t row_end, uint64_t max_rows, const RowPanelVisitor& visit,
                          const RunControl& control) const override;
  uint64_t bytes_per_panel_row() const override { return cols_ * sizeof(double); }
  void apply(const double* x, uint64_t b, double* y, const RunControl& control,
             double* frobenius_squared_out) const override;
  void apply_t(const double* x, uint64_t b, double* y, const RunControl& control) const override;
  // s²·Σ_ij (BᵀB)_ij (AAᵀ)_ij: exact through the r×r Gram matrices of the factors.
  double frobenius_squared(const RunControl& control) const override;
  bool in_memory() const noexcept override { return true; }
  // QR of B and Aᵀ, then the SVD of the r×r core: the other min(m, n) − r values are exactly zero.
  // False (use the generic routes) when r ≥ min(m, n).
  bool structured_spectrum(bool vectors, const RunControl& control, Spectrum& out) const override;

 private:
  uint64_t rows_, cols_, rank_;
  std::vector<double> b_, at_;
  double scale_;
};

// A tensor of a checkpoint seen as a 2-D matrix: shape [d0, d1, ..., dk] becomes [d0, d1·…·dk] (a 1-D
// tensor becomes one row; a scalar 1×1).
struct MatrixShape {
  uint64_t rows = 0, cols = 0;
};
MatrixShape matrix_shape(const TensorInfo& info) noexcept;

// A RowPanelSource that decodes rows of `tensor` with Checkpoint::read_f32 (UNSUPPORTED_DTYPE for dtypes
// without a decoder). Keeps the checkpoint alive. Expert slices, transposed layouts and quantized
// tensors (codes times scales): stored_matrix_source (stored_matrix.hpp).
RowPanelSource checkpoint_row_source(std::shared_ptr<const Checkpoint> checkpoint, const CheckpointTensor& tensor);

}  // namespace paramscope

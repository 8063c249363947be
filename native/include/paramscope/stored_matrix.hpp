#pragma once
// A matrix of a checkpoint as the plan stage describes it (lib/plan/layouts): a stored tensor, or one
// expert of a fused 3-D tensor; its values plain or quantized (codes times one scale per block, the scale
// a companion tensor of the codes); possibly transposed (layouts that store [in, out]) and possibly a
// subset of its rows (the gate or the up half of a fused gate_up). Resolved against the checkpoint and
// validated before a byte is read; stored_matrix_source then decodes codes × scales straight to f32
// rows, with the spacing of the storage grid at each value. Layout rules: docs/formats.md.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "paramscope/checkpoint.hpp"
#include "paramscope/dtype.hpp"
#include "paramscope/linop.hpp"

namespace paramscope {

// How a stored tensor's elements encode the matrix's values.
enum class Encoding : uint8_t {
  Plain,   // the tensor's own dtype
  Scaled,  // 8-bit float codes (F8_E4M3, F8_E5M2, FNUZ) times one scale per block: FP8 block, per-tensor, per-channel
  Mxfp4,   // E2M1 codes packed two per byte along the rows, low nibble first (U8 or I8), times an E8M0 scale per block
};

// A matrix of an open checkpoint. Only `checkpoint` and `tensor` are needed for a plain tensor (read as
// [d0, d1·…·dk], as before); the other fields describe the layouts of docs/formats.md.
struct TensorRef {
  std::shared_ptr<const Checkpoint> checkpoint;
  std::string tensor;  // the plain tensor, or the codes
  // Quantized layouts: the scale tensor (same checkpoint) and the block of matrix entries each scale
  // covers, rows × cols of one expert's matrix as stored (before transposition); the scale tensor holds
  // ⌈rows/block_rows⌉ × ⌈cols/block_cols⌉ values per expert (a partial last block has a scale of its own).
  Encoding encoding = Encoding::Plain;
  std::string scale;
  uint64_t block_rows = 0, block_cols = 0;
  // Fused experts: the matrix is slice `expert` of the leading dimension ([E, rows, cols…]).
  std::optional<uint64_t> expert;
  // The matrix is the transpose of what is stored (a layout that stores [in, out]).
  bool transpose = false;
  // Rows of the (transposed, when asked) matrix that are taken: row_offset, row_offset + row_stride, …,
  // `row_count` of them (all when unset).
  uint64_t row_offset = 0, row_stride = 1;
  std::optional<uint64_t> row_count;
};

class StoredMatrix {
 public:
  // Validates the reference before anything is read: TENSOR_NOT_FOUND, UNSUPPORTED_DTYPE (no decoder, or
  // codes of the wrong dtype for their encoding), INVALID_QUANTIZATION (a scale tensor of the wrong dtype
  // or a shape that does not fit the codes and the block), SLICE_OUT_OF_RANGE (expert, rows), and
  // INVALID_ARGUMENT for an incoherent reference. `job` names the job in messages.
  static std::shared_ptr<const StoredMatrix> resolve(const TensorRef& ref, const std::string& job);

  uint64_t rows() const noexcept { return rows_; }
  uint64_t cols() const noexcept { return cols_; }
  // The stored dtype of the plain tensor or of the codes.
  DType dtype() const noexcept { return info_->dtype; }
  Encoding encoding() const noexcept { return ref_.encoding; }
  // The rounding grid of the values before scaling (the codes' format; E2M1's for MXFP4).
  StorageFormat grid() const noexcept { return grid_; }
  // 2^(1 − p) of that grid: the relative precision the numerical-rank threshold scales with.
  double epsilon() const noexcept;
  // Bytes this matrix reads (its slice of the codes and of the scales).
  uint64_t stored_bytes() const noexcept { return code_bytes_ + scale_bytes_; }
  const TensorInfo& info() const noexcept { return *info_; }
  const std::string& file() const;
  // What the matrix is, for messages: "tensor \"x\"", with "[3]", "ᵀ", "rows 1::2", "× scale \"s\"".
  std::string describe() const;
  std::function<void()> prefetch() const;
  // Drops the pages of the same ranges once the job is done (engine.hpp: release_range).
  std::function<void()> release() const;

  // Decodes rows [r0, r1) into dst (row-major, cols() values per row) and, when spacing is not null, the
  // spacing of the storage grid at each value (the code's ulp times its scale for quantized layouts).
  void read_rows(uint64_t r0, uint64_t r1, float* dst, float* spacing) const;

 private:
  StoredMatrix() = default;
  struct Bytes;
  // Decodes columns [c0, c1) of row `row` of the (expert's) matrix as stored.
  void decode_segment(const Bytes& codes, const Bytes& scales, uint64_t row, uint64_t c0, uint64_t c1, float* values, float* spacing) const;

  TensorRef ref_;
  CheckpointTensor codes_{}, scale_{};
  const TensorInfo* info_ = nullptr;
  StorageFormat grid_;
  uint64_t stored_rows_ = 0, stored_cols_ = 0;  // one expert's matrix as stored
  uint64_t rows_ = 0, cols_ = 0;                // the matrix presented
  uint64_t slice_begin_ = 0;                    // first element of the expert's slice (codes)
  uint64_t grid_rows_ = 0, grid_cols_ = 0;      // scales per expert: grid_rows_ × grid_cols_
  uint64_t code_bytes_ = 0, scale_bytes_ = 0;
  bool whole_plain_ = false;                    // a plain tensor read whole: Checkpoint::read_f32 rows
};

// The rows of `matrix` as an operator source: a plain source with its dtype's grid for plain tensors
// (the spacing is read from the values), a source that writes its own spacing for quantized ones.
RowSource stored_matrix_source(std::shared_ptr<const StoredMatrix> matrix);

}  // namespace paramscope

#pragma once
// The three kinds of matrix job, built from typed specs: a stored tensor W, the difference T − B of two
// stored tensors, and a low-rank product s·B·A. Each job carries the storage-noise policy its inputs
// imply: the precision of the stored format (the numerical-rank threshold scales with it) and the
// per-entry rounding noise behind the Marchenko–Pastur edge. The addon only converts JavaScript values
// to these specs; everything numeric about a job is decided here.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "paramscope/checkpoint.hpp"
#include "paramscope/engine.hpp"
#include "paramscope/stored_matrix.hpp"

namespace paramscope {


struct DenseJobSpec {
  std::string name;
  TensorRef source;
  std::optional<bool> vectors;
};

struct DifferenceJobSpec {
  std::string name;
  TensorRef tuned, base;
  // Compare only the first `rows` rows (a resized vocabulary); all rows when unset.
  std::optional<uint64_t> rows;
  std::optional<bool> vectors;
};

struct LowRankJobSpec {
  std::string name;
  uint64_t rows = 0, cols = 0, rank = 0;
  std::vector<float> b;  // rows × rank, row-major
  std::vector<float> a;  // rank × cols, row-major
  double scale = 1;
  std::optional<bool> vectors;
};

// Each validates its spec before anything is read: TENSOR_NOT_FOUND, UNSUPPORTED_DTYPE (a tensor
// without a decoder), INVALID_QUANTIZATION and SLICE_OUT_OF_RANGE (StoredMatrix::resolve),
// SHAPE_MISMATCH (operands that cannot be subtracted), INVALID_ARGUMENT (factors of the wrong size).
// Stored matrices (TensorRef, stored_matrix.hpp) may be quantized, expert slices or transposed: the
// noise policy then uses the grid of their codes (spacing = the code's ulp times its scale).
MatrixJob dense_job(const DenseJobSpec& spec);
MatrixJob difference_job(const DifferenceJobSpec& spec);
MatrixJob low_rank_job(LowRankJobSpec spec);

// The noise policy, given the operator after its spectrum was computed.
// A stored matrix: ε of its dtype; noise σ from its measured rounding energy (Σ ulp²/12, recorded by a
// pass over all rows) when known, else modelled from its rms (rounding_noise_sigma).
MetricsOptions stored_matrix_metrics(DType dtype, const LinearOperator& op, const Spectrum& spectrum);
// The same with ε given (a quantized matrix: its codes' ε; the modelled fallback still uses `dtype`).
MetricsOptions stored_matrix_metrics(double epsilon, DType dtype, const LinearOperator& op, const Spectrum& spectrum);
// A difference: the coarser ε of the two; the rounding of each stored operand is independent, so the
// variances add (conservative when the base was stored exactly and only the tuned side was rounded):
// measured for both sides when both formats have a grid, else modelled from each operand's rms.
MetricsOptions difference_metrics(DType tuned, DType base, const LinearOperator& op, const RunControl& control);
MetricsOptions difference_metrics(double tuned_epsilon, DType tuned, double base_epsilon, DType base, const LinearOperator& op,
                                  const RunControl& control);

}  // namespace paramscope

#include "paramscope/jobs.hpp"

#include <algorithm>
#include <cmath>

#include "paramscope/error.hpp"

namespace paramscope {

namespace {

// A spec's tensor, resolved and checked: it exists and its dtype has a decoder.
struct ResolvedTensor {
  std::shared_ptr<const Checkpoint> checkpoint;
  CheckpointTensor tensor;
  MatrixShape shape;

  const TensorInfo& info() const { return *tensor.info; }
  DType dtype() const { return tensor.info->dtype; }
  const std::string& file() const { return checkpoint->shards()[tensor.shard]->path(); }
};

ResolvedTensor resolve(const TensorRef& ref, const std::string& job) {
  if (!ref.checkpoint) throw Error(ErrorCode::INVALID_ARGUMENT, "job " + job + ": no checkpoint given for tensor \"" + ref.tensor + "\"");
  ResolvedTensor resolved{ref.checkpoint, ref.checkpoint->get(ref.tensor), {}};
  if (!dtype_info(resolved.dtype()).decodable)
    throw Error(ErrorCode::UNSUPPORTED_DTYPE,
                "tensor \"" + ref.tensor + "\" has dtype " + std::string(dtype_info(resolved.dtype()).name) + ", which cannot be analysed",
                resolved.file(), ref.tensor);
  resolved.shape = matrix_shape(resolved.info());
  return resolved;
}

std::function<void()> prefetch_tensor(const ResolvedTensor& t) {
  const auto& shard = t.checkpoint->shards()[t.tensor.shard];
  return prefetch_range(shard->shared_file(), shard->absolute_offset(t.info()), t.info().byte_size());
}

std::function<void()> release_tensor(const ResolvedTensor& t) {
  const auto& shard = t.checkpoint->shards()[t.tensor.shard];
  return release_range(shard->shared_file(), shard->absolute_offset(t.info()), t.info().byte_size());
}

std::string shape_text(const ResolvedTensor& t) {
  return "[" + std::to_string(t.shape.rows) + " x " + std::to_string(t.shape.cols) + "]";
}

}  // namespace

MetricsOptions stored_matrix_metrics(DType dtype, const LinearOperator& op, const Spectrum& spectrum) {
  MetricsOptions m;
  m.dtype_epsilon = dtype_epsilon(dtype);
  const double entries = double(op.rows()) * double(op.cols());
  if (entries <= 0) return m;
  const double measured = op.stored_rounding_energy(RunControl{});
  m.noise_sigma = measured >= 0 ? std::sqrt(measured / entries) : rounding_noise_sigma(dtype, std::sqrt(spectrum.frobenius_squared / entries));
  return m;
}

MetricsOptions difference_metrics(DType tuned, DType base, const LinearOperator& op, const RunControl& control) {
  MetricsOptions m;
  m.dtype_epsilon = std::max(dtype_epsilon(tuned), dtype_epsilon(base));
  const double entries = double(op.rows()) * double(op.cols());
  if (entries <= 0) return m;
  const double measured = op.stored_rounding_energy(control);
  if (measured >= 0) {
    m.noise_sigma = std::sqrt(measured / entries);
  } else if (const std::optional<OperandNorms> norms = op.operand_norms(control)) {
    const double tuned_noise = rounding_noise_sigma(tuned, std::sqrt(norms->tuned_squared / entries));
    const double base_noise = rounding_noise_sigma(base, std::sqrt(norms->base_squared / entries));
    m.noise_sigma = std::sqrt(tuned_noise * tuned_noise + base_noise * base_noise);
  }
  return m;
}

MatrixJob dense_job(const DenseJobSpec& spec) {
  const ResolvedTensor source = resolve(spec.source, spec.name);
  MatrixJob job;
  job.name = spec.name;
  job.vectors = spec.vectors;
  job.stored_bytes = source.info().byte_size();
  job.prefetch = prefetch_tensor(source);
  job.release = release_tensor(source);
  job.metrics_options = [dtype = source.dtype()](const LinearOperator& op, const Spectrum& spectrum) {
    return stored_matrix_metrics(dtype, op, spectrum);
  };
  job.make_operator = [source, label = spec.name] {
    auto op = std::make_unique<DenseOp>(source.shape.rows, source.shape.cols, checkpoint_row_source(source.checkpoint, source.tensor));
    op->set_storage_format(storage_format(source.dtype()));
    op->set_label("tensor " + label);
    return op;
  };
  return job;
}

MatrixJob difference_job(const DifferenceJobSpec& spec) {
  const ResolvedTensor tuned = resolve(spec.tuned, spec.name), base = resolve(spec.base, spec.name);
  // Rows shared by both (a resized vocabulary compares only the common rows).
  const uint64_t rows = spec.rows.value_or(tuned.shape.rows);
  if (tuned.shape.cols != base.shape.cols || rows > tuned.shape.rows || rows > base.shape.rows)
    throw Error(ErrorCode::SHAPE_MISMATCH,
                "cannot subtract \"" + base.info().name + "\" " + shape_text(base) + " from \"" + tuned.info().name + "\" " + shape_text(tuned) +
                    (spec.rows ? " over " + std::to_string(rows) + " rows" : ""),
                tuned.checkpoint->path(), tuned.info().name);
  MatrixJob job;
  job.name = spec.name;
  job.vectors = spec.vectors;
  job.stored_bytes = tuned.info().byte_size() + base.info().byte_size();
  job.prefetch = [prefetch_tuned = prefetch_tensor(tuned), prefetch_base = prefetch_tensor(base)] {
    if (prefetch_tuned) prefetch_tuned();
    if (prefetch_base) prefetch_base();
  };
  job.release = [release_tuned = release_tensor(tuned), release_base = release_tensor(base)] {
    release_tuned();
    release_base();
  };
  job.metrics_options = [tuned_dtype = tuned.dtype(), base_dtype = base.dtype()](const LinearOperator& op, const Spectrum&) {
    return difference_metrics(tuned_dtype, base_dtype, op, RunControl{});
  };
  job.make_operator = [tuned, base, rows, label = spec.name] {
    auto op = std::make_unique<DiffOp>(rows, tuned.shape.cols, checkpoint_row_source(tuned.checkpoint, tuned.tensor),
                                       checkpoint_row_source(base.checkpoint, base.tensor));
    op->set_storage_formats(storage_format(tuned.dtype()), storage_format(base.dtype()));
    op->set_label("update of " + label);
    return op;
  };
  return job;
}

MatrixJob low_rank_job(LowRankJobSpec spec) {
  if (spec.b.size() != spec.rows * spec.rank || spec.a.size() != spec.rank * spec.cols)
    throw Error(ErrorCode::INVALID_ARGUMENT, "job " + spec.name + ": b must hold rows x rank (" + std::to_string(spec.rows * spec.rank) +
                                                 ") and a rank x cols (" + std::to_string(spec.rank * spec.cols) + ") values, got " +
                                                 std::to_string(spec.b.size()) + " and " + std::to_string(spec.a.size()));
  MatrixJob job;
  job.name = spec.name;
  job.vectors = spec.vectors;
  job.stored_bytes = (spec.b.size() + spec.a.size()) * sizeof(float);
  auto factors = std::make_shared<const LowRankJobSpec>(std::move(spec));
  job.make_operator = [factors] {
    auto op = std::make_unique<LowRankOp>(factors->rows, factors->cols, factors->rank, factors->b.data(), factors->a.data(), factors->scale);
    op->set_label("low-rank update " + factors->name);
    return op;
  };
  return job;
}

}  // namespace paramscope

#include "paramscope/jobs.hpp"

#include <algorithm>
#include <cmath>

#include "paramscope/error.hpp"

namespace paramscope {

namespace {

std::string shape_text(const StoredMatrix& m) { return "[" + std::to_string(m.rows()) + " x " + std::to_string(m.cols()) + "]"; }

}  // namespace

MetricsOptions stored_matrix_metrics(DType dtype, const LinearOperator& op, const Spectrum& spectrum) {
  return stored_matrix_metrics(dtype_epsilon(dtype), dtype, op, spectrum);
}

MetricsOptions stored_matrix_metrics(double epsilon, DType dtype, const LinearOperator& op, const Spectrum& spectrum) {
  MetricsOptions m;
  m.dtype_epsilon = epsilon;
  const double entries = double(op.rows()) * double(op.cols());
  if (entries <= 0) return m;
  const double measured = op.stored_rounding_energy(RunControl{});
  m.noise_sigma = measured >= 0 ? std::sqrt(measured / entries) : rounding_noise_sigma(dtype, std::sqrt(spectrum.frobenius_squared / entries));
  return m;
}

MetricsOptions difference_metrics(DType tuned, DType base, const LinearOperator& op, const RunControl& control) {
  return difference_metrics(dtype_epsilon(tuned), tuned, dtype_epsilon(base), base, op, control);
}

MetricsOptions difference_metrics(double tuned_epsilon, DType tuned, double base_epsilon, DType base, const LinearOperator& op,
                                  const RunControl& control) {
  MetricsOptions m;
  m.dtype_epsilon = std::max(tuned_epsilon, base_epsilon);
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
  const std::shared_ptr<const StoredMatrix> source = StoredMatrix::resolve(spec.source, spec.name);
  MatrixJob job;
  job.name = spec.name;
  job.vectors = spec.vectors;
  job.stored_bytes = source->stored_bytes();
  job.prefetch = source->prefetch();
  job.release = source->release();
  job.metrics_options = [epsilon = source->epsilon(), dtype = source->dtype()](const LinearOperator& op, const Spectrum& spectrum) {
    return stored_matrix_metrics(epsilon, dtype, op, spectrum);
  };
  job.make_operator = [source, label = spec.name] {
    auto op = std::make_unique<DenseOp>(source->rows(), source->cols(), stored_matrix_source(source));
    op->set_label("tensor " + label);
    return op;
  };
  return job;
}

MatrixJob difference_job(const DifferenceJobSpec& spec) {
  const std::shared_ptr<const StoredMatrix> tuned = StoredMatrix::resolve(spec.tuned, spec.name), base = StoredMatrix::resolve(spec.base, spec.name);
  // Rows shared by both (a resized vocabulary compares only the common rows).
  const uint64_t rows = spec.rows.value_or(tuned->rows());
  if (tuned->cols() != base->cols() || rows > tuned->rows() || rows > base->rows())
    throw Error(ErrorCode::SHAPE_MISMATCH,
                "cannot subtract " + base->describe() + " " + shape_text(*base) + " from " + tuned->describe() + " " + shape_text(*tuned) +
                    (spec.rows ? " over " + std::to_string(rows) + " rows" : ""),
                spec.tuned.checkpoint->path(), tuned->info().name);
  MatrixJob job;
  job.name = spec.name;
  job.vectors = spec.vectors;
  job.stored_bytes = tuned->stored_bytes() + base->stored_bytes();
  job.prefetch = [prefetch_tuned = tuned->prefetch(), prefetch_base = base->prefetch()] {
    if (prefetch_tuned) prefetch_tuned();
    if (prefetch_base) prefetch_base();
  };
  job.release = [release_tuned = tuned->release(), release_base = base->release()] {
    if (release_tuned) release_tuned();
    if (release_base) release_base();
  };
  job.metrics_options = [te = tuned->epsilon(), td = tuned->dtype(), be = base->epsilon(), bd = base->dtype()](const LinearOperator& op, const Spectrum&) {
    return difference_metrics(te, td, be, bd, op, RunControl{});
  };
  job.make_operator = [tuned, base, rows, label = spec.name] {
    auto op = std::make_unique<DiffOp>(rows, tuned->cols(), stored_matrix_source(tuned), stored_matrix_source(base));
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

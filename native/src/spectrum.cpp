#include "paramscope/spectrum.hpp"

#include <Eigen/Dense>
#include <Eigen/SVD>
#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <limits>

#include "internal/blas.hpp"
#include "internal/dense.hpp"
#include "internal/resident.hpp"
#include "internal/workspace.hpp"
#include "paramscope/error.hpp"

namespace paramscope {

namespace {

constexpr double kUnitRoundoff = std::numeric_limits<double>::epsilon() / 2;

using MatrixMap = Eigen::Map<Eigen::MatrixXd>;
using ConstMatrixMap = Eigen::Map<const Eigen::MatrixXd>;

int lapack_int(uint64_t value) {
  if (value > static_cast<uint64_t>(INT_MAX))
    throw Error(ErrorCode::INVALID_ARGUMENT, "a matrix dimension of " + std::to_string(value) + " exceeds the LAPACK integer range");
  return static_cast<int>(value);
}

std::string label_with_shape(const LinearOperator& op) {
  return op.label() + " (" + std::to_string(op.rows()) + "×" + std::to_string(op.cols()) + ")";
}

[[noreturn]] void throw_out_of_memory(const LinearOperator& op, const std::string& what, uint64_t bytes) {
  throw Error(ErrorCode::OUT_OF_MEMORY, what + " for " + label_with_shape(op) + " needs " + std::to_string(bytes) +
                                            " bytes, more than the memory budget of " + std::to_string(op.memory_budget()) +
                                            " bytes; raise the budget or use the truncated spectrum");
}

void check_lapack_info(int info, const char* routine) {
  if (info > 0) throw Error(ErrorCode::NOT_CONVERGED, std::string(routine) + " did not converge (info=" + std::to_string(info) + ")");
  if (info < 0) throw Error(ErrorCode::INTERNAL, std::string(routine) + " rejected argument " + std::to_string(-info));
}

// Adds the seconds since its construction to `total` when it goes out of scope.
class Stopwatch {
 public:
  explicit Stopwatch(double& total) : total_(total), start_(std::chrono::steady_clock::now()) {}
  ~Stopwatch() { total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  Stopwatch(const Stopwatch&) = delete;
  Stopwatch& operator=(const Stopwatch&) = delete;

 private:
  double& total_;
  std::chrono::steady_clock::time_point start_;
};

template <typename F>
void timed(double& total, F&& body) {
  Stopwatch watch(total);
  body();
}

std::vector<double> descending_sqrt(const std::vector<double>& ascending_eigenvalues) {
  std::vector<double> values(ascending_eigenvalues.size());
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = std::sqrt(std::max(0.0, ascending_eigenvalues[ascending_eigenvalues.size() - 1 - i]));
  return values;
}

// ---- exact routes ----

Spectrum exact_gram(const LinearOperator& op, GramEigensolver eigensolver, const RunControl& control) {
  const uint64_t m = op.rows(), n = op.cols(), g = std::min(m, n);
  const bool wide = m <= n;
  const Backend& backend = current_backend();
  const uint64_t gram_bytes = g * g * sizeof(double) * (backend.gram_eigenvalues_copy_input() ? 2 : 1);
  if (gram_bytes >= op.memory_budget()) throw_out_of_memory(op, "the Gram matrix", gram_bytes);
  const uint64_t available = op.memory_budget() - gram_bytes;

  Spectrum result;
  result.passes = 0;
  // Only the lower triangle is written and read (dsyrk, the eigensolvers); the tall panel route sums into it.
  Buffer<double> gram(g * g);
  double frobenius = 0;
  auto add_squares = [&frobenius](const double* p, uint64_t count) {
    for (uint64_t i = 0; i < count; ++i) frobenius += p[i] * p[i];
  };

  const uint64_t panel_bytes = available / 4;
  if (m <= (available - panel_bytes) / sizeof(double) / std::max<uint64_t>(n, 1)) {  // m·n doubles fit (no overflow)
    // The usual case: the whole matrix fits beside the Gram. It is copied in (as double) on all the job's
    // threads, then one product: row-major A read column-major is Aᵀ, so A·Aᵀ = (Aᵀ)ᵀ·Aᵀ (wide) and
    // AᵀA = Aᵀ·(Aᵀ)ᵀ (tall), both with inner dimension max(m, n).
    Buffer<double> a(m * n);
    frobenius = op.copy_to_f64(a.data(), control);
    dense::syrk_lower(wide, g, std::max(m, n), 1.0, a.data(), n, 0.0, gram.data(), g);
    control.add_progress(0, double(g) * double(g) * double(std::max(m, n)));
    result.passes = 1;
  } else if (!wide) {
    // AᵀA = Σ over row panels of panelᵀ·panel: one pass, any number of rows.
    std::fill(gram.begin(), gram.end(), 0.0);
    op.for_each_row_panel(0, m, op.panel_rows_within(available), [&](uint64_t r0, uint64_t r1, const double* panel) {
      dense::syrk_lower(false, n, r1 - r0, 1.0, panel, n, 1.0, gram.data(), g);
      add_squares(panel, (r1 - r0) * n);
      control.add_progress(0, double(n) * double(n) * double(r1 - r0));
    }, control);
    result.passes = 1;
  } else {
    // A·Aᵀ needs products of every pair of row blocks. A block of rows stays resident (as double) while
    // the rows before it stream past: ⌈m / block⌉ passes over shrinking prefixes.
    const uint64_t block_rows = std::min<uint64_t>(m, (available - panel_bytes) / (n * sizeof(double)));
    if (block_rows == 0) throw_out_of_memory(op, "one row block of the Gram matrix", gram_bytes + n * sizeof(double));
    const uint64_t panel_rows = op.panel_rows_within(panel_bytes);
    Buffer<double> block(block_rows * n);  // every row is copied in before it is read: no zero-fill
    for (uint64_t i0 = 0; i0 < m; i0 += block_rows) {
      const uint64_t i1 = std::min(m, i0 + block_rows), rows_in_block = i1 - i0;
      op.for_each_row_panel(i0, i1, panel_rows, [&](uint64_t r0, uint64_t r1, const double* panel) {
        std::copy(panel, panel + (r1 - r0) * n, block.data() + (r0 - i0) * n);
        add_squares(panel, (r1 - r0) * n);
      }, control);
      dense::syrk_lower(true, rows_in_block, n, 1.0, block.data(), n, 0.0, gram.data() + i0 + i0 * g, g);
      control.add_progress(0, double(rows_in_block) * double(rows_in_block) * double(n));
      if (i0 > 0) {
        op.for_each_row_panel(0, i0, panel_rows, [&](uint64_t j0, uint64_t j1, const double* panel) {
          dense::gemm(true, false, rows_in_block, j1 - j0, n, 1.0, block.data(), n, panel, n, 0.0, gram.data() + i0 + j0 * g, g);
          control.add_progress(0, 2.0 * double(rows_in_block) * double(j1 - j0) * double(n));
        }, control);
      }
      result.passes += i0 > 0 ? 2 : 1;
    }
  }
  control.check_cancelled();

  {
    Stopwatch eigen(result.timing.eigensolver);
    result.values = descending_sqrt(backend.gram_eigenvalues(g, gram.data(), eigensolver, result.method));
  }
  result.frobenius_squared = frobenius;
  const double sigma1 = result.values.empty() ? 0.0 : result.values[0];
  const double inner = double(wide ? n : m);
  const double delta_lambda = kUnitRoundoff * (inner * frobenius + double(g) * sigma1 * sigma1);
  result.error_bounds.resize(g);
  for (uint64_t i = 0; i < g; ++i) {
    const double s = result.values[i];
    result.error_bounds[i] = s > 0 ? std::min(std::sqrt(delta_lambda), delta_lambda / s) : std::sqrt(delta_lambda);
  }
  return result;
}

Spectrum exact_direct(const LinearOperator& op, bool vectors, const RunControl& control) {
  const uint64_t m = op.rows(), n = op.cols(), g = std::min(m, n);
  const uint64_t matrix_bytes = m * n * sizeof(double);
  const uint64_t vector_bytes = vectors ? ((m + n) * g + 4 * g * g) * sizeof(double) : 0;
  if (matrix_bytes + vector_bytes >= op.memory_budget()) throw_out_of_memory(op, "the direct SVD", matrix_bytes + vector_bytes);

  // Row-major A is column-major Aᵀ (n×m); the SVD of Aᵀ gives A's with U and V exchanged.
  std::vector<double> at(m * n);
  double frobenius = 0;
  const uint64_t panel_rows = op.panel_rows_within(op.memory_budget() - matrix_bytes - vector_bytes);
  op.for_each_row_panel(0, m, panel_rows, [&](uint64_t r0, uint64_t r1, const double* panel) {
    std::copy(panel, panel + (r1 - r0) * n, at.begin() + r0 * n);
    for (uint64_t i = 0; i < (r1 - r0) * n; ++i) frobenius += panel[i] * panel[i];
  }, control);
  control.check_cancelled();

  Spectrum result;
  result.passes = 1;
  result.frobenius_squared = frobenius;
  result.values.resize(g);
  if (vectors) {
    result.vector_count = g;
    result.u.resize(m * g);
    result.v.resize(n * g);
  }
  const blas::Backend& backend = blas::backend();
  if (backend.lapack) {
    result.method = "dgesdd";
    const int rows_t = lapack_int(n), cols_t = lapack_int(m), k = lapack_int(g);
    const char* jobz = vectors ? "S" : "N";
    std::vector<double> vt(vectors ? g * m : 1);
    std::vector<int> iwork(8 * g);
    int lwork = -1, info = 0;
    const int ldu = vectors ? rows_t : 1, ldvt = vectors ? k : 1;
    double* u_t = vectors ? result.v.data() : nullptr;
    double work_query = 0;
    backend.fn.dgesdd(jobz, &rows_t, &cols_t, at.data(), &rows_t, result.values.data(), u_t, &ldu, vt.data(), &ldvt, &work_query, &lwork, iwork.data(), &info, 1);
    lwork = std::max(1, static_cast<int>(work_query));
    std::vector<double> work(lwork);
    backend.fn.dgesdd(jobz, &rows_t, &cols_t, at.data(), &rows_t, result.values.data(), u_t, &ldu, vt.data(), &ldvt, work.data(), &lwork, iwork.data(), &info, 1);
    check_lapack_info(info, "dgesdd");
    if (vectors)
      for (uint64_t j = 0; j < g; ++j)
        for (uint64_t i = 0; i < m; ++i) result.u[i + j * m] = vt[j + i * g];
  } else {
    result.method = "eigen-bdcsvd";
    Eigen::BDCSVD<Eigen::MatrixXd> svd(MatrixMap(at.data(), n, m), vectors ? Eigen::ComputeThinU | Eigen::ComputeThinV : 0);
    if (svd.info() != Eigen::Success) throw Error(ErrorCode::NOT_CONVERGED, "Eigen's BDCSVD did not converge");
    std::copy(svd.singularValues().data(), svd.singularValues().data() + g, result.values.begin());
    if (vectors) {
      MatrixMap(result.u.data(), m, g) = svd.matrixV();
      MatrixMap(result.v.data(), n, g) = svd.matrixU();
    }
  }
  const double bound = kUnitRoundoff * double(std::max(m, n)) * (g ? result.values[0] : 0.0);
  result.error_bounds.assign(g, bound);
  return result;
}

// ---- truncated ----

// splitmix64 (Steele, Lea & Flood 2014) feeding Marsaglia's polar method: a fixed, portable sequence,
// unlike std::normal_distribution whose algorithm is implementation-defined, and without the sine and
// cosine of Box–Muller (a logarithm and a square root per pair).
class GaussianStream {
 public:
  explicit GaussianStream(uint64_t seed) : state_(seed) {}
  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double x, y, r2;
    do {
      x = double(next_bits() >> 11) * 0x1.0p-52 - 1.0;  // uniform on [-1, 1)
      y = double(next_bits() >> 11) * 0x1.0p-52 - 1.0;
      r2 = x * x + y * y;
    } while (r2 >= 1.0 || r2 == 0.0);
    const double scale = std::sqrt(-2.0 * std::log(r2) / r2);
    spare_ = y * scale;
    has_spare_ = true;
    return x * scale;
  }

 private:
  uint64_t next_bits() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  uint64_t state_;
  double spare_ = 0;
  bool has_spare_ = false;
};

// The random start: the first `count` values of the seed's Gaussian stream. Every job of an analysis
// uses the same seed, so each thread keeps the longest prefix it has drawn (up to 64 MiB) and copies
// from it; drawing (a logarithm and a square root per pair) was a visible share of a whole checkpoint's
// time otherwise. The values are the same either way.
void gaussian_start(uint64_t seed, double* out, uint64_t count) {
  constexpr uint64_t kMaxCached = (uint64_t(64) << 20) / sizeof(double);
  struct Drawn {
    uint64_t seed = 0;
    GaussianStream stream{0};
    std::vector<double> values;
  };
  thread_local Drawn drawn;
  if (drawn.values.empty() || drawn.seed != seed) drawn = Drawn{seed, GaussianStream(seed), {}};
  if (count > kMaxCached) {
    GaussianStream stream(seed);
    for (uint64_t i = 0; i < count; ++i) out[i] = stream.next();
    return;
  }
  while (drawn.values.size() < count) drawn.values.push_back(drawn.stream.next());
  std::copy(drawn.values.begin(), drawn.values.begin() + count, out);
}

double column_distance(const double* a, const double* b, double scale_b, uint64_t length) {
  double total = 0;
  for (uint64_t i = 0; i < length; ++i) {
    const double d = a[i] - scale_b * b[i];
    total += d * d;
  }
  return std::sqrt(total);
}

}  // namespace

Spectrum exact_spectrum(const LinearOperator& op, const ExactOptions& options, const RunControl& control) {
  const uint64_t m = op.rows(), n = op.cols();
  const auto start = std::chrono::steady_clock::now();
  Spectrum result;
  if (m == 0 || n == 0) {
    result.method = "empty";
  } else if (options.route == ExactRoute::Auto && op.structured_spectrum(options.vectors, control, result)) {
    // The operator's own route (a low-rank product through its factors).
  } else if (options.route == ExactRoute::Direct || (options.route == ExactRoute::Auto && options.vectors)) {
    result = exact_direct(op, options.vectors, control);
  } else {
    if (options.vectors)
      throw Error(ErrorCode::INVALID_ARGUMENT, "singular vectors need the direct route (or Auto); the Gram route gives values only");
    result = exact_gram(op, options.eigensolver, control);
  }
  result.rows = m;
  result.cols = n;
  result.complete = true;
  result.converged = true;
  // The exact routes stream the matrix once (decoding it, with the Gram update) before their solver.
  result.timing.read_decode = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() - result.timing.eigensolver;
  return result;
}

Spectrum truncated_spectrum(const LinearOperator& op, const TruncatedOptions& options, const RunControl& control) {
  if (options.rank == 0) throw Error(ErrorCode::INVALID_ARGUMENT, "rank: expected an integer ≥ 1, got 0");
  if (!(options.tolerance >= 0) || !std::isfinite(options.tolerance))
    throw Error(ErrorCode::INVALID_ARGUMENT, "tolerance: expected a finite number ≥ 0, got " + std::to_string(options.tolerance));
  const uint64_t m = op.rows(), n = op.cols(), g = std::min(m, n);
  Spectrum result;
  result.rows = m;
  result.cols = n;
  result.method = "randomized";
  if (g == 0) return result;
  const uint64_t k = std::min(options.rank, g), l = std::min(k + options.oversampling, g);

  const uint64_t work_bytes = (3 * m + 4 * n) * l * sizeof(double);
  if (work_bytes >= op.memory_budget()) throw_out_of_memory(op, "the randomized solver's work arrays", work_bytes);
  // Every pass after the first reads the matrix again: keep it in memory when it fits beside the work
  // arrays, so a BF16 tensor is decoded once instead of 2·q + 3 times.
  std::unique_ptr<LinearOperator> resident;
  const LinearOperator* a = &op;
  const uint64_t element_bytes = options.single_precision ? sizeof(float) : sizeof(double);
  bool products_in_f32 = false;
  if (!op.in_memory() && m * n * element_bytes + work_bytes <= op.memory_budget()) {
    Stopwatch decode(result.timing.read_decode);
    if (options.single_precision) resident = std::make_unique<ResidentF32Op>(op, control);
    else resident = std::make_unique<ResidentOp>(op, control);
    products_in_f32 = options.single_precision;
    a = resident.get();
  }
  if (products_in_f32) result.method = "randomized-f32";

  // Uninitialised (workspace.hpp); every array is written before it is read.
  Buffer<double> q(m * l), y(m * l), u(m * l), w(n * l), p(n * l), v(n * l), z(n * l);
  gaussian_start(options.seed, p.data(), p.size());
  {
    Stopwatch products(result.timing.products);
    a->apply(p.data(), l, y.data(), control, &result.frobenius_squared);
  }
  result.passes = 1;

  std::vector<double> residual_u(k), residual_v(k);
  const double unit_roundoff = products_in_f32 ? std::numeric_limits<float>::epsilon() / 2 : kUnitRoundoff;
  const double rounding_floor = unit_roundoff * double(m + n) * std::sqrt(result.frobenius_squared);
  for (uint32_t iteration = 0;; ++iteration) {
    control.check_cancelled();
    // Blocks whose Ritz values nobody reads (power steps before the last, when no tolerance is set)
    // only need a well-conditioned basis of the right span.
    const bool intermediate = options.tolerance == 0 && iteration < options.power_iterations;
    std::copy(y.begin(), y.end(), q.begin());
    timed(result.timing.orthonormalize, [&] { dense::orthonormalize_columns(m, l, q.data(), m, intermediate); });
    timed(result.timing.products, [&] { a->apply_t(q.data(), l, w.data(), control); });  // W = Aᵀ·Q, so QᵀA = Wᵀ
    std::copy(w.begin(), w.end(), p.begin());
    timed(result.timing.orthonormalize, [&] { dense::orthonormalize_columns(n, l, p.data(), n, intermediate); });
    if (intermediate) {
      // A·P spans what A·V below would.
      timed(result.timing.products, [&] { a->apply(p.data(), l, y.data(), control); });
      result.passes += 2;
      continue;
    }
    // Rayleigh–Ritz: W = P·R (QR), R = Ur·Σ·Vrᵀ, hence QᵀA = Vr·Σ·(P·Ur)ᵀ and A ≈ (Q·Vr)·Σ·(P·Ur)ᵀ.
    Eigen::MatrixXd r_factor(l, l);
    dense::gemm(true, false, l, l, n, 1.0, p.data(), n, w.data(), n, 0.0, r_factor.data(), l);
    Eigen::BDCSVD<Eigen::MatrixXd> small;
    timed(result.timing.eigensolver, [&] { small.compute(r_factor, Eigen::ComputeFullU | Eigen::ComputeFullV); });
    const Eigen::MatrixXd& ritz_right = small.matrixU();  // l×l, rotates P
    const Eigen::MatrixXd& ritz_left = small.matrixV();   // l×l, rotates Q
    // Only the k reported Ritz vectors are read, except V's others when another power step follows.
    const bool last = options.tolerance == 0 && iteration >= options.power_iterations;
    dense::gemm(false, false, n, last ? k : l, l, 1.0, p.data(), n, ritz_right.data(), l, 0.0, v.data(), n);
    dense::gemm(false, false, m, k, l, 1.0, q.data(), m, ritz_left.data(), l, 0.0, u.data(), m);
    dense::gemm(false, false, n, k, l, 1.0, w.data(), n, ritz_left.data(), l, 0.0, z.data(), n);  // Aᵀ·U
    // A·V: the residuals, and the next power step (only the k reported columns when this is the last).
    timed(result.timing.products, [&] { a->apply(v.data(), last ? k : l, y.data(), control); });
    result.passes += 2;

    result.values.assign(small.singularValues().data(), small.singularValues().data() + k);
    result.error_bounds.resize(k);
    bool met = true;
    for (uint64_t i = 0; i < k; ++i) {
      const double s = result.values[i];
      residual_u[i] = column_distance(y.data() + i * m, u.data() + i * m, s, m);
      residual_v[i] = column_distance(z.data() + i * n, v.data() + i * n, s, n);
      result.error_bounds[i] = std::sqrt((residual_u[i] * residual_u[i] + residual_v[i] * residual_v[i]) / 2) + rounding_floor;
      // A value that is zero to working precision cannot meet a relative target; its bound sitting at
      // the rounding floor is the best any iteration can do.
      met = met && (result.error_bounds[i] <= options.tolerance * s || result.error_bounds[i] <= 2 * rounding_floor);
    }
    result.power_iterations = iteration;
    const bool tolerance_set = options.tolerance > 0;
    result.converged = !tolerance_set || met;
    if (iteration >= options.power_iterations && (!tolerance_set || met || iteration >= options.max_iterations)) break;
  }
  if (options.vectors) {
    result.vector_count = k;
    result.u.assign(u.begin(), u.begin() + m * k);
    result.v.assign(v.begin(), v.begin() + n * k);
  }
  return result;
}

}  // namespace paramscope

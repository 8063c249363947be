#pragma once
// The engine: runs spectra over a list of matrix jobs with one thread budget, prefetching the next job's
// bytes while the current ones compute, and streams each result, in job order, as it finishes.
//
// Threads. With several jobs the engine runs them in lanes, by default one per core (at most one per
// config::kMinLaneBytes of the memory budget, which the lanes share equally), BLAS single-threaded: the
// products of a randomized solver have only k + p columns, and OpenBLAS's own threads spend much of such
// a product synchronising, while the serial parts of a job (decoding, QR, small SVDs) leave cores idle;
// jobs side by side keep the cores busy. A lane with more than one core (a lone job, or fewer lanes than
// cores) splits its truncated products by rows over them (dense::set_split_threads); exact routes hand
// them to BLAS. BLAS's thread count is one process-wide setting, so every engine in the process passes a
// gate that admits jobs only while they agree on it and fit the budget of hardware threads together.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "paramscope/backend.hpp"
#include "paramscope/error.hpp"
#include "paramscope/linop.hpp"
#include "paramscope/metrics.hpp"
#include "paramscope/spectrum.hpp"

namespace paramscope {

struct MatrixJob {
  std::string name;
  // Builds the operator when the job starts (so a job list holds no buffers until then).
  std::function<std::unique_ptr<LinearOperator>()> make_operator;
  // Asks the OS to bring the job's stored bytes into the page cache; runs on the read-ahead thread.
  std::function<void()> prefetch;
  // Tells the OS the job's stored bytes are no longer needed (after the job): a checkpoint larger than
  // memory then streams through the page cache instead of evicting what the next jobs need.
  std::function<void()> release;
  uint64_t stored_bytes = 0;  // for progress
  // Overrides EngineOptions' `vectors` for this job (e.g. singular vectors only for the matrices whose
  // directions are compared).
  std::optional<bool> vectors;
  // Metric settings that depend on what was stored (dtype precision, rounding-noise level), given the
  // operator after its spectrum was computed. Defaults (f32 precision, no noise floor) when unset.
  std::function<MetricsOptions(const LinearOperator&, const Spectrum&)> metrics_options;
};

enum class SpectrumMode { Exact, Truncated };

// The engine's defaults are these initialisers, and nowhere else: the addon reports EngineOptions{} to
// JavaScript (engineDefaults()), which fills every option a caller leaves out from it.
struct EngineOptions {
  SpectrumMode mode = SpectrumMode::Exact;
  ExactOptions exact;
  // Products in single precision by default: about twice as fast, bounds that account for it.
  TruncatedOptions truncated{.single_precision = true};
  // Bytes for the whole engine: each lane gets an equal share for its job's panels, resident matrix and
  // work arrays.
  uint64_t memory_budget = config::kDefaultMemoryBudget;
  // Where the heavy operations run (backend.hpp): Auto takes a device when its plugin loads and finds
  // one; device memory is bounded by device_memory_budget (0: the plugin's default).
  BackendChoice backend = BackendChoice::Auto;
  uint64_t device_memory_budget = 0;
  int threads = 0;  // threads for the math; 0: all hardware threads
  int lanes = 0;    // jobs computed at once; 0: one per thread, at most one per job and one per
                    // config::kMinLaneBytes of the memory budget
};

struct JobResult {
  size_t index = 0;  // position in the job list
  std::string name;
  uint64_t rows = 0, cols = 0;
  Spectrum spectrum;
  SpectralMetrics metrics;
  // For T − B jobs: ‖T‖_F² and ‖B‖_F² (negative when not applicable), and the expected energy of the
  // storage rounding of both operands, Σ ulp²/12 over T and B (negative when a format is unknown).
  double tuned_frobenius_squared = -1, base_frobenius_squared = -1, rounding_energy = -1;
  // For T − B jobs: entries whose two stored values are bit-identical, and entries that changed by less
  // than one storage step (negative when not counted: no difference, or a side without a rounding grid).
  int64_t identical_entries = -1, below_spacing_entries = -1;
  double seconds = 0;
  // Set when this job failed (the others still run), with its message.
  std::optional<ErrorCode> error;
  std::string error_message;
};

struct EngineProgress {
  size_t jobs_done = 0, jobs_total = 0;
  uint64_t bytes_done = 0, bytes_total = 0;
  double flops_done = 0;
  std::string current;  // the job being computed
};

struct EngineCallbacks {
  std::function<void(JobResult&&)> on_result;
  // Called at most every `progress_interval_ms` and after each job.
  std::function<void(const EngineProgress&)> on_progress;
  uint32_t progress_interval_ms = 100;
};

// Runs every job, lane 0 on the calling thread (the addon calls it from its own std::thread) and the
// others on threads of their own; on_result and on_progress are called one at a time, results in job
// order. Returns normally when all jobs ran (failed jobs are reported through on_result), or throws
// ABORTED when `cancel` was set; jobs already reported stay reported.
void run_engine(std::vector<MatrixJob>& jobs, const EngineOptions& options, const EngineCallbacks& callbacks,
                const std::atomic<bool>& cancel);

// How many jobs the engine computes at once for `jobs` jobs under `options` (engine.hpp, "Threads").
int lane_count(const EngineOptions& options, size_t jobs);

// A prefetch function for a byte range of a mapped file (MappedFile::populate), so the page cache is
// warm and the pages mapped when a lane streams it. A no-op for unmapped files.
std::function<void()> prefetch_range(std::shared_ptr<const MappedFile> file, uint64_t offset, uint64_t length);
// The release function for such a range (MappedFile::drop_cached).
std::function<void()> release_range(std::shared_ptr<const MappedFile> file, uint64_t offset, uint64_t length);

}  // namespace paramscope

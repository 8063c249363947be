#include "paramscope/engine.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include "internal/blas.hpp"
#include "internal/dense.hpp"
#include "paramscope/error.hpp"
#include "internal/workspace.hpp"

namespace paramscope {

namespace {

using Clock = std::chrono::steady_clock;

// The process-wide gate of engine jobs (see engine.hpp). A job asks for `threads` cores and a BLAS thread
// count; it waits while the running jobs use a different BLAS count or the cores are taken, and a job
// that needs a different count is served before newcomers that match the current one.
class JobGate {
 public:
  static JobGate& instance() {
    static JobGate gate;
    return gate;
  }
  void enter(int blas_threads, int threads, int budget) {
    std::unique_lock<std::mutex> lock(mutex_);
    budget = std::max(budget, threads);
    const bool needs_change = blas_threads != current_blas_;
    if (needs_change) ++waiting_for_change_;
    changed_.wait(lock, [&] {
      if (busy_threads_ == 0) return true;
      return blas_threads == current_blas_ && busy_threads_ + threads <= budget && (needs_change || waiting_for_change_ == 0);
    });
    if (needs_change) --waiting_for_change_;
    if (busy_threads_ == 0 && current_blas_ != blas_threads) {
      blas::set_threads(blas_threads);
      current_blas_ = blas_threads;
    }
    busy_threads_ += threads;
  }
  void leave(int threads) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      busy_threads_ -= threads;
    }
    changed_.notify_all();
  }
  static int hardware_threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int busy_threads_ = 0, current_blas_ = 0, waiting_for_change_ = 0;
};

// A job's place in the gate, and its product splitting, for as long as it computes (released however the
// job ends).
class GateSeat {
 public:
  GateSeat(int blas_threads, int threads, int budget, int split_threads) : threads_(threads) {
    JobGate::instance().enter(blas_threads, threads, budget);
    dense::set_split_threads(split_threads);
  }
  ~GateSeat() {
    dense::set_split_threads(1);
    JobGate::instance().leave(threads_);
  }
  GateSeat(const GateSeat&) = delete;
  GateSeat& operator=(const GateSeat&) = delete;

 private:
  int threads_;
};

// Reads ahead of the lanes on a thread of its own: the prefetch functions of the jobs in the order the
// lanes take them, as far ahead as `window` bytes of stored data beyond the next job to be taken, so the
// disk keeps reading while the lanes compute, without filling the page cache with a checkpoint that does
// not fit in memory (the lanes drop each job's pages when it is done: MatrixJob::release).
class Prefetcher {
 public:
  Prefetcher(const std::vector<MatrixJob>& jobs, const std::vector<size_t>& order, uint64_t window)
      : jobs_(jobs), order_(order), window_(window), ends_(order.size() + 1, 0) {
    for (size_t p = 0; p < order.size(); ++p) ends_[p + 1] = ends_[p] + jobs[order[p]].stored_bytes;
    thread_ = std::thread([this] { loop(); });
  }
  ~Prefetcher() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  // The lanes have taken the jobs before position `next` of the order.
  void advance(size_t next) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      next_ = std::max(next_, next);
    }
    wake_.notify_one();
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (size_t position = 0; position < order_.size(); ++position) {
      // The next job is always read; a later one when the jobs from the next one to it fit the window.
      wake_.wait(lock, [&] { return stop_ || position <= next_ || ends_[position + 1] - ends_[next_] <= window_; });
      if (stop_) return;
      const MatrixJob& job = jobs_[order_[position]];
      if (position < next_ || !job.prefetch) continue;  // a lane already reads it
      lock.unlock();
      try {
        job.prefetch();
      } catch (...) {
        // A failed prefetch only costs speed; the lane reports real read errors.
      }
      lock.lock();
    }
  }
  const std::vector<MatrixJob>& jobs_;
  const std::vector<size_t>& order_;
  const uint64_t window_;
  std::vector<uint64_t> ends_;  // ends_[p]: stored bytes of the jobs before position p of the order
  std::mutex mutex_;
  std::condition_variable wake_;
  size_t next_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

std::function<void()> prefetch_range(std::shared_ptr<const MappedFile> file, uint64_t offset, uint64_t length) {
  if (!file || !file->is_mapped() || length == 0) return {};
  return [file = std::move(file), offset, length] { file->populate(offset, length); };
}

std::function<void()> release_range(std::shared_ptr<const MappedFile> file, uint64_t offset, uint64_t length) {
  if (!file || length == 0) return {};
  return [file = std::move(file), offset, length] { file->drop_cached(offset, length); };
}

namespace {

// What the lanes of one run_engine call share.
class EngineRun {
 public:
  EngineRun(std::vector<MatrixJob>& jobs, const EngineOptions& options, const EngineCallbacks& callbacks,
            const std::atomic<bool>& cancel, int lanes, std::shared_ptr<const Backend> backend)
      : jobs_(jobs), options_(options), callbacks_(callbacks), cancel_(cancel), backend_(std::move(backend)),
        in_flight_flops_(lanes, 0.0) {
    progress_.jobs_total = jobs.size();
    for (const auto& job : jobs) progress_.bytes_total += job.stored_bytes;
    const int threads = options.threads > 0 ? options.threads : JobGate::hardware_threads();
    lane_threads_ = std::max(1, threads / lanes);
    thread_budget_ = std::max(threads, JobGate::hardware_threads());
    lane_budget_ = std::max<uint64_t>(1, options.memory_budget / uint64_t(lanes));
    // Largest first, so the lanes finish together instead of one computing the last big matrix (an
    // lm_head, say) while the others idle; results still go out in job order.
    order_.resize(jobs.size());
    for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
    std::stable_sort(order_.begin(), order_.end(), [&](size_t a, size_t b) { return jobs[a].stored_bytes > jobs[b].stored_bytes; });
    prefetcher_ = std::make_unique<Prefetcher>(jobs_, order_, config::kReadAheadBytes);
  }

  // One lane: takes the next job until none is left, the run is cancelled or another lane failed.
  void lane(int lane_index) {
    try {
      BufferCache cache(lane_budget_);
      BufferCache::Scope use_cache(cache);
      BackendScope use_backend(backend_);
      for (;;) {
        size_t i;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          if (failure_ || next_job_ >= jobs_.size()) return;
          i = order_[next_job_++];
          progress_.current = jobs_[i].name;
          prefetcher_->advance(next_job_);
        }
        if (cancel_.load()) throw Error(ErrorCode::ABORTED, "the analysis was cancelled");
        JobResult result = run_job(i, lane_index);
        if (jobs_[i].release) jobs_[i].release();
        finish(i, lane_index, std::move(result));
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!failure_) failure_ = std::current_exception();
    }
  }

  void rethrow_failure() {
    if (failure_) std::rethrow_exception(failure_);
  }

 private:
  JobResult run_job(size_t i, int lane_index) {
    MatrixJob& job = jobs_[i];
    JobResult result;
    result.index = i;
    result.name = job.name;
    RunControl control;
    control.cancel = &cancel_;
    control.threads = lane_threads_;
    control.on_progress = [&](uint64_t, double flops) {
      std::lock_guard<std::mutex> lock(mutex_);
      in_flight_flops_[lane_index] = flops;
      report(false);
    };
    // Truncated products are split by this lane's threads with BLAS single-threaded (engine.hpp); exact
    // routes leave the threads to BLAS.
    const bool truncated = options_.mode == SpectrumMode::Truncated;
    Clock::time_point start = Clock::now();
    try {
      GateSeat seat(truncated ? 1 : lane_threads_, lane_threads_, thread_budget_, truncated ? lane_threads_ : 1);
      start = Clock::now();  // the job's own time, not the wait for its seat
      std::unique_ptr<LinearOperator> op = job.make_operator();
      op->set_memory_budget(lane_budget_);
      result.rows = op->rows();
      result.cols = op->cols();
      ExactOptions exact = options_.exact;
      TruncatedOptions truncated_options = options_.truncated;
      if (job.vectors) exact.vectors = truncated_options.vectors = *job.vectors;
      result.spectrum = truncated ? truncated_spectrum(*op, truncated_options, control) : exact_spectrum(*op, exact, control);
      if (const std::optional<OperandNorms> norms = op->operand_norms(control)) {
        result.tuned_frobenius_squared = norms->tuned_squared;
        result.base_frobenius_squared = norms->base_squared;
        result.rounding_energy = op->stored_rounding_energy(control);
        result.identical_entries = norms->identical_entries;
        result.below_spacing_entries = norms->below_spacing_entries;
      }
      result.metrics = compute_metrics(result.spectrum, job.metrics_options ? job.metrics_options(*op, result.spectrum) : MetricsOptions{});
    } catch (const Error& e) {
      if (e.code() == ErrorCode::ABORTED) throw;
      result.error = e.code();
      result.error_message = e.what();
    } catch (const std::bad_alloc&) {
      result.error = ErrorCode::OUT_OF_MEMORY;
      result.error_message = "out of memory computing the spectrum of " + job.name;
    }
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    job.make_operator = nullptr;  // release what the job captured as soon as it is done
    return result;
  }

  // Records a finished job and hands every result that is next in job order to on_result.
  void finish(size_t i, int lane_index, JobResult&& result) {
    std::lock_guard<std::mutex> lock(mutex_);
    done_flops_ += in_flight_flops_[lane_index];
    in_flight_flops_[lane_index] = 0;
    progress_.jobs_done += 1;
    progress_.bytes_done += jobs_[i].stored_bytes;
    finished_.emplace(i, std::move(result));
    while (!finished_.empty() && finished_.begin()->first == next_result_) {
      if (callbacks_.on_result) callbacks_.on_result(std::move(finished_.begin()->second));
      finished_.erase(finished_.begin());
      ++next_result_;
    }
    report(true);
  }

  // Called with mutex_ held.
  void report(bool force) {
    if (!callbacks_.on_progress) return;
    Clock::time_point now = Clock::now();
    if (!force && now - last_report_ < std::chrono::milliseconds(callbacks_.progress_interval_ms)) return;
    last_report_ = now;
    progress_.flops_done = done_flops_;
    for (double f : in_flight_flops_) progress_.flops_done += f;
    callbacks_.on_progress(progress_);
  }

  std::vector<MatrixJob>& jobs_;
  const EngineOptions& options_;
  const EngineCallbacks& callbacks_;
  const std::atomic<bool>& cancel_;
  const std::shared_ptr<const Backend> backend_;
  int lane_threads_ = 1, thread_budget_ = 1;
  uint64_t lane_budget_ = 0;
  std::unique_ptr<Prefetcher> prefetcher_;  // after order_: it reads it

  std::vector<size_t> order_;  // job indices in the order lanes take them

  std::mutex mutex_;  // guards everything below
  size_t next_job_ = 0, next_result_ = 0;
  std::map<size_t, JobResult> finished_;
  EngineProgress progress_;
  double done_flops_ = 0;
  std::vector<double> in_flight_flops_;
  Clock::time_point last_report_ = Clock::now();
  std::exception_ptr failure_;
};

}  // namespace

int lane_count(const EngineOptions& options, size_t jobs) {
  const int threads = options.threads > 0 ? options.threads : JobGate::hardware_threads();
  // Each lane gets an equal share of the memory budget; by default no more lanes than leave each at
  // least kMinLaneBytes, so a typical weight matrix of a 7B–70B model stays resident in its lane.
  const uint64_t memory_lanes = std::max<uint64_t>(1, options.memory_budget / config::kMinLaneBytes);
  const size_t wanted = options.lanes > 0 ? size_t(options.lanes) : size_t(std::min<uint64_t>(uint64_t(threads), memory_lanes));
  return static_cast<int>(std::max<size_t>(1, std::min(wanted, jobs)));
}

void run_engine(std::vector<MatrixJob>& jobs, const EngineOptions& options, const EngineCallbacks& callbacks,
                const std::atomic<bool>& cancel) {
  const int lanes = lane_count(options, jobs.size());
  EngineRun run(jobs, options, callbacks, cancel, lanes, select_backend(options.backend, options.device_memory_budget));
  std::vector<std::thread> others;
  for (int lane = 1; lane < lanes; ++lane) {
    try {
      others.emplace_back([&run, lane] { run.lane(lane); });
    } catch (const std::system_error&) {
      break;  // fewer lanes than asked for: the ones running take every job
    }
  }
  run.lane(0);
  for (std::thread& t : others) t.join();
  run.rethrow_failure();
}

}  // namespace paramscope

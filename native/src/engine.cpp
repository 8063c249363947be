#include "paramscope/engine.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "paramscope/blas.hpp"
#include "paramscope/error.hpp"

namespace paramscope {

namespace {

using Clock = std::chrono::steady_clock;

// The process-wide compute lane (see engine.hpp).
std::mutex& compute_lane() {
  static std::mutex lane;
  return lane;
}

// Runs prefetch functions one at a time on a background thread, a job ahead of the compute thread.
class Prefetcher {
 public:
  Prefetcher() : thread_([this] { loop(); }) {}
  ~Prefetcher() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  void request(std::function<void()> task) {
    if (!task) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      pending_ = std::move(task);
    }
    wake_.notify_one();
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || pending_; });
      if (stop_) return;
      auto task = std::move(pending_);
      pending_ = nullptr;
      lock.unlock();
      try {
        task();
      } catch (...) {
        // A failed prefetch only costs speed; the compute thread reports real read errors.
      }
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  std::function<void()> pending_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

std::function<void()> prefetch_range(std::shared_ptr<const MappedFile> file, uint64_t offset, uint64_t length) {
  if (!file || !file->is_mapped() || length == 0) return {};
  return [file = std::move(file), offset, length] {
    file->advise_will_need(offset, length);
    const unsigned char* bytes = file->mapped_range(offset, length);
    volatile unsigned char sink = 0;
    for (uint64_t at = 0; at < length; at += 4096) sink = sink + bytes[at];
    (void)sink;
  };
}

void run_engine(std::vector<MatrixJob>& jobs, const EngineOptions& options, const EngineCallbacks& callbacks,
                const std::atomic<bool>& cancel) {
  EngineProgress progress;
  progress.jobs_total = jobs.size();
  for (const auto& job : jobs) progress.bytes_total += job.stored_bytes;
  Clock::time_point last_report = Clock::now();
  const auto interval = std::chrono::milliseconds(callbacks.progress_interval_ms);
  auto report = [&](bool force) {
    if (!callbacks.on_progress) return;
    Clock::time_point now = Clock::now();
    if (!force && now - last_report < interval) return;
    last_report = now;
    callbacks.on_progress(progress);
  };

  Prefetcher prefetcher;
  if (!jobs.empty()) prefetcher.request(jobs[0].prefetch);
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (cancel.load()) throw Error(ErrorCode::ABORTED, "the analysis was cancelled");
    MatrixJob& job = jobs[i];
    JobResult result;
    result.index = i;
    result.name = job.name;
    progress.current = job.name;
    double flops_before = progress.flops_done;
    RunControl control;
    control.cancel = &cancel;
    control.on_progress = [&](uint64_t, double flops) {
      progress.flops_done = flops_before + flops;
      report(false);
    };
    {
      std::lock_guard<std::mutex> lane(compute_lane());
      // Set per job: another engine may have run in between with a different budget.
      blas::set_threads(options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
      if (i + 1 < jobs.size()) prefetcher.request(jobs[i + 1].prefetch);
      Clock::time_point start = Clock::now();
      try {
        std::unique_ptr<LinearOperator> op = job.make_operator();
        op->set_memory_budget(options.memory_budget);
        result.rows = op->rows();
        result.cols = op->cols();
        ExactOptions exact = options.exact;
        TruncatedOptions truncated = options.truncated;
        if (job.vectors) exact.vectors = truncated.vectors = *job.vectors;
        result.spectrum = options.mode == SpectrumMode::Exact ? exact_spectrum(*op, exact, control)
                                                              : truncated_spectrum(*op, truncated, control);
        if (const auto* diff = dynamic_cast<const DiffOp*>(op.get())) {
          DiffOp::OperandNorms norms = diff->operand_norms(control);
          result.tuned_frobenius_squared = norms.tuned_squared;
          result.base_frobenius_squared = norms.base_squared;
        }
        result.metrics = compute_metrics(result.spectrum, job.metrics_options ? job.metrics_options(*op, result.spectrum) : MetricsOptions{});
      } catch (const Error& e) {
        if (e.code() == ErrorCode::ABORTED) throw;
        result.error_code = error_code_name(e.code());
        result.error_message = e.what();
      } catch (const std::bad_alloc&) {
        result.error_code = "OUT_OF_MEMORY";
        result.error_message = "out of memory computing the spectrum of " + job.name;
      }
      result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    }
    progress.jobs_done = i + 1;
    progress.bytes_done += job.stored_bytes;
    job.make_operator = nullptr;  // release what the job captured as soon as it is done
    if (callbacks.on_result) callbacks.on_result(std::move(result));
    report(true);
  }
}

}  // namespace paramscope

#pragma once
// Row blocks of a matrix shared out over a few threads: how the operators copy a whole matrix into
// memory (copy_to_f32, copy_to_f64) on all of a job's threads. Decoding and widening are memory-bound
// and a fresh destination costs a page fault per page, so one thread reading a 4096 × 11008 matrix was
// a quarter of an exact spectrum's wall time with the other core idle.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "paramscope/linop.hpp"

namespace paramscope {

inline uint64_t row_block_count(uint64_t rows, uint64_t block_rows) { return (rows + block_rows - 1) / block_rows; }

// The threads for_each_row_block runs on: `threads`, but at least one and no more than there are blocks
// (callers size their per-thread scratch with it).
inline int row_block_threads(uint64_t rows, uint64_t block_rows, int threads) {
  return static_cast<int>(std::clamp<uint64_t>(uint64_t(std::max(threads, 1)), 1, std::max<uint64_t>(row_block_count(rows, block_rows), 1)));
}

// Runs block(thread, k, r0, r1) for the blocks k = 0, 1, … of `block_rows` rows of [0, rows), on up to
// `threads` threads (the caller's included, thread 0) that take blocks in turn. `thread` names the
// caller's scratch for that thread; whatever a block sums goes into its own slot k, so adding the slots
// in block order gives the same bits for any thread count. Cancellation is polled before every block;
// only the calling thread reports progress (a panel per finished block, wherever it ran). The first
// error stops the other threads and is rethrown once all have stopped.
template <typename Block>
void for_each_row_block(uint64_t rows, uint64_t block_rows, int threads, const RunControl& control, const Block& block) {
  const uint64_t blocks = row_block_count(rows, block_rows);
  threads = row_block_threads(rows, block_rows, threads);
  std::atomic<uint64_t> next{0}, done{0};
  std::atomic<bool> stop{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  uint64_t reported = 0;
  auto work = [&](int thread) {
    try {
      for (uint64_t k; !stop.load(std::memory_order_relaxed) && (k = next.fetch_add(1)) < blocks;) {
        control.check_cancelled();
        block(thread, k, k * block_rows, std::min(rows, (k + 1) * block_rows));
        const uint64_t finished = done.fetch_add(1) + 1;
        if (thread == 0) {
          control.add_progress(finished - reported, 0);
          reported = finished;
        }
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      stop = true;
    }
  };
  std::vector<std::thread> helpers;
  for (int t = 1; t < threads; ++t) {
    try {
      helpers.emplace_back(work, t);
    } catch (const std::system_error&) {
      break;  // no thread to spare: the others take its blocks
    }
  }
  work(0);
  for (std::thread& helper : helpers) helper.join();
  if (error) std::rethrow_exception(error);
  if (done > reported) control.add_progress(done - reported, 0);
}

}  // namespace paramscope

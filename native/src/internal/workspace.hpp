#pragma once
// Reusable memory for the engine's per-job arrays. A job's resident matrix and its solver's work arrays
// take tens to hundreds of MB; mapping them fresh for every job costs a page fault per 4 KiB page (about
// 4 µs on the machines we measured) plus the kernel zeroing each page, which over the ~150 matrices of a
// 1B checkpoint adds up to seconds. An engine lane installs a BufferCache on its thread; Buffers made
// while it is installed take their pages from it and give them back when destroyed, so the next job
// reuses pages that are already mapped. Without a cache a Buffer is a plain anonymous mapping.
//
// Pages are 4 KiB, never transparent huge pages: a huge page is cheap to touch again right after the
// process freed one, but a fresh process's first ones were the slowest kind to get on the VMs we
// measured (0.4–1.4 GB/s when other processes had used the memory before, against ~3 GB/s for 4 KiB
// pages, touched on all of a job's threads by the copies that fill them). A CLI run is a fresh process
// each time: the exact spectrum of a 4096 × 11008 matrix right after a torch run took 3.0–3.4 s with
// huge pages, 2.8–3.0 s without (benchmarks/README.md).
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

namespace paramscope {

class BufferCache {
 public:
  // `limit`: bytes this cache may hold, in use and cached together, before it unmaps cached blocks.
  explicit BufferCache(size_t limit) : limit_(limit) {}
  BufferCache(const BufferCache&) = delete;
  BufferCache& operator=(const BufferCache&) = delete;
  ~BufferCache();

  // Installs `cache` for the calling thread for the lifetime of the Scope (nestable; restores the
  // previous one).
  class Scope {
   public:
    explicit Scope(BufferCache& cache);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    BufferCache* previous_;
  };

  static BufferCache* current() noexcept;

  // Pages of at least `bytes` (contents unspecified): the smallest cached block that fits, else a new
  // mapping, after unmapping the largest cached blocks until the new one fits within the limit. (The
  // engine takes its largest jobs first, so a big block serving a smaller job is rarely missed later.)
  // Throws std::bad_alloc.
  std::pair<void*, size_t> take(size_t bytes);
  void give(void* pointer, size_t bytes) noexcept;
  size_t cached_bytes() const noexcept;

 private:
  struct Block {
    void* pointer;
    size_t bytes;
  };
  void release_all() noexcept;
  size_t limit_, in_use_ = 0;
  std::vector<Block> free_;
};

// An uninitialised array of T in page-backed memory, from the thread's BufferCache when one is
// installed (and then returned to that cache, so it must not outlive it: the engine keeps Buffers inside
// a job, and a lane's cache outlives its jobs). Movable, not copyable.
template <typename T>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t count) : count_(count) {
    if (count == 0) return;
    if (count > SIZE_MAX / sizeof(T)) throw std::bad_alloc();
    cache_ = BufferCache::current();
    auto [pointer, bytes] = acquire(count * sizeof(T), cache_);
    data_ = static_cast<T*>(pointer);
    bytes_ = bytes;
  }
  Buffer(Buffer&& other) noexcept { swap(other); }
  Buffer& operator=(Buffer&& other) noexcept {
    Buffer(std::move(other)).swap(*this);
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { release(data_, bytes_, cache_); }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  size_t size() const noexcept { return count_; }
  T& operator[](size_t i) noexcept { return data_[i]; }
  const T& operator[](size_t i) const noexcept { return data_[i]; }
  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + count_; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + count_; }

 private:
  void swap(Buffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(count_, other.count_);
    std::swap(bytes_, other.bytes_);
    std::swap(cache_, other.cache_);
  }
  static std::pair<void*, size_t> acquire(size_t bytes, BufferCache* cache);
  static void release(void* pointer, size_t bytes, BufferCache* cache) noexcept;

  T* data_ = nullptr;
  size_t count_ = 0, bytes_ = 0;
  BufferCache* cache_ = nullptr;
};

namespace detail {
std::pair<void*, size_t> acquire_pages(size_t bytes, BufferCache* cache);
void release_pages(void* pointer, size_t bytes, BufferCache* cache) noexcept;
}  // namespace detail

template <typename T>
std::pair<void*, size_t> Buffer<T>::acquire(size_t bytes, BufferCache* cache) {
  return detail::acquire_pages(bytes, cache);
}
template <typename T>
void Buffer<T>::release(void* pointer, size_t bytes, BufferCache* cache) noexcept {
  detail::release_pages(pointer, bytes, cache);
}

}  // namespace paramscope

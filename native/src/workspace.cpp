#include "internal/workspace.hpp"

#include <algorithm>

#include "paramscope/mapped_file.hpp"

namespace paramscope {

namespace {
thread_local BufferCache* t_current = nullptr;

// Large blocks in whole 2 MiB, so blocks of nearly the same size serve one another.
constexpr size_t kGranule = size_t(2) << 20;
size_t rounded(size_t bytes) noexcept { return bytes <= kGranule / 2 ? bytes : (bytes + kGranule - 1) / kGranule * kGranule; }

// 4 KiB pages (workspace.hpp says why not huge ones).
std::pair<void*, size_t> map_pages(size_t bytes) {
  bytes = rounded(bytes);
  void* p = allocate_pages(bytes, false);
  if (!p) throw std::bad_alloc();
  return {p, bytes};
}
}  // namespace

BufferCache::~BufferCache() { release_all(); }

BufferCache::Scope::Scope(BufferCache& cache) : previous_(t_current) { t_current = &cache; }
BufferCache::Scope::~Scope() { t_current = previous_; }

BufferCache* BufferCache::current() noexcept { return t_current; }

std::pair<void*, size_t> BufferCache::take(size_t bytes) {
  auto best = free_.end();
  for (auto it = free_.begin(); it != free_.end(); ++it)
    if (it->bytes >= bytes && (best == free_.end() || it->bytes < best->bytes)) best = it;
  if (best != free_.end()) {
    Block block = *best;
    free_.erase(best);
    in_use_ += block.bytes;
    return {block.pointer, block.bytes};
  }
  std::sort(free_.begin(), free_.end(), [](const Block& a, const Block& b) { return a.bytes < b.bytes; });
  while (!free_.empty() && cached_bytes() + in_use_ + rounded(bytes) > limit_) {
    free_pages(free_.back().pointer, free_.back().bytes);
    free_.pop_back();
  }
  auto block = map_pages(bytes);
  in_use_ += block.second;
  return block;
}

void BufferCache::give(void* pointer, size_t bytes) noexcept {
  in_use_ -= std::min(in_use_, bytes);
  try {
    free_.push_back({pointer, bytes});
  } catch (...) {
    free_pages(pointer, bytes);
  }
}

size_t BufferCache::cached_bytes() const noexcept {
  size_t total = 0;
  for (const Block& b : free_) total += b.bytes;
  return total;
}

void BufferCache::release_all() noexcept {
  for (const Block& b : free_) free_pages(b.pointer, b.bytes);
  free_.clear();
}

namespace detail {
std::pair<void*, size_t> acquire_pages(size_t bytes, BufferCache* cache) {
  return cache ? cache->take(bytes) : map_pages(bytes);
}
void release_pages(void* pointer, size_t bytes, BufferCache* cache) noexcept {
  if (!pointer) return;
  if (cache) cache->give(pointer, bytes);
  else free_pages(pointer, bytes);
}
}  // namespace detail

}  // namespace paramscope

#pragma once
// A read-only view of one file: memory-mapped when allowed, else read with pread. Opening refuses
// anything but a regular file without blocking (a FIFO is opened non-blocking, then rejected).
// Mapped pages are private and writable (copy-on-write), so a write into mapped memory changes only the
// writer's memory, never the file, and cannot fault on a read-only page.
#include <cstdint>
#include <memory>
#include <string>

namespace paramscope {

// A private mapping of one byte range, for a zero-copy view handed to a caller: writes into it change
// only this mapping (copy-on-write), never the file nor what later reads of the file return.
class MappedView {
 public:
  MappedView(void* base, uint64_t mapped_bytes, const unsigned char* data) : base_(base), mapped_bytes_(mapped_bytes), data_(data) {}
  ~MappedView();
  MappedView(const MappedView&) = delete;
  MappedView& operator=(const MappedView&) = delete;
  unsigned char* data() const noexcept { return const_cast<unsigned char*>(data_); }

 private:
  void* base_;
  uint64_t mapped_bytes_;
  const unsigned char* data_;
};

class MappedFile {
 public:
  struct Options {
    bool use_mmap = true;
  };

  static std::shared_ptr<MappedFile> open(const std::string& path, Options options);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const noexcept { return path_; }
  uint64_t size() const noexcept { return size_; }
  bool is_mapped() const noexcept { return map_ != nullptr; }

  // Copies [offset, offset+length) into dst with pread; never touches the mapping. Throws FILE_CHANGED
  // when the file has become shorter than the range, IO_ERROR on a failed read.
  void read(uint64_t offset, uint64_t length, void* dst) const;

  // A pointer into the mapping for [offset, offset+length), after checking that the file still holds
  // the range (a page past the end of a shrunk file would raise SIGBUS). nullptr when not mapped.
  const unsigned char* mapped_range(uint64_t offset, uint64_t length) const;

  // A mapping of its own for [offset, offset+length) (see MappedView), after the same check as
  // mapped_range; nullptr when the file is not mapped or the system refuses another mapping.
  std::unique_ptr<MappedView> map_view(uint64_t offset, uint64_t length) const;

  // Throws FILE_CHANGED if the file on disk no longer has the size it had when opened.
  void check_unchanged() const;

  // Hints for the kernel's page cache around a range that is about to be streamed, or is done with.
  void advise_will_need(uint64_t offset, uint64_t length) const noexcept;
  // Reads the range into the page cache and maps it into this process now (MADV_POPULATE_READ, or a
  // read of one byte per page on kernels before 5.14), so a later pass over it takes no page faults.
  // FILE_CHANGED if the file no longer holds the range.
  void populate(uint64_t offset, uint64_t length) const;
  void advise_done(uint64_t offset, uint64_t length) const noexcept;
  // Done with the range for good: drops it from this mapping and asks the kernel to drop its pages from
  // the page cache (POSIX_FADV_DONTNEED), so a file larger than memory streams through it.
  void drop_cached(uint64_t offset, uint64_t length) const noexcept;

 private:
  MappedFile() = default;
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  unsigned char* map_ = nullptr;
};

// Anonymous page-aligned memory. With `huge_pages` (large outputs: decoded tensors) transparent huge
// pages are asked for: first-touch page faults dominate writing a fresh multi-GiB buffer in 4 KiB pages.
// nullptr when the system refuses. Release with free_pages(pointer, bytes).
void* allocate_pages(size_t bytes, bool huge_pages = true) noexcept;
void free_pages(void* pointer, size_t bytes) noexcept;

}  // namespace paramscope

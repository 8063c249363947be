// The only file with platform #ifdefs: POSIX open/fstat/mmap/pread.
#include "paramscope/mapped_file.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paramscope/error.hpp"

namespace paramscope {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path, Options options) {
  // The C library would read only up to a NUL and open another file than the one named.
  if (path.find('\0') != std::string::npos)
    throw Error(ErrorCode::INVALID_ARGUMENT, "a path holds a NUL byte (" + std::to_string(path.size()) + " bytes, NUL at " +
                                                 std::to_string(path.find('\0')) + ")", path.substr(0, path.find('\0')));
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR)
      throw Error(ErrorCode::FILE_NOT_FOUND, "no such file: " + path, path);
    throw Error(ErrorCode::IO_ERROR, "cannot stat " + path + ": " + errno_text(err), path);
  }
  if (!S_ISREG(st.st_mode))
    throw Error(ErrorCode::NOT_A_REGULAR_FILE, path + " is " + file_kind(st.st_mode) + ", not a safetensors file", path);

  // O_NONBLOCK: if the path was swapped for a FIFO after the stat above, open must not wait for a
  // writer. The fstat below is the authoritative check on what was actually opened.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    throw Error(ErrorCode::IO_ERROR, "cannot open " + path + ": " + errno_text(err), path);
  }
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->fd_ = fd;
  file->path_ = path;
  if (::fstat(fd, &st) != 0) throw Error(ErrorCode::IO_ERROR, "cannot stat " + path + ": " + errno_text(errno), path);
  if (!S_ISREG(st.st_mode))
    throw Error(ErrorCode::NOT_A_REGULAR_FILE, path + " is " + file_kind(st.st_mode) + ", not a safetensors file", path);
  file->size_ = static_cast<uint64_t>(st.st_size);

  if (options.use_mmap && file->size_ > 0) {
    void* map = ::mmap(nullptr, file->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    // A failed map is not fatal: pread serves every range, only zero-copy views are lost.
    if (map != MAP_FAILED) file->map_ = static_cast<unsigned char*>(map);
  }
  return file;
}

MappedFile::~MappedFile() {
  if (map_) ::munmap(map_, size_);
  if (fd_ >= 0) ::close(fd_);
}

void MappedFile::check_unchanged() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw Error(ErrorCode::IO_ERROR, "cannot stat " + path_ + ": " + errno_text(errno), path_);
  if (static_cast<uint64_t>(st.st_size) != size_)
    throw Error(ErrorCode::FILE_CHANGED,
                path_ + " changed size while open (" + std::to_string(size_) + " bytes when opened, " +
                    std::to_string(st.st_size) + " now); reopen it",
                path_);
}

void MappedFile::read(uint64_t offset, uint64_t length, void* dst) const {
  auto* out = static_cast<unsigned char*>(dst);
  uint64_t done = 0;
  while (done < length) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(length - done, 1ULL << 30));
    ssize_t got = ::pread(fd_, out + done, chunk, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::IO_ERROR, "read of " + path_ + " failed: " + errno_text(errno), path_);
    }
    if (got == 0)
      throw Error(ErrorCode::FILE_CHANGED,
                  path_ + " ended at byte " + std::to_string(offset + done) + " while reading bytes " +
                      std::to_string(offset) + ".." + std::to_string(offset + length) +
                      " (the file was truncated after it was opened)",
                  path_);
    done += static_cast<uint64_t>(got);
  }
}

const unsigned char* MappedFile::mapped_range(uint64_t offset, uint64_t length) const {
  if (!map_) return nullptr;
  if (offset > size_ || length > size_ - offset)
    throw Error(ErrorCode::INTERNAL, "range outside " + path_, path_);
  check_unchanged();
  return map_ + offset;
}

std::unique_ptr<MappedView> MappedFile::map_view(uint64_t offset, uint64_t length) const {
  if (!mapped_range(offset, length) || length == 0) return nullptr;
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t start = offset - offset % page, bytes = length + (offset - start);
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd_, static_cast<off_t>(start));
  if (base == MAP_FAILED) return nullptr;
  return std::make_unique<MappedView>(base, bytes, static_cast<const unsigned char*>(base) + (offset - start));
}

MappedView::~MappedView() { ::munmap(base_, mapped_bytes_); }

void MappedFile::advise_will_need(uint64_t offset, uint64_t length) const noexcept {
  if (!map_ || length == 0) return;
  long page = ::sysconf(_SC_PAGESIZE);
  uint64_t start = offset - offset % static_cast<uint64_t>(page);
  ::madvise(map_ + start, length + (offset - start), MADV_WILLNEED);
}

void MappedFile::populate(uint64_t offset, uint64_t length) const {
  if (!map_ || length == 0) return;
  const unsigned char* bytes = mapped_range(offset, length);  // FILE_CHANGED if the file shrank
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t start = offset - offset % page;
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
  // A syscall, so a page that vanished since the check above fails with EFAULT instead of SIGBUS.
  if (::madvise(map_ + start, length + (offset - start), MADV_POPULATE_READ) == 0 || errno != EINVAL) return;
  ::madvise(map_ + start, length + (offset - start), MADV_WILLNEED);  // kernels before 5.14
  volatile unsigned char sink = 0;
  for (uint64_t at = 0; at < length; at += page) sink = sink + bytes[at];
  (void)sink;
}

void MappedFile::advise_done(uint64_t offset, uint64_t length) const noexcept {
  if (!map_ || length == 0) return;
  // Private mappings: MADV_DONTNEED drops only untouched (clean) pages from our mapping; the page
  // cache keeps them. This keeps resident memory bounded when streaming through a large checkpoint.
  long page = ::sysconf(_SC_PAGESIZE);
  uint64_t start = (offset + page - 1) / page * page, end = (offset + length) / page * page;
  if (end > start) ::madvise(map_ + start, end - start, MADV_DONTNEED);
}

void MappedFile::drop_cached(uint64_t offset, uint64_t length) const noexcept {
  if (length == 0) return;
  advise_done(offset, length);
  ::posix_fadvise(fd_, static_cast<off_t>(offset), static_cast<off_t>(length), POSIX_FADV_DONTNEED);
}

void* allocate_pages(size_t bytes, bool huge_pages) noexcept {
  if (bytes == 0) return nullptr;
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
#ifdef MADV_HUGEPAGE
  if (huge_pages) ::madvise(p, bytes, MADV_HUGEPAGE);
#else
  (void)huge_pages;
#endif
  return p;
}

void free_pages(void* pointer, size_t bytes) noexcept {
  if (pointer) ::munmap(pointer, bytes);
}

}  // namespace paramscope

#pragma once
// One safetensors file: its header parsed and validated against every rule of SAFETENSORS.md section 2
// before any tensor byte is touched, then typed access to tensor bytes.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "paramscope/dtype.hpp"
#include "paramscope/mapped_file.hpp"

namespace paramscope {

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<uint64_t> shape;
  uint64_t numel = 0;
  uint64_t begin = 0;  // offsets relative to the data buffer, END exclusive
  uint64_t end = 0;
  uint64_t byte_size() const noexcept { return end - begin; }
};

struct SafetensorsHeader {
  uint64_t header_length = 0;  // N
  uint64_t data_start = 0;     // 8 + N
  std::vector<TensorInfo> tensors;  // in header order
  std::vector<std::pair<std::string, std::string>> metadata;
};

// Validates a header given its raw bytes and the size of the file it came from (rules 4 to 11; rules 1
// to 3 are checked by SafetensorsFile::open before the header bytes are read).
SafetensorsHeader parse_safetensors_header(std::string_view header_bytes, uint64_t file_size,
                                           const std::string& file);

class SafetensorsFile {
 public:
  static std::shared_ptr<SafetensorsFile> open(const std::string& path, MappedFile::Options options);

  const std::string& path() const noexcept { return file_->path(); }
  const SafetensorsHeader& header() const noexcept { return header_; }
  const MappedFile& file() const noexcept { return *file_; }
  std::shared_ptr<MappedFile> shared_file() const noexcept { return file_; }
  const TensorInfo* find(std::string_view name) const noexcept;

  // Absolute file offset of a tensor's first byte.
  uint64_t absolute_offset(const TensorInfo& t) const noexcept { return header_.data_start + t.begin; }

 private:
  std::shared_ptr<MappedFile> file_;
  SafetensorsHeader header_;
  std::vector<size_t> by_name_;  // indices into header_.tensors sorted by name
};

}  // namespace paramscope

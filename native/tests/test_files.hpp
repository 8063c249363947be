#pragma once
// Writing small safetensors files for the ctest programs: the bytes of a file, a header entry, and a
// temporary directory that is removed at exit.
#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

namespace test_files {

namespace fs = std::filesystem;

// A safetensors file's bytes: the 8-byte little-endian N (the header's length unless given), header, data.
inline std::string file_bytes(const std::string& header, const std::string& data = "", uint64_t n = UINT64_MAX) {
  if (n == UINT64_MAX) n = header.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return out + header + data;
}

// One header entry: "name":{"dtype":...,"shape":...,"data_offsets":[begin,end]}.
inline std::string entry(const std::string& name, const std::string& dtype, const std::string& shape, uint64_t begin, uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(end) + "]}";
}

inline std::string f32_bytes(std::initializer_list<float> values) {
  std::string out(values.size() * 4, '\0');
  size_t i = 0;
  for (float v : values) std::memcpy(&out[4 * i++], &v, 4);
  return out;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "paramscope-ctest-XXXXXX").string();
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (!mkdtemp(buffer.data())) std::abort();
    path_ = buffer.data();
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string write(const std::string& name, const std::string& bytes) const {
    std::string p = (fs::path(path_) / name).string();
    std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p;
  }
  std::string path(const std::string& name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

inline const TempDir& temp() {
  static TempDir dir;
  return dir;
}


struct TensorBytes {
  std::string name, dtype, shape;  // shape as JSON, e.g. "[2,3]"
  std::string bytes;
};

// A whole valid file holding `tensors` in order, contiguous.
inline std::string safetensors_file(const std::vector<TensorBytes>& tensors) {
  std::string header = "{", data;
  for (const auto& t : tensors) {
    header += (header.size() > 1 ? "," : "") + entry(t.name, t.dtype, t.shape, data.size(), data.size() + t.bytes.size());
    data += t.bytes;
  }
  return file_bytes(header + "}", data);
}

}  // namespace test_files

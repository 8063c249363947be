#pragma once
// A checkpoint as one name -> tensor map, whatever its files: a single .safetensors file, a directory
// of shards, or a *.safetensors.index.json with the consistency checks of SAFETENSORS.md section 3.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "paramscope/safetensors.hpp"

namespace paramscope {

enum class CheckpointKind { File, Directory, Index };

struct CheckpointTensor {
  const TensorInfo* info;
  uint32_t shard;  // index into Checkpoint::shards()
};

// A range of leading-dimension rows; the whole tensor when `all` is set.
struct RowRange {
  bool all = true;
  uint64_t begin = 0, end = 0;
};

class Checkpoint {
 public:
  struct Options {
    bool use_mmap = true;
    // Shards found through a directory or an index may be symbolic links. By default a link must lead
    // to a file inside the checkpoint's directory, or, for a Hugging Face cache snapshot
    // (…/snapshots/<revision>/), inside that repository's blobs/ (LINK_OUTSIDE_CHECKPOINT otherwise);
    // true follows links anywhere. The path passed to open() itself is always followed.
    bool follow_links = false;
  };

  static std::shared_ptr<Checkpoint> open(const std::string& path, Options options);

  const std::string& path() const noexcept { return path_; }
  CheckpointKind kind() const noexcept { return kind_; }
  const std::vector<std::shared_ptr<SafetensorsFile>>& shards() const noexcept { return shards_; }
  const std::vector<CheckpointTensor>& tensors() const noexcept { return tensors_; }
  const std::vector<std::string>& warnings() const noexcept { return warnings_; }
  // The index file's "metadata" object as JSON text ("" for checkpoints without an index).
  const std::string& index_metadata_json() const noexcept { return index_metadata_json_; }

  // Throws TENSOR_NOT_FOUND naming the checkpoint and the closest names.
  const CheckpointTensor& get(std::string_view name) const;
  const CheckpointTensor* find(std::string_view name) const noexcept;

  // Bytes [first, last) of a tensor's row range, validated (SLICE_OUT_OF_RANGE).
  struct ByteRange {
    uint64_t offset;  // absolute file offset
    uint64_t length;
    uint64_t numel;
  };
  ByteRange byte_range(const CheckpointTensor& t, RowRange rows) const;

  // Decodes a tensor's rows to f32 (UNSUPPORTED_DTYPE for formats without a decoder). Returns the
  // number of NaN/Inf values. dst must hold byte_range(t, rows).numel floats.
  size_t read_f32(const CheckpointTensor& t, RowRange rows, float* dst) const;
  // Copies the stored bytes of a tensor's rows into dst.
  void read_raw(const CheckpointTensor& t, RowRange rows, void* dst) const;
  // The stored bytes [offset, offset + length) of a tensor (offset counted from its first byte): a
  // pointer into the mapping (after the size re-check), or, for an unmapped file, a copy read into
  // `staging`. SLICE_OUT_OF_RANGE when the range is not inside the tensor.
  const unsigned char* tensor_bytes(const CheckpointTensor& t, uint64_t offset, uint64_t length, std::vector<unsigned char>& staging) const;

 private:
  void add_shard(std::shared_ptr<SafetensorsFile> shard);
  void open_index(const std::string& index_path, Options options);
  // Opens a shard found in `directory` (a directory entry, or a name from an index), after the link rule.
  void add_listed_shard(const std::filesystem::path& directory, const std::string& name, Options options, const std::string& listed_by);

  std::string path_;
  CheckpointKind kind_ = CheckpointKind::File;
  std::vector<std::shared_ptr<SafetensorsFile>> shards_;
  std::vector<CheckpointTensor> tensors_;
  std::unordered_map<std::string_view, size_t> by_name_;
  std::vector<std::string> warnings_;
  std::string index_metadata_json_;
};

}  // namespace paramscope

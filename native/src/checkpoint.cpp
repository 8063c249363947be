#include "paramscope/checkpoint.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <unordered_set>

#include "paramscope/config.hpp"
#include "paramscope/error.hpp"
#include "internal/json.hpp"

namespace fs = std::filesystem;

namespace paramscope {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string read_small_file(const std::string& path, uint64_t limit, ErrorCode too_large_code) {
  auto file = MappedFile::open(path, {.use_mmap = false});
  if (file->size() > limit)
    throw Error(too_large_code, path + " is " + std::to_string(file->size()) + " bytes, above the limit of " + std::to_string(limit), path);
  std::string text(static_cast<size_t>(file->size()), '\0');
  file->read(0, file->size(), text.data());
  return text;
}

// Serialises a parsed JSON value back to text (for handing the index metadata to JS unchanged).
void write_json(const json::Value& v, std::string& out) {
  auto quote = [&](const std::string& s) {
    out += '"';
    for (char c : s) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
          } else {
            out += c;
          }
      }
    }
    out += '"';
  };
  switch (v.kind) {
    case json::Kind::Null: out += "null"; break;
    case json::Kind::Bool: out += v.boolean ? "true" : "false"; break;
    case json::Kind::Number: out += v.number_text; break;
    case json::Kind::String: quote(v.string); break;
    case json::Kind::Array:
      out += '[';
      for (size_t i = 0; i < v.items.size(); ++i) { if (i) out += ','; write_json(v.items[i], out); }
      out += ']';
      break;
    case json::Kind::Object:
      out += '{';
      for (size_t i = 0; i < v.members.size(); ++i) {
        if (i) out += ',';
        quote(v.members[i].first);
        out += ':';
        write_json(v.members[i].second, out);
      }
      out += '}';
      break;
  }
}

// Where a listed shard may lead when it is a symbolic link: inside the checkpoint's own directory, or
// for a Hugging Face cache snapshot (<repo>/snapshots/<revision>/) inside <repo>/blobs/, where the
// cache keeps the files its snapshots link to.
bool link_target_allowed(const fs::path& directory, const fs::path& target) {
  std::error_code ec;
  // An index named without a directory ("model.safetensors.index.json") lists shards in the working one.
  const fs::path root = fs::weakly_canonical(directory.empty() ? fs::path(".") : directory, ec);
  if (ec) return false;
  auto inside = [&](const fs::path& dir) {
    const std::string d = dir.lexically_normal().string(), t = target.lexically_normal().string();
    return !d.empty() && t.size() > d.size() && t.compare(0, d.size(), d) == 0 && (d.back() == '/' || t[d.size()] == '/');
  };
  if (inside(root)) return true;
  return root.parent_path().filename() == "snapshots" && inside(root.parent_path().parent_path() / "blobs");
}

// A weight_map value names a file at or below the index's directory: relative, without "..".
void check_shard_name(const std::string& index_path, const std::string& tensor, const std::string& name) {
  std::string why;
  if (name.empty()) why = "is empty";
  else if (name.find('\0') != std::string::npos) why = "holds a NUL byte";
  else if (fs::path(name).is_absolute()) why = "is an absolute path, which lies outside the index's directory";
  else
    for (const auto& part : fs::path(name))
      if (part == "..") why = "climbs with \"..\" and lies outside the index's directory";
  if (!why.empty())
    throw Error(ErrorCode::INDEX_INVALID, index_path + ": the shard named for \"" + tensor + "\" " + why, index_path, tensor);
}

}  // namespace

void Checkpoint::add_listed_shard(const fs::path& directory, const std::string& name, Options options, const std::string& listed_by) {
  const fs::path shard = directory / name;
  std::error_code ec;
  // Every component is resolved, so a directory link inside the checkpoint (up -> ..) cannot carry a
  // name out of it either.
  if (!options.follow_links) {
    const fs::path target = fs::weakly_canonical(shard, ec);
    if (ec || !link_target_allowed(directory, target))
      throw Error(ErrorCode::LINK_OUTSIDE_CHECKPOINT,
                  shard.string() + " (listed by " + listed_by + ") leads through a symbolic link to a file outside the checkpoint's "
                  "directory; open it with openCheckpoint's followLinks option if that is intended",
                  shard.string());
  }
  add_shard(SafetensorsFile::open(shard.string(), {.use_mmap = options.use_mmap}));
}

std::shared_ptr<Checkpoint> Checkpoint::open(const std::string& path, Options options) {
  if (path.find('\0') != std::string::npos)
    throw Error(ErrorCode::INVALID_ARGUMENT, "a checkpoint path holds a NUL byte (at byte " + std::to_string(path.find('\0')) + ")",
                path.substr(0, path.find('\0')));
  auto ckpt = std::make_shared<Checkpoint>();
  ckpt->path_ = path;
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw Error(ErrorCode::FILE_NOT_FOUND, "no such checkpoint: " + path, path);

  if (fs::is_directory(status)) {
    ckpt->kind_ = CheckpointKind::Directory;
    std::vector<std::string> files, indexes;
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      std::string name = entry.path().filename().string();
      if (ends_with(name, ".safetensors.index.json")) indexes.push_back(entry.path().string());
      else if (ends_with(name, ".safetensors")) files.push_back(name);
    }
    if (ec) throw Error(ErrorCode::IO_ERROR, "cannot list " + path + ": " + ec.message(), path);
    if (indexes.size() > 1) {
      std::sort(indexes.begin(), indexes.end());
      throw Error(ErrorCode::INDEX_INVALID, path + " holds several index files (" + indexes[0] + ", " + indexes[1] + "); open one of them directly", path);
    }
    if (indexes.size() == 1) {
      // The index found in the directory obeys the rule of the shards it lists: it may be a link into
      // the directory (or a Hugging Face cache's blobs/), not to a file anywhere.
      if (!options.follow_links) {
        const fs::path target = fs::weakly_canonical(indexes[0], ec);
        if (ec || !link_target_allowed(path, target))
          throw Error(ErrorCode::LINK_OUTSIDE_CHECKPOINT,
                      indexes[0] + " (the index of the directory " + path + ") leads through a symbolic link to a file outside the "
                      "checkpoint's directory; open it with openCheckpoint's followLinks option if that is intended",
                      indexes[0]);
      }
      ckpt->kind_ = CheckpointKind::Index;
      ckpt->open_index(indexes[0], options);
      return ckpt;
    }
    if (files.empty()) throw Error(ErrorCode::EMPTY_CHECKPOINT, path + " holds no .safetensors file", path);
    std::sort(files.begin(), files.end());
    for (const auto& file : files) ckpt->add_listed_shard(path, file, options, "the directory " + path);
    return ckpt;
  }
  if (ends_with(path, ".json")) {
    ckpt->kind_ = CheckpointKind::Index;
    ckpt->open_index(path, options);
    return ckpt;
  }
  ckpt->kind_ = CheckpointKind::File;
  ckpt->add_shard(SafetensorsFile::open(path, {.use_mmap = options.use_mmap}));
  return ckpt;
}

void Checkpoint::add_shard(std::shared_ptr<SafetensorsFile> shard) {
  uint32_t shard_index = static_cast<uint32_t>(shards_.size());
  for (const auto& info : shard->header().tensors) {
    auto [it, inserted] = by_name_.emplace(std::string_view(info.name), tensors_.size());
    if (!inserted) {
      const auto& other = shards_[tensors_[it->second].shard]->path();
      throw Error(ErrorCode::DUPLICATE_TENSOR,
                  "tensor \"" + info.name + "\" appears in two shards: " + other + " and " + shard->path(),
                  shard->path(), info.name);
    }
    tensors_.push_back({&info, shard_index});
  }
  shards_.push_back(std::move(shard));
}

void Checkpoint::open_index(const std::string& index_path, Options options) {
  path_ = index_path;
  std::string text = read_small_file(index_path, config::kMaxIndexBytes, ErrorCode::INDEX_INVALID);
  size_t bad = json::find_invalid_utf8(text);
  if (bad != std::string::npos)
    throw Error(ErrorCode::INDEX_INVALID, index_path + " is not valid UTF-8 (byte " + std::to_string(bad) + ")", index_path);
  json::Value root = json::parse(text, ErrorCode::INDEX_INVALID, index_path);
  const json::Value* weight_map = root.kind == json::Kind::Object ? root.find("weight_map") : nullptr;
  if (!weight_map || weight_map->kind != json::Kind::Object)
    throw Error(ErrorCode::INDEX_INVALID, index_path + " has no \"weight_map\" object", index_path);
  if (const json::Value* metadata = root.find("metadata")) write_json(*metadata, index_metadata_json_);

  // Shards in order of first mention, each opened once.
  fs::path dir = fs::path(index_path).parent_path();
  std::vector<std::string> shard_names;
  std::unordered_map<std::string, uint32_t> shard_of;
  for (const auto& [name, value] : weight_map->members) {
    if (value.kind != json::Kind::String)
      throw Error(ErrorCode::INDEX_INVALID, index_path + ": weight_map entry \"" + name + "\" must name a shard file, got " + value.describe(), index_path, name);
    check_shard_name(index_path, name, value.string);
    if (shard_of.emplace(value.string, static_cast<uint32_t>(shard_names.size())).second) shard_names.push_back(value.string);
  }
  for (const auto& shard_name : shard_names) {
    std::string shard_path = (dir / shard_name).string();
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(shard_path, ec)))
      throw Error(ErrorCode::SHARD_MISSING, index_path + " names shard " + shard_name + ", which does not exist", shard_path);
    add_listed_shard(dir, shard_name, options, index_path);
  }
  // Every mapped name must be in the shard the index says.
  for (const auto& [name, value] : weight_map->members) {
    const CheckpointTensor* t = find(name);
    uint32_t expected = shard_of[value.string];
    if (!t || t->shard != expected)
      throw Error(ErrorCode::INDEX_TENSOR_MISSING,
                  index_path + " maps \"" + name + "\" to " + value.string + ", which does not hold it" +
                      (t ? " (it is in " + shards_[t->shard]->path() + ")" : ""),
                  (dir / value.string).string(), name);
  }
  // Report, without failing, what the index does not mention.
  if (tensors_.size() != weight_map->members.size()) {
    // A hash set, not weight_map->find (a linear scan): an index of a million names against shards
    // holding one tensor more would otherwise take 10^12 comparisons.
    std::unordered_set<std::string_view> listed_names;
    listed_names.reserve(weight_map->members.size());
    for (const auto& member : weight_map->members) listed_names.insert(member.first);
    // The first few by name, then a count: one warning per tensor of a huge shard would be a flood.
    constexpr size_t kNamedUnlisted = 20;
    size_t unlisted = 0;
    for (const auto& t : tensors_)
      if (!listed_names.count(t.info->name) && ++unlisted <= kNamedUnlisted)
        warnings_.push_back("tensor \"" + t.info->name + "\" in " + shards_[t.shard]->path() + " is not listed in the index");
    if (unlisted > kNamedUnlisted)
      warnings_.push_back("... and " + std::to_string(unlisted - kNamedUnlisted) + " more tensors that the index " + index_path + " does not list");
  }
  std::error_code ec;
  std::set<std::string> listed(shard_names.begin(), shard_names.end());
  for (const auto& entry : fs::directory_iterator(dir.empty() ? fs::path(".") : dir, ec)) {
    std::string name = entry.path().filename().string();
    if (ends_with(name, ".safetensors") && !listed.count(name))
      warnings_.push_back("shard " + entry.path().string() + " is not mentioned by the index " + index_path);
  }
  if (const json::Value* metadata = root.find("metadata")) {
    const json::Value* total = metadata->kind == json::Kind::Object ? metadata->find("total_size") : nullptr;
    if (total && total->kind == json::Kind::Number && total->is_uint && !total->uint_overflow) {
      uint64_t sum = 0;
      for (const auto& t : tensors_) sum += t.info->byte_size();
      if (sum != total->uint_value)
        warnings_.push_back("index metadata.total_size is " + std::to_string(total->uint_value) + " but the tensors hold " + std::to_string(sum) + " bytes");
    }
  }
}

const CheckpointTensor* Checkpoint::find(std::string_view name) const noexcept {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

const CheckpointTensor& Checkpoint::get(std::string_view name) const {
  if (const auto* t = find(name)) return *t;
  // Suggest names sharing the longest suffix: a prefix mismatch ("model." vs none) is the usual cause.
  std::string hint;
  size_t best = 0;
  for (const auto& t : tensors_) {
    const std::string& candidate = t.info->name;
    size_t k = 0;
    while (k < candidate.size() && k < name.size() && candidate[candidate.size() - 1 - k] == name[name.size() - 1 - k]) ++k;
    if (k > best) { best = k; hint = candidate; }
  }
  std::string message = "no tensor \"" + std::string(name) + "\" in " + path_ + " (" + std::to_string(tensors_.size()) + " tensors)";
  if (best >= 4) message += "; did you mean \"" + hint + "\"?";
  throw Error(ErrorCode::TENSOR_NOT_FOUND, message, path_, std::string(name));
}

Checkpoint::ByteRange Checkpoint::byte_range(const CheckpointTensor& t, RowRange rows) const {
  const SafetensorsFile& shard = *shards_[t.shard];
  const TensorInfo& info = *t.info;
  uint64_t offset = shard.absolute_offset(info);
  if (rows.all) return {offset, info.byte_size(), info.numel};
  if (info.shape.empty())
    throw Error(ErrorCode::SLICE_OUT_OF_RANGE, "tensor \"" + info.name + "\" in " + shard.path() + " is a scalar and has no rows", shard.path(), info.name);
  uint64_t n_rows = info.shape[0];
  if (rows.begin > rows.end || rows.end > n_rows)
    throw Error(ErrorCode::SLICE_OUT_OF_RANGE,
                "rows [" + std::to_string(rows.begin) + ", " + std::to_string(rows.end) + ") are outside tensor \"" + info.name + "\" in " + shard.path() + " with " + std::to_string(n_rows) + " rows",
                shard.path(), info.name);
  uint64_t row_numel = n_rows ? info.numel / n_rows : 0;
  // Sub-byte dtypes (F4, F6): a row must start on a byte boundary to be addressed at all. The product
  // cannot overflow: numel x bits of the whole tensor was checked when the header was read.
  uint64_t row_bits = row_numel * dtype_info(info.dtype).bits;
  if (row_bits % 8 != 0)
    throw Error(ErrorCode::UNSUPPORTED_DTYPE,
                "rows of tensor \"" + info.name + "\" in " + shard.path() + " (" + std::string(dtype_info(info.dtype).name) + ", " + std::to_string(row_numel) + " elements per row) do not start on byte boundaries; read the whole tensor",
                shard.path(), info.name);
  uint64_t row_bytes = row_bits / 8;
  return {offset + rows.begin * row_bytes, (rows.end - rows.begin) * row_bytes, (rows.end - rows.begin) * row_numel};
}

void Checkpoint::read_raw(const CheckpointTensor& t, RowRange rows, void* dst) const {
  ByteRange range = byte_range(t, rows);
  // The same size re-check as the mapped path, so both paths refuse a file that changed (FILE_CHANGED).
  shards_[t.shard]->file().check_unchanged();
  shards_[t.shard]->file().read(range.offset, range.length, dst);
}

const unsigned char* Checkpoint::tensor_bytes(const CheckpointTensor& t, uint64_t offset, uint64_t length,
                                              std::vector<unsigned char>& staging) const {
  const SafetensorsFile& shard = *shards_[t.shard];
  const TensorInfo& info = *t.info;
  if (offset > info.byte_size() || length > info.byte_size() - offset)
    throw Error(ErrorCode::SLICE_OUT_OF_RANGE,
                "bytes [" + std::to_string(offset) + ", " + std::to_string(offset + length) + ") are outside tensor \"" + info.name + "\" in " +
                    shard.path() + " of " + std::to_string(info.byte_size()) + " bytes",
                shard.path(), info.name);
  const uint64_t absolute = shard.absolute_offset(info) + offset;
  if (const unsigned char* mapped = shard.file().mapped_range(absolute, length)) return mapped;
  staging.resize(length);
  if (length) shard.file().read(absolute, length, staging.data());
  return staging.data();
}

size_t Checkpoint::read_f32(const CheckpointTensor& t, RowRange rows, float* dst) const {
  const TensorInfo& info = *t.info;
  const DTypeInfo& dt = dtype_info(info.dtype);
  const SafetensorsFile& shard = *shards_[t.shard];
  if (!dt.decodable)
    throw Error(ErrorCode::UNSUPPORTED_DTYPE, "tensor \"" + info.name + "\" in " + shard.path() + " has dtype " + std::string(dt.name) + ", which paramscope cannot decode to f32", shard.path(), info.name);
  ByteRange range = byte_range(t, rows);
  if (range.numel == 0) return 0;
  const size_t element_bytes = dt.bits / 8;
  if (const unsigned char* mapped = shard.file().mapped_range(range.offset, range.length))
    return decode_to_f32(info.dtype, mapped, range.numel, dst);
  // pread path: decode through a bounded staging buffer, after the size re-check the mapped path does.
  shard.file().check_unchanged();
  constexpr uint64_t kChunkElements = 1 << 20;
  std::vector<unsigned char> staging(std::min<uint64_t>(range.numel, kChunkElements) * element_bytes);
  size_t non_finite = 0;
  for (uint64_t done = 0; done < range.numel; done += kChunkElements) {
    uint64_t count = std::min<uint64_t>(kChunkElements, range.numel - done);
    shard.file().read(range.offset + done * element_bytes, count * element_bytes, staging.data());
    non_finite += decode_to_f32(info.dtype, staging.data(), count, dst + done);
  }
  return non_finite;
}

}  // namespace paramscope

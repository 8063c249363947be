#include "paramscope/safetensors.hpp"

#include <algorithm>

#include "paramscope/config.hpp"
#include "paramscope/error.hpp"
#include "internal/json.hpp"

namespace paramscope {

namespace {

std::string shape_text(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

[[noreturn]] void fail(ErrorCode code, const std::string& file, const std::string& tensor, const std::string& what) {
  std::string where = tensor.empty() ? file : file + ": tensor \"" + tensor + "\"";
  throw Error(code, where + ": " + what, file, tensor);
}

// Reads a JSON array of non-negative 64-bit integers; `field` names it in messages.
std::vector<uint64_t> uint_array(const json::Value& v, ErrorCode code, const std::string& field,
                                 const std::string& file, const std::string& tensor) {
  if (v.kind != json::Kind::Array) fail(code, file, tensor, field + " must be an array of integers, got " + v.describe());
  std::vector<uint64_t> out;
  out.reserve(v.items.size());
  for (const auto& item : v.items) {
    if (item.kind != json::Kind::Number || !item.is_uint)
      fail(code, file, tensor, field + " must hold non-negative integers, got " + item.describe());
    if (item.uint_overflow) fail(ErrorCode::SIZE_OVERFLOW, file, tensor, field + " value " + item.number_text + " does not fit in 64 bits");
    out.push_back(item.uint_value);
  }
  return out;
}

TensorInfo parse_entry(const std::string& name, const json::Value& entry, const std::string& file) {
  if (name.empty()) fail(ErrorCode::INVALID_TENSOR_NAME, file, name, "a tensor has an empty name");
  if (entry.kind != json::Kind::Object)
    fail(ErrorCode::HEADER_INVALID_ENTRY, file, name, "entry must be an object with dtype, shape and data_offsets, got " + entry.describe());
  const json::Value* dtype = entry.find("dtype");
  const json::Value* shape = entry.find("shape");
  const json::Value* offsets = entry.find("data_offsets");
  if (!dtype || !shape || !offsets)
    fail(ErrorCode::HEADER_INVALID_ENTRY, file, name,
         std::string("missing field \"") + (!dtype ? "dtype" : !shape ? "shape" : "data_offsets") + "\"");
  if (dtype->kind != json::Kind::String)
    fail(ErrorCode::HEADER_INVALID_ENTRY, file, name, "dtype must be a string, got " + dtype->describe());
  auto parsed_dtype = dtype_from_name(dtype->string);
  if (!parsed_dtype) fail(ErrorCode::UNKNOWN_DTYPE, file, name, "unknown dtype " + dtype->describe());

  TensorInfo t;
  t.name = name;
  t.dtype = *parsed_dtype;
  t.shape = uint_array(*shape, ErrorCode::INVALID_SHAPE, "shape", file, name);
  std::vector<uint64_t> range = uint_array(*offsets, ErrorCode::INVALID_OFFSETS, "data_offsets", file, name);
  if (range.size() != 2)
    fail(ErrorCode::INVALID_OFFSETS, file, name, "data_offsets must hold exactly 2 integers, got " + std::to_string(range.size()));
  t.begin = range[0];
  t.end = range[1];
  if (t.end < t.begin)
    fail(ErrorCode::OFFSETS_NOT_CONTIGUOUS, file, name,
         "data_offsets end " + std::to_string(t.end) + " is before begin " + std::to_string(t.begin));

  // Rule 9: count and bits computed with overflow checks (bits, because sub-byte dtypes exist).
  uint64_t numel = 1;
  for (uint64_t dim : t.shape)
    if (__builtin_mul_overflow(numel, dim, &numel))
      fail(ErrorCode::SIZE_OVERFLOW, file, name, "element count of shape " + shape_text(t.shape) + " overflows 64 bits");
  t.numel = numel;
  uint64_t bits;
  if (__builtin_mul_overflow(numel, uint64_t(dtype_info(t.dtype).bits), &bits))
    fail(ErrorCode::SIZE_OVERFLOW, file, name, "byte size of shape " + shape_text(t.shape) + " overflows 64 bits");
  // Rule 10.
  if (bits % 8 != 0)
    fail(ErrorCode::TENSOR_SIZE_MISMATCH, file, name,
         std::to_string(numel) + " elements of " + std::string(dtype_info(t.dtype).name) + " are not a whole number of bytes");
  if (t.end - t.begin != bits / 8)
    fail(ErrorCode::TENSOR_SIZE_MISMATCH, file, name,
         "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "] span " +
             std::to_string(t.end - t.begin) + " bytes but shape " + shape_text(t.shape) + " of " +
             std::string(dtype_info(t.dtype).name) + " needs " + std::to_string(bits / 8));
  return t;
}

}  // namespace

SafetensorsHeader parse_safetensors_header(std::string_view bytes, uint64_t file_size, const std::string& file) {
  // Rule 3, for callers that pass a header without going through SafetensorsFile::open.
  if (file_size < 8 || file_size - 8 < bytes.size())
    fail(ErrorCode::HEADER_OUT_OF_BOUNDS, file, "", "header length " + std::to_string(bytes.size()) + " runs past the end of the " + std::to_string(file_size) + "-byte file");
  // Rule 4.
  size_t bad = json::find_invalid_utf8(bytes);
  if (bad != std::string_view::npos)
    fail(ErrorCode::HEADER_NOT_UTF8, file, "", "header is not valid UTF-8 (first bad byte at header offset " + std::to_string(bad) + ")");
  // Rules 5 and 6 (syntax, duplicate keys).
  json::Value root = json::parse(bytes, ErrorCode::HEADER_INVALID_JSON, ErrorCode::HEADER_TOO_LARGE, file);
  if (root.kind != json::Kind::Object)
    fail(ErrorCode::HEADER_INVALID_JSON, file, "", "header must be a JSON object, got " + root.describe());

  SafetensorsHeader header;
  header.header_length = bytes.size();
  header.data_start = 8 + bytes.size();
  for (const auto& [name, value] : root.members) {
    if (name == "__metadata__") {
      // MLX writes "__metadata__": null when there is none; the reference reader reads null as absent.
      if (value.kind == json::Kind::Null) continue;
      // Rule 7: a tensor entry under the reserved name, rather than a string map. A string map is
      // metadata whatever its keys ("dtype" and "shape" are fine metadata keys).
      bool string_map = value.kind == json::Kind::Object &&
                        std::all_of(value.members.begin(), value.members.end(),
                                    [](const auto& member) { return member.second.kind == json::Kind::String; });
      if (!string_map && value.kind == json::Kind::Object &&
          (value.find("data_offsets") || value.find("dtype")) && value.find("shape"))
        fail(ErrorCode::INVALID_TENSOR_NAME, file, name, "a tensor may not be named __metadata__");
      if (value.kind != json::Kind::Object)
        fail(ErrorCode::INVALID_METADATA, file, "", "__metadata__ must be an object of strings, got " + value.describe());
      for (const auto& [key, item] : value.members) {
        if (item.kind != json::Kind::String)
          fail(ErrorCode::INVALID_METADATA, file, "", "__metadata__ value of \"" + key + "\" must be a string, got " + item.describe());
        header.metadata.emplace_back(key, item.string);
      }
      continue;
    }
    header.tensors.push_back(parse_entry(name, value, file));
  }

  // Rule 8: sorted by begin, ranges tile the buffer exactly. Zero-sized tensors may share an offset
  // with a neighbour (begin == end == previous end).
  std::vector<const TensorInfo*> order;
  order.reserve(header.tensors.size());
  for (const auto& t : header.tensors) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expected = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo* t : order) {
    if (t->begin != expected) {
      std::string what = t->begin > expected
          ? "data_offsets begin at " + std::to_string(t->begin) + " but the previous tensor ends at " + std::to_string(expected) + " (gap of " + std::to_string(t->begin - expected) + " bytes)"
          : "data_offsets [" + std::to_string(t->begin) + ", " + std::to_string(t->end) + "] overlap the previous tensor" + (previous ? " \"" + previous->name + "\"" : std::string()) + " ending at " + std::to_string(expected);
      fail(ErrorCode::OFFSETS_NOT_CONTIGUOUS, file, t->name, what);
    }
    expected = t->end;
    previous = t;
  }
  // Rule 11.
  uint64_t data_size = file_size - header.data_start;  // file_size >= data_start checked by rule 3
  if (expected != data_size)
    fail(ErrorCode::FILE_SIZE_MISMATCH, file, "",
         expected < data_size
             ? "the data buffer holds " + std::to_string(data_size) + " bytes but tensors cover only " + std::to_string(expected) + " (" + std::to_string(data_size - expected) + " trailing bytes)"
             : "tensors need " + std::to_string(expected) + " data bytes but the file holds " + std::to_string(data_size) + " (the file is truncated)");
  return header;
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path, MappedFile::Options options) {
  auto result = std::make_shared<SafetensorsFile>();
  result->file_ = MappedFile::open(path, options);
  const MappedFile& f = *result->file_;
  uint64_t size = f.size();
  // Rule 1.
  if (size < 8) fail(ErrorCode::FILE_TOO_SMALL, path, "", "file is " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  unsigned char prefix[8];
  f.read(0, 8, prefix);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | prefix[i];
  // Rule 2.
  if (n > config::kMaxHeaderBytes)
    // The value is not shown: a file that is not safetensors at all (a text file, a key) would have its
    // first 8 bytes echoed as a number.
    fail(ErrorCode::HEADER_TOO_LARGE, path, "", "the first 8 bytes, read as the header length, exceed the limit of " +
         std::to_string(config::kMaxHeaderBytes) + " bytes: not a safetensors file, or a corrupt one");
  // Rule 3 (n is bounded above, so 8 + n cannot overflow).
  if (8 + n > size)
    fail(ErrorCode::HEADER_OUT_OF_BOUNDS, path, "", "header length " + std::to_string(n) + " runs past the end of the " + std::to_string(size) + "-byte file");
  std::string header_bytes(static_cast<size_t>(n), '\0');
  f.read(8, n, header_bytes.data());
  result->header_ = parse_safetensors_header(header_bytes, size, path);
  auto& tensors = result->header_.tensors;
  result->by_name_.resize(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) result->by_name_[i] = i;
  std::sort(result->by_name_.begin(), result->by_name_.end(),
            [&](size_t a, size_t b) { return tensors[a].name < tensors[b].name; });
  return result;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const noexcept {
  const auto& tensors = header_.tensors;
  auto it = std::lower_bound(by_name_.begin(), by_name_.end(), name,
                             [&](size_t i, std::string_view key) { return tensors[i].name < key; });
  if (it == by_name_.end() || tensors[*it].name != name) return nullptr;
  return &tensors[*it];
}

}  // namespace paramscope

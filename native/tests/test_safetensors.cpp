// Format attacks on the core: one CHECK_THROWS_CODE per rule of SAFETENSORS.md section 2 through
// parse_safetensors_header (in memory) and SafetensorsFile::open (temporary files, mmap and pread),
// the accepted edge cases, and files that change after they were opened. The JSON parser has its own
// program (test_json.cpp), checkpoints of several files theirs (test_checkpoint.cpp).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "paramscope/checkpoint.hpp"
#include "paramscope/config.hpp"
#include "paramscope/safetensors.hpp"
#include "test_files.hpp"
#include "test_support.hpp"

using namespace paramscope;
using namespace test_files;
namespace fs = std::filesystem;

namespace {

// Parses a header as if it sat in a file with `data_bytes` bytes of data after it.
SafetensorsHeader parse(const std::string& header, uint64_t data_bytes = 0) {
  return parse_safetensors_header(header, 8 + header.size() + data_bytes, "mem.safetensors");
}

// The tensor an Error names, or "" when it did not throw a paramscope::Error.
template <typename F>
std::string thrown_tensor(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.tensor();
  }
  return "<nothing thrown>";
}

const MappedFile::Options kMmap{true};
const MappedFile::Options kPread{false};

}  // namespace

// ---- Rules 1 to 3: through SafetensorsFile::open on real files ---------------------------------------

TEST_CASE(rule1_file_shorter_than_8_bytes) {
  for (auto options : {kMmap, kPread}) {
    CHECK_THROWS_CODE(SafetensorsFile::open(temp().write("r1a.safetensors", ""), options), FILE_TOO_SMALL);
    CHECK_THROWS_CODE(SafetensorsFile::open(temp().write("r1b.safetensors", std::string(7, '\0')), options), FILE_TOO_SMALL);
  }
}

TEST_CASE(rule2_header_length_too_large) {
  std::string body = "{}";
  for (auto options : {kMmap, kPread}) {
    CHECK_THROWS_CODE(SafetensorsFile::open(temp().write("r2a.safetensors", file_bytes(body, "", 100'000'001ULL)), options), HEADER_TOO_LARGE);
    CHECK_THROWS_CODE(SafetensorsFile::open(temp().write("r2b.safetensors", file_bytes(body, "", UINT64_MAX - 1)), options), HEADER_TOO_LARGE);
    CHECK_THROWS_CODE(SafetensorsFile::open(temp().write("r2c.safetensors", file_bytes(body, "", 1ULL << 63)), options), HEADER_TOO_LARGE);
  }
}

TEST_CASE(rule3_header_past_end_of_file) {
  for (auto options : {kMmap, kPread}) {
    CHECK_THROWS_CODE(SafetensorsFile::open(temp().write("r3a.safetensors", file_bytes("{}", "", 3)), options), HEADER_OUT_OF_BOUNDS);
    CHECK_THROWS_CODE(SafetensorsFile::open(temp().write("r3b.safetensors", file_bytes("", "", 100'000'000ULL)), options), HEADER_OUT_OF_BOUNDS);
  }
  // The in-memory entry point checks it too rather than computing a negative data size.
  CHECK_THROWS_CODE(parse_safetensors_header("{}", 9, "mem"), HEADER_OUT_OF_BOUNDS);
  CHECK_THROWS_CODE(parse_safetensors_header("{}", 0, "mem"), HEADER_OUT_OF_BOUNDS);
}

// ---- Rules 4 to 11: parse_safetensors_header on in-memory headers -------------------------------------

TEST_CASE(rule4_header_not_utf8) {
  CHECK_THROWS_CODE(parse("{\"\xff\":{}}"), HEADER_NOT_UTF8);
  CHECK_THROWS_CODE(parse("{\"\xc0\xaf\":{}}"), HEADER_NOT_UTF8);          // overlong "/"
  CHECK_THROWS_CODE(parse("{\"\xed\xa0\x80\":{}}"), HEADER_NOT_UTF8);      // encoded surrogate
  CHECK_THROWS_CODE(parse("{\"\xf4\x90\x80\x80\":{}}"), HEADER_NOT_UTF8);  // above U+10FFFF
  CHECK_THROWS_CODE(parse("{}\xe2\x82"), HEADER_NOT_UTF8);                 // cut sequence
}

TEST_CASE(rule5_not_a_json_object_of_the_right_shape) {
  CHECK_THROWS_CODE(parse(""), HEADER_INVALID_JSON);
  CHECK_THROWS_CODE(parse("   "), HEADER_INVALID_JSON);
  CHECK_THROWS_CODE(parse("{"), HEADER_INVALID_JSON);
  CHECK_THROWS_CODE(parse("[]"), HEADER_INVALID_JSON);
  CHECK_THROWS_CODE(parse("null"), HEADER_INVALID_JSON);
  CHECK_THROWS_CODE(parse("{} x"), HEADER_INVALID_JSON);
  CHECK_THROWS_CODE(parse(std::string("{}\0", 3)), HEADER_INVALID_JSON);
  CHECK_THROWS_CODE(parse("{" + entry("a", "F128", "[1]", 0, 4) + "}", 4), UNKNOWN_DTYPE);
  CHECK_THROWS_CODE(parse("{" + entry("a", "f32", "[1]", 0, 4) + "}", 4), UNKNOWN_DTYPE);
  CHECK_THROWS_CODE(parse("{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4), HEADER_INVALID_ENTRY);
  CHECK_THROWS_CODE(parse("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), HEADER_INVALID_ENTRY);
  CHECK_THROWS_CODE(parse("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), HEADER_INVALID_ENTRY);
  CHECK_THROWS_CODE(parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), HEADER_INVALID_ENTRY);
  CHECK_THROWS_CODE(parse("{\"a\":[0,4]}", 4), HEADER_INVALID_ENTRY);
  CHECK_THROWS_CODE(parse("{" + entry("a", "F32", "[-1]", 0, 4) + "}", 4), INVALID_SHAPE);
  CHECK_THROWS_CODE(parse("{" + entry("a", "F32", "[1.0]", 0, 4) + "}", 4), INVALID_SHAPE);
  CHECK_THROWS_CODE(parse("{" + entry("a", "F32", "[1e0]", 0, 4) + "}", 4), INVALID_SHAPE);
  CHECK_THROWS_CODE(parse("{" + entry("a", "F32", "\"1\"", 0, 4) + "}", 4), INVALID_SHAPE);
  CHECK_THROWS_CODE(parse("{" + entry("a", "F32", "{}", 0, 4) + "}", 4), INVALID_SHAPE);
  CHECK_THROWS_CODE(parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4), INVALID_OFFSETS);
  CHECK_THROWS_CODE(parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,4]}}", 4), INVALID_OFFSETS);
  CHECK_THROWS_CODE(parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4), INVALID_OFFSETS);
  CHECK_THROWS_CODE(parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.0]}}", 4), INVALID_OFFSETS);
  CHECK_THROWS_CODE(parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":\"0-4\"}}", 4), INVALID_OFFSETS);
  CHECK_THROWS_CODE(parse("{\"__metadata__\":{\"epoch\":3}}"), INVALID_METADATA);
  CHECK_THROWS_CODE(parse("{\"__metadata__\":{\"a\":{\"b\":\"c\"}}}"), INVALID_METADATA);
  CHECK_THROWS_CODE(parse("{\"__metadata__\":[]}"), INVALID_METADATA);
  CHECK_THROWS_CODE(parse("{\"__metadata__\":\"pt\"}"), INVALID_METADATA);
  CHECK_THROWS_CODE(parse("{\"__metadata__\":{\"a\":null}}"), INVALID_METADATA);
  // Each entry error names the tensor.
  CHECK(thrown_tensor([] { parse("{" + entry("w.1", "F32", "[-1]", 0, 4) + "}", 4); }) == "w.1");
}

TEST_CASE(rule6_duplicate_keys_are_reported_as_such) {
  const std::string a = entry("a", "F32", "[1]", 0, 4);
  CHECK_THROWS_CODE(parse("{" + a + "," + a + "}", 4), DUPLICATE_KEY);
  // The case the reference reader misreports as a bad offset: both ranges would tile the buffer.
  CHECK_THROWS_CODE(parse("{" + a + "," + entry("a", "F32", "[1]", 4, 8) + "}", 8), DUPLICATE_KEY);
  CHECK_THROWS_CODE(parse("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), DUPLICATE_KEY);
  CHECK_THROWS_CODE(parse("{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}}"), DUPLICATE_KEY);
  CHECK_THROWS_CODE(parse("{\"__metadata__\":{},\"__metadata__\":{}}"), DUPLICATE_KEY);
  CHECK_THROWS_CODE(parse("{" + a + ",\"\\u0061\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), DUPLICATE_KEY);
  // The error names the tensor: the key itself at the top level, the enclosing entry inside one.
  CHECK(thrown_tensor([&] { parse("{" + a + "," + a + "}", 4); }) == "a");
  CHECK(thrown_tensor([] { parse("{\"w\":{\"shape\":[1],\"shape\":[1],\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4); }) == "w");
}

TEST_CASE(rule7_reserved_and_empty_names) {
  CHECK_THROWS_CODE(parse("{" + entry("", "F32", "[1]", 0, 4) + "}", 4), INVALID_TENSOR_NAME);
  CHECK_THROWS_CODE(parse("{" + entry("__metadata__", "F32", "[1]", 0, 4) + "}", 4), INVALID_TENSOR_NAME);
  // A string map stays metadata whatever its keys; null metadata (MLX) is absent metadata.
  SafetensorsHeader h = parse("{\"__metadata__\":{\"dtype\":\"F32\",\"shape\":\"[1]\",\"data_offsets\":\"[0,4]\"}}");
  CHECK(h.metadata.size() == 3 && h.tensors.empty());
  h = parse("{\"__metadata__\":null," + entry("a", "F32", "[1]", 0, 4) + "}", 4);
  CHECK(h.metadata.empty() && h.tensors.size() == 1);
}

TEST_CASE(rule8_ranges_tile_the_buffer) {
  CHECK_THROWS_CODE(parse("{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 8, 12) + "}", 12), OFFSETS_NOT_CONTIGUOUS);
  CHECK_THROWS_CODE(parse("{" + entry("a", "F32", "[1]", 4, 8) + "}", 8), OFFSETS_NOT_CONTIGUOUS);
  CHECK_THROWS_CODE(parse("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[1]", 4, 8) + "}", 8), OFFSETS_NOT_CONTIGUOUS);
  CHECK_THROWS_CODE(parse("{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 0, 4) + "}", 4), OFFSETS_NOT_CONTIGUOUS);
  CHECK_THROWS_CODE(parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4), OFFSETS_NOT_CONTIGUOUS);
  CHECK_THROWS_CODE(parse("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("z", "F32", "[0]", 4, 4) + "}", 8), OFFSETS_NOT_CONTIGUOUS);
  CHECK(thrown_tensor([] { parse("{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 8, 12) + "}", 12); }) == "b");
}

TEST_CASE(rule9_sizes_that_overflow_64_bits) {
  CHECK_THROWS_CODE(parse("{" + entry("a", "U8", "[4294967296,4294967296]", 0, 4) + "}", 4), SIZE_OVERFLOW);
  CHECK_THROWS_CODE(parse("{" + entry("a", "F64", "[2305843009213693952]", 0, 4) + "}", 4), SIZE_OVERFLOW);
  CHECK_THROWS_CODE(parse("{" + entry("a", "F32", "[18446744073709551616]", 0, 4) + "}", 4), SIZE_OVERFLOW);
  CHECK_THROWS_CODE(parse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999999]}}", 4), SIZE_OVERFLOW);
}

TEST_CASE(rule10_byte_span_matches_shape_and_dtype) {
  CHECK_THROWS_CODE(parse("{" + entry("a", "F32", "[2]", 0, 4) + "}", 4), TENSOR_SIZE_MISMATCH);
  CHECK_THROWS_CODE(parse("{" + entry("a", "BF16", "[2]", 0, 8) + "}", 8), TENSOR_SIZE_MISMATCH);
  CHECK_THROWS_CODE(parse("{" + entry("a", "F32", "[]", 0, 8) + "}", 8), TENSOR_SIZE_MISMATCH);
  CHECK_THROWS_CODE(parse("{" + entry("q", "F4", "[3]", 0, 2) + "}", 2), TENSOR_SIZE_MISMATCH);
  CHECK_THROWS_CODE(parse("{" + entry("q", "F6_E3M2", "[3]", 0, 3) + "}", 3), TENSOR_SIZE_MISMATCH);
  SafetensorsHeader h = parse("{" + entry("q", "F4", "[2,2]", 0, 2) + "," + entry("r", "F6_E2M3", "[4]", 2, 5) + "}", 5);
  CHECK(h.tensors.size() == 2 && h.tensors[1].byte_size() == 3);
}

TEST_CASE(rule11_data_ends_at_end_of_file) {
  const std::string header = "{" + entry("a", "F32", "[1]", 0, 4) + "}";
  CHECK_THROWS_CODE(parse(header, 5), FILE_SIZE_MISMATCH);
  CHECK_THROWS_CODE(parse(header, 3), FILE_SIZE_MISMATCH);
  CHECK_THROWS_CODE(parse(header, 0), FILE_SIZE_MISMATCH);
  CHECK_THROWS_CODE(parse("{}", 1), FILE_SIZE_MISMATCH);
}

TEST_CASE(rule12_unknown_names_and_slices_out_of_range) {
  const std::string path = temp().write("r12.safetensors",
      file_bytes("{" + entry("m", "F32", "[2,2]", 0, 16) + "," + entry("s", "F32", "[]", 16, 20) + "," + entry("q", "F4", "[2,3]", 20, 23) + "}",
                 f32_bytes({1, 2, 3, 4, 5}) + std::string("\x21\x43\x65", 3)));
  for (bool mmap : {true, false}) {
    auto ckpt = Checkpoint::open(path, {.use_mmap = mmap});
    CHECK_THROWS_CODE(ckpt->get("nope"), TENSOR_NOT_FOUND);
    const CheckpointTensor& m = ckpt->get("m");
    CHECK_THROWS_CODE(ckpt->byte_range(m, {false, 0, 3}), SLICE_OUT_OF_RANGE);
    CHECK_THROWS_CODE(ckpt->byte_range(m, {false, 2, 1}), SLICE_OUT_OF_RANGE);
    CHECK_THROWS_CODE(ckpt->byte_range(ckpt->get("s"), {false, 0, 1}), SLICE_OUT_OF_RANGE);
    // Rows of 3 F4 values are 12 bits: not addressable.
    CHECK_THROWS_CODE(ckpt->byte_range(ckpt->get("q"), {false, 1, 2}), UNSUPPORTED_DTYPE);
    float out[4] = {};
    CHECK_THROWS_CODE(ckpt->read_f32(ckpt->get("q"), {}, out), UNSUPPORTED_DTYPE);
    auto rows = ckpt->byte_range(m, {false, 1, 2});
    CHECK(rows.length == 8 && rows.numel == 2);
    CHECK(ckpt->read_f32(m, {false, 1, 2}, out) == 0);
    CHECK(out[0] == 3.0f && out[1] == 4.0f);
  }
}

// ---- Accepted edge cases ----------------------------------------------------------------------------

TEST_CASE(accepted_edge_cases) {
  CHECK(parse("{}").tensors.empty());
  CHECK(parse("  {}      ").tensors.empty());
  SafetensorsHeader h = parse("{" + entry("z", "F32", "[2,0]", 0, 0) + "," + entry("a", "F32", "[1]", 0, 4) + "," + entry("y", "I64", "[0]", 4, 4) + "}", 4);
  CHECK(h.tensors.size() == 3 && h.tensors[0].numel == 0 && h.tensors[1].numel == 1);
  h = parse("{" + entry("s", "F64", "[]", 0, 8) + "}", 8);
  CHECK(h.tensors[0].shape.empty() && h.tensors[0].numel == 1);
  h = parse("{\"b\":{\"data_offsets\":[4,8],\"shape\":[1],\"dtype\":\"F32\"},\"a\":{\"shape\":[1],\"data_offsets\":[0,4],\"dtype\":\"F32\"}}", 8);
  CHECK(h.tensors[0].name == "b" && h.tensors[0].begin == 4);
  h = parse("{\"__metadata__\":{\"format\":\"pt\"}}");
  CHECK(h.metadata.size() == 1 && h.metadata[0].second == "pt");
}

TEST_CASE(open_reads_unaligned_data_in_both_modes) {
  // N = 13: the data buffer starts at byte 21.
  std::string header = "{" + entry("w", "F32", "[3]", 0, 12) + "}";
  while ((8 + header.size()) % 4 != 1) header += ' ';
  const std::string path = temp().write("unaligned.safetensors", file_bytes(header, f32_bytes({0.5f, -1.0f, 2.0f})));
  for (bool mmap : {true, false}) {
    auto ckpt = Checkpoint::open(path, {.use_mmap = mmap});
    float out[3] = {};
    CHECK(ckpt->read_f32(ckpt->get("w"), {}, out) == 0);
    CHECK(out[0] == 0.5f && out[1] == -1.0f && out[2] == 2.0f);
  }
}

// ---- Files that are not regular, missing, or change after opening ---------------------------------------

TEST_CASE(non_regular_and_missing_files) {
  const std::string fifo = temp().path("pipe.safetensors");
  CHECK(mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_CODE(SafetensorsFile::open(fifo, kMmap), NOT_A_REGULAR_FILE);
  CHECK_THROWS_CODE(SafetensorsFile::open(fifo, kPread), NOT_A_REGULAR_FILE);
  CHECK_THROWS_CODE(SafetensorsFile::open("/dev/zero", kPread), NOT_A_REGULAR_FILE);
  fs::create_directories(temp().path("adir.safetensors"));
  CHECK_THROWS_CODE(SafetensorsFile::open(temp().path("adir.safetensors"), kMmap), NOT_A_REGULAR_FILE);
  CHECK_THROWS_CODE(SafetensorsFile::open(temp().path("missing.safetensors"), kMmap), FILE_NOT_FOUND);
  CHECK_THROWS_CODE(Checkpoint::open(temp().path("missing.safetensors"), {}), FILE_NOT_FOUND);
}

TEST_CASE(truncation_and_growth_after_open_are_file_changed) {
  const std::string bytes = file_bytes("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 8, 16) + "}", f32_bytes({1, 2, 3, 4}));
  for (bool mmap : {true, false}) {
    const std::string path = temp().write("change.safetensors", bytes);
    auto ckpt = Checkpoint::open(path, {.use_mmap = mmap});
    float out[2] = {};
    char raw[8] = {};
    CHECK(truncate(path.c_str(), static_cast<off_t>(bytes.size() - 2)) == 0);
    CHECK_THROWS_CODE(ckpt->read_f32(ckpt->get("b"), {}, out), FILE_CHANGED);
    CHECK_THROWS_CODE(ckpt->read_raw(ckpt->get("b"), {}, raw), FILE_CHANGED);
    // Also a tensor the shorter file still holds: the size re-check comes before any byte is read.
    CHECK_THROWS_CODE(ckpt->read_f32(ckpt->get("a"), {}, out), FILE_CHANGED);
    CHECK_THROWS_CODE(ckpt->read_raw(ckpt->get("a"), {}, raw), FILE_CHANGED);
    CHECK_THROWS_CODE(ckpt->shards()[0]->file().check_unchanged(), FILE_CHANGED);
    if (mmap) CHECK_THROWS_CODE(ckpt->shards()[0]->file().mapped_range(24, 4), FILE_CHANGED);
    // pread past the new end reports the truncation, never a short buffer.
    CHECK_THROWS_CODE(ckpt->shards()[0]->file().read(bytes.size() - 8, 8, raw), FILE_CHANGED);
    std::ofstream(path, std::ios::binary | std::ios::app).write("xxxxxx", 6);
    CHECK_THROWS_CODE(ckpt->read_f32(ckpt->get("a"), {}, out), FILE_CHANGED);
  }
}

TEST_MAIN()

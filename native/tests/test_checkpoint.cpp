// Checkpoints of several files (SAFETENSORS.md section 3): a directory of shards, an index.json with
// every consistency check, the warnings for what an index leaves out, row ranges, and the hint for a
// tensor name that is not there.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "paramscope/checkpoint.hpp"
#include "paramscope/mapped_file.hpp"
#include "test_files.hpp"
#include "test_support.hpp"

using namespace paramscope;
using namespace test_files;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the test's temporary one.
std::string directory(const std::string& name) {
  const std::string dir = temp().path(name);
  fs::create_directories(dir);
  return dir;
}

void write_to(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

const Checkpoint::Options kOptions{};

// Two shards: a.weight [2,2] and b.weight [3] in the first, c.weight [1,2] in the second.
std::string two_shards(const std::string& name) {
  const std::string dir = directory(name);
  write_to(dir + "/model-00001-of-00002.safetensors",
           safetensors_file({{"a.weight", "F32", "[2,2]", f32_bytes({1, 2, 3, 4})}, {"b.weight", "F32", "[3]", f32_bytes({5, 6, 7})}}));
  write_to(dir + "/model-00002-of-00002.safetensors", safetensors_file({{"c.weight", "F32", "[1,2]", f32_bytes({8, 9})}}));
  return dir;
}

void write_index(const std::string& dir, const std::string& weight_map, const std::string& extra = "") {
  write_to(dir + "/model.safetensors.index.json", "{" + extra + "\"weight_map\":{" + weight_map + "}}");
}

const std::string kGoodMap =
    "\"a.weight\":\"model-00001-of-00002.safetensors\",\"b.weight\":\"model-00001-of-00002.safetensors\","
    "\"c.weight\":\"model-00002-of-00002.safetensors\"";

}  // namespace

TEST_CASE(a_directory_of_shards_is_one_map_in_file_order) {
  const std::string dir = two_shards("plain");
  auto ckpt = Checkpoint::open(dir, kOptions);
  CHECK(ckpt->kind() == CheckpointKind::Directory);
  CHECK(ckpt->shards().size() == 2 && ckpt->tensors().size() == 3);
  CHECK(ckpt->tensors()[2].info->name == "c.weight" && ckpt->tensors()[2].shard == 1);
  float c[2] = {0, 0};
  ckpt->read_f32(ckpt->get("c.weight"), {}, c);
  CHECK(c[0] == 8 && c[1] == 9);
  CHECK(ckpt->warnings().empty());
}

TEST_CASE(a_tensor_in_two_shards_is_refused) {
  const std::string dir = two_shards("duplicate");
  write_to(dir + "/extra.safetensors", safetensors_file({{"b.weight", "F32", "[1]", f32_bytes({1})}}));
  CHECK_THROWS_CODE(Checkpoint::open(dir, kOptions), DUPLICATE_TENSOR);
}

TEST_CASE(an_empty_directory_and_a_missing_path) {
  CHECK_THROWS_CODE(Checkpoint::open(directory("empty"), kOptions), EMPTY_CHECKPOINT);
  CHECK_THROWS_CODE(Checkpoint::open(temp().path("nothing-here"), kOptions), FILE_NOT_FOUND);
}

TEST_CASE(an_index_maps_names_to_their_shards) {
  const std::string dir = two_shards("indexed");
  write_index(dir, kGoodMap, "\"metadata\":{\"total_size\":36},");
  for (const std::string& path : {dir, dir + "/model.safetensors.index.json"}) {
    auto ckpt = Checkpoint::open(path, kOptions);
    CHECK(ckpt->kind() == CheckpointKind::Index);
    CHECK(ckpt->tensors().size() == 3);
    CHECK(ckpt->index_metadata_json() == "{\"total_size\":36}");
    CHECK(ckpt->warnings().empty());
  }
}

TEST_CASE(index_inconsistencies_have_their_codes) {
  const std::string dir = two_shards("broken-index");
  write_index(dir, kGoodMap + ",\"d.weight\":\"model-00003-of-00003.safetensors\"");
  CHECK_THROWS_CODE(Checkpoint::open(dir, kOptions), SHARD_MISSING);
  write_index(dir, "\"a.weight\":\"model-00002-of-00002.safetensors\"");
  CHECK_THROWS_CODE(Checkpoint::open(dir, kOptions), INDEX_TENSOR_MISSING);
  for (const char* escape : {"\"a.weight\":\"../outside.safetensors\"", "\"a.weight\":\"/etc/passwd\"", "\"a.weight\":\"\"",
                             "\"a.weight\":7"}) {
    write_index(dir, escape);
    CHECK_THROWS_CODE(Checkpoint::open(dir, kOptions), INDEX_INVALID);
  }
  write_to(dir + "/model.safetensors.index.json", "{\"metadata\":{}}");
  CHECK_THROWS_CODE(Checkpoint::open(dir, kOptions), INDEX_INVALID);
  write_to(dir + "/model.safetensors.index.json", "{\"weight_map\":{\"a\":\"x\",\"a\":\"y\"}}");
  CHECK_THROWS_CODE(Checkpoint::open(dir, kOptions), DUPLICATE_KEY);
  write_index(dir, kGoodMap);
  write_to(dir + "/second.safetensors.index.json", "{\"weight_map\":{}}");
  CHECK_THROWS_CODE(Checkpoint::open(dir, kOptions), INDEX_INVALID);  // which of two indexes?
}

TEST_CASE(what_an_index_leaves_out_is_a_warning) {
  const std::string dir = two_shards("partial-index");
  write_index(dir, "\"a.weight\":\"model-00001-of-00002.safetensors\"", "\"metadata\":{\"total_size\":1},");
  write_to(dir + "/stray.safetensors", safetensors_file({{"z", "F32", "[1]", f32_bytes({1})}}));
  auto ckpt = Checkpoint::open(dir + "/model.safetensors.index.json", kOptions);
  // b.weight is unlisted; model-00002 and stray are unmentioned shards; total_size is wrong.
  CHECK(ckpt->tensors().size() == 2);
  CHECK(ckpt->warnings().size() == 4);
}

TEST_CASE(row_ranges_and_missing_names) {
  auto ckpt = Checkpoint::open(two_shards("rows"), kOptions);
  float row[2] = {0, 0};
  ckpt->read_f32(ckpt->get("a.weight"), RowRange{false, 1, 2}, row);
  CHECK(row[0] == 3 && row[1] == 4);
  CHECK(ckpt->byte_range(ckpt->get("a.weight"), RowRange{false, 1, 2}).length == 8);
  CHECK_THROWS_CODE(ckpt->byte_range(ckpt->get("a.weight"), RowRange{false, 1, 3}), SLICE_OUT_OF_RANGE);
  CHECK_THROWS_CODE(ckpt->byte_range(ckpt->get("a.weight"), RowRange{false, 2, 1}), SLICE_OUT_OF_RANGE);
  CHECK_THROWS_CODE(ckpt->get("model.a.weight"), TENSOR_NOT_FOUND);
  try {
    ckpt->get("model.a.weight");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("did you mean \"a.weight\"") != std::string::npos);
    CHECK(e.tensor() == "model.a.weight");
  }
}

TEST_CASE(listed_shards_that_are_links_must_stay_inside_the_checkpoint) {
  // A Hugging Face cache: snapshots/<revision>/ holds links into ../../blobs/.
  const std::string repo = directory("models--org--name");
  fs::create_directories(repo + "/blobs");
  fs::create_directories(repo + "/snapshots/abc123");
  write_to(repo + "/blobs/0123", safetensors_file({{"a.weight", "F32", "[2]", f32_bytes({1, 2})}}));
  fs::create_symlink("../../blobs/0123", repo + "/snapshots/abc123/model.safetensors");
  auto cached = Checkpoint::open(repo + "/snapshots/abc123", kOptions);
  CHECK(cached->tensors().size() == 1);
  write_index(repo + "/snapshots/abc123", "\"a.weight\":\"model.safetensors\"");
  CHECK(Checkpoint::open(repo + "/snapshots/abc123", kOptions)->tensors().size() == 1);

  // A link to a file elsewhere, by directory listing and by index, is refused unless asked for.
  const std::string elsewhere = directory("elsewhere");
  write_to(elsewhere + "/secret.safetensors", safetensors_file({{"secret", "F32", "[1]", f32_bytes({42})}}));
  const std::string dir = directory("links-out");
  fs::create_symlink(elsewhere + "/secret.safetensors", dir + "/model.safetensors");
  CHECK_THROWS_CODE(Checkpoint::open(dir, kOptions), LINK_OUTSIDE_CHECKPOINT);
  write_index(dir, "\"secret\":\"model.safetensors\"");
  CHECK_THROWS_CODE(Checkpoint::open(dir, kOptions), LINK_OUTSIDE_CHECKPOINT);
  Checkpoint::Options follow;
  follow.follow_links = true;
  CHECK(Checkpoint::open(dir, follow)->tensors().size() == 1);
  // The path given to open() itself is the caller's choice and is followed.
  CHECK(Checkpoint::open(dir + "/model.safetensors", kOptions)->tensors().size() == 1);

  // A directory link inside the checkpoint cannot carry an index entry out of it; a real subdirectory can
  // hold shards.
  const std::string up = directory("links-up");
  fs::create_directory_symlink("..", up + "/up");
  write_index(up, "\"secret\":\"up/elsewhere/secret.safetensors\"");
  CHECK_THROWS_CODE(Checkpoint::open(up, kOptions), LINK_OUTSIDE_CHECKPOINT);
  fs::create_directories(up + "/shards");
  write_to(up + "/shards/x.safetensors", safetensors_file({{"x", "F32", "[1]", f32_bytes({1})}}));
  write_index(up, "\"x\":\"shards/x.safetensors\"");
  CHECK(Checkpoint::open(up, kOptions)->tensors().size() == 1);
  write_index(up, "\"secret\":\"model\\u0000.safetensors\"");
  CHECK_THROWS_CODE(Checkpoint::open(up, kOptions), INDEX_INVALID);
}

TEST_CASE(a_path_with_a_nul_byte_is_refused_not_truncated) {
  const std::string dir = two_shards("nul");
  CHECK_THROWS_CODE(Checkpoint::open(dir + std::string("\0/ignored", 9), kOptions), INVALID_ARGUMENT);
  CHECK_THROWS_CODE(MappedFile::open(dir + "/model-00001-of-00002.safetensors" + std::string("\0x", 2), {}), INVALID_ARGUMENT);
}

TEST_CASE(a_file_that_is_not_safetensors_is_not_echoed) {
  // The first 8 bytes of a text file as a header length: the message must not show them as a number.
  const std::string path = temp().write("passwd", "root:x:0:0:root:/root:/bin/bash\n");
  try {
    Checkpoint::open(path, kOptions);
    CHECK(false);
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::HEADER_TOO_LARGE);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>("root:x:0"[i]);
    CHECK(std::string(e.what()).find(std::to_string(n)) == std::string::npos);
    CHECK(std::string(e.what()).find("root") == std::string::npos);
  }
}

TEST_CASE(zero_copy_views_are_private_to_the_view) {
  const std::string path = temp().write("views.safetensors", safetensors_file({{"w", "F32", "[4]", f32_bytes({1, 2, 3, 4})}}));
  auto file = MappedFile::open(path, {});
  const uint64_t offset = file->size() - 16;
  std::unique_ptr<MappedView> view = file->map_view(offset, 16);
  CHECK(view != nullptr);
  float* values = reinterpret_cast<float*>(view->data());
  CHECK(values[2] == 3);
  values[2] = 99;  // a caller writing into its view
  float read[4] = {0, 0, 0, 0};
  file->read(offset, 16, read);
  CHECK(read[2] == 3);
  CHECK(reinterpret_cast<const float*>(file->mapped_range(offset, 16))[2] == 3);
  CHECK(reinterpret_cast<float*>(file->map_view(offset, 16)->data())[2] == 3);
}

TEST_MAIN()

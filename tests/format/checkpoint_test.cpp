// Model folders: single files and sharded checkpoints with model.safetensors.index.json, written by
// the project's writer and then corrupted one way at a time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "format/safetensors.h"
#include "format/safetensors_writer.h"
#include "test_util.h"

namespace radseek::format {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using nlohmann::json;
using testing::error_of;
using testing::ScratchDir;

// Six F32 tensors of 256 bytes each, 512-byte shards: three shards of two tensors.
class ShardedCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 6; ++i) specs_.push_back({.name = "t" + std::to_string(i), .dtype = DType::kF32, .shape = {8, 8}});
    auto st = write_checkpoint(CheckpointWriteArgs{
        .dir = dir_.path(), .specs = specs_, .max_shard_bytes = 512,
        .produce = [](size_t i, std::vector<uint8_t>& out) {
          for (size_t k = 0; k < out.size() / 4; ++k) {
            const float v = static_cast<float>(i * 1000 + k);
            std::memcpy(out.data() + 4 * k, &v, 4);
          }
        }});
    ASSERT_TRUE(st.ok()) << st.error().message;
  }

  std::string index_path() const { return dir_.file("model.safetensors.index.json"); }
  json read_index() const { return json::parse(testing::read_bytes(index_path())); }
  void write_index(const json& j) const { testing::write_text(index_path(), j.dump(2)); }
  // The index with weight_map[name] set to `file` (or removed when file is null).
  void patch_weight_map(const std::string& name, const json& file) const {
    json j = read_index();
    if (file.is_null()) j["weight_map"].erase(name);
    else j["weight_map"][name] = file;
    write_index(j);
  }

  ScratchDir dir_;
  std::vector<TensorSpec> specs_;
};

TEST_F(ShardedCheckpoint, OpensAndResolvesThroughIndex) {
  ASSERT_TRUE(std::filesystem::exists(dir_.file("model-00002-of-00003.safetensors")));
  auto c = Checkpoint::open(dir_.path());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->tensors().size(), 6u);
  const TensorInfo* t = c->find("t3");
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(t->file, HasSubstr("model-00002-of-00003.safetensors"));
  float v = 0;
  std::memcpy(&v, t->data + 4, 4);
  EXPECT_EQ(v, 3001.0f);
  EXPECT_EQ(c->total_bytes(), 6u * 256u);
}

TEST_F(ShardedCheckpoint, MissingShardNamesIndexShardAndTensor) {
  std::filesystem::remove(dir_.file("model-00003-of-00003.safetensors"));
  const auto msg = error_of(Checkpoint::open(dir_.path()));
  EXPECT_THAT(msg, AllOf(HasSubstr(index_path()), HasSubstr("shard 'model-00003-of-00003.safetensors'"),
                         HasSubstr("tensor 't4'"), HasSubstr("does not exist")));
}

TEST_F(ShardedCheckpoint, IndexNamesTensorAbsentFromItsShard) {
  patch_weight_map("ghost", "model-00001-of-00003.safetensors");
  const auto msg = error_of(Checkpoint::open(dir_.path()));
  EXPECT_THAT(msg, AllOf(HasSubstr(index_path()), HasSubstr("tensor 'ghost'"),
                         HasSubstr("'model-00001-of-00003.safetensors'"), HasSubstr("does not contain it")));
}

TEST_F(ShardedCheckpoint, ShardTensorMissingFromIndex) {
  patch_weight_map("t1", nullptr);
  const auto msg = error_of(Checkpoint::open(dir_.path()));
  EXPECT_THAT(msg, AllOf(HasSubstr("model-00001-of-00003.safetensors"), HasSubstr("tensor 't1'"),
                         HasSubstr("not listed in")));
}

TEST_F(ShardedCheckpoint, IndexAssignsTensorToAnotherShard) {
  patch_weight_map("t0", "model-00002-of-00003.safetensors");
  const auto msg = error_of(Checkpoint::open(dir_.path()));
  EXPECT_THAT(msg, AllOf(HasSubstr("tensor 't0'"), HasSubstr("is assigned to 'model-00002-of-00003.safetensors'")));
}

TEST_F(ShardedCheckpoint, PathTraversalAndOtherBadShardNames) {
  for (const char* bad : {"../x.safetensors", "/etc/passwd", "sub/model.safetensors", "..\\x.safetensors",
                          "model.bin", ".safetensors", ".hidden.safetensors", ""}) {
    SCOPED_TRACE(bad);
    patch_weight_map("t0", bad);
    EXPECT_THAT(error_of(Checkpoint::open(dir_.path())),
                AllOf(HasSubstr(index_path()), HasSubstr("weight_map['t0']"),
                      HasSubstr("not a .safetensors file name inside the model folder")));
  }
  // A NUL inside the name would shorten the path given to open() to "model-00001-of-00003.safetensors".
  patch_weight_map("t0", std::string("model-00001-of-00003.safetensors\0.x.safetensors", 48));
  EXPECT_THAT(error_of(Checkpoint::open(dir_.path())), HasSubstr("not a .safetensors file name"));
}

TEST_F(ShardedCheckpoint, MalformedIndex) {
  testing::write_text(index_path(), "{\"weight_map\": {");
  EXPECT_THAT(error_of(Checkpoint::open(dir_.path())), AllOf(HasSubstr(index_path()), HasSubstr("not valid JSON")));
  write_index({{"metadata", {}}});
  EXPECT_THAT(error_of(Checkpoint::open(dir_.path())), HasSubstr("missing object field 'weight_map'"));
  write_index({{"weight_map", json::object()}});
  EXPECT_THAT(error_of(Checkpoint::open(dir_.path())), HasSubstr("'weight_map' is empty"));
  write_index({{"weight_map", {{"t0", 7}}}});
  EXPECT_THAT(error_of(Checkpoint::open(dir_.path())), HasSubstr("weight_map['t0'] must be a file name, got number 7"));
}

TEST(Checkpoint, EmptyFolder) {
  ScratchDir dir;
  EXPECT_THAT(error_of(Checkpoint::open(dir.path())),
              AllOf(HasSubstr(dir.path()), HasSubstr("no model.safetensors or model.safetensors.index.json")));
}

TEST(Checkpoint, SingleFileErrorNamesTheFile) {
  ScratchDir dir;
  testing::write_bytes(dir.file("model.safetensors"),
                       testing::image(R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}})", 2));
  EXPECT_THAT(error_of(Checkpoint::open(dir.path())),
              AllOf(HasSubstr(dir.file("model.safetensors")), HasSubstr("tensor 'w'"), HasSubstr("unknown dtype")));
}

}  // namespace
}  // namespace radseek::format

// Model-level checkpoint validation: a generated tiny-v3 FP8 checkpoint loads, and each corruption
// (missing, extra, reshaped or retyped tensors) is refused with an error that names the tensor, the
// file or folder, and what the configuration expected.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "format/hf_config.h"
#include "format/safetensors.h"
#include "format/safetensors_writer.h"
#include "model/checkpoint_gen.h"
#include "model/weights.h"
#include "test_util.h"

namespace radseek::format {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::error_of;

class CorruptedWeights : public ::testing::Test {
 protected:
  // A fresh checkpoint per test (it is ~0.3 MB and written in milliseconds).
  void SetUp() override {
    auto cfg = model::preset_config("tiny-v3");
    ASSERT_TRUE(cfg.ok());
    auto st = model::write_random_checkpoint(
        {.dir = dir_.path(), .config = *cfg, .format = model::WeightFormat::kFP8, .seed = 7, .include_mtp = true,
         .max_shard_bytes = size_t{1} << 30, .progress = nullptr});
    ASSERT_TRUE(st.ok()) << st.error().message;
    auto ckpt = Checkpoint::open(dir_.path());
    ASSERT_TRUE(ckpt.ok()) << ckpt.error().message;
    for (const auto& [name, t] : ckpt->tensors())
      original_.push_back({.spec = {.name = name, .dtype = t.dtype, .shape = t.shape},
                           .bytes = std::vector<uint8_t>(t.data, t.data + t.nbytes)});
  }

  // Rewrites model.safetensors after `edit` changed a copy of the tensor list, then loads it.
  Status load_with(const std::function<void(std::vector<TensorData>&)>& edit) {
    std::vector<TensorData> ts = original_;
    edit(ts);
    RADSEEK_TRY(write_safetensors(file(), ts));
    auto cfg = load_model_config(dir_.path());
    if (!cfg) return cfg.error();
    auto ckpt = Checkpoint::open(dir_.path());
    if (!ckpt) return ckpt.error();
    auto w = model::load_weights(*ckpt, *cfg);
    return w ? Status() : Status(w.error());
  }
  static TensorData& named(std::vector<TensorData>& ts, const std::string& name) {
    auto it = std::find_if(ts.begin(), ts.end(), [&](const TensorData& t) { return t.spec.name == name; });
    EXPECT_NE(it, ts.end()) << "test checkpoint lacks " << name;
    return *it;
  }
  std::string file() const { return dir_.file("model.safetensors"); }

  testing::ScratchDir dir_;
  std::vector<TensorData> original_;
};

TEST_F(CorruptedWeights, UntouchedCheckpointLoads) {
  Status st = load_with([](std::vector<TensorData>&) {});
  EXPECT_TRUE(st.ok()) << st.error().message;
}

TEST_F(CorruptedWeights, MissingTensor) {
  const std::string name = "model.layers.1.self_attn.o_proj.weight";
  const auto msg = error_of(load_with([&](auto& ts) { std::erase_if(ts, [&](auto& t) { return t.spec.name == name; }); }));
  // tiny-v3: o_proj is [hidden 64, heads 4 * v_head_dim 24].
  EXPECT_THAT(msg, AllOf(HasSubstr(dir_.path()), HasSubstr("missing tensor '" + name + "'"),
                         HasSubstr("expected shape [64, 96]")));
}

TEST_F(CorruptedWeights, MissingBlockScale) {
  const std::string name = "model.layers.0.mlp.down_proj.weight_scale_inv";
  const auto msg = error_of(load_with([&](auto& ts) { std::erase_if(ts, [&](auto& t) { return t.spec.name == name; }); }));
  EXPECT_THAT(msg, AllOf(HasSubstr("missing tensor '" + name + "'"), HasSubstr("expected shape [1, 2]")));
}

TEST_F(CorruptedWeights, ExtraTensor) {
  const auto msg = error_of(load_with([](auto& ts) {
    ts.push_back({.spec = {.name = "model.layers.9.self_attn.q_proj.weight", .dtype = DType::kBF16, .shape = {2, 2}},
                  .bytes = std::vector<uint8_t>(8, 0)});
  }));
  EXPECT_THAT(msg, AllOf(HasSubstr(dir_.path()), HasSubstr("'model.layers.9.self_attn.q_proj.weight'"),
                         HasSubstr("not part of the configured architecture")));
}

TEST_F(CorruptedWeights, WrongShape) {
  const auto msg = error_of(load_with([](auto& ts) {
    TensorData& t = named(ts, "model.norm.weight");
    t.spec.shape = {32};
    t.bytes.resize(t.spec.nbytes());
  }));
  EXPECT_THAT(msg, AllOf(HasSubstr(file()), HasSubstr("tensor 'model.norm.weight' has shape [32], expected [64]")));
}

TEST_F(CorruptedWeights, WrongBlockScaleShape) {
  // kv_a_proj_with_mqa is [96 + 16, 64]: one partial 128x128 block, so its scale must be [1, 1].
  const std::string name = "model.layers.2.self_attn.kv_a_proj_with_mqa.weight_scale_inv";
  const auto msg = error_of(load_with([&](auto& ts) {
    TensorData& t = named(ts, name);
    t.spec.shape = {2, 1};
    t.bytes.resize(t.spec.nbytes());
  }));
  EXPECT_THAT(msg, AllOf(HasSubstr(file()), HasSubstr("'" + name + "' has shape [2, 1], expected [1, 1]")));
}

TEST_F(CorruptedWeights, WrongDtypes) {
  // Same byte size, different element type: the header is consistent, the model is not.
  auto msg = error_of(load_with([](auto& ts) { named(ts, "model.embed_tokens.weight").spec.dtype = DType::kI16; }));
  EXPECT_THAT(msg, AllOf(HasSubstr(file()), HasSubstr("'model.embed_tokens.weight' has dtype I16"),
                         HasSubstr("expected BF16, F16, F32 or F8_E4M3")));
  msg = error_of(load_with([](auto& ts) { named(ts, "model.layers.0.input_layernorm.weight").spec.dtype = DType::kI16; }));
  EXPECT_THAT(msg, AllOf(HasSubstr("'model.layers.0.input_layernorm.weight' has dtype I16"),
                         HasSubstr("expected F32, BF16 or F16")));
  msg = error_of(load_with([](auto& ts) {
    named(ts, "model.layers.0.self_attn.q_a_proj.weight_scale_inv").spec.dtype = DType::kI32;
  }));
  EXPECT_THAT(msg, AllOf(HasSubstr("'model.layers.0.self_attn.q_a_proj.weight_scale_inv'"), HasSubstr("must be F32")));
}

TEST_F(CorruptedWeights, ConfigThatDoesNotMatchTheWeights) {
  // A config edited to a larger hidden size: the first tensor checked already disagrees.
  auto cfg = load_model_config(dir_.path());
  ASSERT_TRUE(cfg.ok());
  cfg->hidden_size = 128;
  auto ckpt = Checkpoint::open(dir_.path());
  ASSERT_TRUE(ckpt.ok());
  const auto msg = error_of(model::load_weights(*ckpt, *cfg));
  EXPECT_THAT(msg, AllOf(HasSubstr(file()), HasSubstr("'model.embed_tokens.weight' has shape [512, 64]"),
                         HasSubstr("expected [512, 128]")));
}

}  // namespace
}  // namespace radseek::format

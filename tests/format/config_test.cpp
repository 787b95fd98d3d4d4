// config.json validation: each bad field gets an error naming the file and the field and saying what
// was expected. The base config is tiny-v3's (model/presets.cpp), repeated here so the format tests
// do not depend on the model layer.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "format/hf_config.h"
#include "test_util.h"

namespace radseek::format {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using nlohmann::json;
using testing::error_of;

const char* kLabel = "/models/x/config.json";

json base_config() {
  return json::parse(R"({
    "model_type": "deepseek_v3", "vocab_size": 512, "hidden_size": 64, "intermediate_size": 160,
    "moe_intermediate_size": 48, "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 4,
    "q_lora_rank": 48, "kv_lora_rank": 96, "qk_nope_head_dim": 32, "qk_rope_head_dim": 16, "v_head_dim": 24,
    "n_routed_experts": 8, "n_shared_experts": 1, "num_experts_per_tok": 2, "n_group": 4, "topk_group": 2,
    "topk_method": "noaux_tc", "scoring_func": "sigmoid", "norm_topk_prob": true, "routed_scaling_factor": 2.5,
    "first_k_dense_replace": 1, "moe_layer_freq": 1, "num_nextn_predict_layers": 1, "rms_norm_eps": 1e-6,
    "rope_theta": 10000, "max_position_embeddings": 163840, "tie_word_embeddings": false,
    "bos_token_id": 0, "eos_token_id": 1,
    "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096, "beta_fast": 32,
                     "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0},
    "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                            "weight_block_size": [128, 128]}
  })");
}

Expected<ModelConfig> parse(const json& j) { return parse_model_config(j.dump(), kLabel); }

// The error for `base` with `patch` merged in (null values delete the field, as in JSON merge patch).
std::string error_with(const json& patch) {
  json j = base_config();
  j.merge_patch(patch);
  return error_of(parse(j));
}

TEST(Config, BaseConfigParses) {
  auto c = parse(base_config());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->model_type, ModelType::kDeepseekV3);
  EXPECT_EQ(c->q_lora_rank, 48);
  EXPECT_EQ(c->topk_method, TopkMethod::kNoauxTc);
  EXPECT_EQ(c->rope_scaling.type, "yarn");
  EXPECT_EQ(c->rope_scaling.original_max_position_embeddings, 4096);
  ASSERT_TRUE(c->quantization.has_value());
  EXPECT_EQ(c->quantization->block_rows, 128);
  EXPECT_EQ(c->eos_token_ids, (std::vector<int64_t>{1}));
}

TEST(Config, NotJson) {
  EXPECT_THAT(error_of(parse_model_config("{\"model_type\": ", kLabel)),
              AllOf(HasSubstr(kLabel), HasSubstr("not valid JSON"), HasSubstr("column")));
  EXPECT_THAT(error_of(parse_model_config("[]", kLabel)), HasSubstr("expected a JSON object, got array"));
  EXPECT_THAT(error_of(parse_model_config(R"({"model_type":"deepseek_v3","model_type":"deepseek_v2"})", kLabel)),
              HasSubstr("'model_type' twice"));
}

TEST(Config, UnknownModelType) {
  const auto msg = error_with({{"model_type", "bert"}});
  EXPECT_THAT(msg, AllOf(HasSubstr(kLabel), HasSubstr("model_type 'bert'"), HasSubstr("deepseek_v3")));
  EXPECT_THAT(error_with({{"model_type", nullptr}}), AllOf(HasSubstr("'model_type'"), HasSubstr("required")));
  EXPECT_THAT(error_with({{"model_type", 3}}), HasSubstr("'model_type' must be a string, got number 3"));
}

TEST(Config, MissingRequiredFields) {
  for (const char* f : {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                        "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "moe_intermediate_size"}) {
    SCOPED_TRACE(f);
    EXPECT_THAT(error_with({{f, nullptr}}),
                AllOf(HasSubstr(kLabel), HasSubstr("field '" + std::string(f) + "' is required")));
  }
}

TEST(Config, WrongTypes) {
  EXPECT_THAT(error_with({{"hidden_size", "64"}}),
              AllOf(HasSubstr(kLabel), HasSubstr("field 'hidden_size' must be an integer, got string \"64\"")));
  EXPECT_THAT(error_with({{"hidden_size", 64.5}}), HasSubstr("'hidden_size' must be an integer, got number 64.5"));
  EXPECT_THAT(error_with({{"q_lora_rank", json::array({48})}}), HasSubstr("'q_lora_rank' must be an integer, got array"));
  EXPECT_THAT(error_with({{"norm_topk_prob", "yes"}}), HasSubstr("'norm_topk_prob' must be true or false"));
  EXPECT_THAT(error_with({{"rms_norm_eps", "1e-6"}}), HasSubstr("'rms_norm_eps' must be a number"));
  EXPECT_THAT(error_with({{"scoring_func", "relu"}}), HasSubstr("'scoring_func' must be 'softmax' or 'sigmoid'"));
  EXPECT_THAT(error_with({{"topk_method", "best"}}), HasSubstr("'topk_method' must be greedy"));
  EXPECT_THAT(error_with({{"eos_token_id", "</s>"}}), HasSubstr("'eos_token_id' must be an integer or a list"));
}

TEST(Config, OutOfRangeValues) {
  EXPECT_THAT(error_with({{"hidden_size", 0}}), HasSubstr("'hidden_size' must be in [1, "));
  EXPECT_THAT(error_with({{"vocab_size", -5}}), HasSubstr("'vocab_size' must be in [1, "));
  EXPECT_THAT(error_with({{"vocab_size", uint64_t{1} << 63}}), HasSubstr("'vocab_size' must be in"));
  EXPECT_THAT(error_with({{"hidden_size", int64_t{1} << 40}}), HasSubstr("'hidden_size' must be in"));
  EXPECT_THAT(error_with({{"qk_rope_head_dim", 15}}), HasSubstr("'qk_rope_head_dim' must be even"));
  EXPECT_THAT(error_with({{"rms_norm_eps", 0}}), HasSubstr("'rms_norm_eps' must be > 0"));
  EXPECT_THAT(error_with({{"rope_theta", -1.0}}), HasSubstr("'rope_theta' must be > 0"));
  EXPECT_THAT(error_with({{"routed_scaling_factor", 0}}), HasSubstr("'routed_scaling_factor' must be > 0"));
  EXPECT_THAT(error_with({{"eos_token_id", 512}}), HasSubstr("'eos_token_id' must be in [0, vocab_size = 512)"));
  EXPECT_THAT(error_with({{"eos_token_id", {1, -2}}}), HasSubstr("got number -2"));
  EXPECT_THAT(error_with({{"bos_token_id", 600}}), HasSubstr("'bos_token_id' must be in [0, 511]"));
  // 1e400 does not fit a double: refused by the parser rather than read as infinity.
  EXPECT_THAT(error_of(parse_model_config(R"({"model_type":"deepseek_v3","vocab_size":1,"hidden_size":1,)"
                                          R"("intermediate_size":1,"num_hidden_layers":1,"num_attention_heads":1,)"
                                          R"("kv_lora_rank":1,"qk_nope_head_dim":0,"qk_rope_head_dim":2,)"
                                          R"("v_head_dim":1,"rms_norm_eps":1e400})",
                                          kLabel)),
              AllOf(HasSubstr("not valid JSON"), HasSubstr("overflow"), HasSubstr("1e400")));
}

TEST(Config, RoutingConsistency) {
  EXPECT_THAT(error_with({{"n_group", 3}}),
              AllOf(HasSubstr(kLabel), HasSubstr("'n_group' must divide n_routed_experts (8)")));
  EXPECT_THAT(error_with({{"topk_group", 5}}), HasSubstr("'topk_group' must be <= n_group"));
  EXPECT_THAT(error_with({{"num_experts_per_tok", 9}}), HasSubstr("'num_experts_per_tok' must be in [1, n_routed_experts]"));
  EXPECT_THAT(error_with({{"num_experts_per_tok", 0}}), HasSubstr("'num_experts_per_tok'"));
  EXPECT_THAT(error_with({{"n_group", 4}, {"topk_group", 1}, {"num_experts_per_tok", 3}}),
              HasSubstr("exceeds the experts in topk_group groups"));
}

TEST(Config, BadRopeScaling) {
  EXPECT_THAT(error_with({{"rope_scaling", "yarn"}}),
              AllOf(HasSubstr(kLabel), HasSubstr("'rope_scaling' must be an object or null, got string")));
  EXPECT_THAT(error_with({{"rope_scaling", {{"type", "linear"}}}}),
              AllOf(HasSubstr("rope_scaling type 'linear'"), HasSubstr("expected 'yarn'")));
  EXPECT_THAT(error_with({{"rope_scaling", {{"type", nullptr}}}}),
              AllOf(HasSubstr("rope_scaling: field 'type' is required"), HasSubstr("rope_type")));
  EXPECT_THAT(error_with({{"rope_scaling", {{"factor", nullptr}}}}), HasSubstr("rope_scaling: field 'factor' is required"));
  EXPECT_THAT(error_with({{"rope_scaling", {{"factor", "40"}}}}), HasSubstr("rope_scaling: field 'factor' must be a number"));
  EXPECT_THAT(error_with({{"rope_scaling", {{"factor", -2}}}}), HasSubstr("rope_scaling: field 'factor' must be > 0"));
  EXPECT_THAT(error_with({{"rope_scaling", {{"original_max_position_embeddings", 0}}}}),
              HasSubstr("'original_max_position_embeddings' must be in [1, "));
  // rope_type is the newer spelling; "default" means plain RoPE.
  json j = base_config();
  j["rope_scaling"] = {{"rope_type", "default"}};
  auto c = parse(j);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->rope_scaling.type.empty());
}

TEST(Config, BadQuantizationConfig) {
  EXPECT_THAT(error_with({{"quantization_config", 1}}), HasSubstr("'quantization_config' must be an object or null"));
  EXPECT_THAT(error_with({{"quantization_config", {{"quant_method", "awq"}}}}),
              AllOf(HasSubstr(kLabel), HasSubstr("quant_method 'awq'"), HasSubstr("expected 'fp8'")));
  EXPECT_THAT(error_with({{"quantization_config", {{"quant_method", nullptr}}}}),
              HasSubstr("quantization_config: field 'quant_method' is required"));
  EXPECT_THAT(error_with({{"quantization_config", {{"fmt", "e5m2"}}}}), HasSubstr("fmt 'e5m2'"));
  for (const json& bad : {json::array({128}), json::array({0, 128}), json::array({128, "128"}), json("128x128"),
                          json::array({128, uint64_t{1} << 63})}) {
    SCOPED_TRACE(bad.dump());
    EXPECT_THAT(error_with({{"quantization_config", {{"weight_block_size", bad}}}}),
                AllOf(HasSubstr("weight_block_size must be [rows, cols]"), HasSubstr("got")));
  }
}

TEST(Config, LoadFromFolderNamesThePath) {
  testing::ScratchDir dir;
  EXPECT_THAT(error_of(load_model_config(dir.path())), AllOf(HasSubstr(dir.path() + "/config.json"), HasSubstr("cannot open")));
  testing::write_text(dir.file("config.json"), base_config().dump());
  EXPECT_TRUE(load_model_config(dir.path()).ok());
}

}  // namespace
}  // namespace radseek::format

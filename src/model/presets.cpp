// Named model configurations for generated checkpoints (config data, as in config.json).
#include "model/checkpoint_gen.h"

namespace radseek::model {
namespace {

using nlohmann::json;

json yarn(double mscale) {
  return {{"type", "yarn"}, {"factor", 40}, {"original_max_position_embeddings", 4096}, {"beta_fast", 32},
          {"beta_slow", 1}, {"mscale", mscale}, {"mscale_all_dim", mscale}};
}

// DeepSeek-V2-Lite's published config (spec §1.2); only num_hidden_layers is meant to be changed.
json v2_lite() {
  return {{"architectures", {"DeepseekV2ForCausalLM"}}, {"model_type", "deepseek_v2"}, {"vocab_size", 102400},
          {"hidden_size", 2048}, {"intermediate_size", 10944}, {"moe_intermediate_size", 1408},
          {"num_hidden_layers", 27}, {"num_attention_heads", 16}, {"num_key_value_heads", 16},
          {"q_lora_rank", nullptr}, {"kv_lora_rank", 512}, {"qk_nope_head_dim", 128}, {"qk_rope_head_dim", 64},
          {"v_head_dim", 128}, {"n_routed_experts", 64}, {"n_shared_experts", 2}, {"num_experts_per_tok", 6},
          {"n_group", 1}, {"topk_group", 1}, {"topk_method", "greedy"}, {"scoring_func", "softmax"},
          {"norm_topk_prob", false}, {"routed_scaling_factor", 1.0}, {"first_k_dense_replace", 1},
          {"moe_layer_freq", 1}, {"rms_norm_eps", 1e-6}, {"rope_theta", 10000}, {"max_position_embeddings", 163840},
          {"rope_scaling", yarn(0.707)}, {"tie_word_embeddings", false}, {"bos_token_id", 100000},
          {"eos_token_id", 100001}, {"attention_bias", false}, {"hidden_act", "silu"}};
}

// Small V3-style model exercising every V3 feature; MLA sizes deliberately not DeepSeek's.
json tiny_v3() {
  return {{"architectures", {"DeepseekV3ForCausalLM"}}, {"model_type", "deepseek_v3"}, {"vocab_size", 512},
          {"hidden_size", 64}, {"intermediate_size", 160}, {"moe_intermediate_size", 48},
          {"num_hidden_layers", 3}, {"num_attention_heads", 4}, {"num_key_value_heads", 4},
          {"q_lora_rank", 48}, {"kv_lora_rank", 96}, {"qk_nope_head_dim", 32}, {"qk_rope_head_dim", 16},
          {"v_head_dim", 24}, {"n_routed_experts", 8}, {"n_shared_experts", 1}, {"num_experts_per_tok", 2},
          {"n_group", 4}, {"topk_group", 2}, {"topk_method", "noaux_tc"}, {"scoring_func", "sigmoid"},
          {"norm_topk_prob", true}, {"routed_scaling_factor", 2.5}, {"first_k_dense_replace", 1},
          {"moe_layer_freq", 1}, {"num_nextn_predict_layers", 1}, {"rms_norm_eps", 1e-6}, {"rope_theta", 10000},
          {"max_position_embeddings", 163840}, {"rope_scaling", yarn(1.0)}, {"tie_word_embeddings", false},
          {"bos_token_id", 0}, {"eos_token_id", 1}, {"attention_bias", false}, {"hidden_act", "silu"}};
}

json tiny_v2() {
  json j = v2_lite();
  j.update({{"vocab_size", 512}, {"hidden_size", 64}, {"intermediate_size", 160}, {"moe_intermediate_size", 48},
            {"num_hidden_layers", 3}, {"num_attention_heads", 4}, {"num_key_value_heads", 4}, {"kv_lora_rank", 96},
            {"qk_nope_head_dim", 32}, {"qk_rope_head_dim", 16}, {"v_head_dim", 24}, {"n_routed_experts", 8},
            {"num_experts_per_tok", 2}, {"bos_token_id", 0}, {"eos_token_id", 1}});
  return j;
}

// Dense GQA models (spec §6): Qwen2 as R1-Distill-Qwen-1.5B, Llama 3 with llama3 RoPE, Qwen3 with
// per-head q/k norms; the tiny ones keep every feature at test size.
json qwen2_1_5b() {
  return {{"architectures", {"Qwen2ForCausalLM"}}, {"model_type", "qwen2"}, {"vocab_size", 151936},
          {"hidden_size", 1536}, {"intermediate_size", 8960}, {"num_hidden_layers", 28},
          {"num_attention_heads", 12}, {"num_key_value_heads", 2}, {"max_position_embeddings", 131072},
          {"rms_norm_eps", 1e-6}, {"rope_theta", 10000}, {"tie_word_embeddings", false},
          {"bos_token_id", 151643}, {"eos_token_id", 151643}, {"hidden_act", "silu"}};
}

json tiny_dense(const std::string& type) {
  json j = {{"model_type", type}, {"vocab_size", 512}, {"hidden_size", 64}, {"intermediate_size", 128},
            {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
            {"max_position_embeddings", 4096}, {"rms_norm_eps", 1e-6}, {"rope_theta", 10000},
            {"tie_word_embeddings", false}, {"bos_token_id", 0}, {"eos_token_id", 1}, {"hidden_act", "silu"}};
  if (type == "llama") {
    j["rope_theta"] = 500000;
    j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 64}};
  }
  if (type == "qwen3") {
    j["head_dim"] = 24;  // Qwen3 sets head_dim apart from hidden_size / heads
    j["tie_word_embeddings"] = true;
  }
  return j;
}

}  // namespace

Expected<json> preset_config(const std::string& name) {
  if (name == "qwen2-1.5b") return qwen2_1_5b();
  if (name == "tiny-llama") return tiny_dense("llama");
  if (name == "tiny-qwen2") return tiny_dense("qwen2");
  if (name == "tiny-qwen3") return tiny_dense("qwen3");
  if (name == "tiny-v3") return tiny_v3();
  if (name == "tiny-v2") return tiny_v2();
  if (name == "v2-lite") return v2_lite();
  return make_error(ErrorCode::kInvalidArgument, "unknown preset '" + name + "' (known: tiny-v3, tiny-v2, v2-lite, tiny-llama, tiny-qwen2, tiny-qwen3, qwen2-1.5b)");
}

}  // namespace radseek::model

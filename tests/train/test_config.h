// Small model configurations for the training tests (config.json text, as a checkpoint holds it).
#pragma once

#include <nlohmann/json.hpp>

#include "format/hf_config.h"

namespace radseek::train::testing {

// Every V3 feature at toy sizes: q-LoRA, YaRN (mscale² softmax factor), a dense first layer, sigmoid
// noaux_tc routing with groups, a shared expert. Head dims deliberately unequal (dn ≠ dv).
inline nlohmann::json tiny_train_config_json() {
  return {{"architectures", {"DeepseekV3ForCausalLM"}}, {"model_type", "deepseek_v3"}, {"vocab_size", 24},
          {"hidden_size", 16}, {"intermediate_size", 20}, {"moe_intermediate_size", 8},
          {"num_hidden_layers", 2}, {"num_attention_heads", 2}, {"num_key_value_heads", 2},
          {"q_lora_rank", 12}, {"kv_lora_rank", 10}, {"qk_nope_head_dim", 6}, {"qk_rope_head_dim", 4},
          {"v_head_dim", 5}, {"n_routed_experts", 8}, {"n_shared_experts", 1}, {"num_experts_per_tok", 2},
          {"n_group", 4}, {"topk_group", 2}, {"topk_method", "noaux_tc"}, {"scoring_func", "sigmoid"},
          {"norm_topk_prob", true}, {"routed_scaling_factor", 2.5}, {"first_k_dense_replace", 1},
          {"moe_layer_freq", 1}, {"num_nextn_predict_layers", 0}, {"rms_norm_eps", 1e-6}, {"rope_theta", 10000},
          {"max_position_embeddings", 4096},
          {"rope_scaling", {{"type", "yarn"}, {"factor", 4}, {"original_max_position_embeddings", 1024},
                            {"beta_fast", 32}, {"beta_slow", 1}, {"mscale", 1.0}, {"mscale_all_dim", 1.0}}},
          {"tie_word_embeddings", false}, {"bos_token_id", 0}, {"eos_token_id", 1}, {"torch_dtype", "float32"}};
}

inline format::ModelConfig tiny_train_config() {
  return format::parse_model_config(tiny_train_config_json().dump(), "tiny train config").value();
}

}  // namespace radseek::train::testing

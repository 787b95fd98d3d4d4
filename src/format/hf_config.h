// config.json -> ModelConfig. Field names follow the Hugging Face configs (spec §1); every value the
// forward pass uses comes from here, so no code branches on sizes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace radseek::format {

enum class ModelType { kDeepseekV2, kDeepseekV3, kLlama, kQwen2, kQwen3 };
enum class ScoringFunc { kSoftmax, kSigmoid };
enum class TopkMethod { kGreedy, kGroupLimitedGreedy, kNoauxTc };

struct RopeScaling {
  std::string type;  // "yarn" or empty (plain RoPE)
  double factor = 1.0;
  int64_t original_max_position_embeddings = 0;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double mscale = 1.0;
  double mscale_all_dim = 0.0;  // HF default 0: no softmax correction unless the config sets it
  // type "llama3" (Llama 3.1+): wavelength-dependent frequency scaling, spec §6.2.
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
};

struct QuantizationConfig {
  std::string quant_method;  // "fp8", "radseek" (integer groups, `radseek quantize`) or empty
  std::string fmt;           // "e4m3"
  int64_t block_rows = 128;  // weight_block_size[0]
  int64_t block_cols = 128;  // weight_block_size[1]
  std::string scale_fmt;     // "ue8m0" for V3.1 (scales are powers of two), else empty
  // quant_method "radseek": matrices stored as Q8 (bits 8) or Q4 (bits 4) with one F32 scale per
  // group_size columns (kernels.h WeightMatrix); others left in their float dtype.
  int64_t bits = 0;
  int64_t group_size = 0;
};

struct ModelConfig {
  ModelType model_type = ModelType::kDeepseekV3;
  std::string model_type_name;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t moe_intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  std::optional<int64_t> q_lora_rank;  // null: a single q_proj (V2-Lite)
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0;
  int64_t qk_rope_head_dim = 0;
  int64_t v_head_dim = 0;
  int64_t n_routed_experts = 0;  // 0: dense model
  int64_t n_shared_experts = 0;
  int64_t num_experts_per_tok = 0;
  int64_t n_group = 1;
  int64_t topk_group = 1;
  TopkMethod topk_method = TopkMethod::kGreedy;
  ScoringFunc scoring_func = ScoringFunc::kSoftmax;
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;
  int64_t first_k_dense_replace = 0;
  int64_t moe_layer_freq = 1;
  int64_t num_nextn_predict_layers = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  int64_t max_position_embeddings = 0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  int64_t bos_token_id = -1;
  std::vector<int64_t> eos_token_ids;
  std::optional<QuantizationConfig> quantization;

  // Dense GQA architectures (Llama 3, Qwen2, Qwen3; spec §6).
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;         // per-head q/k/v width (default hidden_size / num_attention_heads)
  bool attention_bias = false;  // q/k/v projections carry biases (Qwen2)
  bool qk_norm = false;         // per-head RMSNorm on q and k before RoPE (Qwen3)

  bool is_deepseek() const { return model_type == ModelType::kDeepseekV2 || model_type == ModelType::kDeepseekV3; }
  int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
  bool is_moe_layer(int64_t layer) const {
    return n_routed_experts > 0 && layer >= first_k_dense_replace && layer % moe_layer_freq == 0;
  }
};

// Parses and validates config.json text (`label` names the file in errors).
Expected<ModelConfig> parse_model_config(const std::string& json_text, const std::string& label);
Expected<ModelConfig> load_model_config(const std::string& model_dir);
// generation_config.json's eos_token_id (an integer or a list), each checked against vocab_size;
// empty when the folder has no such file or field. Instruct releases list their end-of-turn ids
// there (Llama 3: <|eot_id|>, Qwen2.5/Qwen3: <|im_end|>) where config.json may name only the base
// model's EOS.
Expected<std::vector<int64_t>> load_generation_eos_ids(const std::string& model_dir, int64_t vocab_size);

}  // namespace radseek::format

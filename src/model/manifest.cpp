#include "model/manifest.h"

namespace radseek::model {
namespace {

void add_mlp(std::vector<ManifestEntry>& m, const std::string& p, int64_t d, int64_t inter) {
  m.push_back({p + "gate_proj.weight", {inter, d}, TensorKind::kMatrix});
  m.push_back({p + "up_proj.weight", {inter, d}, TensorKind::kMatrix});
  m.push_back({p + "down_proj.weight", {d, inter}, TensorKind::kMatrix});
}

void add_layer(std::vector<ManifestEntry>& m, const format::ModelConfig& c, int64_t l) {
  const std::string p = "model.layers." + std::to_string(l) + ".";
  const int64_t d = c.hidden_size, H = c.num_attention_heads;
  m.push_back({p + "input_layernorm.weight", {d}, TensorKind::kNorm});
  const std::string a = p + "self_attn.";
  if (c.q_lora_rank) {
    m.push_back({a + "q_a_proj.weight", {*c.q_lora_rank, d}, TensorKind::kMatrix});
    m.push_back({a + "q_a_layernorm.weight", {*c.q_lora_rank}, TensorKind::kNorm});
    m.push_back({a + "q_b_proj.weight", {H * c.qk_head_dim(), *c.q_lora_rank}, TensorKind::kMatrix});
  } else {
    m.push_back({a + "q_proj.weight", {H * c.qk_head_dim(), d}, TensorKind::kMatrix});
  }
  m.push_back({a + "kv_a_proj_with_mqa.weight", {c.kv_lora_rank + c.qk_rope_head_dim, d}, TensorKind::kMatrix});
  m.push_back({a + "kv_a_layernorm.weight", {c.kv_lora_rank}, TensorKind::kNorm});
  m.push_back({a + "kv_b_proj.weight", {H * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank}, TensorKind::kMatrix});
  m.push_back({a + "o_proj.weight", {d, H * c.v_head_dim}, TensorKind::kMatrix});
  m.push_back({p + "post_attention_layernorm.weight", {d}, TensorKind::kNorm});
  if (c.is_moe_layer(l)) {
    m.push_back({p + "mlp.gate.weight", {c.n_routed_experts, d}, TensorKind::kRouter});
    if (c.topk_method == format::TopkMethod::kNoauxTc)
      m.push_back({p + "mlp.gate.e_score_correction_bias", {c.n_routed_experts}, TensorKind::kRouterBias});
    for (int64_t e = 0; e < c.n_routed_experts; ++e)
      add_mlp(m, p + "mlp.experts." + std::to_string(e) + ".", d, c.moe_intermediate_size);
    if (c.n_shared_experts > 0)
      add_mlp(m, p + "mlp.shared_experts.", d, c.n_shared_experts * c.moe_intermediate_size);
  } else {
    add_mlp(m, p + "mlp.", d, c.intermediate_size);
  }
}

// Llama / Qwen2 / Qwen3 layer (HF names, spec §6).
void add_dense_layer(std::vector<ManifestEntry>& m, const format::ModelConfig& c, int64_t l) {
  const std::string p = "model.layers." + std::to_string(l) + ".", a = p + "self_attn.";
  const int64_t d = c.hidden_size, hd = c.head_dim, q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd;
  m.push_back({p + "input_layernorm.weight", {d}, TensorKind::kNorm});
  m.push_back({a + "q_proj.weight", {q, d}, TensorKind::kMatrix});
  m.push_back({a + "k_proj.weight", {kv, d}, TensorKind::kMatrix});
  m.push_back({a + "v_proj.weight", {kv, d}, TensorKind::kMatrix});
  if (c.attention_bias) {
    m.push_back({a + "q_proj.bias", {q}, TensorKind::kBias});
    m.push_back({a + "k_proj.bias", {kv}, TensorKind::kBias});
    m.push_back({a + "v_proj.bias", {kv}, TensorKind::kBias});
  }
  if (c.qk_norm) {
    m.push_back({a + "q_norm.weight", {hd}, TensorKind::kNorm});
    m.push_back({a + "k_norm.weight", {hd}, TensorKind::kNorm});
  }
  m.push_back({a + "o_proj.weight", {d, q}, TensorKind::kMatrix});
  m.push_back({p + "post_attention_layernorm.weight", {d}, TensorKind::kNorm});
  add_mlp(m, p + "mlp.", d, c.intermediate_size);
}

}  // namespace

std::vector<ManifestEntry> tensor_manifest(const format::ModelConfig& c, bool include_mtp) {
  std::vector<ManifestEntry> m;
  const int64_t d = c.hidden_size;
  if (!c.is_deepseek()) {
    m.push_back({"model.embed_tokens.weight", {c.vocab_size, d}, TensorKind::kEmbedding});
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) add_dense_layer(m, c, l);
    m.push_back({"model.norm.weight", {d}, TensorKind::kNorm});
    if (!c.tie_word_embeddings) m.push_back({"lm_head.weight", {c.vocab_size, d}, TensorKind::kEmbedding});
    return m;
  }
  m.push_back({"model.embed_tokens.weight", {c.vocab_size, d}, TensorKind::kEmbedding});
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) add_layer(m, c, l);
  if (include_mtp) {
    for (int64_t k = 0; k < c.num_nextn_predict_layers; ++k) {
      const int64_t l = c.num_hidden_layers + k;
      const std::string p = "model.layers." + std::to_string(l) + ".";
      m.push_back({p + "enorm.weight", {d}, TensorKind::kNorm});
      m.push_back({p + "hnorm.weight", {d}, TensorKind::kNorm});
      m.push_back({p + "eh_proj.weight", {d, 2 * d}, TensorKind::kEmbedding});  // BF16 in the release
      m.push_back({p + "shared_head.norm.weight", {d}, TensorKind::kNorm});
      add_layer(m, c, l);
    }
  }
  m.push_back({"model.norm.weight", {d}, TensorKind::kNorm});
  if (!c.tie_word_embeddings) m.push_back({"lm_head.weight", {c.vocab_size, d}, TensorKind::kEmbedding});
  return m;
}

}  // namespace radseek::model

#include "model/param_count.h"

namespace radseek::model {
namespace {

int64_t mla_params(const format::ModelConfig& c) {
  const int64_t d = c.hidden_size, H = c.num_attention_heads, dq = c.qk_head_dim();
  int64_t q = 0;
  if (c.q_lora_rank) q = *c.q_lora_rank * d + *c.q_lora_rank + H * dq * *c.q_lora_rank;
  else q = H * dq * d;
  const int64_t kv = (c.kv_lora_rank + c.qk_rope_head_dim) * d + c.kv_lora_rank +
                     H * (c.qk_nope_head_dim + c.v_head_dim) * c.kv_lora_rank;
  return q + kv + d * H * c.v_head_dim;
}

}  // namespace

ParamCounts count_params(const format::ModelConfig& c) {
  ParamCounts p;
  const int64_t d = c.hidden_size;
  p.embedding = c.vocab_size * d;
  p.lm_head = c.tie_word_embeddings ? 0 : c.vocab_size * d;
  const int64_t expert = 3 * d * c.moe_intermediate_size;
  int64_t moe_layers = 0;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    p.attention += mla_params(c);
    p.norms += 2 * d;
    if (c.is_moe_layer(l)) {
      ++moe_layers;
      p.routed_experts += c.n_routed_experts * expert;
      p.shared_experts += c.n_shared_experts * expert;
      p.router += c.n_routed_experts * d;
    } else {
      p.dense_mlp += 3 * d * c.intermediate_size;
    }
  }
  p.norms += d;
  p.total = p.embedding + p.lm_head + p.attention + p.dense_mlp + p.routed_experts + p.shared_experts +
            p.router + p.norms;
  p.active_per_token = p.total - moe_layers * (c.n_routed_experts - c.num_experts_per_tok) * expert;
  // MTP module: enorm, hnorm, eh_proj, a full MoE layer, shared_head norm (+ stored embed/head copies
  // not counted, as they are shared with the main model).
  const int64_t mtp_layer = mla_params(c) + 2 * d + c.n_routed_experts * expert + c.n_shared_experts * expert +
                            c.n_routed_experts * d;
  p.mtp = c.num_nextn_predict_layers * (3 * d + 2 * d * d + mtp_layer);
  return p;
}

int64_t mla_cache_bytes_per_token(const format::ModelConfig& c, int64_t elem_bytes) {
  return c.num_hidden_layers * (c.kv_lora_rank + c.qk_rope_head_dim) * elem_bytes;
}

int64_t mha_cache_bytes_per_token(const format::ModelConfig& c, int64_t elem_bytes) {
  return c.num_hidden_layers * c.num_attention_heads * (c.qk_head_dim() + c.v_head_dim) * elem_bytes;
}

}  // namespace radseek::model

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

// Dense GQA layer (Llama 3, Qwen2, Qwen3): q/o over all heads, k/v over the KV heads, plus Qwen2's
// q/k/v biases and Qwen3's per-head q/k norms.
int64_t gqa_params(const format::ModelConfig& c) {
  const int64_t d = c.hidden_size, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  return 2 * d * q + 2 * d * kv + (c.attention_bias ? q + 2 * kv : 0) + (c.qk_norm ? 2 * c.head_dim : 0);
}

ParamCounts count_dense_params(const format::ModelConfig& c) {
  ParamCounts p;
  const int64_t d = c.hidden_size;
  p.embedding = c.vocab_size * d;
  p.lm_head = c.tie_word_embeddings ? 0 : c.vocab_size * d;
  p.attention = c.num_hidden_layers * gqa_params(c);
  p.dense_mlp = c.num_hidden_layers * 3 * d * c.intermediate_size;
  p.norms = c.num_hidden_layers * 2 * d + d;
  p.total = p.embedding + p.lm_head + p.attention + p.dense_mlp + p.norms;
  p.active_per_token = p.total;
  return p;
}

}  // namespace

ParamCounts count_params(const format::ModelConfig& c) {
  if (!c.is_deepseek()) return count_dense_params(c);
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
  if (!c.is_deepseek()) return c.num_hidden_layers * c.num_attention_heads * 2 * c.head_dim * elem_bytes;
  return c.num_hidden_layers * c.num_attention_heads * (c.qk_head_dim() + c.v_head_dim) * elem_bytes;
}

int64_t gqa_cache_bytes_per_token(const format::ModelConfig& c, int64_t elem_bytes) {
  return c.num_hidden_layers * c.num_key_value_heads * 2 * c.head_dim * elem_bytes;
}

}  // namespace radseek::model

#include "model/weights.h"

namespace radseek::model {
namespace {

int64_t bytes(const WeightMatrix& w) { return weight_matrix_bytes(w); }

}  // namespace

int64_t weight_matrix_bytes(const WeightMatrix& w) {
  int64_t b = w.rows * kernels::row_bytes(w);
  if (w.group_scale) b += w.rows * ((w.cols + kernels::kQuantGroup - 1) / kernels::kQuantGroup) * 4;
  if (w.block_scale)
    b += ((w.rows + w.block_rows - 1) / w.block_rows) * ((w.cols + w.block_cols - 1) / w.block_cols) * 4;
  return b;
}

namespace {

int64_t bytes(const MlpWeights& m) { return bytes(m.gate_proj) + bytes(m.up_proj) + bytes(m.down_proj); }

// What decode reads of one layer's attention: a split GGUF kv_b as stored at kBF16 (mla_absorbed.cpp).
int64_t bytes(const MlaWeights& a, kernels::ActPrecision p) {
  const bool stored = a.k_b_proj && p == kernels::ActPrecision::kBF16;
  int64_t b = bytes(a.kv_a_proj_with_mqa) + bytes(a.o_proj);
  b += stored ? bytes(*a.k_b_proj) + bytes(*a.v_b_proj) : bytes(a.kv_b_proj);
  if (a.q_a_proj) b += bytes(*a.q_a_proj) + bytes(*a.q_b_proj);
  if (a.q_proj) b += bytes(*a.q_proj);
  return b;
}

}  // namespace

TokenBytes weight_bytes_per_token(const ModelWeights& w, const format::ModelConfig& c, kernels::ActPrecision p) {
  TokenBytes t;
  const int64_t row = bytes(w.embed_tokens) / std::max<int64_t>(w.embed_tokens.rows, 1);
  t.per_token = row + bytes(w.lm_head);
  t.total_weights = bytes(w.embed_tokens) + (w.lm_head.data == w.embed_tokens.data ? 0 : bytes(w.lm_head));
  for (const LayerWeights& l : w.layers) {
    const int64_t attn = bytes(l.attn, p);
    t.per_token += attn;
    // Resident: the f32 kv_b copy (prefill, FP32 decode) and the stored split tensors both.
    t.total_weights += bytes(l.attn, kernels::ActPrecision::kF32);
    if (l.attn.k_b_proj) t.total_weights += bytes(*l.attn.k_b_proj) + bytes(*l.attn.v_b_proj);
    if (l.mlp) {
      t.per_token += bytes(*l.mlp);
      t.total_weights += bytes(*l.mlp);
    }
    if (l.moe) {
      int64_t fixed = bytes(l.moe->gate) + (l.moe->shared_experts ? bytes(*l.moe->shared_experts) : 0);
      int64_t experts = 0;
      for (const auto& e : l.moe->experts) experts += bytes(e);
      const int64_t per_expert = l.moe->experts.empty() ? 0 : experts / static_cast<int64_t>(l.moe->experts.size());
      t.per_token += fixed + c.num_experts_per_tok * per_expert;
      t.total_weights += fixed + experts;
    }
  }
  return t;
}

}  // namespace radseek::model

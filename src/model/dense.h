// Dense decoder-only transformers with grouped-query attention: Llama 3 (R1-Distill-Llama,
// Llama-3.3), Qwen2 (R1-Distill-Qwen) and Qwen3 (R1-0528-Qwen3) — spec §6.
#pragma once

#include <optional>
#include <vector>

#include "model/causal_lm.h"
#include "model/model.h"
#include "model/weights.h"

namespace radseek::model {

struct DenseLayerWeights {
  NormWeight input_layernorm;           // [d]
  NormWeight post_attention_layernorm;  // [d]
  WeightMatrix q_proj;                  // [H·hd, d]
  WeightMatrix k_proj;                  // [Hkv·hd, d]
  WeightMatrix v_proj;                  // [Hkv·hd, d]
  WeightMatrix o_proj;                  // [d, H·hd]
  std::vector<float> q_bias, k_bias, v_bias;  // [H·hd], [Hkv·hd], [Hkv·hd] (Qwen2); empty otherwise
  NormWeight q_norm, k_norm;                  // [hd] (Qwen3); empty otherwise
  MlpWeights mlp;
};

struct DenseWeights {
  WeightMatrix embed_tokens;  // [V, d]
  NormWeight norm;            // [d]
  WeightMatrix lm_head;       // [V, d] (the embedding when tied)
  std::vector<DenseLayerWeights> layers;
};

// inv_freq [hd/2] for NeoX (half-split) RoPE, with the llama3 wavelength rule when configured.
std::vector<double> dense_inv_freq(const format::ModelConfig& c);

class DenseModel : public CausalLM {
 public:
  static Expected<std::unique_ptr<DenseModel>> load(format::ModelConfig cfg, format::Checkpoint ckpt);

  const format::ModelConfig& config() const override { return cfg_; }
  const format::Checkpoint& checkpoint() const override { return ckpt_; }
  const DenseWeights& weights() const { return weights_; }
  KvCache make_cache(int64_t capacity) const override;
  Status forward_batch(const Context& ctx, const BatchArgs& args) const override;
  TokenBytes weight_bytes(kernels::ActPrecision p) const override;
  const kernels::WeightMatrix& representative_weight() const override { return weights_.layers.front().mlp.gate_proj; }

 private:
  void ensure_scratch(Scratch& s, int64_t T, int64_t L, int threads) const;
  void attention(const Context& ctx, const DenseLayerWeights& w, int64_t layer, std::span<const SeqStep> seqs,
                 Scratch& s, int64_t T) const;
  void project_qkv(const Context& ctx, const DenseLayerWeights& w, Scratch& s, int64_t T) const;

  format::ModelConfig cfg_;
  format::Checkpoint ckpt_;
  DenseWeights weights_;
  std::vector<double> inv_freq_;
};

}  // namespace radseek::model

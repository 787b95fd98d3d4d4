// Parameter and cache arithmetic from the config alone (works without the weights, e.g. for
// DeepSeek-V3's 671B config).
#pragma once

#include <cstdint>

#include <algorithm>

#include "format/hf_config.h"
#include "kernels/kernels.h"

namespace radseek::model {

struct ParamCounts {
  int64_t embedding = 0;       // embed_tokens
  int64_t lm_head = 0;         // 0 when tied
  int64_t attention = 0;       // all attention layers (MLA, or dense GQA with biases / q-k norms)
  int64_t dense_mlp = 0;       // first_k_dense_replace layers (every layer of a dense model)
  int64_t routed_experts = 0;  // all routed experts of all MoE layers
  int64_t shared_experts = 0;
  int64_t router = 0;
  int64_t norms = 0;  // layer norms + final norm
  int64_t mtp = 0;    // MTP modules (not used by plain generation)
  int64_t total = 0;  // main model, without MTP
  int64_t active_per_token = 0;  // total minus the routed experts a token does not use
};

ParamCounts count_params(const format::ModelConfig& c);

// Bytes per token per layer stack of the MLA latent cache with `elem_bytes` per value, and what
// full multi-head K/V caching (every query head with its own K and V) would need for comparison.
int64_t mla_cache_bytes_per_token(const format::ModelConfig& c, int64_t elem_bytes);
int64_t mha_cache_bytes_per_token(const format::ModelConfig& c, int64_t elem_bytes);
// Dense GQA models: full K and V of the num_key_value_heads heads, what their cache holds.
int64_t gqa_cache_bytes_per_token(const format::ModelConfig& c, int64_t elem_bytes);

}  // namespace radseek::model

namespace radseek::model {

struct ModelWeights;

// Bytes of stored weights (incl. FP8 block scales) one decoded token reads: every non-expert matrix,
// the k routed experts of each MoE layer, the lm_head, and one embedding row. `p`: the activation
// precision decode runs at, which picks the copy of a split GGUF kv_b that it reads (MlaWeights).
struct TokenBytes {
  int64_t per_token = 0;
  int64_t total_weights = 0;  // every loaded matrix (main model)
};
TokenBytes weight_bytes_per_token(const ModelWeights& w, const format::ModelConfig& c, kernels::ActPrecision p);

// Stored bytes of one matrix, its block or group scales included.
int64_t weight_matrix_bytes(const kernels::WeightMatrix& w);

}  // namespace radseek::model

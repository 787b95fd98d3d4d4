// Model weights as views into the mapped checkpoint (no copies of large matrices; FP8 stays FP8; the
// one copy: a GGUF file's small kv_b_proj, see load_mla).
// Shapes follow spec §2: W[out, in], y = x · Wᵀ.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "format/hf_config.h"
#include "format/safetensors.h"
#include "kernels/kernels.h"

namespace radseek::model {

using kernels::WeightMatrix;

struct NormWeight {
  std::vector<float> w;  // [n], converted to f32 at load (norms are tiny)
};

struct MlaWeights {
  std::optional<WeightMatrix> q_a_proj;  // [q_lora_rank, hidden]
  NormWeight q_a_layernorm;              // [q_lora_rank]
  std::optional<WeightMatrix> q_b_proj;  // [H·(dn+dr), q_lora_rank]
  std::optional<WeightMatrix> q_proj;    // [H·(dn+dr), hidden] (no q-LoRA)
  WeightMatrix kv_a_proj_with_mqa;       // [c + dr, hidden]
  NormWeight kv_a_layernorm;             // [c]
  WeightMatrix kv_b_proj;                // [H·(dn+dv), c], head-major [k_nope | v] per head
  // kv_b_proj's exact f32 copy when the file stores it in ggml blocks, or split into attn_k_b /
  // attn_v_b as newer llama.cpp converters write deepseek2 (format/gguf_model.h); see load_mla.
  std::shared_ptr<const std::vector<float>> kv_b_storage;
  // The split form's tensors as the file stores them, kept when they are ggml blocks: decode at
  // kBF16 precision reads these (int8 activations, as every other ggml product) instead of the f32
  // copy, 4–5× fewer bytes a token (V2-Lite: 8.4 MB a layer in f32, 1.7 MB as Q8_0 + Q4_K).
  std::optional<WeightMatrix> k_b_proj;  // [H·c, dn]: per head W_UKᵀ, so W_UKᵀ·q_nope is a plain product
  std::optional<WeightMatrix> v_b_proj;  // [H·dv, c]: per head W_UV
  WeightMatrix o_proj;                   // [hidden, H·dv]
};

struct MlpWeights {
  WeightMatrix gate_proj;  // [inter, hidden]
  WeightMatrix up_proj;    // [inter, hidden]
  WeightMatrix down_proj;  // [hidden, inter]
};

struct MoeWeights {
  WeightMatrix gate;                          // router [n_routed_experts, hidden]
  std::vector<float> e_score_correction_bias; // [n_routed_experts] (noaux_tc only; empty otherwise)
  std::vector<MlpWeights> experts;            // n_routed_experts × [moe_inter, hidden]
  std::optional<MlpWeights> shared_experts;   // [n_shared·moe_inter, hidden]
};

struct LayerWeights {
  NormWeight input_layernorm;           // [hidden]
  NormWeight post_attention_layernorm;  // [hidden]
  MlaWeights attn;
  std::optional<MlpWeights> mlp;  // dense layers (< first_k_dense_replace)
  std::optional<MoeWeights> moe;  // MoE layers
};

// The multi-token-prediction module (layer index num_hidden_layers + k): recognised and loaded,
// not used by plain generation.
struct MtpWeights {
  NormWeight enorm;                          // [hidden]
  NormWeight hnorm;                          // [hidden]
  WeightMatrix eh_proj;                      // [hidden, 2·hidden]; columns [emb | hidden]
  NormWeight shared_head_norm;               // [hidden]
  std::optional<WeightMatrix> shared_head;   // [vocab, hidden] (a stored copy of lm_head, may be absent)
  std::optional<WeightMatrix> embed_tokens;  // [vocab, hidden] (a stored copy, may be absent)
  LayerWeights layer;
};

struct ModelWeights {
  WeightMatrix embed_tokens;  // [vocab, hidden]
  NormWeight norm;            // [hidden]
  WeightMatrix lm_head;       // [vocab, hidden]
  std::vector<LayerWeights> layers;
  std::vector<MtpWeights> mtp;
  // Bytes of weights per component, for `radseek info` and bench.
  size_t total_bytes = 0;
};

// Calls f on every weight matrix of w (layers, MTP modules, embeddings and lm_head; a matrix shared by
// two fields, as tied embeddings are, is visited once per field).
void for_each_matrix(ModelWeights& w, const std::function<void(WeightMatrix&)>& f);

// Maps HF tensor names onto ModelWeights, checking every dtype and shape against the config, and
// rejecting tensors the architecture does not have. `ckpt` must outlive the result.
Expected<ModelWeights> load_weights(const format::Checkpoint& ckpt, const format::ModelConfig& cfg);

}  // namespace radseek::model

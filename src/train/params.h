// Trainable parameters as one flat buffer laid out by model::tensor_manifest (HF names and shapes,
// spec §2), so the optimiser walks one array and a checkpoint is written tensor by tensor in the
// official layout. The same layout binds the gradient buffer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "format/hf_config.h"
#include "model/manifest.h"

namespace radseek::train {

struct ParamSlot {
  model::ManifestEntry entry;  // HF name, shape [out, in] or [n], kind
  int64_t offset = 0;          // into the flat buffer
  int64_t numel = 0;
};

struct ParamLayout {
  std::vector<ParamSlot> slots;  // manifest order
  std::unordered_map<std::string, size_t> by_name;
  int64_t total = 0;

  const ParamSlot& at(const std::string& name) const { return slots.at(by_name.at(name)); }
};

// include_mtp: the MTP modules' tensors (spec §3.8, without the optional embedding/head copies) are
// appended after the main model's, so the main tensors keep the offsets (and the seeded initial
// values) they have without MTP, and an MTP-less checkpoint fills that prefix exactly.
ParamLayout make_param_layout(const format::ModelConfig& cfg, bool include_mtp);

// "model.layers.{num_hidden_layers}.": the prefix of the (first) MTP module's tensors.
std::string mtp_prefix(const format::ModelConfig& cfg);
// True when the config asks for MTP and the layout holds its tensors.
bool layout_has_mtp(const format::ModelConfig& cfg, const ParamLayout& layout);

// Typed views of one buffer (parameters or gradients) through the layout. Shapes as in weights.h.
template <typename T>
struct MlpView {
  T* gate = nullptr;  // [inter, hidden]
  T* up = nullptr;    // [inter, hidden]
  T* down = nullptr;  // [hidden, inter]
  int64_t inter = 0;
};

template <typename T>
struct LayerView {
  T* input_norm = nullptr;  // [hidden]
  T* q_a = nullptr;         // [q_lora_rank, hidden] (q-LoRA) or null
  T* q_a_norm = nullptr;    // [q_lora_rank]
  T* q_b = nullptr;         // [H·(dn+dr), q_lora_rank]
  T* q = nullptr;           // [H·(dn+dr), hidden] (no q-LoRA) or null
  T* kv_a = nullptr;        // [c + dr, hidden]
  T* kv_norm = nullptr;     // [c]
  T* kv_b = nullptr;        // [H·(dn+dv), c]
  T* o = nullptr;           // [hidden, H·dv]
  T* post_norm = nullptr;   // [hidden]
  bool moe = false;
  MlpView<T> mlp;                   // dense layers
  T* router = nullptr;              // [E, hidden]
  T* router_bias = nullptr;         // [E] e_score_correction_bias (selection only, not trained by gradients)
  std::vector<MlpView<T>> experts;  // E × [moe_inter, hidden]
  MlpView<T> shared;                // [n_shared·moe_inter, hidden]; gate null when absent
};

// The MTP module of depth 1. Its embedding and output head are the main model's (the release's
// stored copies are optional and the engine falls back to the main tensors when they are absent).
template <typename T>
struct MtpView {
  T* enorm = nullptr;      // [hidden]
  T* hnorm = nullptr;      // [hidden]
  T* eh_proj = nullptr;    // [hidden, 2·hidden]; columns [emb | hidden]
  T* head_norm = nullptr;  // [hidden] shared_head.norm
  LayerView<T> layer;      // the block at layer index num_hidden_layers (MoE or dense by the layer rule)
};

template <typename T>
struct ModelView {
  T* embed = nullptr;    // [vocab, hidden]
  T* norm = nullptr;     // [hidden]
  T* lm_head = nullptr;  // [vocab, hidden] (= embed when tie_word_embeddings)
  std::vector<LayerView<T>> layers;
  std::optional<MtpView<T>> mtp;  // when layout_has_mtp
};

template <typename T>
ModelView<T> bind_view(const format::ModelConfig& cfg, const ParamLayout& layout, T* base);

// Seeded initial values: matrices N(0, init_std²) (DeepSeek-V3 report §4.2 uses 0.006 at 671B;
// small models want more), output projections (o_proj, down_proj) divided by sqrt(2·layers) so the
// residual stream does not grow with depth (GPT-2), norms 1, correction bias 0.
std::vector<float> init_params(const ParamLayout& layout, int64_t num_layers, uint64_t seed, double init_std);

}  // namespace radseek::train

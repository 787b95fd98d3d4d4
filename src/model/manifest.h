// The list of tensors (HF names and shapes) a config implies, in file order. The checkpoint
// generators use it; the loader's tests check that it matches what load_weights consumes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/hf_config.h"

namespace radseek::model {

enum class TensorKind {
  kMatrix,      // projection weight, may be FP8 with a block-scale sibling
  kEmbedding,   // embedding / lm_head / MTP copies: kept in BF16 even in FP8 checkpoints
  kNorm,        // RMSNorm weight
  kRouter,      // MoE gate weight: BF16 (not quantised)
  kRouterBias,  // e_score_correction_bias: F32
  kBias,        // q/k/v projection bias (Qwen2)
};

struct ManifestEntry {
  std::string name;
  std::vector<int64_t> shape;
  TensorKind kind = TensorKind::kMatrix;
};

// include_mtp: also the num_nextn_predict_layers MTP modules (without their optional copies of
// embed_tokens / shared_head.head).
std::vector<ManifestEntry> tensor_manifest(const format::ModelConfig& c, bool include_mtp);

}  // namespace radseek::model

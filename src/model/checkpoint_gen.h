// Seeded random checkpoints in the official Hugging Face layout (config.json + safetensors, BF16 or
// FP8 e4m3 with 128×128 weight_scale_inv blocks). Tests, the quick-start demo and the performance
// benchmarks run on these, since no model hub is reachable.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "model/manifest.h"

namespace radseek::model {

enum class WeightFormat { kBF16, kFP8, kF32 };

struct RandomCheckpointArgs {
  std::string dir;
  nlohmann::json config;  // config.json content; quantization_config is added for kFP8
  WeightFormat format = WeightFormat::kBF16;
  uint64_t seed = 1;
  bool include_mtp = true;
  size_t max_shard_bytes = size_t{4} << 30;
  std::function<void(size_t done_bytes, size_t total_bytes)> progress = {};  // optional
};

Status write_random_checkpoint(const RandomCheckpointArgs& args);

// Values of one tensor of tensor_manifest(config, include_mtp) as f32, row-major; `index` is its
// position in the manifest. Output is pre-sized to the tensor's element count.
using TensorValuesFn = std::function<void(size_t index, const ManifestEntry& entry, std::vector<float>& out)>;

struct CheckpointValuesArgs {
  std::string dir;
  nlohmann::json config;  // config.json content; quantization_config is added for kFP8
  WeightFormat format = WeightFormat::kBF16;
  bool include_mtp = true;
  size_t max_shard_bytes = size_t{4} << 30;
  TensorValuesFn values;
  std::function<void(size_t done_bytes, size_t total_bytes)> progress = {};  // optional
};

// Writes a checkpoint in the official layout from given values (training exports, random
// checkpoints): BF16/F32 as asked, the router bias F32, and with kFP8 every projection matrix as
// e4m3 with 128×128 weight_scale_inv blocks (scale = amax/448, as DeepSeek's release).
Status write_checkpoint_values(const CheckpointValuesArgs& args);

// Named configs: "tiny-v3" (V3-style: q-LoRA, sigmoid noaux_tc, groups, MTP), "tiny-v2" (V2-Lite
// style: no q-LoRA, softmax greedy), "v2-lite" (DeepSeek-V2-Lite's real shapes; set
// num_hidden_layers to size it). Unknown name: error listing the known ones.
Expected<nlohmann::json> preset_config(const std::string& name);

}  // namespace radseek::model

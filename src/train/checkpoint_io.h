// Trained weights in and out: the official HF layout for the engine (config.json + safetensors,
// BF16/F32, or FP8 e4m3 blocks for the projection matrices), and the full trainer state for resume
// (FP32 master weights, AdamW moments, step and data position).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "model/checkpoint_gen.h"
#include "train/params.h"

namespace radseek::train {

struct ExportArgs {
  std::string dir;
  nlohmann::json config;  // config.json content (the model's architecture)
  model::WeightFormat format = model::WeightFormat::kBF16;
  const ParamLayout* layout = nullptr;
  const float* params = nullptr;  // [layout->total]
};
Status export_hf_checkpoint(const ExportArgs& args);

// Parameters of an HF checkpoint folder (any dtype the engine reads: F32, BF16, FP8 blocks) in the
// layout; every tensor of the layout must be present with its shape (errors name the tensor).
Expected<std::vector<float>> load_hf_params(const std::string& dir, const ParamLayout& layout);

struct TrainerState {
  int64_t step = 0;
  int64_t examples_seen = 0;  // data position: the loader replays its seeded order up to here
  std::vector<float> params, exp_avg, exp_avg_sq;  // [layout.total] each
  nlohmann::json meta;  // options of the run, for the record
};

// dir/trainer_state.safetensors (+ trainer_state.json). Written to temporary names and renamed.
Status save_trainer_state(const std::string& dir, const ParamLayout& layout, const TrainerState& state);
Expected<TrainerState> load_trainer_state(const std::string& dir, const ParamLayout& layout);

}  // namespace radseek::train

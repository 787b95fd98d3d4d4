// MoE expert selection for one token (spec §3.7), separated from the layer so it can be tested
// against hand-computed cases.
#pragma once

#include <cstdint>

#include "format/hf_config.h"

namespace radseek::model {

struct RouteArgs {
  const format::ModelConfig* cfg = nullptr;
  float* scores = nullptr;     // [E] in: router logits; out: sigmoid/softmax affinities
  const float* bias = nullptr; // [E] e_score_correction_bias, or null
  float* sel = nullptr;        // [E] scratch: bias-corrected, group-masked selection scores
  int32_t* idx = nullptr;      // [k] out: chosen experts, best first
  float* weight = nullptr;     // [k] out: routing weights (original scores, normalised, scaled)
};

void route_token(const RouteArgs& a);

}  // namespace radseek::model

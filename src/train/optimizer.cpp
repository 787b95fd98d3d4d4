#include "train/optimizer.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace radseek::train {

SlotRule slot_rule(const ParamSlot& s) {
  switch (s.entry.kind) {
    case model::TensorKind::kRouterBias: return {.update = false, .decay = false};
    case model::TensorKind::kNorm: return {.update = true, .decay = false};
    default: return {.update = true, .decay = true};
  }
}

void adamw_step(const ParamLayout& layout, const AdamWOptions& o, int64_t step, double lr,
                const std::vector<float>& grads, std::vector<float>& params, std::vector<float>& m,
                std::vector<float>& v) {
  const double bc1 = 1.0 - std::pow(o.beta1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(o.beta2, static_cast<double>(step));
  const float b1 = static_cast<float>(o.beta1), b2 = static_cast<float>(o.beta2);
  const float step_size = static_cast<float>(lr / bc1), inv_bc2 = static_cast<float>(1.0 / bc2);
  const float eps = static_cast<float>(o.eps);
  for (const ParamSlot& s : layout.slots) {
    const SlotRule rule = slot_rule(s);
    if (!rule.update) continue;
    const float decay = rule.decay ? static_cast<float>(1.0 - lr * o.weight_decay) : 1.0f;
    for (int64_t i = s.offset; i < s.offset + s.numel; ++i) {
      m[i] = b1 * m[i] + (1.0f - b1) * grads[i];
      v[i] = b2 * v[i] + (1.0f - b2) * grads[i] * grads[i];
      params[i] = params[i] * decay - step_size * m[i] / (std::sqrt(v[i] * inv_bc2) + eps);
    }
  }
}

double LrSchedule::at(int64_t step) const {
  if (warmup_steps > 0 && step <= warmup_steps) return peak * static_cast<double>(step) / static_cast<double>(warmup_steps);
  const double span = static_cast<double>(std::max<int64_t>(total_steps - warmup_steps, 1));
  const double t = std::clamp(static_cast<double>(step - warmup_steps) / span, 0.0, 1.0);
  const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * t));
  return peak * (min_ratio + (1.0 - min_ratio) * cosine);
}

double clip_grad_norm(std::vector<float>& grads, double max_norm) {
  double ss = 0.0;
  for (float g : grads) ss += static_cast<double>(g) * g;
  const double norm = std::sqrt(ss);
  if (max_norm > 0.0 && norm > max_norm) {
    const float scale = static_cast<float>(max_norm / (norm + 1e-12));
    for (float& g : grads) g *= scale;
  }
  return norm;
}

void balance_expert_bias(const format::ModelConfig& cfg, const ParamLayout& layout, const std::vector<int64_t>& load,
                         double speed, std::vector<float>& params) {
  const int64_t E = cfg.n_routed_experts;
  int64_t moe_index = 0;
  // The MTP layers follow the main ones in `load`, as in the parameter names; a layout without them
  // has no bias to move there (and no load entries after the main layers').
  for (int64_t l = 0; l < cfg.num_hidden_layers + cfg.num_nextn_predict_layers; ++l) {
    if (!cfg.is_moe_layer(l)) continue;
    auto it = layout.by_name.find("model.layers." + std::to_string(l) + ".mlp.gate.e_score_correction_bias");
    const int64_t base = moe_index++ * E;
    if (it == layout.by_name.end() || base + E > static_cast<int64_t>(load.size())) continue;
    float* bias = params.data() + layout.slots[it->second].offset;
    double mean = 0.0;
    for (int64_t e = 0; e < E; ++e) mean += static_cast<double>(load[base + e]) / static_cast<double>(E);
    for (int64_t e = 0; e < E; ++e) {
      const double err = mean - static_cast<double>(load[base + e]);  // > 0: under-loaded, raise its bias
      bias[e] += static_cast<float>(speed * (err > 0 ? 1.0 : err < 0 ? -1.0 : 0.0));
    }
  }
}

}  // namespace radseek::train

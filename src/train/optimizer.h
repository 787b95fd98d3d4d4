// AdamW (decoupled weight decay) over the flat parameter buffer, the learning-rate schedule
// (linear warm-up, cosine decay to a floor; DeepSeek-V3 report §4.2 uses warm-up then cosine), global
// gradient-norm clipping, and auxiliary-loss-free load balancing (V3 report §2.1.2).
#pragma once

#include <cstdint>
#include <vector>

#include "train/params.h"

namespace radseek::train {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.95;  // DeepSeek-V3 report §4.2
  double eps = 1e-8;
  double weight_decay = 0.1;
};

// Which slots the optimiser updates and which it decays: norms are not decayed; the routing
// correction bias is not a gradient parameter at all (load balancing moves it).
struct SlotRule {
  bool update = true;
  bool decay = true;
};
SlotRule slot_rule(const ParamSlot& s);

// One AdamW step (step >= 1, bias-corrected) at learning rate lr; m, v are the moments.
void adamw_step(const ParamLayout& layout, const AdamWOptions& o, int64_t step, double lr, const std::vector<float>& grads,
                std::vector<float>& params, std::vector<float>& m, std::vector<float>& v);

struct LrSchedule {
  double peak = 1e-3;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double min_ratio = 0.1;  // floor as a fraction of peak
  double at(int64_t step) const;  // step counts from 1
};

// Scales grads so their global L2 norm is at most max_norm (<= 0: no clipping); returns the norm
// before clipping.
double clip_grad_norm(std::vector<float>& grads, double max_norm);

// Nudges each routed expert's e_score_correction_bias by `speed` toward balance: down when the
// expert got more than the mean load this step, up when less. load: [moe layers · E] per expert,
// the MTP layer last when it is trained.
void balance_expert_bias(const format::ModelConfig& cfg, const ParamLayout& layout, const std::vector<int64_t>& load,
                         double speed, std::vector<float>& params);

}  // namespace radseek::train

// Oracle: hand-computed routing decisions for each DeepSeek routing method (spec §3.7).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "model/routing.h"

namespace radseek {
namespace {

using format::ScoringFunc;
using format::TopkMethod;

struct Routed {
  std::vector<int32_t> idx;
  std::vector<float> w;
};

Routed run(const format::ModelConfig& c, std::vector<float> logits, const std::vector<float>* bias) {
  std::vector<float> sel(logits.size());
  Routed r{std::vector<int32_t>(c.num_experts_per_tok), std::vector<float>(c.num_experts_per_tok)};
  model::route_token({.cfg = &c, .scores = logits.data(), .bias = bias ? bias->data() : nullptr, .sel = sel.data(),
                      .idx = r.idx.data(), .weight = r.w.data()});
  return r;
}

float logit(float p) { return std::log(p / (1.0f - p)); }

TEST(Routing, V3SigmoidNoauxTcUsesBiasForSelectionOnlyAndLimitsGroups) {
  format::ModelConfig c;
  c.n_routed_experts = 8;
  c.num_experts_per_tok = 2;
  c.n_group = 4;
  c.topk_group = 2;
  c.topk_method = TopkMethod::kNoauxTc;
  c.scoring_func = ScoringFunc::kSigmoid;
  c.norm_topk_prob = true;
  c.routed_scaling_factor = 2.5;
  const std::vector<float> p = {0.9f, 0.1f, 0.2f, 0.3f, 0.8f, 0.7f, 0.05f, 0.6f};
  const std::vector<float> bias = {0, 0, 0, 0, 0, 0, 0.9f, 0};
  std::vector<float> z;
  for (float v : p) z.push_back(logit(v));
  // sel = p + bias; group scores (sum of top 2): 1.0, 0.5, 1.5, 1.55 -> groups 3 and 2 kept, so
  // expert 0 (0.9) is excluded; best selections: 6 (0.95), 4 (0.8).
  const Routed r = run(c, z, &bias);
  EXPECT_EQ(r.idx, (std::vector<int32_t>{6, 4}));
  // Weights use the sigmoid scores without bias: 0.05 and 0.8, normalised, times 2.5.
  EXPECT_NEAR(r.w[0], 0.05 / 0.85 * 2.5, 1e-6);
  EXPECT_NEAR(r.w[1], 0.8 / 0.85 * 2.5, 1e-6);
}

TEST(Routing, V2LiteSoftmaxGreedyWithoutNormalisation) {
  format::ModelConfig c;
  c.n_routed_experts = 4;
  c.num_experts_per_tok = 2;
  c.topk_method = TopkMethod::kGreedy;
  c.scoring_func = ScoringFunc::kSoftmax;
  c.routed_scaling_factor = 1.0;
  const Routed r = run(c, {1, 2, 3, 0}, nullptr);
  const double sum = std::exp(1.0) + std::exp(2.0) + std::exp(3.0) + 1.0;
  EXPECT_EQ(r.idx, (std::vector<int32_t>{2, 1}));
  EXPECT_NEAR(r.w[0], std::exp(3.0) / sum, 1e-6);
  EXPECT_NEAR(r.w[1], std::exp(2.0) / sum, 1e-6);
}

TEST(Routing, V2GroupLimitedGreedyUsesGroupMax) {
  format::ModelConfig c;
  c.n_routed_experts = 6;
  c.num_experts_per_tok = 2;
  c.n_group = 3;
  c.topk_group = 1;
  c.topk_method = TopkMethod::kGroupLimitedGreedy;
  c.scoring_func = ScoringFunc::kSoftmax;
  c.routed_scaling_factor = 16.0;
  // Group maxima: g0 = e^2, g1 = e^1.9, g2 = e^1.8 -> only group 0; plain top-2 would pick 0 and 3.
  const std::vector<float> z = {2, 0, 0, 1.9f, 1.8f, 0};
  double sum = 0;
  for (float v : z) sum += std::exp(v);
  const Routed r = run(c, z, nullptr);
  EXPECT_EQ(r.idx, (std::vector<int32_t>{0, 1}));
  EXPECT_NEAR(r.w[0], std::exp(2.0) / sum * 16, 1e-5);
  EXPECT_NEAR(r.w[1], 1.0 / sum * 16, 1e-5);
}

}  // namespace
}  // namespace radseek

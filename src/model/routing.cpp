#include "model/routing.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace radseek::model {
namespace {

using format::ScoringFunc;
using format::TopkMethod;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Indices of the k largest values (ties: lower index first, deterministic).
void top_k(const float* v, int64_t n, int64_t k, int32_t* out) {
  int32_t idx[1024];
  std::vector<int32_t> big;
  int32_t* p = idx;
  if (n > 1024) {
    big.resize(n);
    p = big.data();
  }
  std::iota(p, p + n, 0);
  std::partial_sort(p, p + k, p + n, [&](int32_t a, int32_t b) { return v[a] > v[b] || (v[a] == v[b] && a < b); });
  std::copy(p, p + k, out);
}

// Keeps the topk_group best groups of `sel` [E] and sets the others to -inf.
void limit_groups(const format::ModelConfig& c, const float* s, float* sel) {
  const int64_t G = c.n_group, per = c.n_routed_experts / G;
  float gscore[256] = {};
  for (int64_t g = 0; g < G; ++g) {
    const float* x = (c.topk_method == TopkMethod::kNoauxTc ? sel : s) + g * per;
    if (c.topk_method == TopkMethod::kNoauxTc) {
      // V3: group score = sum of the two largest bias-corrected scores.
      float a = kNegInf, b = kNegInf;
      for (int64_t i = 0; i < per; ++i) {
        if (x[i] > a) { b = a; a = x[i]; } else if (x[i] > b) { b = x[i]; }
      }
      gscore[g] = per >= 2 ? a + b : a;
    } else {
      gscore[g] = *std::max_element(x, x + per);  // V2 group_limited_greedy: max
    }
  }
  int32_t keep[256];
  top_k(gscore, G, c.topk_group, keep);
  bool kept[256] = {};
  for (int64_t i = 0; i < c.topk_group; ++i) kept[keep[i]] = true;
  for (int64_t g = 0; g < G; ++g)
    if (!kept[g]) std::fill(sel + g * per, sel + (g + 1) * per, kNegInf);
}

}  // namespace

void route_token(const RouteArgs& a) {
  const auto& c = *a.cfg;
  const int64_t E = c.n_routed_experts, K = c.num_experts_per_tok;
  float* z = a.scores;
  if (c.scoring_func == ScoringFunc::kSigmoid) {
    for (int64_t e = 0; e < E; ++e) z[e] = 1.0f / (1.0f + std::exp(-z[e]));
  } else {
    const float mx = *std::max_element(z, z + E);
    double sum = 0.0;
    for (int64_t e = 0; e < E; ++e) sum += (z[e] = std::exp(z[e] - mx));
    for (int64_t e = 0; e < E; ++e) z[e] = static_cast<float>(z[e] / sum);
  }
  for (int64_t e = 0; e < E; ++e) a.sel[e] = z[e] + (a.bias ? a.bias[e] : 0.0f);
  if (c.topk_method != TopkMethod::kGreedy && c.n_group > 1) limit_groups(c, z, a.sel);
  top_k(a.sel, E, K, a.idx);
  double sum = 0.0;
  for (int64_t j = 0; j < K; ++j) sum += (a.weight[j] = z[a.idx[j]]);  // original scores, no bias
  const double norm = (c.norm_topk_prob && K > 1) ? 1.0 / (sum + 1e-20) : 1.0;
  for (int64_t j = 0; j < K; ++j) a.weight[j] = static_cast<float>(a.weight[j] * norm * c.routed_scaling_factor);
}

}  // namespace radseek::model

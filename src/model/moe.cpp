// Dense SwiGLU MLP and the Mixture-of-Experts layer (spec §3.6, §3.7).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "model/linear.h"
#include "model/model.h"
#include "model/routing.h"

namespace radseek::model {

void Model::mlp(const Context& ctx, const MlpWeights& w, const float* x, int64_t m, float* y, Scratch& s) const {
  const int64_t d = cfg_.hidden_size, inter = w.gate_proj.rows;
  linear(ctx, LinearArgs{.x = x, .m = m, .ldx = d, .w = &w.gate_proj, .y = s.ffn_gate.data(), .ldy = inter});
  linear(ctx, LinearArgs{.x = x, .m = m, .ldx = d, .w = &w.up_proj, .y = s.ffn_up.data(), .ldy = inter});
  ctx.kernels->silu_mul_f32(s.ffn_gate.data(), s.ffn_up.data(), s.ffn_gate.data(), m * inter);
  linear(ctx, LinearArgs{.x = s.ffn_gate.data(), .m = m, .ldx = inter, .w = &w.down_proj, .y = y, .ldy = d});
}

// Router in FP32: scores, group limit, top-k, weights (bias only for selection).
void Model::route(const MoeWeights& w, int64_t T, Scratch& s) const {
  const int64_t E = cfg_.n_routed_experts, K = cfg_.num_experts_per_tok;
  for (int64_t t = 0; t < T; ++t)
    route_token(RouteArgs{.cfg = &cfg_, .scores = s.router.data() + t * E,
                          .bias = w.e_score_correction_bias.empty() ? nullptr : w.e_score_correction_bias.data(),
                          .sel = s.sel_scores.data(), .idx = s.sel_idx.data() + t * K, .weight = s.sel_w.data() + t * K});
}

// Tokens are grouped by expert so each expert's weights are read once per step.
void Model::moe(const Context& ctx, const MoeWeights& w, int64_t T, Scratch& s) const {
  const auto& c = cfg_;
  const int64_t d = c.hidden_size, E = c.n_routed_experts, K = c.num_experts_per_tok, mi = c.moe_intermediate_size;
  linear_with(ctx, LinearArgs{.x = s.a.data(), .m = T, .ldx = d, .w = &w.gate, .y = s.router.data(), .ldy = E},
              kernels::ActPrecision::kF32);
  route(w, T, s);
  // Counting sort of (token, weight) pairs by expert.
  std::fill(s.expert_offset.begin(), s.expert_offset.begin() + E + 1, 0);
  for (int64_t i = 0; i < T * K; ++i) s.expert_offset[s.sel_idx[i] + 1]++;
  for (int64_t e = 0; e < E; ++e) s.expert_offset[e + 1] += s.expert_offset[e];
  int32_t fill[1024];
  std::vector<int32_t> fill_big;
  int32_t* f = fill;
  if (E > 1024) { fill_big.resize(E); f = fill_big.data(); }
  std::copy(s.expert_offset.begin(), s.expert_offset.begin() + E, f);
  for (int64_t i = 0; i < T * K; ++i) {
    const int32_t e = s.sel_idx[i];
    s.expert_tokens[f[e]] = static_cast<int32_t>(i / K);
    s.expert_w[f[e]++] = s.sel_w[i];
  }
  if (T <= kMoeBatchMaxTokens) return experts_batched(ctx, w, T, s);
  // Shared experts first: their output initialises tmp.
  if (w.shared_experts) mlp(ctx, *w.shared_experts, s.a.data(), T, s.tmp.data(), s);
  else std::fill(s.tmp.begin(), s.tmp.begin() + T * d, 0.0f);
  for (int64_t e = 0; e < E; ++e) {
    const int32_t b = s.expert_offset[e], n = s.expert_offset[e + 1] - b;
    if (n == 0) continue;
    for (int32_t r = 0; r < n; ++r)
      std::copy_n(s.a.data() + s.expert_tokens[b + r] * d, d, s.ex_x.data() + r * d);
    const MlpWeights& x = w.experts[e];
    linear(ctx, LinearArgs{.x = s.ex_x.data(), .m = n, .ldx = d, .w = &x.gate_proj, .y = s.ex_gate.data(), .ldy = mi});
    linear(ctx, LinearArgs{.x = s.ex_x.data(), .m = n, .ldx = d, .w = &x.up_proj, .y = s.ex_up.data(), .ldy = mi});
    ctx.kernels->silu_mul_f32(s.ex_gate.data(), s.ex_up.data(), s.ex_gate.data(), n * mi);
    // The gathered inputs are spent: the outputs take their rows.
    linear(ctx, LinearArgs{.x = s.ex_gate.data(), .m = n, .ldx = mi, .w = &x.down_proj, .y = s.ex_x.data(), .ldy = d});
    for (int32_t r = 0; r < n; ++r)
      ctx.kernels->axpy_f32(s.expert_w[b + r], s.ex_x.data() + r * d, s.tmp.data() + s.expert_tokens[b + r] * d, d);
  }
}

// Few tokens (decode, MTP verification, small batches): each expert's matrices are too small to keep
// the threads busy on their own, so the shared and routed experts' gate and up projections run as one
// pool batch and their down projections as another. Row b of ex_* is the b-th (token, expert) pair of
// the counting sort, so the pairs of expert e are rows [expert_offset[e], expert_offset[e+1]).
void Model::experts_batched(const Context& ctx, const MoeWeights& w, int64_t T, Scratch& s) const {
  const auto& c = cfg_;
  const int64_t d = c.hidden_size, E = c.n_routed_experts, mi = c.moe_intermediate_size;
  const int64_t si = w.shared_experts ? w.shared_experts->gate_proj.rows : 0;
  s.moe_jobs.clear();  // capacity reserved by ensure_scratch
  if (w.shared_experts) {
    s.moe_jobs.push_back({.x = s.a.data(), .m = T, .ldx = d, .w = &w.shared_experts->gate_proj, .y = s.ffn_gate.data(), .ldy = si});
    s.moe_jobs.push_back({.x = s.a.data(), .m = T, .ldx = d, .w = &w.shared_experts->up_proj, .y = s.ffn_up.data(), .ldy = si});
  }
  for (int64_t e = 0; e < E; ++e) {
    const int32_t b = s.expert_offset[e], n = s.expert_offset[e + 1] - b;
    if (n == 0) continue;
    // One token reads its row of a in place; several are gathered next to each other.
    const float* x = s.a.data() + s.expert_tokens[b] * d;
    if (n > 1) {
      for (int32_t r = 0; r < n; ++r) std::copy_n(s.a.data() + s.expert_tokens[b + r] * d, d, s.ex_x.data() + (b + r) * d);
      x = s.ex_x.data() + b * d;
    }
    s.moe_jobs.push_back({.x = x, .m = n, .ldx = d, .w = &w.experts[e].gate_proj, .y = s.ex_gate.data() + b * mi, .ldy = mi});
    s.moe_jobs.push_back({.x = x, .m = n, .ldx = d, .w = &w.experts[e].up_proj, .y = s.ex_up.data() + b * mi, .ldy = mi});
  }
  linear_batch(ctx, s.moe_jobs, s.batch);
  const int64_t pairs = s.expert_offset[E];
  if (w.shared_experts) ctx.kernels->silu_mul_f32(s.ffn_gate.data(), s.ffn_up.data(), s.ffn_gate.data(), T * si);
  ctx.kernels->silu_mul_f32(s.ex_gate.data(), s.ex_up.data(), s.ex_gate.data(), pairs * mi);
  s.moe_jobs.clear();
  if (w.shared_experts)
    s.moe_jobs.push_back({.x = s.ffn_gate.data(), .m = T, .ldx = si, .w = &w.shared_experts->down_proj, .y = s.tmp.data(), .ldy = d});
  // The gathered inputs are spent once the first batch is done: the outputs take their rows
  // ([T·k, d] less scratch: 25 MB at 512 tokens by V2-Lite's shapes).
  for (int64_t e = 0; e < E; ++e) {
    const int32_t b = s.expert_offset[e], n = s.expert_offset[e + 1] - b;
    if (n > 0)
      s.moe_jobs.push_back({.x = s.ex_gate.data() + b * mi, .m = n, .ldx = mi, .w = &w.experts[e].down_proj,
                            .y = s.ex_x.data() + b * d, .ldy = d});
  }
  linear_batch(ctx, s.moe_jobs, s.batch);
  if (!w.shared_experts) std::fill(s.tmp.begin(), s.tmp.begin() + T * d, 0.0f);
  for (int64_t i = 0; i < pairs; ++i)
    ctx.kernels->axpy_f32(s.expert_w[i], s.ex_x.data() + i * d, s.tmp.data() + s.expert_tokens[i] * d, d);
}

}  // namespace radseek::model

// SwiGLU MLPs and the MoE layer of the trainable model (spec §3.6, §3.7), forward and backward.
#include <algorithm>
#include <cmath>

#include "model/routing.h"
#include "train/train_model.h"

namespace radseek::train {

template <typename T>
void mlp_forward(const Context& ctx, const MlpView<T>& w, int64_t d, const T* x, MlpActs<T>& A, T* y) {
  const int64_t m = A.m, I = w.inter;
  A.g.resize(static_cast<size_t>(m * I));
  A.u.resize(static_cast<size_t>(m * I));
  A.h.resize(static_cast<size_t>(m * I));
  matmul(ctx, x, m, d, w.gate, I, A.g.data());
  matmul(ctx, x, m, d, w.up, I, A.u.data());
  swiglu(A.g.data(), A.u.data(), m * I, A.h.data());
  matmul(ctx, A.h.data(), m, I, w.down, d, y);
}

template <typename T>
void mlp_backward(const Context& ctx, const MlpView<T>& w, const MlpView<T>& gw, int64_t d, const T* x, MlpActs<T>& A,
                  const T* dy, T* dx) {
  const int64_t m = A.m, I = w.inter;
  std::vector<T> dh(static_cast<size_t>(m * I)), dg(static_cast<size_t>(m * I)), du(static_cast<size_t>(m * I));
  matmul_backward(ctx, MatmulGrad{.m = m, .k = I, .n = d}, A.h.data(), w.down, dy, dh.data(), gw.down);
  swiglu_backward(A.g.data(), A.u.data(), dh.data(), m * I, dg.data(), du.data());
  matmul_backward(ctx, MatmulGrad{.m = m, .k = d, .n = I}, x, w.gate, dg.data(), dx, gw.gate);
  matmul_backward(ctx, MatmulGrad{.m = m, .k = d, .n = I}, x, w.up, du.data(), dx, gw.up);
}

// Selection by the engine's route_token (FP32, bias-corrected, group-limited), so the experts a
// token trains are the ones inference will pick; weights recomputed in T from the affinities:
// w_j = rsf · s_j / Σ_k s_k (normalised when norm_topk_prob and K > 1), the bias never included.
template <typename T>
void TrainModel<T>::route(const LayerView<T>& w, MoeActs<T>& M) {
  const auto& c = cfg_;
  const int64_t E = c.n_routed_experts, K = c.num_experts_per_tok;
  M.s.resize(static_cast<size_t>(N_ * E));
  M.idx.resize(static_cast<size_t>(N_ * K));
  M.w.resize(static_cast<size_t>(N_ * K));
  std::vector<float> zf(static_cast<size_t>(E)), sel(static_cast<size_t>(E)), wf(static_cast<size_t>(K));
  std::vector<float> bias;
  if (w.router_bias) bias.assign(w.router_bias, w.router_bias + E);
  const bool norm = c.norm_topk_prob && K > 1;
  for (int64_t n = 0; n < N_; ++n) {
    const T* z = M.z.data() + n * E;
    T* s = M.s.data() + n * E;
    for (int64_t e = 0; e < E; ++e) zf[e] = static_cast<float>(z[e]);
    model::route_token(model::RouteArgs{.cfg = &c, .scores = zf.data(), .bias = bias.empty() ? nullptr : bias.data(),
                                        .sel = sel.data(), .idx = M.idx.data() + n * K, .weight = wf.data()});
    if (c.scoring_func == format::ScoringFunc::kSigmoid) {
      for (int64_t e = 0; e < E; ++e) s[e] = T(1) / (T(1) + std::exp(-z[e]));
    } else {
      const T mx = *std::max_element(z, z + E);
      T sum = 0;
      for (int64_t e = 0; e < E; ++e) sum += (s[e] = std::exp(z[e] - mx));
      for (int64_t e = 0; e < E; ++e) s[e] /= sum;
    }
    T sum = 0;
    for (int64_t j = 0; j < K; ++j) sum += s[M.idx[n * K + j]];
    for (int64_t j = 0; j < K; ++j)
      M.w[n * K + j] = s[M.idx[n * K + j]] * static_cast<T>(c.routed_scaling_factor) / (norm ? sum : T(1));
  }
}

template <typename T>
void TrainModel<T>::moe_forward(const Context& ctx, const LayerView<T>& w, LayerActs<T>& A, T* y) {
  const auto& c = cfg_;
  const int64_t d = c.hidden_size, E = c.n_routed_experts, K = c.num_experts_per_tok;
  MoeActs<T>& M = A.moe;
  M.z.resize(static_cast<size_t>(N_ * E));
  // The router (gate) is one of the V3 recipe's higher-precision GEMMs (train/fp8_sim.h).
  matmul(sensitive_gemm_context(ctx), A.f.data(), N_, d, w.router, E, M.z.data());
  route(w, M);
  // Counting sort of assignments by expert: each expert's rows go through its weights at once.
  M.offset.assign(static_cast<size_t>(E + 1), 0);
  for (int32_t e : M.idx) M.offset[e + 1]++;
  for (int64_t e = 0; e < E; ++e) M.offset[e + 1] += M.offset[e];
  std::vector<int32_t> fill(M.offset.begin(), M.offset.end() - 1);
  M.slot.resize(static_cast<size_t>(N_ * K));
  for (int64_t i = 0; i < N_ * K; ++i) M.slot[fill[M.idx[i]]++] = static_cast<int32_t>(i);
  if (w.shared.gate) {
    M.shared.m = N_;
    mlp_forward(ctx, w.shared, d, A.f.data(), M.shared, y);
  } else {
    std::fill(y, y + N_ * d, T(0));
  }
  M.experts.resize(static_cast<size_t>(E));
  M.y.assign(static_cast<size_t>(N_ * K * d), T(0));
  for (int64_t e = 0; e < E; ++e) {
    const int32_t b = M.offset[e], n = M.offset[e + 1] - b;
    MlpActs<T>& X = M.experts[e];
    X.m = n;
    if (n == 0) continue;
    X.x.resize(static_cast<size_t>(n * d));
    for (int32_t r = 0; r < n; ++r) std::copy_n(A.f.data() + (M.slot[b + r] / K) * d, d, X.x.data() + r * d);
    T* ye = M.y.data() + static_cast<int64_t>(b) * d;
    mlp_forward(ctx, w.experts[e], d, X.x.data(), X, ye);
    for (int32_t r = 0; r < n; ++r) {
      const int32_t sl = M.slot[b + r];
      T* out = y + (sl / K) * d;
      for (int64_t j = 0; j < d; ++j) out[j] += M.w[sl] * ye[r * d + j];
    }
  }
}

// dz [N, E] from the routing-weight gradients dw [N, K] (written).
template <typename T>
void TrainModel<T>::routing_backward(const MoeActs<T>& M, const T* dw, T* dz) const {
  const auto& c = cfg_;
  const int64_t E = c.n_routed_experts, K = c.num_experts_per_tok;
  const bool norm = c.norm_topk_prob && K > 1;
  const T rsf = static_cast<T>(c.routed_scaling_factor);
  std::vector<T> ds(static_cast<size_t>(E));
  for (int64_t n = 0; n < N_; ++n) {
    const T* s = M.s.data() + n * E;
    const int32_t* idx = M.idx.data() + n * K;
    std::fill(ds.begin(), ds.end(), T(0));
    T sum = 0, dot = 0;
    for (int64_t j = 0; j < K; ++j) {
      sum += s[idx[j]];
      dot += dw[n * K + j] * s[idx[j]];
    }
    const T S = norm ? sum : T(1);
    for (int64_t j = 0; j < K; ++j) ds[idx[j]] += rsf * dw[n * K + j] / S;
    if (norm)
      for (int64_t j = 0; j < K; ++j) ds[idx[j]] -= rsf * dot / (S * S);
    T* out = dz + n * E;
    if (c.scoring_func == format::ScoringFunc::kSigmoid) {
      for (int64_t e = 0; e < E; ++e) out[e] = ds[e] * s[e] * (T(1) - s[e]);
    } else {
      T sds = 0;
      for (int64_t e = 0; e < E; ++e) sds += s[e] * ds[e];
      for (int64_t e = 0; e < E; ++e) out[e] = s[e] * (ds[e] - sds);
    }
  }
}

template <typename T>
void TrainModel<T>::moe_backward(const Context& ctx, const LayerView<T>& w, const LayerView<T>& g, LayerActs<T>& A,
                                 const T* dy, T* df) {
  const auto& c = cfg_;
  const int64_t d = c.hidden_size, E = c.n_routed_experts, K = c.num_experts_per_tok;
  MoeActs<T>& M = A.moe;
  std::vector<T> dw(static_cast<size_t>(N_ * K)), dye, dxe;
  for (int64_t e = 0; e < E; ++e) {
    const int32_t b = M.offset[e], n = M.offset[e + 1] - b;
    if (n == 0) continue;
    const T* ye = M.y.data() + static_cast<int64_t>(b) * d;
    dye.assign(static_cast<size_t>(n * d), T(0));
    for (int32_t r = 0; r < n; ++r) {
      const int32_t sl = M.slot[b + r];
      const T* g_out = dy + (sl / K) * d;
      T dot = 0;
      for (int64_t j = 0; j < d; ++j) {
        dot += g_out[j] * ye[r * d + j];
        dye[r * d + j] = M.w[sl] * g_out[j];
      }
      dw[sl] = dot;
    }
    dxe.assign(static_cast<size_t>(n * d), T(0));
    mlp_backward(ctx, w.experts[e], g.experts[e], d, M.experts[e].x.data(), M.experts[e], dye.data(), dxe.data());
    for (int32_t r = 0; r < n; ++r) {
      T* dst = df + (M.slot[b + r] / K) * d;
      for (int64_t j = 0; j < d; ++j) dst[j] += dxe[r * d + j];
    }
  }
  if (w.shared.gate) mlp_backward(ctx, w.shared, g.shared, d, A.f.data(), M.shared, dy, df);
  std::vector<T> dz(static_cast<size_t>(N_ * E));
  routing_backward(M, dw.data(), dz.data());
  matmul_backward(sensitive_gemm_context(ctx), MatmulGrad{.m = N_, .k = d, .n = E}, A.f.data(), w.router,
                  dz.data(), df, g.router);
}

#define RADSEEK_TRAIN_MLP(T)                                                                                    \
  template void mlp_forward<T>(const Context&, const MlpView<T>&, int64_t, const T*, MlpActs<T>&, T*);          \
  template void mlp_backward<T>(const Context&, const MlpView<T>&, const MlpView<T>&, int64_t, const T*,        \
                                MlpActs<T>&, const T*, T*);                                                     \
  template void TrainModel<T>::route(const LayerView<T>&, MoeActs<T>&);                                         \
  template void TrainModel<T>::moe_forward(const Context&, const LayerView<T>&, LayerActs<T>&, T*);             \
  template void TrainModel<T>::routing_backward(const MoeActs<T>&, const T*, T*) const;                         \
  template void TrainModel<T>::moe_backward(const Context&, const LayerView<T>&, const LayerView<T>&,           \
                                            LayerActs<T>&, const T*, T*);
RADSEEK_TRAIN_MLP(float)
RADSEEK_TRAIN_MLP(double)
#undef RADSEEK_TRAIN_MLP

}  // namespace radseek::train

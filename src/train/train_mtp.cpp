// The multi-token-prediction module of the trainable model, depth 1 (spec §3.8; V3 report §2.2),
// computed exactly as the engine's Model::mtp_forward runs it at inference, so a trained module
// drafts what it learned:
//   x_i = eh_proj · [enorm(Emb(t_{i+1})) ; hnorm(h_i)]   (embedding first, h_i = main model after model.norm)
//   y   = Block_L(x)                                      (L = num_hidden_layers, causal over the sequence)
//   logits_{i+2} = shared_head.norm(y_i) · lm_headᵀ        (embedding and head shared with the main model)
// Rotary positions are the rows' own (the engine offsets them by one, which changes no score).
#include <algorithm>

#include "train/train_model.h"

namespace radseek::train {

// Token i+1 and target i+2 of every row, and the normed block input.
template <typename T>
void TrainModel<T>::mtp_embed(const ModelView<T>& w) {
  const MtpView<T>& m = *w.mtp;
  const int64_t d = cfg_.hidden_size;
  const double eps = cfg_.rms_norm_eps;
  MtpActs<T>& A = mtp_;
  A.tokens.assign(static_cast<size_t>(N_), 0);
  A.targets.assign(static_cast<size_t>(N_), -1);
  for (int64_t n = 0; n < N_; ++n) {
    // A sequence's last row has no token i+1 in the batch and so no target; it is a key no row
    // attends to (causal), so any valid id serves as its input.
    const bool last = n % S_ == S_ - 1;
    A.tokens[n] = last ? tokens_[n] : tokens_[n + 1];
    A.targets[n] = last ? -1 : targets_[n + 1];
  }
  A.emb.resize(static_cast<size_t>(N_ * d));
  A.in.resize(static_cast<size_t>(N_ * 2 * d));
  A.e_rstd.resize(static_cast<size_t>(N_));
  A.h_rstd.resize(static_cast<size_t>(N_));
  for (int64_t n = 0; n < N_; ++n) {
    std::copy_n(w.embed + static_cast<int64_t>(A.tokens[n]) * d, d, A.emb.data() + n * d);
    rmsnorm(A.emb.data() + n * d, m.enorm, 1, d, eps, A.in.data() + n * 2 * d, A.e_rstd.data() + n);
    rmsnorm(hn_.data() + n * d, m.hnorm, 1, d, eps, A.in.data() + n * 2 * d + d, A.h_rstd.data() + n);
  }
}

// Mean CE of H's rows under `head`; dlogits carry the λ-weighted gradient.
template <typename T>
double TrainModel<T>::mtp_head_loss(const Context& ctx, const T* head, HeadActs<T>& H) const {
  const int64_t d = cfg_.hidden_size, V = cfg_.vocab_size, M = static_cast<int64_t>(H.rows.size());
  H.logits.assign(static_cast<size_t>(M * V), T(0));
  H.dlogits.assign(static_cast<size_t>(M * V), T(0));
  if (M == 0) return 0.0;
  matmul(sensitive_gemm_context(ctx), H.in.data(), M, d, head, V, H.logits.data());
  const double inv = 1.0 / static_cast<double>(M);
  const int64_t chunks = std::min<int64_t>(M, 4 * ctx.pool->size());
  std::vector<double> part(static_cast<size_t>(chunks));
  ctx.pool->parallel_for(chunks, [&](int64_t t, int) {
    const int64_t r0 = t * M / chunks, r1 = (t + 1) * M / chunks;
    part[t] = cross_entropy(H.logits.data() + r0 * V, H.targets.data() + r0, r1 - r0, V, opt_.mtp_weight * inv,
                            H.dlogits.data() + r0 * V);
  });
  double sum = 0.0;
  for (double p : part) sum += p;
  return sum * inv;
}

// Weight gradient into dhead; returns d(objective)/d(normed rows) [N, d] (zero where no target).
template <typename T>
std::vector<T> TrainModel<T>::mtp_head_backward(const Context& ctx, const T* head, T* dhead, const HeadActs<T>& H) const {
  const int64_t d = cfg_.hidden_size, V = cfg_.vocab_size, M = static_cast<int64_t>(H.rows.size());
  std::vector<T> dn(static_cast<size_t>(N_ * d));
  if (M == 0) return dn;
  std::vector<T> din(static_cast<size_t>(M * d));  // [M, d]
  matmul_backward(sensitive_gemm_context(ctx), MatmulGrad{.m = M, .k = d, .n = V}, H.in.data(), head, H.dlogits.data(),
                  din.data(), dhead);
  for (int64_t i = 0; i < M; ++i) std::copy_n(din.data() + i * d, d, dn.data() + H.rows[i] * d);
  return dn;
}

template <typename T>
void TrainModel<T>::mtp_forward(const Context& ctx, const ModelView<T>& w, ForwardResult& r) {
  const MtpView<T>& m = *w.mtp;
  const int64_t d = cfg_.hidden_size;
  MtpActs<T>& A = mtp_;
  mtp_embed(w);
  A.block.x_in.resize(static_cast<size_t>(N_ * d));
  matmul(ctx, A.in.data(), N_, 2 * d, m.eh_proj, d, A.block.x_in.data());
  attention_forward(ctx, m.layer, A.block);
  A.y.resize(static_cast<size_t>(N_ * d));
  ffn_forward(ctx, m.layer, A.block, A.y.data());
  if (m.layer.moe) {
    const size_t base = r.expert_load.size();
    r.expert_load.resize(base + static_cast<size_t>(cfg_.n_routed_experts));
    for (int32_t e : A.block.moe.idx) r.expert_load[base + e]++;
  }
  A.yn.resize(static_cast<size_t>(N_ * d));
  A.y_rstd.resize(static_cast<size_t>(N_));
  rmsnorm(A.y.data(), m.head_norm, N_, d, cfg_.rms_norm_eps, A.yn.data(), A.y_rstd.data());
  HeadActs<T>& H = A.head;
  H.rows.clear();
  H.targets.clear();
  for (int64_t n = 0; n < N_; ++n)
    if (A.targets[n] >= 0) H.rows.push_back(n), H.targets.push_back(A.targets[n]);
  const int64_t M = static_cast<int64_t>(H.rows.size());
  H.in.resize(static_cast<size_t>(M * d));
  for (int64_t i = 0; i < M; ++i) std::copy_n(A.yn.data() + H.rows[i] * d, d, H.in.data() + i * d);
  r.mtp_counted = M;
  r.mtp_loss = mtp_head_loss(ctx, w.lm_head, H);
}

// Gradients of the MTP parameters, plus the MTP path's share of lm_head, the embedding rows of
// tokens i+1, and dhn [N, d] (d/d of the main model's normed hidden states, accumulated).
template <typename T>
void TrainModel<T>::mtp_backward(const Context& ctx, const ModelView<T>& w, const ModelView<T>& g, T* dhn) {
  const MtpView<T>& m = *w.mtp;
  const MtpView<T>& gm = *g.mtp;
  const int64_t d = cfg_.hidden_size;
  MtpActs<T>& A = mtp_;
  const std::vector<T> dyn = mtp_head_backward(ctx, w.lm_head, g.lm_head, A.head);
  std::vector<T> dx(static_cast<size_t>(N_ * d));  // [N, d] block output, then block input
  rmsnorm_backward(A.y.data(), m.head_norm, A.y_rstd.data(), dyn.data(), N_, d, dx.data(), gm.head_norm);
  ffn_backward(ctx, m.layer, gm.layer, A.block, dx.data());
  attention_backward(ctx, m.layer, gm.layer, A.block, dx.data());
  std::vector<T> din(static_cast<size_t>(N_ * 2 * d));  // [N, 2d]
  matmul_backward(ctx, MatmulGrad{.m = N_, .k = 2 * d, .n = d}, A.in.data(), m.eh_proj, dx.data(), din.data(), gm.eh_proj);
  for (int64_t n = 0; n < N_; ++n) {
    // rmsnorm_backward accumulates into dx, so the embedding row takes its gradient in place.
    T* demb = g.embed + static_cast<int64_t>(A.tokens[n]) * d;
    rmsnorm_backward(A.emb.data() + n * d, m.enorm, A.e_rstd.data() + n, din.data() + n * 2 * d, 1, d, demb, gm.enorm);
    rmsnorm_backward(hn_.data() + n * d, m.hnorm, A.h_rstd.data() + n, din.data() + n * 2 * d + d, 1, d, dhn + n * d,
                     gm.hnorm);
  }
}

// Member by member: TrainModel<T> itself is instantiated in train_model.cpp (as train_moe.cpp does).
#define RADSEEK_TRAIN_MTP(T)                                                                                   \
  template void TrainModel<T>::mtp_embed(const ModelView<T>&);                                                 \
  template double TrainModel<T>::mtp_head_loss(const Context&, const T*, HeadActs<T>&) const;                  \
  template std::vector<T> TrainModel<T>::mtp_head_backward(const Context&, const T*, T*, const HeadActs<T>&) const; \
  template void TrainModel<T>::mtp_forward(const Context&, const ModelView<T>&, ForwardResult&);               \
  template void TrainModel<T>::mtp_backward(const Context&, const ModelView<T>&, const ModelView<T>&, T*);
RADSEEK_TRAIN_MTP(float)
RADSEEK_TRAIN_MTP(double)
#undef RADSEEK_TRAIN_MTP

}  // namespace radseek::train

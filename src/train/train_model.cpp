#include "train/train_model.h"

#include <algorithm>
#include <type_traits>

#include "base/check.h"

namespace radseek::train {
namespace {

template <typename T>
void resize(std::vector<T>& v, int64_t n) {
  v.assign(static_cast<size_t>(n), T(0));
}

}  // namespace

template <typename T>
TrainModel<T>::TrainModel(const format::ModelConfig& cfg, const ParamLayout& layout, TrainModelOptions options)
    : cfg_(cfg), layout_(&layout), opt_(options), has_mtp_(layout_has_mtp(cfg, layout) && options.run_mtp),
      rope_(model::make_rope_tables(cfg)) {
  RADSEEK_CHECK(!has_mtp_ || cfg.num_nextn_predict_layers == 1, "training MTP supports depth 1 only");
}

template <typename T>
ForwardResult TrainModel<T>::forward(const Context& ctx, const T* params, const Batch& batch) {
  const auto& c = cfg_;
  const int64_t d = c.hidden_size, V = c.vocab_size, dr = c.qk_rope_head_dim;
  B_ = batch.B;
  S_ = batch.S;
  N_ = B_ * S_;
  tokens_ = batch.tokens;
  targets_ = batch.targets;
  if (static_cast<int64_t>(rope_cs_.size()) != S_ * dr) {
    rope_cs_.resize(static_cast<size_t>(S_ * dr));
    for (int64_t p = 0; p < S_; ++p) model::rope_cos_sin(rope_, p, rope_cs_.data() + p * dr);
  }
  const ModelView<T> w = bind_view(c, *layout_, const_cast<T*>(params));
  acts_.resize(static_cast<size_t>(c.num_hidden_layers));
  std::vector<T> x(static_cast<size_t>(N_ * d));  // [N, d] residual stream
  for (int64_t n = 0; n < N_; ++n) std::copy_n(w.embed + static_cast<int64_t>(tokens_[n]) * d, d, x.data() + n * d);
  ForwardResult r;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    LayerActs<T>& A = acts_[l];
    A.x_in = x;
    attention_forward(ctx, w.layers[l], A);
    ffn_forward(ctx, w.layers[l], A, x.data());
    if (w.layers[l].moe) {
      const size_t base = r.expert_load.size();
      r.expert_load.resize(base + static_cast<size_t>(c.n_routed_experts));
      for (int32_t e : A.moe.idx) r.expert_load[base + e]++;
    }
  }
  x_final_ = std::move(x);
  resize(hn_, N_ * d);
  resize(h_rstd_, N_);
  rmsnorm(x_final_.data(), w.norm, N_, d, c.rms_norm_eps, hn_.data(), h_rstd_.data());
  head_rows_.clear();
  head_targets_.clear();
  head_weights_.clear();
  for (int64_t n = 0; n < N_; ++n)
    if (targets_[n] >= 0) head_rows_.push_back(n), head_targets_.push_back(targets_[n]);
  RADSEEK_CHECK(batch.weights.empty() || static_cast<int64_t>(batch.weights.size()) == N_, "Batch::weights: expected [B, S]");
  if (!batch.weights.empty())
    for (int64_t n : head_rows_) head_weights_.push_back(batch.weights[n]);
  const int64_t M = static_cast<int64_t>(head_rows_.size());
  r.counted = M;
  resize(head_in_, M * d);
  for (int64_t i = 0; i < M; ++i) std::copy_n(hn_.data() + head_rows_[i] * d, d, head_in_.data() + i * d);
  resize(logits_, M * V);
  // The output head is one of the V3 recipe's higher-precision GEMMs (train/fp8_sim.h).
  if (M > 0) matmul(sensitive_gemm_context(ctx), head_in_.data(), M, d, w.lm_head, V, logits_.data());
  const double inv = M > 0 ? 1.0 / static_cast<double>(M) : 0.0;
  resize(dlogits_, M * V);
  // Rows in parallel chunks: over a 2-4k vocabulary the softmax is a visible share of a step.
  const int64_t chunks = std::min<int64_t>(M, 4 * ctx.pool->size());
  std::vector<double> part(static_cast<size_t>(chunks));
  ctx.pool->parallel_for(chunks, [&](int64_t t, int) {
    const int64_t r0 = t * M / chunks, r1 = (t + 1) * M / chunks;
    if (head_weights_.empty()) {
      part[t] = cross_entropy(logits_.data() + r0 * V, head_targets_.data() + r0, r1 - r0, V, inv, dlogits_.data() + r0 * V);
      return;
    }
    for (int64_t i = r0; i < r1; ++i) {
      const double wi = head_weights_[i];
      part[t] += wi * cross_entropy(logits_.data() + i * V, head_targets_.data() + i, 1, V, inv * wi, dlogits_.data() + i * V);
    }
  });
  for (double p : part) r.loss += p;
  r.loss *= inv;
  if (has_mtp_) mtp_forward(ctx, w, r);
  r.objective = r.loss + opt_.mtp_weight * r.mtp_loss;
  return r;
}

template <typename T>
void TrainModel<T>::backward(const Context& ctx, const T* params, T* grads) {
  const auto& c = cfg_;
  const int64_t d = c.hidden_size, V = c.vocab_size;
  const ModelView<T> w = bind_view(c, *layout_, const_cast<T*>(params));
  const ModelView<T> g = bind_view(c, *layout_, grads);
  std::vector<T> dhn(static_cast<size_t>(N_ * d)), dx(static_cast<size_t>(N_ * d));
  const int64_t M = static_cast<int64_t>(head_rows_.size());
  if (M > 0) {
    std::vector<T> dhead(static_cast<size_t>(M * d));
    matmul_backward(sensitive_gemm_context(ctx), MatmulGrad{.m = M, .k = d, .n = V}, head_in_.data(), w.lm_head,
                    dlogits_.data(), dhead.data(), g.lm_head);
    for (int64_t i = 0; i < M; ++i) std::copy_n(dhead.data() + i * d, d, dhn.data() + head_rows_[i] * d);
  }
  if (has_mtp_) mtp_backward(ctx, w, g, dhn.data());  // the MTP loss reaches the main model through h
  rmsnorm_backward(x_final_.data(), w.norm, h_rstd_.data(), dhn.data(), N_, d, dx.data(), g.norm);
  for (int64_t l = c.num_hidden_layers - 1; l >= 0; --l) {
    ffn_backward(ctx, w.layers[l], g.layers[l], acts_[l], dx.data());
    attention_backward(ctx, w.layers[l], g.layers[l], acts_[l], dx.data());
  }
  for (int64_t n = 0; n < N_; ++n) {
    T* row = g.embed + static_cast<int64_t>(tokens_[n]) * d;
    for (int64_t j = 0; j < d; ++j) row[j] += dx[n * d + j];
  }
}

template <typename T>
void TrainModel<T>::attention_forward(const Context& ctx, const LayerView<T>& w, LayerActs<T>& A) {
  const auto& c = cfg_;
  const int64_t d = c.hidden_size, H = c.num_attention_heads, C = c.kv_lora_rank, dr = c.qk_rope_head_dim;
  const int64_t dn = c.qk_nope_head_dim, dv = c.v_head_dim, dq = c.qk_head_dim(), KV = H * (dn + dv);
  const double eps = c.rms_norm_eps;
  resize(A.a, N_ * d);
  resize(A.a_rstd, N_);
  rmsnorm(A.x_in.data(), w.input_norm, N_, d, eps, A.a.data(), A.a_rstd.data());
  resize(A.q, N_ * H * dq);
  if (w.q_a) {
    const int64_t cq = *c.q_lora_rank;
    resize(A.qa_raw, N_ * cq);
    resize(A.qa, N_ * cq);
    resize(A.qa_rstd, N_);
    matmul(ctx, A.a.data(), N_, d, w.q_a, cq, A.qa_raw.data());
    rmsnorm(A.qa_raw.data(), w.q_a_norm, N_, cq, eps, A.qa.data(), A.qa_rstd.data());
    matmul(ctx, A.qa.data(), N_, cq, w.q_b, H * dq, A.q.data());
  } else {
    matmul(ctx, A.a.data(), N_, d, w.q, H * dq, A.q.data());
  }
  std::vector<T> kv(static_cast<size_t>(N_ * (C + dr)));  // [N, c+dr] = [latent | rope key]
  matmul(ctx, A.a.data(), N_, d, w.kv_a, C + dr, kv.data());
  resize(A.kv_lat, N_ * C);
  resize(A.kpe, N_ * dr);
  for (int64_t n = 0; n < N_; ++n) {
    std::copy_n(kv.data() + n * (C + dr), C, A.kv_lat.data() + n * C);
    std::copy_n(kv.data() + n * (C + dr) + C, dr, A.kpe.data() + n * dr);
    const float* cs = rope_cs_.data() + (n % S_) * dr;  // positions restart in every sequence
    rope_rotate(cs, dr, A.kpe.data() + n * dr);
    for (int64_t h = 0; h < H; ++h) rope_rotate(cs, dr, A.q.data() + n * H * dq + h * dq + dn);
  }
  resize(A.ckv, N_ * C);
  resize(A.ckv_rstd, N_);
  rmsnorm(A.kv_lat.data(), w.kv_norm, N_, C, eps, A.ckv.data(), A.ckv_rstd.data());
  resize(A.kvb, N_ * KV);
  matmul(ctx, A.ckv.data(), N_, C, w.kv_b, KV, A.kvb.data());
  resize(A.probs, B_ * H * S_ * S_);
  resize(A.attn_o, N_ * H * dv);
  ctx.pool->parallel_for(B_ * H, [&](int64_t task, int) {
    const int64_t b = task / H, h = task % H, r0 = b * S_;
    const AttnHead<T> head{.t = S_, .dn = dn, .dr = dr, .dv = dv, .scale = rope_.softmax_scale,
                               .q = A.q.data() + r0 * H * dq + h * dq, .ldq = H * dq, .q_pe_col = dn,
                               .k = A.kvb.data() + r0 * KV + h * (dn + dv), .ldk = KV,
                               .kpe = A.kpe.data() + r0 * dr, .ldpe = dr,
                               .v = A.kvb.data() + r0 * KV + h * (dn + dv) + dn, .ldv = KV,
                               .o = A.attn_o.data() + r0 * H * dv + h * dv, .ldo = H * dv,
                               .p = A.probs.data() + task * S_ * S_};
    if constexpr (std::is_same_v<T, float>) attention_head_gemm(*ctx.kernels, head);
    else attention_head(head);
  });
  resize(A.x_mid, N_ * d);
  matmul(ctx, A.attn_o.data(), N_, H * dv, w.o, d, A.x_mid.data());
  for (int64_t i = 0; i < N_ * d; ++i) A.x_mid[i] += A.x_in[i];
}

// dx holds d(loss)/d(x_mid) on entry and d(loss)/d(x_in) on return.
template <typename T>
void TrainModel<T>::attention_backward(const Context& ctx, const LayerView<T>& w, const LayerView<T>& g,
                                       LayerActs<T>& A, T* dx) {
  const auto& c = cfg_;
  const int64_t d = c.hidden_size, H = c.num_attention_heads, C = c.kv_lora_rank, dr = c.qk_rope_head_dim;
  const int64_t dn = c.qk_nope_head_dim, dv = c.v_head_dim, dq = c.qk_head_dim(), KV = H * (dn + dv);
  std::vector<T> d_o(static_cast<size_t>(N_ * H * dv)), dq_buf(static_cast<size_t>(N_ * H * dq));
  std::vector<T> dkvb(static_cast<size_t>(N_ * KV)), dkpe_h(static_cast<size_t>(B_ * H * S_ * dr));
  matmul_backward(ctx, MatmulGrad{.m = N_, .k = H * dv, .n = d}, A.attn_o.data(), w.o, dx, d_o.data(), g.o);
  std::vector<T> scratch(static_cast<size_t>(ctx.pool->size() * S_));
  ctx.pool->parallel_for(B_ * H, [&](int64_t task, int th) {
    const int64_t b = task / H, h = task % H, r0 = b * S_;
    const AttnHead<T> head{.t = S_, .dn = dn, .dr = dr, .dv = dv, .scale = rope_.softmax_scale,
                           .q = A.q.data() + r0 * H * dq + h * dq, .ldq = H * dq, .q_pe_col = dn,
                           .k = A.kvb.data() + r0 * KV + h * (dn + dv), .ldk = KV,
                           .kpe = A.kpe.data() + r0 * dr, .ldpe = dr,
                           .v = A.kvb.data() + r0 * KV + h * (dn + dv) + dn, .ldv = KV,
                           .o = A.attn_o.data() + r0 * H * dv + h * dv, .ldo = H * dv,
                           .p = A.probs.data() + task * S_ * S_};
    // Each head writes its own shared-key gradient (summed below), so heads never race.
    const AttnHeadGrad<T> hg{.d_o = d_o.data() + r0 * H * dv + h * dv,
                             .dq = dq_buf.data() + r0 * H * dq + h * dq,
                             .dk = dkvb.data() + r0 * KV + h * (dn + dv),
                             .dkpe = dkpe_h.data() + task * S_ * dr,
                             .dv = dkvb.data() + r0 * KV + h * (dn + dv) + dn,
                             .scratch = scratch.data() + th * S_};
    if constexpr (std::is_same_v<T, float>) attention_head_backward_gemm(*ctx.kernels, head, hg);
    else attention_head_backward(head, hg);
  });
  std::vector<T> dckv(static_cast<size_t>(N_ * C)), dkv(static_cast<size_t>(N_ * (C + dr)));
  matmul_backward(ctx, MatmulGrad{.m = N_, .k = C, .n = KV}, A.ckv.data(), w.kv_b, dkvb.data(), dckv.data(), g.kv_b);
  std::vector<T> dlat(static_cast<size_t>(N_ * C));
  rmsnorm_backward(A.kv_lat.data(), w.kv_norm, A.ckv_rstd.data(), dckv.data(), N_, C, dlat.data(), g.kv_norm);
  for (int64_t n = 0; n < N_; ++n) {
    const int64_t b = n / S_, s = n % S_;
    const float* cs = rope_cs_.data() + s * dr;
    T* pe = dkv.data() + n * (C + dr) + C;
    for (int64_t h = 0; h < H; ++h)
      for (int64_t j = 0; j < dr; ++j) pe[j] += dkpe_h[((b * H + h) * S_ + s) * dr + j];
    rope_rotate_backward(cs, dr, pe);
    std::copy_n(dlat.data() + n * C, C, dkv.data() + n * (C + dr));
    for (int64_t h = 0; h < H; ++h) rope_rotate_backward(cs, dr, dq_buf.data() + n * H * dq + h * dq + dn);
  }
  std::vector<T> da(static_cast<size_t>(N_ * d));
  matmul_backward(ctx, MatmulGrad{.m = N_, .k = d, .n = C + dr}, A.a.data(), w.kv_a, dkv.data(), da.data(), g.kv_a);
  project_q_backward(ctx, w, g, A, dq_buf.data(), da.data());
  rmsnorm_backward(A.x_in.data(), w.input_norm, A.a_rstd.data(), da.data(), N_, d, dx, g.input_norm);
}

template <typename T>
void TrainModel<T>::project_q_backward(const Context& ctx, const LayerView<T>& w, const LayerView<T>& g,
                                       LayerActs<T>& A, const T* dq, T* da) {
  const auto& c = cfg_;
  const int64_t d = c.hidden_size, Hq = c.num_attention_heads * c.qk_head_dim();
  if (!w.q_a) {
    matmul_backward(ctx, MatmulGrad{.m = N_, .k = d, .n = Hq}, A.a.data(), w.q, dq, da, g.q);
    return;
  }
  const int64_t cq = *c.q_lora_rank;
  std::vector<T> dqa(static_cast<size_t>(N_ * cq)), dqa_raw(static_cast<size_t>(N_ * cq));
  matmul_backward(ctx, MatmulGrad{.m = N_, .k = cq, .n = Hq}, A.qa.data(), w.q_b, dq, dqa.data(), g.q_b);
  rmsnorm_backward(A.qa_raw.data(), w.q_a_norm, A.qa_rstd.data(), dqa.data(), N_, cq, dqa_raw.data(), g.q_a_norm);
  matmul_backward(ctx, MatmulGrad{.m = N_, .k = d, .n = cq}, A.a.data(), w.q_a, dqa_raw.data(), da, g.q_a);
}

template <typename T>
void TrainModel<T>::ffn_forward(const Context& ctx, const LayerView<T>& w, LayerActs<T>& A, T* x_out) {
  const int64_t d = cfg_.hidden_size;
  resize(A.f, N_ * d);
  resize(A.f_rstd, N_);
  rmsnorm(A.x_mid.data(), w.post_norm, N_, d, cfg_.rms_norm_eps, A.f.data(), A.f_rstd.data());
  if (w.moe) moe_forward(ctx, w, A, x_out);
  else {
    A.dense.m = N_;
    mlp_forward(ctx, w.mlp, d, A.f.data(), A.dense, x_out);
  }
  for (int64_t i = 0; i < N_ * d; ++i) x_out[i] += A.x_mid[i];
}

// dx holds d(loss)/d(layer output) on entry and d(loss)/d(x_mid) on return.
template <typename T>
void TrainModel<T>::ffn_backward(const Context& ctx, const LayerView<T>& w, const LayerView<T>& g, LayerActs<T>& A,
                                 T* dx) {
  const int64_t d = cfg_.hidden_size;
  std::vector<T> df(static_cast<size_t>(N_ * d));
  if (w.moe) moe_backward(ctx, w, g, A, dx, df.data());
  else mlp_backward(ctx, w.mlp, g.mlp, d, A.f.data(), A.dense, dx, df.data());
  rmsnorm_backward(A.x_mid.data(), w.post_norm, A.f_rstd.data(), df.data(), N_, d, dx, g.post_norm);
}

template class TrainModel<float>;
template class TrainModel<double>;

}  // namespace radseek::train

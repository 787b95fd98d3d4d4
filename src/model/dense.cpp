// Legend: T rows in the step, H query heads, Hkv key/value heads, hd head width, d hidden size.
#include "model/dense.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>

#include "model/linear.h"
#include "model/tensor_loader.h"

namespace radseek::model {
namespace {

template <typename T>
void grow(std::vector<T>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
}

Expected<DenseLayerWeights> load_dense_layer(TensorLoader& ld, const ModelConfig& c, int64_t l) {
  const std::string p = "model.layers." + std::to_string(l) + ".", a = p + "self_attn.";
  const int64_t d = c.hidden_size, hd = c.head_dim, q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd;
  DenseLayerWeights w;
  auto take = [](auto&& r, auto& out) -> Status {
    if (!r) return r.error();
    out = std::move(*r);
    return {};
  };
  RADSEEK_TRY(take(ld.norm(p + "input_layernorm.weight", d), w.input_layernorm));
  RADSEEK_TRY(take(ld.norm(p + "post_attention_layernorm.weight", d), w.post_attention_layernorm));
  RADSEEK_TRY(take(ld.matrix(a + "q_proj.weight", q, d), w.q_proj));
  RADSEEK_TRY(take(ld.matrix(a + "k_proj.weight", kv, d), w.k_proj));
  RADSEEK_TRY(take(ld.matrix(a + "v_proj.weight", kv, d), w.v_proj));
  RADSEEK_TRY(take(ld.matrix(a + "o_proj.weight", d, q), w.o_proj));
  if (c.attention_bias) {
    RADSEEK_TRY(take(ld.f32_vector(a + "q_proj.bias", q), w.q_bias));
    RADSEEK_TRY(take(ld.f32_vector(a + "k_proj.bias", kv), w.k_bias));
    RADSEEK_TRY(take(ld.f32_vector(a + "v_proj.bias", kv), w.v_bias));
  }
  if (c.qk_norm) {
    RADSEEK_TRY(take(ld.norm(a + "q_norm.weight", hd), w.q_norm));
    RADSEEK_TRY(take(ld.norm(a + "k_norm.weight", hd), w.k_norm));
  }
  RADSEEK_TRY(take(load_mlp(ld, p + "mlp.", d, c.intermediate_size), w.mlp));
  return w;
}


// NeoX / HF rotate_half: element i pairs with i + hd/2.
void rope_half_split(const float* cs, int64_t hd, float* x) {
  const int64_t half = hd / 2;
  for (int64_t i = 0; i < half; ++i) {
    const float c = cs[2 * i], s = cs[2 * i + 1];
    const float a = x[i], b = x[i + half];
    x[i] = a * c - b * s;
    x[i + half] = b * c + a * s;
  }
}

}  // namespace

std::vector<double> dense_inv_freq(const format::ModelConfig& c) {
  const int64_t half = c.head_dim / 2;
  std::vector<double> f(static_cast<size_t>(half));
  const auto& rs = c.rope_scaling;
  for (int64_t i = 0; i < half; ++i) {
    const double inv = std::pow(c.rope_theta, -2.0 * static_cast<double>(i) / static_cast<double>(c.head_dim));
    f[i] = inv;
    if (rs.type != "llama3") continue;
    // Llama 3.1 rule: keep short wavelengths, divide long ones by factor, blend in between.
    const double L0 = static_cast<double>(rs.original_max_position_embeddings);
    const double wavelen = 2.0 * std::numbers::pi / inv;
    const double lo_wl = L0 / rs.low_freq_factor, hi_wl = L0 / rs.high_freq_factor;
    if (wavelen < hi_wl) continue;
    if (wavelen > lo_wl) {
      f[i] = inv / rs.factor;
    } else {
      const double sm = (L0 / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
      f[i] = (1.0 - sm) * inv / rs.factor + sm * inv;
    }
  }
  return f;
}

Expected<std::unique_ptr<DenseModel>> DenseModel::load(format::ModelConfig cfg, format::Checkpoint ckpt) {
  auto m = std::unique_ptr<DenseModel>(new DenseModel());
  m->cfg_ = std::move(cfg);
  m->ckpt_ = std::move(ckpt);
  const auto& c = m->cfg_;
  TensorLoader ld(m->ckpt_, c);
  auto emb = ld.matrix("model.embed_tokens.weight", c.vocab_size, c.hidden_size);
  if (!emb) return emb.error();
  m->weights_.embed_tokens = *emb;
  auto norm = ld.norm("model.norm.weight", c.hidden_size);
  if (!norm) return norm.error();
  m->weights_.norm = std::move(*norm);
  if (ld.has("lm_head.weight") || !c.tie_word_embeddings) {
    auto head = ld.matrix("lm_head.weight", c.vocab_size, c.hidden_size);
    if (!head) return head.error();
    m->weights_.lm_head = *head;
  } else {
    m->weights_.lm_head = m->weights_.embed_tokens;
  }
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    auto layer = load_dense_layer(ld, c, l);
    if (!layer) return layer.error();
    m->weights_.layers.push_back(std::move(*layer));
  }
  RADSEEK_TRY(check_no_extra(ld, m->ckpt_));
  m->inv_freq_ = dense_inv_freq(c);
  return m;
}

KvCache DenseModel::make_cache(int64_t capacity) const {
  return KvCache(KvCacheShape{.n_layers = cfg_.num_hidden_layers, .capacity = capacity,
                              .row_size = 2 * cfg_.num_key_value_heads * cfg_.head_dim});
}

void DenseModel::ensure_scratch(Scratch& s, int64_t T, int64_t L, int threads) const {
  const auto& c = cfg_;
  const int64_t d = c.hidden_size, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  grow(s.x, T * d);
  grow(s.a, T * d);
  grow(s.tmp, T * d);
  grow(s.q, T * q);
  grow(s.kv, T * 2 * kv);
  grow(s.attn_o, T * q);
  grow(s.rope_cs, T * c.head_dim);
  grow(s.scores, threads * L);
  grow(s.ffn_gate, T * c.intermediate_size);
  grow(s.ffn_up, T * c.intermediate_size);
  s.tokens = std::max(s.tokens, T);
  s.context = std::max(s.context, L);
  s.threads = std::max<int64_t>(s.threads, threads);
}

TokenBytes DenseModel::weight_bytes(kernels::ActPrecision) const {
  const auto bytes = weight_matrix_bytes;  // scales included, as for the DeepSeek models
  TokenBytes t;
  t.per_token = bytes(weights_.lm_head) + bytes(weights_.embed_tokens) / std::max<int64_t>(1, weights_.embed_tokens.rows);
  for (const auto& l : weights_.layers)
    t.per_token += bytes(l.q_proj) + bytes(l.k_proj) + bytes(l.v_proj) + bytes(l.o_proj) + bytes(l.mlp.gate_proj) +
                   bytes(l.mlp.up_proj) + bytes(l.mlp.down_proj);
  t.total_weights = t.per_token - bytes(weights_.embed_tokens) / std::max<int64_t>(1, weights_.embed_tokens.rows) +
                    (weights_.lm_head.data == weights_.embed_tokens.data ? 0 : bytes(weights_.embed_tokens));
  return t;
}

void DenseModel::project_qkv(const Context& ctx, const DenseLayerWeights& w, Scratch& s, int64_t T) const {
  const auto& c = cfg_;
  const int64_t d = c.hidden_size, hd = c.head_dim, q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd;
  float* k = s.kv.data();           // [T, Hkv·hd]
  float* v = s.kv.data() + T * kv;  // [T, Hkv·hd]
  linear(ctx, LinearArgs{.x = s.a.data(), .m = T, .ldx = d, .w = &w.q_proj, .y = s.q.data(), .ldy = q});
  linear(ctx, LinearArgs{.x = s.a.data(), .m = T, .ldx = d, .w = &w.k_proj, .y = k, .ldy = kv});
  linear(ctx, LinearArgs{.x = s.a.data(), .m = T, .ldx = d, .w = &w.v_proj, .y = v, .ldy = kv});
  const float eps = static_cast<float>(c.rms_norm_eps);
  for (int64_t t = 0; t < T; ++t) {
    if (!w.q_bias.empty()) {
      for (int64_t i = 0; i < q; ++i) s.q[t * q + i] += w.q_bias[i];
      for (int64_t i = 0; i < kv; ++i) k[t * kv + i] += w.k_bias[i], v[t * kv + i] += w.v_bias[i];
    }
    const float* cs = s.rope_cs.data() + t * hd;
    for (int64_t h = 0; h < c.num_attention_heads; ++h) {
      float* x = s.q.data() + t * q + h * hd;
      if (!w.q_norm.w.empty()) ctx.kernels->rmsnorm_f32(x, w.q_norm.w.data(), eps, x, hd);
      rope_half_split(cs, hd, x);
    }
    for (int64_t h = 0; h < c.num_key_value_heads; ++h) {
      float* x = k + t * kv + h * hd;
      if (!w.k_norm.w.empty()) ctx.kernels->rmsnorm_f32(x, w.k_norm.w.data(), eps, x, hd);
      rope_half_split(cs, hd, x);
    }
  }
}

void DenseModel::attention(const Context& ctx, const DenseLayerWeights& w, int64_t layer,
                           std::span<const SeqStep> seqs, Scratch& s, int64_t T) const {
  const auto& c = cfg_;
  const int64_t d = c.hidden_size, hd = c.head_dim, H = c.num_attention_heads, q = H * hd;
  const int64_t kv = c.num_key_value_heads * hd, R = 2 * kv, group = H / c.num_key_value_heads;
  project_qkv(ctx, w, s, T);
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  const kernels::KernelTable& kt = *ctx.kernels;
  int64_t r0 = 0;
  for (const SeqStep& sq : seqs) {
    const int64_t Ti = static_cast<int64_t>(sq.tokens.size()), pos0 = sq.cache->length();
    float* cl = sq.cache->layer(layer);  // [capacity, K (Hkv·hd) | V (Hkv·hd)]
    for (int64_t t = 0; t < Ti; ++t) {
      std::memcpy(cl + (pos0 + t) * R, s.kv.data() + (r0 + t) * kv, sizeof(float) * kv);
      std::memcpy(cl + (pos0 + t) * R + kv, s.kv.data() + T * kv + (r0 + t) * kv, sizeof(float) * kv);
    }
    ctx.pool->parallel_for(H * Ti, [&](int64_t task, int th) {
      const int64_t h = task % H, t = task / H, g = h / group, L = pos0 + t + 1;
      float* sc = s.scores.data() + th * s.context;
      const float* qr = s.q.data() + (r0 + t) * q + h * hd;
      for (int64_t j = 0; j < L; ++j) sc[j] = scale * kt.dot_f32(qr, cl + j * R + g * hd, hd);
      softmax_inplace(sc, L);
      float* out = s.attn_o.data() + (r0 + t) * q + h * hd;
      std::fill(out, out + hd, 0.0f);
      for (int64_t j = 0; j < L; ++j) kt.axpy_f32(sc[j], cl + j * R + kv + g * hd, out, hd);
    });
    r0 += Ti;
  }
  linear(ctx, LinearArgs{.x = s.attn_o.data(), .m = T, .ldx = q, .w = &w.o_proj, .y = s.tmp.data(), .ldy = d});
}

Status DenseModel::forward_batch(const Context& ctx, const BatchArgs& args) const {
  RADSEEK_TRY(validate_steps(args.seqs, cfg_.vocab_size));
  int64_t T = 0, L = 0;
  for (const SeqStep& q : args.seqs) {
    T += static_cast<int64_t>(q.tokens.size());
    L = std::max(L, q.cache->capacity());
  }
  if (T == 0) return {};
  const int64_t d = cfg_.hidden_size, V = cfg_.vocab_size, hd = cfg_.head_dim;
  Scratch& s = *args.scratch;
  ensure_scratch(s, T, L, ctx.pool->size());
  const kernels::KernelTable& kt = *ctx.kernels;
  int64_t r = 0;
  for (const SeqStep& q : args.seqs)
    for (size_t t = 0; t < q.tokens.size(); ++t, ++r) {
      dequant_rows(weights_.embed_tokens, q.tokens[t], 1, s.x.data() + r * d);
      const int64_t pos = q.cache->length() + static_cast<int64_t>(t);
      for (int64_t i = 0; i < hd / 2; ++i) {
        const double phi = static_cast<double>(pos) * inv_freq_[i];
        s.rope_cs[r * hd + 2 * i] = static_cast<float>(std::cos(phi));
        s.rope_cs[r * hd + 2 * i + 1] = static_cast<float>(std::sin(phi));
      }
    }
  const float eps = static_cast<float>(cfg_.rms_norm_eps);
  for (int64_t l = 0; l < cfg_.num_hidden_layers; ++l) {
    const DenseLayerWeights& lw = weights_.layers[l];
    for (int64_t t = 0; t < T; ++t) kt.rmsnorm_f32(s.x.data() + t * d, lw.input_layernorm.w.data(), eps, s.a.data() + t * d, d);
    attention(ctx, lw, l, args.seqs, s, T);
    for (int64_t i = 0; i < T * d; ++i) s.x[i] += s.tmp[i];
    for (int64_t t = 0; t < T; ++t)
      kt.rmsnorm_f32(s.x.data() + t * d, lw.post_attention_layernorm.w.data(), eps, s.a.data() + t * d, d);
    const int64_t inter = cfg_.intermediate_size;
    linear(ctx, LinearArgs{.x = s.a.data(), .m = T, .ldx = d, .w = &lw.mlp.gate_proj, .y = s.ffn_gate.data(), .ldy = inter});
    linear(ctx, LinearArgs{.x = s.a.data(), .m = T, .ldx = d, .w = &lw.mlp.up_proj, .y = s.ffn_up.data(), .ldy = inter});
    kt.silu_mul_f32(s.ffn_gate.data(), s.ffn_up.data(), s.ffn_gate.data(), T * inter);
    linear(ctx, LinearArgs{.x = s.ffn_gate.data(), .m = T, .ldx = inter, .w = &lw.mlp.down_proj, .y = s.tmp.data(), .ldy = d});
    for (int64_t i = 0; i < T * d; ++i) s.x[i] += s.tmp[i];
  }
  for (int64_t t = 0; t < T; ++t) kt.rmsnorm_f32(s.x.data() + t * d, weights_.norm.w.data(), eps, s.a.data() + t * d, d);
  finish_step(ctx, {.seqs = args.seqs, .normed = s.a.data(), .d = d, .lm_head = &weights_.lm_head, .vocab = V});
  return {};
}

}  // namespace radseek::model

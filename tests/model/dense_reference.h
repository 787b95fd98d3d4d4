// An independent reference for the dense architectures (spec §6) in the simplest form: double
// precision, full recompute, weights read straight from the safetensors bytes, no engine code
// beyond the file parser. Kept apart from src/model on purpose.
#pragma once

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "base/numeric.h"
#include "format/hf_config.h"
#include "format/safetensors.h"

namespace radseek::testref {

using Mat = std::vector<double>;  // row-major

inline Mat read(const format::Checkpoint& ck, const std::string& name) {
  const auto* t = ck.find(name);
  Mat m(static_cast<size_t>(t->numel()));
  for (size_t i = 0; i < m.size(); ++i) {
    if (t->dtype == DType::kBF16) m[i] = bf16_to_f32(reinterpret_cast<const uint16_t*>(t->data)[i]);
    else if (t->dtype == DType::kF32) m[i] = reinterpret_cast<const float*>(t->data)[i];
    else m[i] = NAN;
  }
  return m;
}

// y [n] = W [n, k] · x [k] (+ b)
inline std::vector<double> matvec(const Mat& W, const std::vector<double>& x, const Mat* b = nullptr) {
  const size_t k = x.size(), n = W.size() / k;
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) {
    double s = b ? (*b)[i] : 0.0;
    for (size_t j = 0; j < k; ++j) s += W[i * k + j] * x[j];
    y[i] = s;
  }
  return y;
}

inline std::vector<double> rmsnorm(const std::vector<double>& x, const Mat& w, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double inv = 1.0 / std::sqrt(ss / x.size() + eps);
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = w[i] * x[i] * inv;
  return y;
}

inline double inv_freq(const format::ModelConfig& c, int64_t i) {
  const double pi = 3.14159265358979323846;
  double f = std::pow(c.rope_theta, -2.0 * i / c.head_dim);
  const auto& r = c.rope_scaling;
  if (r.type != "llama3") return f;
  const double wl = 2 * pi / f, L0 = static_cast<double>(r.original_max_position_embeddings);
  if (wl < L0 / r.high_freq_factor) return f;
  if (wl > L0 / r.low_freq_factor) return f / r.factor;
  const double sm = (L0 / wl - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
  return (1 - sm) * f / r.factor + sm * f;
}

// rotate_half RoPE on one head vector in place.
inline void rope(const format::ModelConfig& c, int64_t pos, double* x) {
  const int64_t h = c.head_dim / 2;
  for (int64_t i = 0; i < h; ++i) {
    const double a = pos * inv_freq(c, i), co = std::cos(a), si = std::sin(a);
    const double x0 = x[i], x1 = x[i + h];
    x[i] = x0 * co - x1 * si;
    x[i + h] = x1 * co + x0 * si;
  }
}

// Logits [T][V] for every position of ids.
inline std::vector<std::vector<double>> dense_logits(const format::ModelConfig& c, const format::Checkpoint& ck,
                                                     const std::vector<int32_t>& ids) {
  const int64_t T = ids.size(), d = c.hidden_size, hd = c.head_dim, H = c.num_attention_heads;
  const int64_t Hkv = c.num_key_value_heads;
  const Mat emb = read(ck, "model.embed_tokens.weight");
  std::vector<std::vector<double>> x(T, std::vector<double>(d));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < d; ++i) x[t][i] = emb[ids[t] * d + i];
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".", a = p + "self_attn.";
    const Mat wq = read(ck, a + "q_proj.weight"), wk = read(ck, a + "k_proj.weight"), wv = read(ck, a + "v_proj.weight");
    const Mat wo = read(ck, a + "o_proj.weight"), n1 = read(ck, p + "input_layernorm.weight");
    Mat bq, bk, bv, qn, kn;
    if (c.attention_bias) bq = read(ck, a + "q_proj.bias"), bk = read(ck, a + "k_proj.bias"), bv = read(ck, a + "v_proj.bias");
    if (c.qk_norm) qn = read(ck, a + "q_norm.weight"), kn = read(ck, a + "k_norm.weight");
    std::vector<std::vector<double>> q(T), k(T), v(T);
    for (int64_t t = 0; t < T; ++t) {
      const auto h = rmsnorm(x[t], n1, c.rms_norm_eps);
      q[t] = matvec(wq, h, c.attention_bias ? &bq : nullptr);
      k[t] = matvec(wk, h, c.attention_bias ? &bk : nullptr);
      v[t] = matvec(wv, h, c.attention_bias ? &bv : nullptr);
      for (int64_t hh = 0; hh < H; ++hh) {
        if (c.qk_norm) {
          std::vector<double> s(q[t].begin() + hh * hd, q[t].begin() + (hh + 1) * hd);
          s = rmsnorm(s, qn, c.rms_norm_eps);
          std::copy(s.begin(), s.end(), q[t].begin() + hh * hd);
        }
        rope(c, t, q[t].data() + hh * hd);
      }
      for (int64_t hh = 0; hh < Hkv; ++hh) {
        if (c.qk_norm) {
          std::vector<double> s(k[t].begin() + hh * hd, k[t].begin() + (hh + 1) * hd);
          s = rmsnorm(s, kn, c.rms_norm_eps);
          std::copy(s.begin(), s.end(), k[t].begin() + hh * hd);
        }
        rope(c, t, k[t].data() + hh * hd);
      }
    }
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> o(H * hd, 0.0);
      for (int64_t hh = 0; hh < H; ++hh) {
        const int64_t g = hh / (H / Hkv);
        std::vector<double> sc(t + 1);
        double mx = -1e300;
        for (int64_t j = 0; j <= t; ++j) {
          double s = 0;
          for (int64_t i = 0; i < hd; ++i) s += q[t][hh * hd + i] * k[j][g * hd + i];
          sc[j] = s / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, sc[j]);
        }
        double z = 0;
        for (auto& s : sc) z += (s = std::exp(s - mx));
        for (int64_t j = 0; j <= t; ++j)
          for (int64_t i = 0; i < hd; ++i) o[hh * hd + i] += sc[j] / z * v[j][g * hd + i];
      }
      const auto out = matvec(wo, o);
      for (int64_t i = 0; i < d; ++i) x[t][i] += out[i];
    }
    const Mat n2 = read(ck, p + "post_attention_layernorm.weight"), wg = read(ck, p + "mlp.gate_proj.weight");
    const Mat wu = read(ck, p + "mlp.up_proj.weight"), wd = read(ck, p + "mlp.down_proj.weight");
    for (int64_t t = 0; t < T; ++t) {
      const auto h = rmsnorm(x[t], n2, c.rms_norm_eps);
      auto g = matvec(wg, h);
      const auto u = matvec(wu, h);
      for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
      const auto out = matvec(wd, g);
      for (int64_t i = 0; i < d; ++i) x[t][i] += out[i];
    }
  }
  const Mat nf = read(ck, "model.norm.weight");
  const Mat head = ck.find("lm_head.weight") ? read(ck, "lm_head.weight") : emb;
  std::vector<std::vector<double>> logits(T);
  for (int64_t t = 0; t < T; ++t) logits[t] = matvec(head, rmsnorm(x[t], nf, c.rms_norm_eps));
  return logits;
}

}  // namespace radseek::testref

#include "model/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace radseek::model {

double yarn_mscale(double factor, double m) {
  if (factor <= 1.0) return 1.0;
  return 0.1 * m * std::log(factor) + 1.0;
}

namespace {

// Dimension index at which a rotation count of n_rot fits into the original context (YaRN).
double yarn_corr_dim(double n_rot, int64_t dim, double base, double original_len) {
  return static_cast<double>(dim) * std::log(original_len / (n_rot * 2.0 * std::numbers::pi)) /
         (2.0 * std::log(base));
}

}  // namespace

RopeTables make_rope_tables(const format::ModelConfig& cfg) {
  RopeTables t;
  t.dim = cfg.qk_rope_head_dim;
  const int64_t half = t.dim / 2;
  t.inv_freq.resize(half);
  for (int64_t i = 0; i < half; ++i)
    t.inv_freq[i] = std::pow(cfg.rope_theta, -2.0 * static_cast<double>(i) / static_cast<double>(t.dim));
  t.softmax_scale = 1.0 / std::sqrt(static_cast<double>(cfg.qk_head_dim()));
  const auto& rs = cfg.rope_scaling;
  if (rs.type != "yarn") return t;
  const double L0 = static_cast<double>(rs.original_max_position_embeddings);
  double low = std::floor(yarn_corr_dim(rs.beta_fast, t.dim, cfg.rope_theta, L0));
  double high = std::ceil(yarn_corr_dim(rs.beta_slow, t.dim, cfg.rope_theta, L0));
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(t.dim - 1));
  if (low == high) high += 0.001;  // avoid a zero-width ramp
  for (int64_t i = 0; i < half; ++i) {
    const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
    const double extrap = 1.0 - ramp;  // 1 keeps the original frequency
    t.inv_freq[i] = t.inv_freq[i] / rs.factor * (1.0 - extrap) + t.inv_freq[i] * extrap;
  }
  t.attention_factor = yarn_mscale(rs.factor, rs.mscale) / yarn_mscale(rs.factor, rs.mscale_all_dim);
  if (rs.mscale_all_dim != 0.0) {
    const double m = yarn_mscale(rs.factor, rs.mscale_all_dim);
    t.softmax_scale *= m * m;
  }
  return t;
}

void rope_cos_sin(const RopeTables& t, int64_t pos, float* cs) {
  const int64_t half = t.dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    const double phi = static_cast<double>(pos) * t.inv_freq[i];
    cs[2 * i] = static_cast<float>(std::cos(phi) * t.attention_factor);
    cs[2 * i + 1] = static_cast<float>(std::sin(phi) * t.attention_factor);
  }
}

void apply_rope_interleaved(const float* cs, int64_t dim, float* x) {
  for (int64_t i = 0; i < dim / 2; ++i) {
    const float c = cs[2 * i], s = cs[2 * i + 1];
    const float a = x[2 * i], b = x[2 * i + 1];
    x[2 * i] = a * c - b * s;
    x[2 * i + 1] = a * s + b * c;
  }
}

}  // namespace radseek::model

// Oracle: the spec's YaRN test vectors and softmax scales (spec §3.4), and a direct complex product.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>

#include "model/rope.h"

namespace radseek {
namespace {

format::ModelConfig yarn_config(double mscale_all_dim) {
  format::ModelConfig c;
  c.qk_nope_head_dim = 128;
  c.qk_rope_head_dim = 64;
  c.rope_theta = 10000;
  c.rope_scaling = {.type = "yarn", .factor = 40, .original_max_position_embeddings = 4096, .beta_fast = 32,
                    .beta_slow = 1, .mscale = mscale_all_dim, .mscale_all_dim = mscale_all_dim};
  return c;
}

TEST(Yarn, FrequenciesMatchSpecVectors) {
  const auto t = model::make_rope_tables(yarn_config(1.0));
  const std::pair<int, double> want[] = {{0, 1.0},           {10, 5.623413252e-02}, {11, 3.900692657e-02},
                                         {12, 2.687936011e-02}, {16, 5.500000000e-03}, {20, 7.905694150e-04},
                                         {22, 1.778279410e-04}, {23, 3.333803580e-05}, {31, 3.333803580e-06}};
  for (auto [i, v] : want) EXPECT_NEAR(t.inv_freq[i] / v, 1.0, 1e-8) << "i=" << i;
}

TEST(Yarn, SoftmaxScalesMatchSpec) {
  EXPECT_NEAR(model::make_rope_tables(yarn_config(1.0)).softmax_scale, 0.1352337789, 1e-9);
  EXPECT_NEAR(model::make_rope_tables(yarn_config(0.707)).softmax_scale, 0.1147213868, 1e-9);
  EXPECT_NEAR(model::yarn_mscale(40, 1.0), 1.3688879454, 1e-9);
  EXPECT_DOUBLE_EQ(model::make_rope_tables(yarn_config(1.0)).attention_factor, 1.0);
}

TEST(Rope, InterleavedPairsRotateAsComplexNumbers) {
  const auto t = model::make_rope_tables(yarn_config(1.0));
  std::vector<float> x(64), cs(64);
  for (int i = 0; i < 64; ++i) x[i] = std::sin(0.3f * i + 0.1f);
  const auto orig = x;
  const int64_t pos = 5000;  // past the original context, where YaRN matters
  model::rope_cos_sin(t, pos, cs.data());
  model::apply_rope_interleaved(cs.data(), 64, x.data());
  for (int i = 0; i < 32; ++i) {
    const std::complex<double> z(orig[2 * i], orig[2 * i + 1]);
    const std::complex<double> r = z * std::polar(1.0, static_cast<double>(pos) * t.inv_freq[i]);
    EXPECT_NEAR(x[2 * i], r.real(), 1e-5);
    EXPECT_NEAR(x[2 * i + 1], r.imag(), 1e-5);
  }
}

}  // namespace
}  // namespace radseek

// Oracle: dense_reference.h (a separate float64 implementation) on tiny random Llama 3, Qwen2 and
// Qwen3 checkpoints written by the test in the official layout.
#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include "dense_reference.h"
#include "engine/engine.h"
#include "model/checkpoint_gen.h"
#include "model/dense.h"
#include "model/quantize.h"

namespace radseek {
namespace {

namespace fs = std::filesystem;

// f32 activations against a float64 reference on 2-layer models: accumulated rounding stays far
// below this (the DeepSeek golden tolerance).
constexpr double kLogprobTol = 1e-3;
constexpr double kIncrementalTol = 2e-4;

std::string make(const std::string& preset) {
  const std::string dir = (fs::temp_directory_path() / ("radseek_dense_" + std::to_string(::getpid())) / preset).string();
  if (!fs::exists(dir + "/config.json")) {
    auto cfg = model::preset_config(preset);
    EXPECT_TRUE(cfg.ok());
    auto st = model::write_random_checkpoint({.dir = dir, .config = *cfg, .format = model::WeightFormat::kBF16, .seed = 3});
    EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
  }
  return dir;
}

class DenseTest : public ::testing::TestWithParam<std::string> {
 protected:
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(fs::path(make(GetParam())).parent_path(), ec);
  }
};

TEST_P(DenseTest, ScoreMatchesIndependentReference) {
  const std::string dir = make(GetParam());
  auto eng = engine::Engine::load({.model_dir = dir, .threads = 2});
  ASSERT_TRUE(eng.ok()) << eng.error().message;
  std::vector<int32_t> ids;
  for (int i = 0; i < 70; ++i) ids.push_back((i * 53 + 7) % 512);  // past original_max_position_embeddings 64
  auto cfg = format::load_model_config(dir);
  auto ck = format::Checkpoint::open(dir);
  ASSERT_TRUE(cfg.ok() && ck.ok());
  const auto ref = testref::dense_logits(*cfg, *ck, ids);
  auto sc = (*eng)->score(ids, 512);
  ASSERT_TRUE(sc.ok());
  for (size_t t = 0; t < ids.size(); ++t) {
    double mx = -1e300, z = 0;
    for (double v : ref[t]) mx = std::max(mx, v);
    for (double v : ref[t]) z += std::exp(v - mx);
    const double lse = mx + std::log(z);
    for (const auto& top : (*sc)[t].top) ASSERT_NEAR(top.logprob, ref[t][top.id] - lse, kLogprobTol) << "pos " << t;
  }
}

TEST_P(DenseTest, IncrementalDecodeEqualsFullRecompute) {
  auto eng = engine::Engine::load({.model_dir = make(GetParam()), .threads = 2});
  ASSERT_TRUE(eng.ok());
  const auto& m = (*eng)->model();
  std::vector<int32_t> ids;
  for (int i = 0; i < 20; ++i) ids.push_back((i * 31 + 5) % 512);
  const int64_t V = 512;
  std::vector<float> full(20 * V);
  engine::Session a(m, 20), b(m, 20);
  ASSERT_TRUE(m.forward((*eng)->context(), {.tokens = ids, .cache = &a.cache(), .scratch = &a.scratch(), .logits = full.data()}).ok());
  ASSERT_TRUE((*eng)->feed(b, std::span(ids).first(9)).ok());
  for (int t = 9; t < 20; ++t) {
    ASSERT_TRUE((*eng)->feed(b, std::span(ids).subspan(t, 1)).ok());
    for (int64_t v = 0; v < V; ++v) ASSERT_NEAR(b.last_logits()[v], full[t * V + v], kIncrementalTol) << t;
  }
}

// Regression: a `radseek quantize` copy of a dense model once failed to load, because config.json's
// quantization_config was not read for dense model types.
TEST_P(DenseTest, QuantizedCopyLoadsAndReadsFewerBytes) {
  const std::string src = make(GetParam()), dst = src + "_q8";
  auto rep = model::quantize_checkpoint({.src_dir = src, .dst_dir = dst, .bits = 8});
  ASSERT_TRUE(rep.ok()) << rep.error().message;
  auto a = engine::Engine::load({.model_dir = src, .threads = 1});
  auto b = engine::Engine::load({.model_dir = dst, .threads = 1});
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_LT((*b)->model().weight_bytes(kernels::ActPrecision::kF32).per_token, (*a)->model().weight_bytes(kernels::ActPrecision::kF32).per_token);
  const std::vector<int32_t> ids = {0, 5, 9, 17};
  EXPECT_TRUE((*b)->score(ids, 5).ok());
}

INSTANTIATE_TEST_SUITE_P(Archs, DenseTest, ::testing::Values("tiny-llama", "tiny-qwen2", "tiny-qwen3"));

TEST(DenseRope, Llama3FrequenciesMatchSpecVectors) {
  format::ModelConfig c;
  c.head_dim = 128;
  c.rope_theta = 500000;
  c.rope_scaling = {.type = "llama3", .factor = 8, .original_max_position_embeddings = 8192, .low_freq_factor = 1,
                    .high_freq_factor = 4};
  const auto f = model::dense_inv_freq(c);
  EXPECT_NEAR(f[20] / 1.656044008e-02, 1.0, 1e-8);
  EXPECT_NEAR(f[30] / 1.371893568e-03, 1.0, 1e-8);
  EXPECT_NEAR(f[40] / 3.428102196e-05, 1.0, 1e-8);
  EXPECT_NEAR(f[63] / 3.068925989e-07, 1.0, 1e-8);
}

}  // namespace
}  // namespace radseek

// Oracle: golden files from an independent float64 implementation (tests/data/golden, copied from
// shared/golden). Tolerances are those stated in tests/data/golden/README.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/engine.h"

namespace radseek {
namespace {

using nlohmann::json;

// README: an FP32 engine should stay within 1e-3 in logprob of the float64 reference.
constexpr double kF32LogprobTol = 1e-3;
// README: argmax must agree wherever the reference's top-1 margin is at least this.
constexpr double kArgmaxMargin = 1e-3;
// README: BF16 activations flip near-tied routing; judged statistically.
constexpr double kBf16MedianTol = 0.06;
constexpr double kBf16ArgmaxAgreement = 0.90;

json load_golden(const std::string& c) {
  std::ifstream f(std::string(RADSEEK_TEST_DATA) + "/golden/" + c + "/golden.json");
  return json::parse(f);
}

std::unique_ptr<engine::Engine> load(const std::string& c, kernels::ActPrecision p, model::AttentionMode m) {
  engine::EngineOptions o;
  o.model_dir = std::string(RADSEEK_TEST_DATA) + "/golden/" + c;
  o.threads = 2;
  o.precision = p;
  o.attention = m;
  auto e = engine::Engine::load(o);
  EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().message);
  return e.ok() ? std::move(*e) : nullptr;
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, ScoreMatchesReferenceInF32) {
  const json g = load_golden(GetParam());
  for (auto mode : {model::AttentionMode::kAbsorbed, model::AttentionMode::kNaive}) {
    auto eng = load(GetParam(), kernels::ActPrecision::kF32, mode);
    ASSERT_TRUE(eng);
    for (const auto& prompt : g["prompts"]) {
      const auto ids = prompt["ids"].get<std::vector<int32_t>>();
      auto sc = eng->score(ids, 2048);
      ASSERT_TRUE(sc.ok());
      for (const auto& pos : prompt["positions"]) {
        const auto& mine = (*sc)[pos["pos"].get<size_t>()];
        std::vector<double> lp(2048);
        for (const auto& t : mine.top) lp[t.id] = t.logprob;
        for (const auto& t : pos["top"])
          ASSERT_NEAR(lp[t[0].get<int>()], t[1].get<double>(), kF32LogprobTol) << "pos " << pos["pos"];
        if (pos["top1_margin"].get<double>() >= kArgmaxMargin) {
          EXPECT_EQ(mine.top[0].id, pos["top"][0][0].get<int>());
        }
        if (pos.contains("next_id")) {
          EXPECT_NEAR(mine.next_logprob, pos["next_logprob"].get<double>(), kF32LogprobTol);
        }
      }
    }
  }
}

TEST_P(GoldenTest, GreedyThroughKvCacheMatchesReference) {
  const json g = load_golden(GetParam());
  for (auto mode : {model::AttentionMode::kAbsorbed, model::AttentionMode::kNaive, model::AttentionMode::kAuto}) {
    auto eng = load(GetParam(), kernels::ActPrecision::kF32, mode);
    ASSERT_TRUE(eng);
    for (const auto& prompt : g["prompts"]) {
      const auto ids = prompt["ids"].get<std::vector<int32_t>>();
      const auto want = prompt["greedy"]["ids"].get<std::vector<int32_t>>();
      engine::Session s(eng->model(), static_cast<int64_t>(ids.size() + want.size()));
      engine::GenerateParams p;
      p.max_new_tokens = static_cast<int64_t>(want.size());
      p.ignore_eos = true;
      auto r = eng->generate(s, ids, p);
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->ids, want);
    }
  }
}

TEST_P(GoldenTest, Bf16PathIsStatisticallyClose) {
  const json g = load_golden(GetParam());
  auto eng = load(GetParam(), kernels::ActPrecision::kBF16, model::AttentionMode::kAuto);
  ASSERT_TRUE(eng);
  std::vector<double> medians;
  int agree = 0, total = 0;
  for (const auto& prompt : g["prompts"]) {
    auto sc = eng->score(prompt["ids"].get<std::vector<int32_t>>(), 2048);
    ASSERT_TRUE(sc.ok());
    for (const auto& pos : prompt["positions"]) {
      const auto& mine = (*sc)[pos["pos"].get<size_t>()];
      std::vector<double> lp(2048), d;
      for (const auto& t : mine.top) lp[t.id] = t.logprob;
      for (const auto& t : pos["top"]) d.push_back(std::fabs(lp[t[0].get<int>()] - t[1].get<double>()));
      std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
      medians.push_back(d[d.size() / 2]);
      agree += mine.top[0].id == pos["top"][0][0].get<int>();
      ++total;
    }
  }
  std::nth_element(medians.begin(), medians.begin() + medians.size() / 2, medians.end());
  EXPECT_LE(medians[medians.size() / 2], kBf16MedianTol);
  EXPECT_GE(static_cast<double>(agree) / total, kBf16ArgmaxAgreement);
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenTest, ::testing::Values("v3_bf16", "v3_fp8", "v2lite_bf16"));

}  // namespace
}  // namespace radseek

// Metrics against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "radiology/metrics.h"
#include "test_util.h"

namespace radseek::radiology {
namespace {

using testing::TempDir;

constexpr double kTol = 1e-9;  // exact ratios of small integers

EvalDataset load(const TempDir& d, const std::string& name, const std::string& content) {
  auto ds = load_eval_dataset(d.file(name, content));
  EXPECT_TRUE(ds.ok()) << (ds.ok() ? "" : ds.error().message);
  return *ds;
}

// Gold / prediction for labels A and B over four reports:
//   r1: A gold 1 pred 1 (TP); B gold 0 pred 1 (FP)
//   r2: A gold 1 pred 0 (FN); B gold -1 pred -1
//   r3: A gold 0 pred null;   B gold 1 pred 1 (TP)
//   r4: missing from predictions: A gold 1 -> FN
const char* kGold = "{\"id\":\"r1\",\"labels\":{\"A\":1,\"B\":0}}\n{\"id\":\"r2\",\"labels\":{\"A\":1,\"B\":-1}}\n"
                    "{\"id\":\"r3\",\"labels\":{\"A\":0,\"B\":1}}\n{\"id\":\"r4\",\"labels\":{\"A\":1,\"B\":null}}\n";
const char* kPred = "{\"id\":\"r1\",\"labels\":{\"A\":1,\"B\":1},\"timings\":{\"total_ms\":10}}\n"
                    "{\"id\":\"r2\",\"labels\":{\"A\":0,\"B\":-1},\"timings\":{\"total_ms\":20},\"reasoning\":\"one two three\"}\n"
                    "{\"id\":\"r3\",\"labels\":{\"A\":null,\"B\":1},\"timings\":{\"total_ms\":30}}\n";

TEST(Metrics, NegativePolicyHandComputed) {
  TempDir d;
  auto r = evaluate(load(d, "g.jsonl", kGold), {load(d, "p.jsonl", kPred)}, EvalOptions{.bootstrap = 200});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->labels, (std::vector<std::string>{"A", "B"}));
  const SystemEval& s = r->systems[0];
  // A: TP 1, FP 0, FN 2 -> P 1, R 1/3, F1 0.5. B: TP 1, FP 1, FN 0 -> P 0.5, R 1, F1 2/3.
  EXPECT_EQ(s.per_label[0].tp, 1);
  EXPECT_EQ(s.per_label[0].fn, 2);
  EXPECT_NEAR(s.per_label[0].f1(), 0.5, kTol);
  EXPECT_NEAR(s.per_label[1].precision(), 0.5, kTol);
  EXPECT_NEAR(s.per_label[1].f1(), 2.0 / 3.0, kTol);
  // Micro: TP 2, FP 1, FN 2 -> F1 = 4 / 7. Macro: (0.5 + 2/3) / 2.
  EXPECT_NEAR(s.micro.f1(), 4.0 / 7.0, kTol);
  EXPECT_NEAR(s.macro_f1, (0.5 + 2.0 / 3.0) / 2.0, kTol);
  EXPECT_EQ(s.missing, 1);
  EXPECT_EQ(s.matched, 3);
  EXPECT_LE(s.micro_f1_ci.lo, s.micro.f1());
  EXPECT_GE(s.micro_f1_ci.hi, s.micro.f1());
  EXPECT_NEAR(s.latency_ms.median, 20.0, kTol);
  EXPECT_NEAR(s.throughput, 3.0 / 0.06, 1e-6);
  EXPECT_EQ(s.reasoning.n, 1);
  EXPECT_NEAR(s.reasoning.median, 3.0, kTol);
  // Confusion: label B, gold -1 row, pred -1 column.
  EXPECT_EQ(s.confusion[1][2][2], 1);
}

TEST(Metrics, PositiveAndKeepPolicies) {
  TempDir d;
  const auto gold = load(d, "g.jsonl", kGold);
  const auto pred = load(d, "p.jsonl", kPred);
  auto pos = evaluate(gold, {pred}, EvalOptions{.policy = UncertainPolicy::kPositive, .bootstrap = 0});
  // B gains r2 as TP: TP 2, FP 1, FN 0.
  EXPECT_EQ(pos->systems[0].per_label[1].tp, 2);
  EXPECT_NEAR(pos->systems[0].micro.f1(), 2.0 * 3 / (2.0 * 3 + 1 + 2), kTol);
  auto keep = evaluate(gold, {pred}, EvalOptions{.policy = UncertainPolicy::kKeep, .bootstrap = 0});
  EXPECT_EQ(keep->systems[0].per_label[1].tp, 2);  // -1 matched -1 exactly
  EXPECT_EQ(keep->systems[0].per_label[1].fp, 1);
}

TEST(Metrics, McNemarHandComputed) {
  // b=10, c=2: exact two-sided binomial = 2 * (C(12,0)+C(12,1)+C(12,2)) / 2^12 = 158/4096.
  const McNemar small = mcnemar_test(10, 2);
  EXPECT_TRUE(small.exact);
  EXPECT_NEAR(small.p_value, 158.0 / 4096.0, 1e-12);
  // b=30, c=10: chi2 = (|30-10|-1)^2 / 40 = 9.025, p = erfc(sqrt(9.025/2)).
  const McNemar big = mcnemar_test(30, 10);
  EXPECT_FALSE(big.exact);
  EXPECT_NEAR(big.statistic, 9.025, 1e-12);
  EXPECT_NEAR(big.p_value, std::erfc(std::sqrt(9.025 / 2.0)), 1e-12);
  EXPECT_NEAR(mcnemar_test(0, 0).p_value, 1.0, kTol);
}

TEST(Metrics, MultipleChoiceAccuracyAndPairedTest) {
  TempDir d;
  const auto gold = load(d, "g.jsonl", "{\"id\":\"1\",\"answer\":\"A\"}\n{\"id\":\"2\",\"answer\":\"B\"}\n{\"id\":\"3\",\"answer\":\"C\"}\n{\"id\":\"4\",\"answer\":\"D\"}\n");
  const auto a = load(d, "a.jsonl", "{\"id\":\"1\",\"answer\":\"A\"}\n{\"id\":\"2\",\"answer\":\"B\"}\n{\"id\":\"3\",\"answer\":\"C\"}\n{\"id\":\"4\",\"error\":\"x\"}\n");
  const auto b = load(d, "b.jsonl", "{\"id\":\"1\",\"answer\":\"A\"}\n{\"id\":\"2\",\"answer\":\"C\"}\n{\"id\":\"3\",\"answer\":\"A\"}\n{\"id\":\"4\",\"answer\":\"D\"}\n");
  auto r = evaluate(gold, {a, b}, EvalOptions{.bootstrap = 100, .seed = 7});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->systems[0].mc_correct, 3);
  EXPECT_EQ(r->systems[0].errors, 1);
  EXPECT_EQ(r->systems[1].mc_correct, 2);
  ASSERT_EQ(r->paired.size(), 1u);
  EXPECT_EQ(r->paired[0].a_only, 2);  // questions 2 and 3
  EXPECT_EQ(r->paired[0].b_only, 1);  // question 4
  // Same seed, same intervals.
  auto again = evaluate(gold, {a, b}, EvalOptions{.bootstrap = 100, .seed = 7});
  EXPECT_EQ(again->systems[0].mc_accuracy_ci.lo, r->systems[0].mc_accuracy_ci.lo);
  const std::string html = render_html(*r);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(render_markdown(*r).find("McNemar"), std::string::npos);
}

TEST(Metrics, CsvGoldAndReportCharts) {
  TempDir d;
  const auto gold = load(d, "g.csv", "id,Effusion,Mass\n1,1,\n2,0,1\n");
  const auto pred = load(d, "p.csv", "id,Effusion,Mass,error\n1,1,,\n2,,1,\n");
  auto r = evaluate(gold, {pred}, EvalOptions{.bootstrap = 0});
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(r->systems[0].micro.f1(), 1.0, kTol);
  EXPECT_NE(render_html(*r).find("<svg"), std::string::npos);
  // The standalone chart: an SVG document with one bar per label and system and the legend.
  const std::string svg = render_f1_svg(*r);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("<svg xmlns="), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  size_t bars = 0;
  for (size_t at = svg.find("<rect"); at != std::string::npos; at = svg.find("<rect", at + 1)) ++bars;
  EXPECT_EQ(bars, 2u * 1u + 1u);  // 2 labels × 1 system, + 1 legend swatch
  EXPECT_NE(svg.find(">p.csv</text>"), std::string::npos);
  EXPECT_FALSE(load_eval_dataset(d.file("bad.csv", "id,A\n1,2\n")).ok());
  EXPECT_FALSE(load_eval_dataset(d.file("bad.jsonl", "{\"id\":1,\"labels\":{\"A\":\"yes\"}}\n")).ok());
  const Distribution dist = summarize({1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  EXPECT_NEAR(dist.median, 5.5, kTol);
  EXPECT_NEAR(dist.p90, 9.1, 1e-9);
}

}  // namespace
}  // namespace radseek::radiology

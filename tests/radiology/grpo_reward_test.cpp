// The GRPO classification reward (radiology/grpo_reward.h): micro-F1 of present labels plus the
// format bonus when the answer parses, 0 otherwise.
#include <gtest/gtest.h>

#include "radiology/grpo_reward.h"
#include "radiology/prompt.h"

namespace radseek::radiology {
namespace {

using V = LabelValue;

std::vector<V> values(const LabelSet& s, const std::vector<std::pair<std::string, V>>& set) {
  std::vector<V> v(s.labels.size(), V::kBlank);
  for (const auto& [name, x] : set) v[static_cast<size_t>(s.index_of(name))] = x;
  return v;
}

std::string turn(const LabelSet& s, const std::vector<V>& pred) {
  return "reasoning about the report\n</think>\n\n" + render_multilabel_answer(s, pred, std::vector<std::string>(pred.size()));
}

TEST(GrpoReward, MicroF1OfPresentLabelsPlusFormatBonus) {
  const LabelSet s = builtin_chexpert14();
  const auto gold = values(s, {{"Edema", V::kPositive}, {"Cardiomegaly", V::kPositive}, {"Pneumonia", V::kUncertain}});
  // Predicted: Edema (tp), Pleural Effusion (fp), Pneumonia uncertain (absent under the default policy).
  const auto pred = values(s, {{"Edema", V::kPositive}, {"Pleural Effusion", V::kPositive}, {"Pneumonia", V::kUncertain}});
  const ClassificationReward r = multilabel_reward(turn(s, pred), s, gold, 0.2);
  EXPECT_TRUE(r.formatted);
  EXPECT_NEAR(r.f1, 2.0 * 1 / (2 * 1 + 1 + 1), 1e-12);  // tp 1, fp 1, fn 1 (Cardiomegaly)
  EXPECT_NEAR(r.total, r.f1 + 0.2, 1e-12);
  EXPECT_NEAR(multilabel_reward(turn(s, gold), s, gold, 0.2).total, 1.2, 1e-12);
}

TEST(GrpoReward, NoPositivesAnywhereIsPerfect) {
  const LabelSet s = builtin_chestxray14();
  const auto gold = values(s, {{"Edema", V::kNegative}});
  const ClassificationReward r = multilabel_reward(turn(s, values(s, {{"Mass", V::kUncertain}})), s, gold, 0.2);
  EXPECT_EQ(r.f1, 1.0);
  EXPECT_NEAR(r.total, 1.2, 1e-12);
}

TEST(GrpoReward, UnparsedOrUnclosedAnswersScoreZero) {
  const LabelSet s = builtin_chexpert14();
  const auto gold = values(s, {{"Edema", V::kPositive}});
  const std::string good = turn(s, gold);
  const std::string no_close = good.substr(good.find("</think>") + 8);  // the answer without "</think>"
  EXPECT_EQ(multilabel_reward(no_close, s, gold, 0.2).total, 0.0);
  EXPECT_FALSE(multilabel_reward(no_close, s, gold, 0.2).formatted);
  const std::string truncated = good.substr(0, good.size() - 20);  // cut inside the answer block
  EXPECT_EQ(multilabel_reward(truncated, s, gold, 0.2).total, 0.0);
  EXPECT_EQ(multilabel_reward("still thinking", s, gold, 0.2).total, 0.0);
}

TEST(GrpoReward, GoldValuesComeFromTheNamedFieldAndErrorsNameTheLabel) {
  const LabelSet s = builtin_chexpert14();
  const nlohmann::json rep = {{"id", "r1"}, {"labels_chexpert", {{"Edema", 1}, {"Pneumonia", -1}, {"Fracture", 0}}}};
  auto g = gold_label_values(rep, s, "labels_chexpert");
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ((*g)[static_cast<size_t>(s.index_of("Edema"))], V::kPositive);
  EXPECT_EQ((*g)[static_cast<size_t>(s.index_of("Pneumonia"))], V::kUncertain);
  EXPECT_EQ((*g)[static_cast<size_t>(s.index_of("Fracture"))], V::kNegative);
  EXPECT_EQ((*g)[static_cast<size_t>(s.index_of("Cardiomegaly"))], V::kBlank);
  const nlohmann::json bad = {{"id", "r2"}, {"labels_chexpert", {{"Edema", "maybe"}}}};
  auto e = gold_label_values(bad, s, "labels_chexpert");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("r2: labels_chexpert.Edema"), std::string::npos) << e.error().message;
  EXPECT_FALSE(gold_label_values(rep, s, "labels_chestxray14").ok());
}

}  // namespace
}  // namespace radseek::radiology

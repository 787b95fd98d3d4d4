// The walk the compact family reasons in: what sft.cpp trains on is exactly what the local backend's
// walk constraint accepts, sentence for sentence.
#include <gtest/gtest.h>

#include <algorithm>

#include "radiology/grpo_reward.h"
#include "radiology/sft.h"
#include "radiology/synth.h"
#include "radiology/walk.h"

namespace radseek::radiology {
namespace {

TEST(Walk, PlanSplitsTheFindingsSectionVerbatim) {
  const std::string r =
      "EXAMINATION: Chest radiograph.\nFINDINGS: There is a 3.5 cm mass in the right upper lobe. No effusion.\n"
      "IMPRESSION: 1. Right upper lobe mass. ";
  const WalkPlan p = plan_walk(r);
  ASSERT_EQ(p.sentences.size(), 2u);
  EXPECT_EQ(p.sentences[0], "There is a 3.5 cm mass in the right upper lobe.");
  EXPECT_EQ(p.sentences[1], "No effusion.");
  EXPECT_EQ(p.impression, "1. Right upper lobe mass.");
  // No FINDINGS heading: every sentence.
  EXPECT_EQ(plan_walk("Small left effusion. No pneumothorax.").sentences.size(), 2u);
}

TEST(Walk, ConstraintForcesTheSentencesAndOffersTheVerdicts) {
  const LabelSet labels = builtin_chexpert14();
  const WalkPlan p = plan_walk("FINDINGS: No effusion. Heart is enlarged.\nIMPRESSION: Cardiomegaly.");
  const auto c = walk_constraint(labels, p);
  const std::string good = walk_line("No effusion.", "Pleural Effusion: absent") +
                           walk_line("Heart is enlarged.", "Cardiomegaly: present") + std::string(kWalkClosing) + "\n";
  EXPECT_TRUE(c.is_complete(good));
  // A skipped, repeated or invented sentence, or an unknown label, is not a walk.
  EXPECT_FALSE(c.accepts_prefix(walk_line("Heart is enlarged.", "Cardiomegaly: present")));
  EXPECT_FALSE(c.accepts_prefix(walk_line("No effusion.", "Pleural Effusion: absent") + "\"No effusion."));
  EXPECT_FALSE(c.accepts_prefix("\"No pneumothorax."));
  EXPECT_FALSE(c.accepts_prefix("\"No effusion.\" Effusion: absent"));
  // Where the model decides: the verdict after each forced sentence.
  const auto choices = c.choices("\"No effusion.\"");
  EXPECT_EQ(choices.size(), 1u + 3u * labels.labels.size());
  // The decoder can always finish the walk (a budget cut closes it with the shortest verdicts).
  const std::string cheapest = c.cheapest_completion("");
  EXPECT_TRUE(c.is_complete(cheapest));
  EXPECT_EQ(cheapest.find("\"No effusion.\" "), 0u);
}

TEST(Walk, ReadingAggregatesTheLinesLikeAMentionLabeler) {
  const LabelSet labels = builtin_chexpert14();
  const std::string walk = walk_line("No nodule.", "Lung Lesion: absent") +
                           walk_line("Possible mass in the lingula.", "Lung Lesion: uncertain") +
                           walk_line("Small effusion.", "Pleural Effusion: present") +
                           walk_line("No effusion on the left.", "Pleural Effusion: absent") +
                           walk_line("The trachea is midline.", kWalkNothing) + std::string(kWalkClosing) + "\n";
  const WalkReading r = read_walk(walk, labels);
  const int lesion = labels.index_of("Lung Lesion"), effusion = labels.index_of("Pleural Effusion");
  EXPECT_EQ(r.values[lesion], LabelValue::kUncertain);   // uncertain outranks absent
  EXPECT_EQ(r.quotes[lesion], "Possible mass in the lingula.");
  EXPECT_EQ(r.values[effusion], LabelValue::kPositive);  // present outranks a later absent
  EXPECT_EQ(walk.substr(r.verdict_pos[effusion], 26), " Pleural Effusion: present");
  EXPECT_EQ(r.values[labels.index_of("Edema")], LabelValue::kBlank);
  EXPECT_EQ(r.verdict_pos[labels.index_of("Edema")], std::string::npos);
  EXPECT_EQ(r.line_verdict_pos.size(), 5u);
}

TEST(Walk, TheSftReasoningIsAWalkOfTheSamePlan) {
  int positives = 0;
  for (const auto& [field, labels] : {std::pair{"labels_chexpert", builtin_chexpert14()},
                                      std::pair{"labels_chestxray14", builtin_chestxray14()}}) {
    for (int i = 0; i < 300; ++i) {
      const auto r = synth_report({.seed = 31, .ct_mri_fraction = 0.2}, i);
      auto t = multilabel_sft_turn(r, labels, field, ModelFamily::kCompact);
      ASSERT_TRUE(t) << t.error().message;
      const std::string report = prompt_report_text(r["text"].get<std::string>(), {});
      const auto c = walk_constraint(labels, plan_walk(report));
      EXPECT_TRUE(c.is_complete(t->reasoning + "\n")) << r["id"] << "\n" << report << "\n---\n" << t->reasoning;
      positives += t->reasoning.find(": present") != std::string::npos;
    }
  }
  EXPECT_GT(positives, 300);
}

// A GRPO rollout is held to the whole turn classify --answer model decodes; the SFT turn (after the
// prompt's "<think>\n") is one such text, so GRPO starts on the format SFT taught.
TEST(Walk, TheGrpoRolloutFormatAcceptsTheSftTurn) {
  const LabelSet labels = builtin_chexpert14();
  for (int i = 0; i < 100; ++i) {
    const auto r = synth_report({.seed = 41, .ct_mri_fraction = 0.2}, i);
    auto t = multilabel_sft_turn(r, labels, "labels_chexpert", ModelFamily::kCompact);
    ASSERT_TRUE(t) << t.error().message;
    const std::string report = prompt_report_text(r["text"].get<std::string>(), {});
    const auto c = multilabel_rollout_format(report, labels);
    ASSERT_TRUE(c.has_value());
    const std::string turn = t->assistant().substr(std::string("<think>\n").size());
    EXPECT_TRUE(c->is_complete(turn)) << r["id"] << "\n" << turn;
    EXPECT_FALSE(c->is_complete(turn.substr(0, turn.size() - 1)));
  }
}

// Multiple choice: the training walk names only the question's options (any other finding is
// "nothing on the list", as the inference walk cannot name it) and ends on the gold option, so it
// is a path through mc_walk_constraint — the exact format classify --mc holds the model to.
TEST(Walk, TheMcSftReasoningIsAnMcWalkEndingOnTheGoldOption) {
  int named = 0, checked = 0;
  for (int i = 0; i < 300; ++i) {
    const auto r = synth_report({.seed = 37, .ct_mri_fraction = 0.2}, i);
    if (!r.contains("options")) continue;
    auto t = mc_sft_turn(r, ModelFamily::kCompact);
    ASSERT_TRUE(t) << t.error().message;
    const ReportRecord rec = mc_record(r);
    const std::string report = prompt_report_text(rec.text, {});
    const auto c = mc_walk_constraint(rec.options, plan_walk(report));
    EXPECT_TRUE(c.is_complete(t->reasoning + "\n")) << r["id"] << "\n" << report << "\n---\n" << t->reasoning;
    std::string gold_text;
    for (const auto& o : rec.options)
      if (o.first == rec.gold_answer) gold_text = o.second;
    EXPECT_TRUE(t->reasoning.ends_with(std::string(kMcWalkClosing) + mc_walk_choice(rec.gold_answer, gold_text)));
    // A walk line names an option or nothing: never a finding outside the question.
    for (size_t at = t->reasoning.find("\" "); at != std::string::npos; at = t->reasoning.find("\" ", at + 1)) {
      const std::string verdict = t->reasoning.substr(at + 2, t->reasoning.find('\n', at) - at - 2);
      if (verdict == kWalkNothing) continue;
      ++named;
      EXPECT_TRUE(std::any_of(rec.options.begin(), rec.options.end(),
                              [&](const auto& o) { return verdict.starts_with(o.second + ": "); }))
          << verdict;
    }
    ++checked;
  }
  EXPECT_GT(checked, 100);
  EXPECT_GT(named, 100);
}

}  // namespace
}  // namespace radseek::radiology

// Synthetic generator: determinism, label consistency, and the rule labeler scored on it.
#include <gtest/gtest.h>

#include "radiology/rules.h"
#include "radiology/synth.h"

namespace radseek::radiology {
namespace {

TEST(Synth, SeededAndIndependentOfCount) {
  const SynthOptions a{.seed = 5, .count = 10};
  EXPECT_EQ(synth_report(a, 3).dump(), synth_report(SynthOptions{.seed = 5, .count = 99}, 3).dump());
  EXPECT_NE(synth_report(a, 3).dump(), synth_report(SynthOptions{.seed = 6}, 3).dump());
  const auto j = synth_report(SynthOptions{.seed = 5, .labels = "chestxray14"}, 1);
  EXPECT_EQ(j["labels"], j["labels_chestxray14"]);
  EXPECT_EQ(j["labels_chexpert"].size(), 14u);
  EXPECT_TRUE(j["options"].contains(j["answer"].get<std::string>()));
  EXPECT_TRUE(j["synthetic"].get<bool>());
}

TEST(Synth, RuleLabelerAgreesWithSyntheticGold) {
  const LabelSet set = builtin_chestxray14();
  auto lab = RuleLabeler::create(set);
  ASSERT_TRUE(lab.ok());
  int64_t tp = 0, fp = 0, fn = 0;
  for (int i = 0; i < 300; ++i) {
    const auto j = synth_report(SynthOptions{.seed = 11}, i);
    const LabelResult r = lab->label(j["text"].get<std::string>(), {});
    for (size_t l = 0; l < set.labels.size(); ++l) {
      const auto& g = j["labels_chestxray14"][set.labels[l].name];
      const bool gold = !g.is_null() && g.get<int>() == 1;
      const bool pred = r.values[l] == LabelValue::kPositive;
      tp += gold && pred;
      fp += !gold && pred;
      fn += gold && !pred;
    }
  }
  const double f1 = 2.0 * tp / (2.0 * tp + fp + fn);
  EXPECT_GT(f1, 0.9) << "tp " << tp << " fp " << fp << " fn " << fn;
}

}  // namespace
}  // namespace radseek::radiology

// radseek synth --sft: the SFT examples are exactly what the local backend asks and accepts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/constrained.h"
#include "radiology/local.h"
#include "radiology/record.h"
#include "radiology/sft.h"
#include "radiology/synth.h"

namespace radseek::radiology {
namespace {

struct LabelCase {
  const char* field;
  LabelSet labels;
};

// The assistant text after "</think>" (what the backend's constrained decoder produces).
std::string after_think(const std::string& assistant) { return split_reasoning(assistant).answer; }

TEST(SftData, MultiLabelAnswersParseToTheGoldAndSatisfyTheConstraint) {
  int quoted = 0;
  for (const LabelCase& c : {LabelCase{"labels_chexpert", builtin_chexpert14()},
                             LabelCase{"labels_chestxray14", builtin_chestxray14()}}) {
    for (int i = 0; i < 60; ++i) {
      const auto r = synth_report({.seed = 21}, i);
      auto t = multilabel_sft_turn(r, c.labels, c.field, ModelFamily::kCompact);
      ASSERT_TRUE(t) << t.error().message;
      const std::string report = prompt_report_text(r["text"].get<std::string>(), {});
      // The user turn is the backend's own prompt for this report.
      auto prompt = build_multilabel_prompt(report, c.labels, ModelFamily::kCompact);
      ASSERT_TRUE(prompt);
      ASSERT_EQ(t->prompt.size(), prompt->size());
      EXPECT_EQ(t->prompt.back().content, prompt->back().content);
      const std::string answer = after_think(t->assistant());
      auto parsed = parse_multilabel_answer(answer, c.labels);
      ASSERT_TRUE(parsed) << parsed.error().message << "\n" << answer;
      for (size_t k = 0; k < c.labels.labels.size(); ++k) {
        EXPECT_EQ(parsed->values[k], *label_value_from_json(r[c.field][c.labels.labels[k].name]))
            << r["id"] << " " << c.labels.labels[k].name;
        if (!parsed->quotes[k].empty()) {
          ++quoted;
          EXPECT_NE(report.find(parsed->quotes[k]), std::string::npos);
          EXPECT_NE(t->reasoning.find("\"" + parsed->quotes[k] + "\""), std::string::npos);
        }
      }
      const auto constraint = engine::label_lines(multilabel_format(c.labels, report));
      EXPECT_TRUE(constraint.is_complete(answer)) << answer;
    }
  }
  EXPECT_GT(quoted, 60);  // the sample does state findings
}

TEST(SftData, McAnswersParseToTheGoldLetter) {
  for (int i = 0; i < 60; ++i) {
    const auto r = synth_report({.seed = 22, .ct_mri_fraction = 0.3}, i);
    auto t = mc_sft_turn(r, ModelFamily::kCompact);
    ASSERT_TRUE(t) << t.error().message;
    const ReportRecord rec = mc_record(r);
    const std::string report = prompt_report_text(rec.text, {});
    EXPECT_EQ(t->prompt.back().content, build_mc_prompt(rec, report, ModelFamily::kCompact).back().content);
    const std::string answer = after_think(t->assistant());
    auto parsed = parse_mc_answer(answer, rec);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->letter, r["answer"].get<std::string>());
    EXPECT_NE(report.find(parsed->quote), std::string::npos);
    EXPECT_TRUE(mc_constraint(rec, report).is_complete(answer)) << answer;
  }
}

TEST(SftData, ExamplesPerReportAndErrorsNameTheField) {
  const auto r = synth_report({.seed = 23}, 0);
  auto all = synth_sft_examples(r, {});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[2]["task"], "mc");
  EXPECT_EQ((*all)[0]["messages"].back()["role"], "assistant");
  auto only_mc = synth_sft_examples(r, {.chexpert = false, .chestxray14 = false});
  ASSERT_TRUE(only_mc);
  EXPECT_EQ(only_mc->size(), 1u);
  auto bad = r;
  bad["labels_chexpert"]["Edema"] = "yes";
  auto e = synth_sft_examples(bad, {});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("labels_chexpert.Edema"), std::string::npos);
  // A positive label whose sentence is missing cannot be quoted: refused rather than trained wrong.
  auto unquoted = r;
  unquoted["findings"] = nlohmann::json::array();
  unquoted["labels_chexpert"]["Pneumothorax"] = 1;
  EXPECT_FALSE(synth_sft_examples(unquoted, {}));
}

// A model trained on the compact prompts says so in config.json, so classify --family auto uses them.
TEST(SftData, ModelFolderSelectsItsPromptFamily) {
  const std::string dir = (std::filesystem::temp_directory_path() / ("radseek_family_test_" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& text) { std::ofstream(dir + "/config.json") << text; };
  const auto r1 = tokenizer::ChatTemplateKind::kDeepSeekR1;
  write(R"({"model_type": "deepseek_v3", "radseek_prompt_family": "compact"})");
  EXPECT_EQ(family_for_model(dir, r1).value(), ModelFamily::kCompact);
  write(R"({"model_type": "deepseek_v3"})");
  EXPECT_EQ(family_for_model(dir, r1).value(), ModelFamily::kR1);
  write(R"({"radseek_prompt_family": "tiny"})");
  auto bad = family_for_model(dir, r1);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("config.json: radseek_prompt_family"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace radseek::radiology

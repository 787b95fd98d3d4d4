// Rule labeler: label-name contract, negation / uncertainty scope, aggregation rules, evidence.
#include <gtest/gtest.h>

#include "radiology/rules.h"

namespace radseek::radiology {
namespace {

LabelValue value_of(const RuleLabeler& lab, const std::string& text, const std::string& label,
                    const std::vector<std::string>& sections = {}) {
  const LabelResult r = lab.label(text, sections);
  const int i = lab.label_set().index_of(label);
  EXPECT_GE(i, 0) << label;
  return i < 0 ? LabelValue::kBlank : r.values[i];
}

std::vector<std::string> names(const LabelSet& s) {
  std::vector<std::string> out;
  for (const auto& d : s.labels) out.push_back(d.name);
  return out;
}

TEST(LabelSets, NamesAreSpelledAsInTheSpec) {
  EXPECT_EQ(names(builtin_chestxray14()),
            (std::vector<std::string>{"Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule",
                                      "Pneumonia", "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis",
                                      "Pleural_Thickening", "Hernia"}));
  const std::vector<std::string> chexpert = {"No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Lesion",
                                             "Lung Opacity", "Edema", "Consolidation", "Pneumonia", "Atelectasis",
                                             "Pneumothorax", "Pleural Effusion", "Pleural Other", "Fracture",
                                             "Support Devices"};
  EXPECT_EQ(names(builtin_chexpert14()), chexpert);
  EXPECT_EQ(names(builtin_chexpert13()), std::vector<std::string>(chexpert.begin() + 1, chexpert.end()));
  EXPECT_TRUE(resolve_label_set("chestxray14").ok());
  EXPECT_FALSE(resolve_label_set("/nonexistent/labels.json").ok());
}

class Cxr14 : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = RuleLabeler::create(builtin_chestxray14());
    ASSERT_TRUE(l.ok()) << l.error().message;
    lab = std::make_unique<RuleLabeler>(std::move(*l));
  }
  std::unique_ptr<RuleLabeler> lab;
};

TEST_F(Cxr14, NegationAndUncertainty) {
  EXPECT_EQ(value_of(*lab, "No pleural effusion.", "Effusion"), LabelValue::kNegative);
  EXPECT_EQ(value_of(*lab, "There is a small left pleural effusion.", "Effusion"), LabelValue::kPositive);
  EXPECT_EQ(value_of(*lab, "Possible small left effusion.", "Effusion"), LabelValue::kUncertain);
  EXPECT_EQ(value_of(*lab, "Early pneumonia cannot be excluded.", "Pneumonia"), LabelValue::kUncertain);
  EXPECT_EQ(value_of(*lab, "Cannot exclude pneumonia.", "Pneumonia"), LabelValue::kUncertain);
  EXPECT_EQ(value_of(*lab, "No focal air space opacity to suggest a pneumonia.", "Pneumonia"), LabelValue::kNegative);
  EXPECT_EQ(value_of(*lab, "The heart is not enlarged.", "Cardiomegaly"), LabelValue::kNegative);
  // An enlarged silhouette may be pericardial fluid or projection (Open-i codes it "Cardiac Shadow"),
  // an enlarged heart is cardiomegaly; "upper limits of normal" is normal.
  EXPECT_EQ(value_of(*lab, "The cardiac silhouette is enlarged.", "Cardiomegaly"), LabelValue::kUncertain);
  EXPECT_EQ(value_of(*lab, "Stable enlarged cardiomediastinal silhouette.", "Cardiomegaly"), LabelValue::kUncertain);
  EXPECT_EQ(value_of(*lab, "The heart is mildly enlarged.", "Cardiomegaly"), LabelValue::kPositive);
  EXPECT_EQ(value_of(*lab, "Mild cardiomegaly.", "Cardiomegaly"), LabelValue::kPositive);
  EXPECT_EQ(value_of(*lab, "The cardiac silhouette is not enlarged.", "Cardiomegaly"), LabelValue::kNegative);
  EXPECT_EQ(value_of(*lab, "The heart is upper limits of normal in size.", "Cardiomegaly"), LabelValue::kBlank);
  EXPECT_EQ(value_of(*lab, "Pneumothorax is not seen.", "Pneumothorax"), LabelValue::kNegative);
  EXPECT_EQ(value_of(*lab, "The left pneumothorax has resolved.", "Pneumothorax"), LabelValue::kNegative);
  // Lists stay in the scope of one negation.
  EXPECT_EQ(value_of(*lab, "The lungs are clear without evidence of focal airspace disease, pleural effusion, or "
                           "pneumothorax.", "Pneumothorax"), LabelValue::kNegative);
}

TEST_F(Cxr14, ScopeEndsAtTerminatorsAndNewClauses) {
  const std::string t = "No pneumothorax, but a small right pleural effusion is present.";
  EXPECT_EQ(value_of(*lab, t, "Pneumothorax"), LabelValue::kNegative);
  EXPECT_EQ(value_of(*lab, t, "Effusion"), LabelValue::kPositive);
  EXPECT_EQ(value_of(*lab, "No pneumothorax, mild cardiomegaly.", "Cardiomegaly"), LabelValue::kPositive);
  EXPECT_EQ(value_of(*lab, "No effusion. Atelectasis at the left base.", "Atelectasis"), LabelValue::kPositive);
  // A pseudo-negation negates nothing.
  EXPECT_EQ(value_of(*lab, "No change in the small left pleural effusion.", "Effusion"), LabelValue::kPositive);
}

TEST_F(Cxr14, OpenIConventions) {
  EXPECT_EQ(value_of(*lab, "Stable calcified granuloma in the right upper lobe.", "Nodule"), LabelValue::kBlank);
  EXPECT_EQ(value_of(*lab, "Mildly hyperexpanded lungs.", "Emphysema"), LabelValue::kBlank);
  EXPECT_EQ(value_of(*lab, "Subcutaneous emphysema in the left chest wall.", "Emphysema"), LabelValue::kBlank);
  EXPECT_EQ(value_of(*lab, "There are no XXXX of a pleural effusion.", "Effusion"), LabelValue::kNegative);
  EXPECT_EQ(value_of(*lab, "Borderline cardiomegaly.", "Cardiomegaly"), LabelValue::kPositive);
  EXPECT_EQ(value_of(*lab, "Stable moderate hiatal hernia.", "Hernia"), LabelValue::kPositive);
  EXPECT_EQ(value_of(*lab, "There is biapical pleural thickening, unchanged.", "Pleural_Thickening"), LabelValue::kPositive);
  EXPECT_EQ(value_of(*lab, "Small pericardial effusion.", "Effusion"), LabelValue::kBlank);
}

TEST_F(Cxr14, EvidenceOffsetsPointIntoTheInput) {
  const std::string text = "FINDINGS: Heart size is normal. There is a small left pleural effusion.\nIMPRESSION: Effusion.";
  const LabelResult r = lab->label(text, {});
  ASSERT_FALSE(r.evidence.empty());
  const Evidence& e = r.evidence[0];
  EXPECT_EQ(text.substr(e.sentence_start, e.sentence_end - e.sentence_start), "There is a small left pleural effusion.");
  EXPECT_EQ(text.substr(e.mention_start, e.mention_end - e.mention_start), "effusion");
}

TEST_F(Cxr14, SectionSelection) {
  const std::string text = "INDICATION: Rule out pneumonia.\nFINDINGS: Lungs are clear.\nIMPRESSION: No acute process.";
  EXPECT_EQ(value_of(*lab, text, "Pneumonia", {"findings", "impression"}), LabelValue::kBlank);
  EXPECT_EQ(value_of(*lab, text, "Pneumonia"), LabelValue::kUncertain);
}

TEST(CheXpertRules, NoFindingAndHeartFailure) {
  auto lab = RuleLabeler::create(builtin_chexpert14());
  ASSERT_TRUE(lab.ok());
  EXPECT_EQ(value_of(*lab, "Lungs are clear. No effusion or pneumothorax.", "No Finding"), LabelValue::kPositive);
  EXPECT_EQ(value_of(*lab, "Endotracheal tube 4 cm above the carina. Lungs are clear.", "No Finding"), LabelValue::kPositive);
  EXPECT_EQ(value_of(*lab, "Endotracheal tube 4 cm above the carina.", "Support Devices"), LabelValue::kPositive);
  EXPECT_EQ(value_of(*lab, "Small left pleural effusion.", "No Finding"), LabelValue::kBlank);
  EXPECT_EQ(value_of(*lab, "Findings compatible with congestive heart failure.", "Cardiomegaly"), LabelValue::kUncertain);
  EXPECT_EQ(value_of(*lab, "No evidence of congestive heart failure.", "Cardiomegaly"), LabelValue::kBlank);
  EXPECT_EQ(value_of(*lab, "Patchy opacity in the right lower lobe.", "Lung Opacity"), LabelValue::kPositive);
}

TEST(UserLabelSet, ParsesAndValidates) {
  auto s = parse_label_set_json(R"({"name":"pe","no_finding":"Normal","labels":[
      {"name":"Pulmonary embolism","synonyms":["filling defect ~3 pulmonary arter*"],"description":"PE"}]})", "pe.json");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(names(*s), (std::vector<std::string>{"Normal", "Pulmonary embolism"}));
  auto lab = RuleLabeler::create(*s);
  ASSERT_TRUE(lab.ok());
  EXPECT_EQ(value_of(*lab, "Filling defect in the right pulmonary artery.", "Pulmonary embolism"), LabelValue::kPositive);
  EXPECT_EQ(value_of(*lab, "No pulmonary embolism.", "Pulmonary embolism"), LabelValue::kNegative);
  EXPECT_EQ(value_of(*lab, "No pulmonary embolism.", "Normal"), LabelValue::kPositive);
  auto dup = parse_label_set_json(R"({"labels":[{"name":"A"},{"name":"A"}]})", "d.json");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("labels[1].name"), std::string::npos);
  EXPECT_FALSE(parse_label_set_json("{not json", "x.json").ok());
  EXPECT_FALSE(parse_label_set_json(R"({"labels":[{"synonyms":[]}]})", "x.json").ok());
}

}  // namespace
}  // namespace radseek::radiology

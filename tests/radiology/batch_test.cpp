// Batch runner: append + flush, interruption and --resume, torn lines, output formats, policy.
#include <gtest/gtest.h>

#include <sstream>

#include "radiology/batch.h"
#include "test_util.h"

namespace radseek::radiology {
namespace {

using testing::slurp;
using testing::TempDir;

std::string make_input(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += "{\"id\":\"r" + std::to_string(i) + "\",\"text\":\"" + (i % 2 ? "Small left pleural effusion." : "Possible pneumonia.") + "\"}\n";
  }
  return s;
}

// Wraps a backend and raises the stop flag after `limit` reports, like Ctrl-C mid-run.
class StopAfter final : public ClassifierBackend {
 public:
  StopAfter(std::unique_ptr<ClassifierBackend> inner, int limit, std::atomic<bool>* stop)
      : inner_(std::move(inner)), limit_(limit), stop_(stop) {}
  std::string name() const override { return inner_->name(); }
  Expected<BackendAnswer> classify(const MultiLabelRequest& r) override {
    if (++calls_ >= limit_) stop_->store(true);
    return inner_->classify(r);
  }
  Expected<BackendAnswer> choose(const McRequest& r) override { return inner_->choose(r); }

 private:
  std::unique_ptr<ClassifierBackend> inner_;
  int limit_;
  int calls_ = 0;
  std::atomic<bool>* stop_;
};

BatchSummary run(const std::string& in, const std::string& out, OutputFormat fmt, const LabelSet& labels,
                 ClassifierBackend& backend, const std::atomic<bool>* stop, bool resume,
                 UncertainPolicy policy = UncertainPolicy::kKeep) {
  std::unordered_set<std::string> done;
  if (resume) done = completed_ids(out, fmt).value();
  auto reader = open_reader(ReaderOptions{.path = in});
  auto writer = open_writer(WriterOptions{.path = out, .format = fmt, .labels = &labels});
  EXPECT_TRUE(reader.ok() && writer.ok());
  auto s = run_batch(BatchOptions{.labels = &labels, .policy = policy, .skip_ids = resume ? &done : nullptr, .stop = stop},
                     **reader, backend, **writer);
  EXPECT_TRUE(s.ok());
  return *s;
}

TEST(Batch, InterruptThenResumeLosesAndRepeatsNothing) {
  TempDir d;
  const auto in = d.file("in.jsonl", make_input(10));
  const LabelSet labels = builtin_chestxray14();
  for (OutputFormat fmt : {OutputFormat::kJsonl, OutputFormat::kCsv, OutputFormat::kFhir}) {
    const std::string full = d.path("full" + std::to_string(static_cast<int>(fmt)));
    const std::string part = d.path("part" + std::to_string(static_cast<int>(fmt)));
    auto plain = make_rules_backend();
    run(in, full, fmt, labels, *plain, nullptr, false);
    std::atomic<bool> stop{false};
    StopAfter stopping(make_rules_backend(), 4, &stop);
    const BatchSummary first = run(in, part, fmt, labels, stopping, &stop, false);
    EXPECT_TRUE(first.interrupted);
    EXPECT_EQ(first.written, 4);
    auto rest_backend = make_rules_backend();
    const BatchSummary second = run(in, part, fmt, labels, *rest_backend, nullptr, true);
    EXPECT_EQ(second.skipped, 4);
    EXPECT_EQ(second.written, 6);
    // Same ids, once each, same labels (timings differ, so compare without them).
    auto ids = completed_ids(part, fmt).value();
    EXPECT_EQ(ids.size(), 10u);
    if (fmt == OutputFormat::kCsv) {
      EXPECT_EQ(slurp(full), slurp(part));
    }
  }
}

TEST(Batch, TornLastLineIsRepairedBeforeResume) {
  TempDir d;
  const auto out = d.file("out.jsonl", "{\"id\":\"r0\",\"labels\":{}}\n{\"id\":\"r1\",\"lab");
  auto ids = completed_ids(out, OutputFormat::kJsonl);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 1u);
  EXPECT_EQ(slurp(out), "{\"id\":\"r0\",\"labels\":{}}\n");
}

TEST(Batch, MalformedRecordsBecomeErrorRecordsAndTheRunGoesOn) {
  TempDir d;
  const auto in = d.file("in.jsonl", "{\"id\":\"a\",\"text\":\"Cardiomegaly.\"}\nnot json\n{\"id\":\"c\",\"text\":\"Clear.\"}\n");
  const auto out = d.path("out.jsonl");
  const LabelSet labels = builtin_chestxray14();
  auto backend = make_rules_backend();
  const BatchSummary s = run(in, out, OutputFormat::kJsonl, labels, *backend, nullptr, false);
  EXPECT_EQ(s.written, 3);
  EXPECT_EQ(s.errors, 1);
  std::istringstream lines(slurp(out));
  std::string line;
  std::vector<nlohmann::json> recs;
  while (std::getline(lines, line)) recs.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0]["labels"]["Cardiomegaly"], 1);
  EXPECT_EQ(recs[0]["labels"].size(), 14u);
  EXPECT_TRUE(recs[0]["labels"]["Mass"].is_null());
  EXPECT_TRUE(recs[1].contains("error"));
  EXPECT_EQ(recs[2]["id"], "c");
}

TEST(Batch, UncertaintyPolicyAndCsvConvention) {
  TempDir d;
  const auto in = d.file("in.jsonl", "{\"id\":\"u\",\"text\":\"Possible pneumonia. No pleural effusion.\"}\n");
  const LabelSet labels = builtin_chestxray14();
  auto b = make_rules_backend();
  run(in, d.path("keep.csv"), OutputFormat::kCsv, labels, *b, nullptr, false, UncertainPolicy::kKeep);
  run(in, d.path("pos.csv"), OutputFormat::kCsv, labels, *b, nullptr, false, UncertainPolicy::kPositive);
  run(in, d.path("neg.csv"), OutputFormat::kCsv, labels, *b, nullptr, false, UncertainPolicy::kNegative);
  // Columns: id, 14 labels in set order (Effusion 3rd, Pneumonia 7th), error.
  EXPECT_EQ(slurp(d.path("keep.csv")).substr(slurp(d.path("keep.csv")).find('\n') + 1), "u,,,0,,,,-1,,,,,,,,\n");
  EXPECT_NE(slurp(d.path("pos.csv")).find("u,,,0,,,,1,"), std::string::npos);
  EXPECT_NE(slurp(d.path("neg.csv")).find("u,,,0,,,,0,"), std::string::npos);
}

TEST(Batch, FhirOutputCarriesConclusionCodes) {
  ResultRecord r;
  r.id = "x";
  r.engine = "rules";
  const LabelSet labels = builtin_chestxray14();
  r.labels = LabelOutput{.values = std::vector<LabelValue>(14, LabelValue::kBlank), .evidence = {}, .confidence = {}};
  r.labels->values[1] = LabelValue::kPositive;
  r.labels->values[2] = LabelValue::kNegative;
  const auto j = result_to_fhir(r, &labels);
  EXPECT_EQ(j["resourceType"], "DiagnosticReport");
  ASSERT_EQ(j["conclusionCode"].size(), 1u);
  EXPECT_EQ(j["conclusionCode"][0]["coding"][0]["code"], "Cardiomegaly");
  ASSERT_EQ(j["contained"].size(), 2u);
  EXPECT_EQ(j["contained"][1]["valueCodeableConcept"]["coding"][0]["code"], "2667000");
  r.error = "bad";
  EXPECT_EQ(result_to_fhir(r, &labels)["resourceType"], "OperationOutcome");
}

TEST(MultipleChoice, RulesPickTheAssertedFinding) {
  auto b = make_rules_backend();
  ReportRecord r;
  r.id = "q";
  r.text = "FINDINGS: No pneumothorax. There is a moderate right pleural effusion.\nIMPRESSION: Right pleural effusion.";
  r.options = {{"A", "Pneumothorax"}, {"B", "Pleural effusion"}, {"C", "Pulmonary nodule"}, {"D", "No acute abnormality"}};
  const std::vector<std::string> sections;
  auto a = b->choose(McRequest{.report = &r, .sections = &sections});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->mc->answer, "B");
  r.text = "Lungs are clear. No effusion or pneumothorax.";
  EXPECT_EQ(b->choose(McRequest{.report = &r, .sections = &sections})->mc->answer, "D");
}

}  // namespace
}  // namespace radseek::radiology

// The local engine backend and its parts: loop detection, evidence matched back to the report, and
// whole cases on tiny random checkpoints (whatever the weights: the answer parses, every label has a
// value and a confidence, the reasoning respects its budget, evidence offsets point into the input).
#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include "radiology/batch.h"
#include "radiology/evidence.h"
#include "radiology/local.h"
#include "radiology/walk.h"
#include "test_util.h"
#include "tiny_model.h"

namespace radseek::radiology {
namespace {

TEST(LoopDetector, FindsRepeatedNgramsOnly) {
  LoopDetector d({.ngram = 3, .repeats = 3});
  for (int32_t id : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) EXPECT_FALSE(d.push(id));
  // "1 2 3" again twice: the third occurrence is a loop, and not before.
  for (int32_t id : {1, 2}) EXPECT_FALSE(d.push(id));
  EXPECT_FALSE(d.push(3));
  for (int32_t id : {1, 2}) EXPECT_FALSE(d.push(id));
  EXPECT_TRUE(d.push(3));
  LoopDetector off({.ngram = 0, .repeats = 3});
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(off.push(7));
}

TEST(Evidence, QuotesMatchBackWithOffsets) {
  const std::string text = "FINDINGS: The heart is  enlarged.\nNo pleural effusion. IMPRESSION: Cardiomegaly.";
  auto exact = find_quote(text, "heart is  enlarged");
  ASSERT_TRUE(exact);
  EXPECT_EQ(text.substr(exact->start, exact->end - exact->start), "heart is  enlarged");
  auto loose = find_quote(text, "The Heart is enlarged.");  // case, spacing, trailing period
  ASSERT_TRUE(loose);
  EXPECT_EQ(text.substr(loose->start, loose->end - loose->start), "The heart is  enlarged");
  EXPECT_FALSE(find_quote(text, "the lungs are clear"));
  EXPECT_FALSE(find_quote(text, "is"));  // too short to mean anything

  const LabelSet set = builtin_chestxray14();
  auto finder = EvidenceFinder::create(set);
  ASSERT_TRUE(finder.ok());
  std::vector<LabelValue> values(set.labels.size(), LabelValue::kBlank);
  std::vector<std::string> quotes(set.labels.size());
  const int cardio = set.index_of("Cardiomegaly"), effusion = set.index_of("Effusion"), mass = set.index_of("Mass");
  values[cardio] = LabelValue::kPositive;
  quotes[cardio] = "heart is enlarged";  // spacing differs from the report
  values[effusion] = LabelValue::kUncertain;  // no quote: the rule labeler's mention
  values[mass] = LabelValue::kPositive;       // neither a quote nor a mention: no evidence
  const auto ev = finder->find(text, {}, values, quotes);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].label, cardio);
  EXPECT_EQ(text.substr(ev[0].mention_start, ev[0].mention_end - ev[0].mention_start), "heart is  enlarged");
  EXPECT_EQ(text.substr(ev[0].sentence_start, ev[0].sentence_end - ev[0].sentence_start).find("The heart"), 0u);
  EXPECT_EQ(ev[1].label, effusion);
  EXPECT_EQ(ev[1].value, LabelValue::kUncertain);
  EXPECT_EQ(text.substr(ev[1].mention_start, ev[1].mention_end - ev[1].mention_start), "effusion");
}

class LocalBackendTest : public ::testing::Test {
 protected:
  static std::string model_dir() {
    static const std::string dir = radiology::testing::write_tiny_model(
        (std::filesystem::temp_directory_path() / ("radseek_local_" + std::to_string(::getpid()))).string(), 5);
    return dir;
  }
  static std::unique_ptr<ClassifierBackend> backend(LocalOptions o) {
    auto e = engine::Engine::load({.model_dir = model_dir(), .threads = 2});
    EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().message);
    auto b = make_local_backend(std::move(*e), o);
    EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.error().message);
    return std::move(*b);
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(model_dir()); }

  ReportRecord report() const {
    ReportRecord r;
    r.id = "r1";
    r.text = "FINDINGS: The heart is enlarged. Small left pleural effusion. No pneumothorax.\nIMPRESSION: Cardiomegaly.";
    return r;
  }
};

TEST_F(LocalBackendTest, MultiLabelAlwaysParsesWithConfidenceAndBudget) {
  const LabelSet set = builtin_chexpert13();
  const std::vector<std::string> sections;
  for (int64_t budget : {0, 7}) {
    for (ModelFamily family : {ModelFamily::kR1, ModelFamily::kGeneric}) {
      auto b = backend({.family = family, .max_thinking_tokens = budget, .loop = {.ngram = 0}});
      const ReportRecord r = report();
      auto a = b->classify(MultiLabelRequest{.report = &r, .labels = &set, .sections = &sections});
      ASSERT_TRUE(a.ok()) << a.error().message;
      ASSERT_TRUE(a->labels);
      EXPECT_EQ(a->labels->values.size(), set.labels.size());
      ASSERT_EQ(a->labels->confidence.size(), set.labels.size());
      for (double c : a->labels->confidence) {
        EXPECT_GT(c, 0.0);
        EXPECT_LE(c, 1.0 + 1e-9);
      }
      for (const Evidence& e : a->labels->evidence) {
        EXPECT_LE(e.sentence_end, r.text.size());
        EXPECT_LE(e.sentence_start, e.mention_start);
        EXPECT_LE(e.mention_end, e.sentence_end);
      }
      EXPECT_GT(a->prompt_tokens, 0);
      EXPECT_GT(a->answer_tokens, 0);
      if (budget == 0) {
        EXPECT_EQ(a->reasoning_end, "off");
        EXPECT_EQ(a->reasoning_tokens, 0);
      } else {
        EXPECT_LE(a->reasoning_tokens, budget);
        EXPECT_TRUE(a->reasoning_end == "budget" || a->reasoning_end == "closed" || a->reasoning_end == "eos")
            << a->reasoning_end;
      }
    }
  }
}

// The compact family walks the report: the quotes are the report's sentences in order whatever the
// weights, and with --answer walk the labels are read from that walk, so they never contradict it.
TEST_F(LocalBackendTest, CompactFamilyWalksTheReportAndAnswersFromIt) {
  const LabelSet set = builtin_chexpert14();
  const std::vector<std::string> sections;
  const ReportRecord r = report();
  for (AnswerSource source : {AnswerSource::kWalk, AnswerSource::kModel}) {
    auto b = backend({.family = ModelFamily::kCompact, .max_thinking_tokens = 400, .loop = {.ngram = 0}, .answer = source});
    auto a = b->classify(MultiLabelRequest{.report = &r, .labels = &set, .sections = &sections});
    ASSERT_TRUE(a.ok()) << a.error().message;
    EXPECT_EQ(a->reasoning_end, "walk");
    EXPECT_TRUE(walk_constraint(set, plan_walk(r.text)).is_complete(a->reasoning)) << a->reasoning;
    EXPECT_EQ(a->reasoning.find("\"The heart is enlarged.\""), 0u) << a->reasoning;
    ASSERT_TRUE(a->labels);
    ASSERT_EQ(a->labels->confidence.size(), set.labels.size());
    for (double c : a->labels->confidence) EXPECT_TRUE(c > 0.0 && c <= 1.0 + 1e-9) << c;
    if (source == AnswerSource::kWalk) {
      EXPECT_EQ(a->labels->values, read_walk(a->reasoning, set).values);
      EXPECT_EQ(a->answer_tokens, 0);
    } else {
      EXPECT_GT(a->answer_tokens, 0);
    }
  }
}

TEST_F(LocalBackendTest, LoopDetectionEndsTheReasoningEarly) {
  // Greedy decoding of a random model falls into a cycle; two tokens seen three times is a loop.
  auto b = backend({.sampling = {.temperature = 0.0f}, .max_thinking_tokens = 400, .loop = {.ngram = 2, .repeats = 3}});
  const LabelSet set = builtin_chestxray14();
  const std::vector<std::string> sections;
  const ReportRecord r = report();
  auto a = b->classify(MultiLabelRequest{.report = &r, .labels = &set, .sections = &sections});
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->reasoning_end, "loop");
  EXPECT_LT(a->reasoning_tokens, 400);
}

TEST_F(LocalBackendTest, MultipleChoiceAnswersALetterWithScores) {
  auto b = backend({.sampling = {.temperature = 0.6f, .top_p = 0.95f, .seed = 3}, .max_thinking_tokens = 5});
  ReportRecord r = report();
  r.options = {{"A", "Pneumothorax"}, {"B", "Cardiomegaly"}, {"C", "Rib fracture"}};
  const std::vector<std::string> sections;
  auto a = b->choose(McRequest{.report = &r, .sections = &sections});
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(a->mc);
  EXPECT_TRUE(a->mc->answer == "A" || a->mc->answer == "B" || a->mc->answer == "C");
  double sum = 0;
  for (const auto& [letter, p] : a->mc->scores) sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-6);
  EXPECT_GT(a->mc->confidence, 0.0);
}

TEST_F(LocalBackendTest, BatchWritesParsedRecords) {
  radiology::testing::TempDir tmp;
  const std::string in = tmp.file("in.jsonl", "{\"id\":\"a\",\"text\":\"Small effusion.\"}\n{\"id\":\"b\",\"text\":\"Normal chest.\"}\n");
  const LabelSet set = builtin_chestxray14();
  auto reader = open_reader(ReaderOptions{.path = in, .format = InputFormat::kJsonl});
  ASSERT_TRUE(reader.ok());
  auto writer = open_writer(WriterOptions{.path = tmp.path("out.jsonl"), .format = OutputFormat::kJsonl, .labels = &set});
  ASSERT_TRUE(writer.ok());
  auto b = backend({.max_thinking_tokens = 4});
  auto s = run_batch(BatchOptions{.labels = &set, .reasoning_max_chars = 0}, **reader, *b, **writer);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->written, 2);
  EXPECT_EQ(s->errors, 0);
  writer->reset();
  std::istringstream lines(radiology::testing::slurp(tmp.path("out.jsonl")));
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["labels"].size(), set.labels.size());
    EXPECT_EQ(j["engine"], "local");
    EXPECT_FALSE(j.contains("reasoning"));  // --reasoning omit
    EXPECT_TRUE(j.contains("reasoning_tokens"));
    EXPECT_TRUE(j.contains("confidence"));
    ++n;
  }
  EXPECT_EQ(n, 2);
}

}  // namespace
}  // namespace radseek::radiology

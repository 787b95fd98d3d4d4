// The scheduler on a tiny random model: batched greedy outputs equal the engine's own one-at-a-time
// generation, the prefix cache changes nothing but the work done, cancellation and the bounded
// queue behave, and a JSON-schema constrained answer parses and conforms.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "engine/engine.h"
#include "fixture.h"
#include "server/json_schema.h"
#include "server/scheduler.h"

namespace radseek::server {
namespace {

namespace fs = std::filesystem;

class SchedulerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string((fs::temp_directory_path() / ("radseek_sched_" + std::to_string(::getpid()))).string());
    ASSERT_TRUE(testing::write_fixture_model(*dir_).ok());
    auto e = engine::Engine::load({.model_dir = *dir_, .threads = 2});
    ASSERT_TRUE(e.ok()) << e.error().message;
    engine_ = e->release();
  }
  static void TearDownTestSuite() {
    delete engine_;
    fs::remove_all(*dir_);
    delete dir_;
  }

  static engine::SequenceOptions greedy(int64_t n) {
    return {.tokenizer = engine_->tokenizer(), .vocab = engine_->model().config().vocab_size, .max_new_tokens = n,
            .split_reasoning = false};
  }
  static std::vector<int32_t> prompt(int len, int salt) {
    std::vector<int32_t> p{0};
    for (int i = 1; i < len; ++i) p.push_back(2 + (i * 7 + salt * 13) % 250);
    return p;
  }
  static Outcome run_to_end(RequestHandle& h) {
    std::vector<engine::SequenceStep> sink;
    while (!h.wait(sink, std::chrono::milliseconds(50))) {
    }
    return h.outcome();
  }

  static std::string* dir_;
  static engine::Engine* engine_;
};
std::string* SchedulerTest::dir_ = nullptr;
engine::Engine* SchedulerTest::engine_ = nullptr;

TEST_F(SchedulerTest, BatchedGreedyEqualsOneAtATimeGeneration) {
  const std::vector<std::vector<int32_t>> prompts{prompt(5, 1), prompt(40, 2), prompt(17, 3), prompt(3, 4),
                                                  prompt(64, 5), prompt(40, 6)};
  std::vector<std::vector<int32_t>> expected;
  for (const auto& p : prompts) {  // the oracle: Engine::generate, one sequence, no batching
    engine::Session s(engine_->model(), static_cast<int64_t>(p.size()) + 16);
    auto r = engine_->generate(s, p, {.max_new_tokens = 16, .ignore_eos = true});
    ASSERT_TRUE(r.ok());
    expected.push_back(r->ids);
  }
  Scheduler sched(*engine_, {.max_batch = 4, .max_queue = 16, .prefill_chunk = 16, .step_token_budget = 40,
                             .prefix_cache = {.max_entries = 0}});
  std::vector<std::shared_ptr<RequestHandle>> hs;
  for (const auto& p : prompts) {
    auto h = sched.submit({.prompt = p, .seq = greedy(16)});
    ASSERT_TRUE(std::holds_alternative<std::shared_ptr<RequestHandle>>(h));
    hs.push_back(std::get<0>(h));
  }
  for (size_t i = 0; i < hs.size(); ++i) {
    const Outcome o = run_to_end(*hs[i]);
    EXPECT_EQ(o.finish_reason, "length");
    EXPECT_EQ(o.ids, expected[i]) << "prompt " << i;
  }
  EXPECT_GT(sched.stats().steps, 0);
}

// --speculative mtp in the batched scheduler: every sequence's output equals plain decoding's,
// greedy and sampled, with sequences of different lengths in one batch; drafts are verified (the
// random model's MTP drafts are mostly wrong, so the reject path runs; the accept path runs on the
// repeated tokens a random model falls into).
TEST_F(SchedulerTest, MtpDraftsChangeNoOutput) {
  const std::vector<std::vector<int32_t>> prompts{prompt(5, 1), prompt(40, 2), prompt(17, 3), prompt(3, 4)};
  for (float temperature : {0.0f, 0.8f}) {
    std::vector<std::vector<int32_t>> outs[2];
    int64_t drafted = 0, accepted = 0;
    for (int spec = 0; spec < 2; ++spec) {
      Scheduler sched(*engine_, {.max_batch = 3, .max_queue = 16, .prefill_chunk = 16, .step_token_budget = 40,
                                 .prefix_cache = {.max_entries = 0},
                                 .speculation = spec ? engine::GenerateParams::Speculation::kMtp
                                                     : engine::GenerateParams::Speculation::kNone});
      std::vector<std::shared_ptr<RequestHandle>> hs;
      for (size_t i = 0; i < prompts.size(); ++i) {
        auto o = greedy(24 + static_cast<int64_t>(i));
        o.sampling = {.temperature = temperature, .seed = 3 + i};
        auto h = sched.submit({.prompt = prompts[i], .seq = o});
        ASSERT_TRUE(std::holds_alternative<std::shared_ptr<RequestHandle>>(h));
        hs.push_back(std::get<0>(h));
      }
      for (auto& h : hs) outs[spec].push_back(run_to_end(*h).ids);
      drafted += sched.stats().drafted;
      accepted += sched.stats().accepted;
    }
    EXPECT_EQ(outs[1], outs[0]) << "temperature " << temperature;
    EXPECT_GT(drafted, 0);
    ::testing::Test::RecordProperty("accepted", static_cast<int>(accepted));
  }
}

TEST_F(SchedulerTest, PrefixCacheReusesAPromptPrefixWithoutChangingTheOutput) {
  Scheduler sched(*engine_, {.max_batch = 2, .prefix_cache = {.max_entries = 4, .min_tokens = 8}});
  auto shared = prompt(48, 9);
  auto other = shared;
  other.insert(other.end(), {5, 6, 7, 8});
  const Outcome a = run_to_end(*std::get<0>(sched.submit({.prompt = shared, .seq = greedy(8)})));
  const Outcome b = run_to_end(*std::get<0>(sched.submit({.prompt = other, .seq = greedy(8)})));
  const Outcome c = run_to_end(*std::get<0>(sched.submit({.prompt = shared, .seq = greedy(8)})));
  EXPECT_EQ(a.cached_tokens, 0);
  EXPECT_EQ(b.cached_tokens, 48);
  EXPECT_EQ(c.cached_tokens, 47);  // all but the last token, which is fed for its logits
  EXPECT_EQ(c.ids, a.ids);
  engine::Session s(engine_->model(), 64);
  auto ref = engine_->generate(s, other, {.max_new_tokens = 8});
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(b.ids, ref->ids);
  EXPECT_EQ(sched.stats().prefix_hits, 2);
}

TEST_F(SchedulerTest, CancelledRequestEndsWithoutRunningToItsLimit) {
  Scheduler sched(*engine_, {.max_batch = 2});
  auto h = std::get<0>(sched.submit({.prompt = prompt(8, 1), .seq = greedy(100000)}));
  h->cancel();
  const Outcome o = run_to_end(*h);
  EXPECT_EQ(o.finish_reason, "cancelled");
  EXPECT_LT(o.completion_tokens, 100000);
}

TEST_F(SchedulerTest, DeadlineEndsARequestAsLength) {
  Scheduler sched(*engine_, {.max_batch = 2});
  auto h = std::get<0>(sched.submit({.prompt = prompt(8, 1), .seq = greedy(100000),
                                     .deadline = Clock::now() + std::chrono::milliseconds(200)}));
  const Outcome o = run_to_end(*h);
  EXPECT_EQ(o.finish_reason, "length");
  EXPECT_TRUE(o.timed_out);
}

TEST_F(SchedulerTest, FullQueueIsRefusedWith429) {
  Scheduler sched(*engine_, {.max_batch = 1, .max_queue = 1});
  auto first = sched.submit({.prompt = prompt(8, 1), .seq = greedy(100000)});
  while (sched.stats().active == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));  // first is running
  auto second = sched.submit({.prompt = prompt(8, 2), .seq = greedy(4)});
  auto third = sched.submit({.prompt = prompt(8, 3), .seq = greedy(4)});
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<RequestHandle>>(first));
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<RequestHandle>>(second));
  ASSERT_TRUE(std::holds_alternative<ApiError>(third));
  EXPECT_EQ(std::get<ApiError>(third).status, 429);
  EXPECT_GT(std::get<ApiError>(third).retry_after_s, 0);
  std::get<0>(first)->cancel();
  EXPECT_EQ(run_to_end(*std::get<0>(second)).completion_tokens, 4);
}

TEST_F(SchedulerTest, JsonSchemaConstrainsTheAnswerAfterTheReasoning) {
  const nlohmann::json schema = {
      {"type", "object"},
      {"properties", {{"finding", {{"enum", {"effusion", "edema", "none"}}}}, {"n", {{"type", "integer"}}}}},
      {"required", {"finding", "n"}}};
  auto compiled = compile_schema(schema);
  ASSERT_TRUE(compiled.ok());
  auto tokens = TokenBytes::build(*engine_->tokenizer(), engine_->model().config().vocab_size);
  Scheduler sched(*engine_, {.max_batch = 4});
  std::vector<std::shared_ptr<RequestHandle>> hs;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    engine::SequenceOptions so = greedy(400);
    so.split_reasoning = true;
    so.think_opened_by_prompt = true;
    so.max_reasoning_tokens = 3;
    so.stop_ids = engine_->eos_ids();
    so.sampling = {.temperature = 0.9f, .seed = seed};
    so.answer_constraint = std::make_shared<JsonSchemaConstraint>(
        JsonConstraintArgs{.schema = *compiled, .tokens = tokens, .eos_ids = engine_->eos_ids(), .want_valid = 64});
    hs.push_back(std::get<0>(sched.submit({.prompt = prompt(10, static_cast<int>(seed)), .seq = std::move(so)})));
  }
  for (auto& h : hs) {
    std::vector<engine::SequenceStep> pieces;
    while (!h->wait(pieces, std::chrono::milliseconds(50))) {
    }
    std::string content;
    for (const auto& p : pieces) content += p.content_delta;
    std::string ids;
    for (const auto& p : pieces) ids += std::to_string(p.id) + (p.in_answer ? "a " : "r ");
    EXPECT_EQ(h->outcome().finish_reason, "stop") << content << "\n" << ids;  // ended by EOS once the object closed
    const auto doc = nlohmann::json::parse(content, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << content << "\n" << ids << "\n" << h->outcome().finish_reason;
    EXPECT_TRUE(doc["finding"].is_string() && doc["n"].is_number_integer()) << content;
  }
}

}  // namespace
}  // namespace radseek::server

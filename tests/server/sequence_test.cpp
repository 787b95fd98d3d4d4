// engine::SequenceState on scripted logits (one-hot rows pick each token), so stop strings, the
// thinking budget and the reasoning split are checked without a model.
#include <gtest/gtest.h>

#include <cmath>

#include <filesystem>
#include <unistd.h>

#include "engine/chat.h"
#include "engine/engine.h"
#include "engine/sequence.h"
#include "fixture.h"
#include "tokenizer/tokenizer.h"

namespace radseek::server {
namespace {

constexpr int kVocab = 512;

const tokenizer::Tokenizer& fixture_tokenizer() {
  static const tokenizer::Tokenizer tok = [] {
    auto t = tokenizer::Tokenizer::from_json(testing::fixture_tokenizer_json(kVocab).dump(), "", "fixture");
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
    return std::move(*t);
  }();
  return tok;
}

int32_t id_of(const std::string& text) {
  auto ids = fixture_tokenizer().encode(text);
  EXPECT_TRUE(ids.ok() && ids->size() == 1) << text;
  return ids.ok() && !ids->empty() ? (*ids)[0] : 0;
}

struct ScriptRun {
  std::string reasoning, content;
  std::vector<int32_t> ids;
  engine::SequenceStep last;
};

// Feeds `script` (ids the "model" prefers, one per step) until the sequence is done.
ScriptRun run_script(engine::SequenceState& seq, const std::vector<int32_t>& script) {
  ScriptRun r;
  std::vector<float> logits(kVocab);
  for (size_t i = 0; i < script.size(); ++i) {
    std::fill(logits.begin(), logits.end(), 0.0f);
    logits[script[i]] = 10.0f;
    auto st = seq.step(logits.data());
    EXPECT_TRUE(st.ok());
    r.reasoning += st->reasoning_delta;
    r.content += st->content_delta;
    r.ids.push_back(st->id);
    r.last = *st;
    if (st->done) break;
  }
  auto tail = seq.finish();
  r.reasoning += tail.reasoning;
  r.content += tail.content;
  return r;
}

TEST(SequenceState, StopStringIsHeldBackAndNeverEmitted) {
  engine::SequenceState seq({.tokenizer = &fixture_tokenizer(), .vocab = kVocab, .max_new_tokens = 20,
                             .stop = {"ZQ"}, .split_reasoning = false});
  std::vector<float> logits(kVocab, 0.0f);
  std::string streamed;
  for (const char* piece : {"a", "Z"}) {
    std::fill(logits.begin(), logits.end(), 0.0f);
    logits[id_of(piece)] = 5.0f;
    auto st = seq.step(logits.data());
    ASSERT_TRUE(st.ok());
    streamed += st->content_delta;
    EXPECT_FALSE(st->done);
  }
  EXPECT_EQ(streamed, "a");  // "Z" may begin the stop string: held back
  logits[id_of("Z")] = 0.0f;
  logits[id_of("Q")] = 5.0f;
  auto st = seq.step(logits.data());
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->done);
  EXPECT_EQ(seq.finish_reason(), "stop");
  EXPECT_EQ(streamed + st->content_delta + seq.finish().content, "a");
  EXPECT_EQ(seq.content(), "a");
}

TEST(SequenceState, HeldBackTextIsReleasedWhenNoStopFollows) {
  engine::SequenceState seq({.tokenizer = &fixture_tokenizer(), .vocab = kVocab, .max_new_tokens = 3,
                             .stop = {"ZQ"}, .split_reasoning = false});
  const ScriptRun r = run_script(seq, {id_of("a"), id_of("Z"), id_of("b")});
  EXPECT_EQ(r.content, "aZb");
  EXPECT_EQ(seq.finish_reason(), "length");
}

TEST(SequenceState, ThinkingBudgetForcesTheCloseTagThenTheAnswer) {
  engine::SequenceState seq({.tokenizer = &fixture_tokenizer(), .vocab = kVocab, .max_new_tokens = 12,
                             .stop_ids = {1}, .think_opened_by_prompt = true, .max_reasoning_tokens = 3});
  const int32_t a = id_of("a");
  // The "model" would think forever; the budget closes the reasoning after 3 tokens.
  const ScriptRun r = run_script(seq, std::vector<int32_t>(12, a));
  EXPECT_TRUE(seq.budget_forced());
  EXPECT_EQ(seq.reasoning_tokens(), 5);  // 3 + the forced "\n" and "</think>" (as chat() counts them)
  EXPECT_EQ(r.reasoning, "aaa\n");
  EXPECT_EQ(r.content, "\n\naaaaa");  // "\n\n" forced after "</think>", then the model's own tokens
  EXPECT_EQ(r.ids[4], 261);          // </think>
}

TEST(SequenceState, LogprobsAreNormalisedAndTopIsSorted) {
  engine::SequenceState seq({.tokenizer = &fixture_tokenizer(), .vocab = kVocab, .max_new_tokens = 1,
                             .split_reasoning = false, .top_logprobs = 3});
  std::vector<float> logits(kVocab, 0.0f);
  logits[10] = 3.0f, logits[11] = 2.0f, logits[12] = 1.0f;
  auto st = seq.step(logits.data());
  ASSERT_TRUE(st.ok() && st->logprob);
  EXPECT_EQ(st->id, 10);
  ASSERT_EQ(st->logprob->top.size(), 3u);
  EXPECT_EQ(st->logprob->top[1].id, 11);
  const double z = std::exp(3.0) + std::exp(2.0) + std::exp(1.0) + (kVocab - 3);
  EXPECT_NEAR(st->logprob->logprob, 3.0 - std::log(z), 1e-5);
}

// chat() with drafts (speculative.h) emits what plain chat emits — greedy or sampled, with the
// thinking budget forcing "</think>" mid-way and a stop string — for MTP and prompt-lookup drafts
// (a tiny random V3 model with an MTP layer; its drafts are mostly rejected, prompt lookup's are
// accepted once it loops, so both paths of a verify step run).
TEST(ChatSpeculation, DraftsChangeNothing) {
  const std::string dir = (std::filesystem::temp_directory_path() / ("radseek_chat_spec_" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(testing::write_fixture_model(dir).ok());
  auto e = engine::Engine::load({.model_dir = dir, .threads = 2});
  ASSERT_TRUE(e.ok()) << e.error().message;
  ASSERT_TRUE((*e)->has_mtp());
  using S = engine::GenerateParams::Speculation;
  int64_t accepted = 0;
  for (float temperature : {0.0f, 0.9f}) {
    engine::ChatParams p;
    p.messages = {{.role = "user", .content = "the heart is enlarged, no effusion"}};
    p.gen.max_new_tokens = 60;
    p.gen.sampling = {.temperature = temperature, .seed = 5};
    p.max_reasoning_tokens = 20;
    p.stop = {"zz"};
    std::vector<std::vector<int32_t>> outs;
    for (S spec : {S::kNone, S::kMtp, S::kNgram}) {
      p.gen.speculation = spec;
      engine::Session s((*e)->model(), 256);
      auto r = engine::chat(**e, s, p);
      ASSERT_TRUE(r.ok()) << r.error().message;
      outs.push_back(r->ids);
      if (spec != S::kNone) {
        EXPECT_GT(r->drafted, 0);
      }
      accepted += r->accepted;
    }
    EXPECT_EQ(outs[1], outs[0]) << "mtp, temperature " << temperature;
    EXPECT_EQ(outs[2], outs[0]) << "ngram, temperature " << temperature;
  }
  EXPECT_GT(accepted, 0) << "no draft accepted: the accept path went untested";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace radseek::server

// The per-token logic of one generated sequence, apart from the forward pass: thinking budget,
// an optional constraint on the answer, sampling, logprobs, incremental detokenization, the
// reasoning/answer split and stop strings. chat() drives one of these with Engine::feed; the
// server's scheduler drives many, one per request, between batched forward passes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/engine.h"
#include "engine/sampler.h"
#include "tokenizer/reasoning.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/tokenizer.h"

namespace radseek::engine {

// Restricts which tokens may come next in the answer (after the reasoning), e.g. a JSON schema.
class AnswerConstraint {
 public:
  virtual ~AnswerConstraint() = default;
  // Sets the logits of tokens that may not come next to -infinity. At least one token stays.
  virtual void mask(float* logits, int64_t vocab) = 0;
  // The token chosen after mask() (its bytes extend the answer).
  virtual void advance(int32_t id) = 0;
};

struct SequenceOptions {
  const tokenizer::Tokenizer* tokenizer = nullptr;  // null: ids only (no text, stop strings or split)
  int64_t vocab = 0;                                // logits row length
  int64_t max_new_tokens = 128;
  SamplingParams sampling = {};
  std::vector<int32_t> stop_ids = {};  // EOS ids and any extra ones (empty with ignore_eos)
  std::vector<int32_t> banned_ids = {};  // never sampled (Engine::textless_ids: no text to emit)
  std::vector<std::string> stop = {};  // stop strings, matched in the answer and never emitted
  bool split_reasoning = true;         // false: every token is answer text (raw completions)
  bool think_opened_by_prompt = false;
  // When the reasoning reaches this many tokens, "\n</think>\n\n" is forced and the answer begins.
  std::optional<int64_t> max_reasoning_tokens = {};
  std::shared_ptr<AnswerConstraint> answer_constraint = {};
  // -1: no logprobs; 0: the chosen token's; n > 0: also the n most likely.
  int top_logprobs = -1;
};

struct TokenLogprob {
  int32_t id = 0;
  double logprob = 0.0;
  std::vector<TopToken> top;
};

// What one step produced. Text deltas are complete UTF-8 and exclude any held-back stop prefix.
struct SequenceStep {
  int32_t id = 0;
  bool in_answer = false;  // the token belongs to the answer (not the reasoning)
  std::string reasoning_delta;
  std::string content_delta;
  std::optional<TokenLogprob> logprob;
  bool done = false;  // no more tokens: see finish_reason()
};

class SequenceState {
 public:
  explicit SequenceState(SequenceOptions options);

  // Applies the budget and constraint to `logits` [vocab] (modified in place), samples the next
  // token and consumes it. After done, call finish() once.
  Expected<SequenceStep> step(float* logits);
  // Flushes text held back (a partial tag, unfinished character or partial stop string).
  tokenizer::ReasoningStreamSplitter::Delta finish();

  const std::vector<int32_t>& ids() const { return ids_; }
  const std::string& reasoning() const { return reasoning_; }
  const std::string& content() const { return content_; }
  int64_t reasoning_tokens() const { return reasoning_tokens_; }
  bool budget_forced() const { return budget_forced_; }
  const std::string& finish_reason() const { return finish_reason_; }
  bool in_reasoning() const { return split_.in_reasoning(); }

 private:
  bool answer_phase() const;
  void apply_budget(float* logits);
  void apply_constraint(float* logits);
  TokenLogprob logprob_of(const float* logits, int32_t id) const;
  Status consume_text(int32_t id, SequenceStep& out);
  void route_content(const std::string& text, SequenceStep& out);
  void finish_with(const char* reason, SequenceStep& out);

  SequenceOptions o_;
  Sampler sampler_;
  std::optional<tokenizer::StreamDecoder> dec_;
  tokenizer::ReasoningStreamSplitter split_;
  std::vector<int32_t> forced_;  // "\n</think>\n\n" ids while the budget closes the reasoning
  size_t forced_next_ = 0;
  std::optional<int32_t> think_open_id_;
  std::vector<int32_t> ids_;
  std::string reasoning_, content_;
  size_t content_emitted_ = 0;  // bytes of content_ already returned in deltas
  int64_t reasoning_tokens_ = 0;
  bool budget_forced_ = false;
  bool stopped_by_string_ = false;
  std::string finish_reason_;
};

}  // namespace radseek::engine

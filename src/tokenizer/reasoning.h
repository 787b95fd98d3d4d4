// Splits a reasoning model's output into its reasoning and its answer. The text up to the last
// "</think>" is reasoning, the rest the answer. The output may start with "<think>" itself, or the
// chat template may have opened it already (R1 after its Feb 2025 update, R1-Distill, V3.1 thinking),
// so that only the closing tag appears in the completion.
#pragma once

#include <string>
#include <string_view>

namespace radseek::tokenizer {

struct ReasoningOptions {
  // The prompt ended inside "<think>" (see prompt_opens_think): output before any "</think>" is
  // reasoning even when the completion does not repeat the opening tag.
  bool think_opened_by_prompt = false;
};

struct ReasoningSplit {
  std::string reasoning;  // without the tags; text is kept as generated (no trimming)
  std::string content;
  bool reasoning_closed = false;  // a "</think>" was seen (false: cut off while thinking, or no reasoning)
};

ReasoningSplit split_reasoning(std::string_view output, ReasoningOptions options = {});

// The same split, fed chunk by chunk while tokens stream in. A tag split across chunks is held back
// until it is complete. Streaming cannot look ahead, so it switches to the answer at the FIRST
// "</think>"; for the usual single closing tag this equals split_reasoning's result.
class ReasoningStreamSplitter {
 public:
  struct Delta {
    std::string reasoning;
    std::string content;
  };

  explicit ReasoningStreamSplitter(ReasoningOptions options = {});
  Delta push(std::string_view chunk);
  Delta finish();  // flushes held-back text to where it belongs
  bool in_reasoning() const { return state_ == State::kReasoning; }

 private:
  enum class State { kStart, kReasoning, kContent };
  void route(std::string_view text, Delta& out);

  State state_;
  std::string held_;  // a possible partial tag
};

}  // namespace radseek::tokenizer

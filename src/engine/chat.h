// Chat turns on top of the engine: template rendering, generation with the reasoning split streamed
// apart from the answer, a thinking budget, stop strings. Used by `radseek chat`/`generate`, the
// radiology layer and the server.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "tokenizer/chat_template.h"

namespace radseek::engine {

struct ChatParams {
  std::vector<tokenizer::ChatMessage> messages;
  std::optional<tokenizer::ChatTemplateKind> chat_template;  // default: from tokenizer_config / model_type
  bool thinking = false;                                      // hybrid models (V3.1, Qwen3)
  GenerateParams gen;                                         // max_new_tokens, sampling, logits_hook
  std::vector<std::string> stop;                              // stop strings (matched in the answer)
  // When the reasoning reaches this many tokens, "</think>" is forced and the answer begins.
  std::optional<int64_t> max_reasoning_tokens;
  // Streaming: text as it becomes complete, routed to reasoning or answer.
  std::function<void(const std::string& reasoning_delta, const std::string& content_delta)> on_delta;
};

struct ChatResult {
  std::string reasoning;
  std::string content;
  std::vector<int32_t> ids;  // generated ids
  int64_t prompt_tokens = 0;
  int64_t reasoning_tokens = 0;
  std::string finish_reason;  // "stop", "length"
  bool reasoning_closed = false;
  bool budget_forced = false;  // the thinking budget closed the reasoning
  double prefill_seconds = 0.0, decode_seconds = 0.0;
  int64_t drafted = 0, accepted = 0;  // with gen.speculation: drafts checked / agreed with
};

// The template the engine's model uses (explicit choice, tokenizer_config's template, or model_type).
Expected<tokenizer::ChatTemplateKind> resolve_chat_template(const Engine& e,
                                                           std::optional<tokenizer::ChatTemplateKind> explicit_kind);

// Rendered and encoded prompt ids (no extra BOS: the template carries it).
Expected<std::vector<int32_t>> encode_chat_prompt(const Engine& e, const ChatParams& p, bool* think_opened);

// Runs one assistant turn in `s` (which must have room for prompt + max_new_tokens).
Expected<ChatResult> chat(const Engine& e, Session& s, const ChatParams& p);

}  // namespace radseek::engine

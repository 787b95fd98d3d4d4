// OpenAI request bodies -> typed requests, with all input validation in one place: a wrong type, an
// out-of-range value or an unsupported option is a 400 whose message and `param` name the field.
// Unknown fields are ignored (clients send many optional ones), known ones are checked strictly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "tokenizer/chat_template.h"

namespace radseek::server {

// An error as the client sees it: {"error": {"message", "type", "param", "code"}} with a status.
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // the offending field, "" when none
  std::string code;   // e.g. "context_length_exceeded", "" when none
  int retry_after_s = 0;  // 429/503: sent as Retry-After
};
nlohmann::json error_json(const ApiError& e);
ApiError bad_request(const std::string& param, const std::string& message);

enum class Endpoint { kChat, kCompletion };

struct GenerationRequest {
  Endpoint endpoint = Endpoint::kChat;
  std::string model;
  std::vector<tokenizer::ChatMessage> messages;  // chat
  std::optional<std::string> prompt_text;        // completion: text ...
  std::vector<int32_t> prompt_ids;               // ... or token ids
  std::optional<float> temperature, top_p, min_p;
  std::optional<int32_t> top_k;                  // extension (llama.cpp, vLLM)
  std::optional<int64_t> max_tokens;             // max_tokens or max_completion_tokens
  std::vector<std::string> stop;
  std::optional<uint64_t> seed;
  bool stream = false;
  bool include_usage = false;                    // stream_options.include_usage
  bool logprobs = false;
  int top_logprobs = 0;
  std::optional<nlohmann::json> json_schema;     // response_format json_schema (or {} for json_object)
  std::optional<std::string> reasoning_effort;   // low | medium | high
  std::optional<int64_t> max_reasoning_tokens;   // extension
  bool ignore_eos = false;                       // extension
  bool return_token_ids = false;                 // extension (vLLM): prompt and completion ids
  bool thinking = false;                         // extension: V3.1 / Qwen3 thinking mode
};

struct RequestLimits {
  int64_t max_prompt_chars = 1 << 20;   // text of all messages / the prompt
  int64_t max_messages = 1024;
  int64_t max_stop = 4;                 // OpenAI's limit
  int64_t max_top_logprobs = 20;        // OpenAI's limit
};

// A parsed request or the 400 that names the offending field.
using ParsedRequest = std::variant<GenerationRequest, ApiError>;
// `body` is any parsed JSON value (a non-object is a 400 too).
ParsedRequest parse_chat_request(const nlohmann::json& body, const RequestLimits& limits);
ParsedRequest parse_completion_request(const nlohmann::json& body, const RequestLimits& limits);

// Maps reasoning_effort to a thinking budget in tokens (explicit max_reasoning_tokens wins).
struct ReasoningBudgets {
  int64_t low = 1024, medium = 4096, high = 16384;
};
std::optional<int64_t> reasoning_budget(const GenerationRequest& r, const ReasoningBudgets& b);

}  // namespace radseek::server

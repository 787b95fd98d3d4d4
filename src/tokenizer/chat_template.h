// Chat formats of the models radseek runs (DeepSeek: spec §5; the dense Llama 3.x, Qwen2.5 and Qwen3
// families), rendered by code rather than by a Jinja interpreter: the official templates are few and
// fixed, so each is a known kind, chosen by name or recognised from the `chat_template` string of
// tokenizer_config.json by its distinctive pieces.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace radseek::tokenizer {

enum class ChatTemplateKind {
  kDeepSeekV3,         // V3 (Dec 2024): systems joined and hoisted; "A" + content + EOS
  kDeepSeekR1,         // R1 (Jan 2025): as V3, earlier turns' reasoning dropped
  kDeepSeekR1Think,    // R1 after the Feb 2025 update: generation prompt opens "<think>\n"
  kDeepSeekR1Distill,  // R1-Distill (Qwen, Llama): as R1Think, but only the last system message
  kDeepSeekV3_0324,    // V3-0324: the user turn carries "A"; assistant = content + EOS
  kDeepSeekR1_0528,    // R1-0528: as V3-0324, earlier turns' reasoning dropped
  kDeepSeekV31,        // V3.1 hybrid: "A</think>" (non-thinking) or "A<think>" (thinking)
  kDeepSeekV2,         // V2 / V2-Lite: "User: ...\n\n", "Assistant: ..." + EOS
  kLlama3,             // Llama 3.1 / 3.2 / 3.3 Instruct: header tokens, a system header always present
  kQwen25,             // Qwen2.5 Instruct: ChatML with Qwen's default system message
  kQwen3,              // Qwen3 hybrid: ChatML, past reasoning dropped, an empty think block when not thinking
};

// Names for --chat-template ("deepseek-v3", "deepseek-r1", ..., "deepseek-v2", "llama3", "qwen2.5",
// "qwen3").
std::string_view chat_template_name(ChatTemplateKind kind);
std::span<const ChatTemplateKind> all_chat_template_kinds();
Expected<ChatTemplateKind> chat_template_from_name(std::string_view name);
// Recognises an official template; an unknown one is an error that suggests --chat-template.
Expected<ChatTemplateKind> detect_chat_template(std::string_view jinja_source);

struct ToolCall {
  std::string type = "function";
  std::string name = {};
  std::string arguments = {};  // JSON text, rendered verbatim
};

struct ChatMessage {
  std::string role = {};  // "system", "user", "assistant" or "tool"
  std::string content = {};
  // Reasoning of an earlier assistant turn. Every DeepSeek template drops past reasoning (R1's strip
  // the text up to "</think>" from content as well); Qwen3 renders it only for assistant turns after
  // the last user message (an agent's tool-call steps in progress), as its official template does.
  std::optional<std::string> reasoning = {};
  std::vector<ToolCall> tool_calls = {};  // assistant only
};

struct RenderOptions {
  bool add_generation_prompt = true;
  // Hybrid models (V3.1, Qwen3): think before answering. Off by default for both, one switch with
  // one meaning: radseek's --thinking / request "thinking" turn it on. For Qwen3 false is
  // enable_thinking=False (the prompt closes an empty "<think>" block), true is Qwen3's own default.
  bool thinking = false;
  // DeepSeek templates only; Llama 3 writes its own <|begin_of_text|>, Qwen's templates have no BOS.
  std::string bos_token = "<｜begin▁of▁sentence｜>";
  // Llama 3.x: the "Today Date:" line of the system header (the template's fallback when the caller
  // gives no date, so a fixed default keeps prompts reproducible).
  std::string date = "26 Jul 2024";
};

Expected<std::string> render_chat(ChatTemplateKind kind, std::span<const ChatMessage> messages,
                                  const RenderOptions& options);

// Whether the generation prompt leaves a "<think>" open, so the completion starts inside the
// reasoning (feed this to the reasoning splitter).
bool prompt_opens_think(ChatTemplateKind kind, const RenderOptions& options);

// The token texts that end an assistant turn in this format, so generation stops there even when a
// folder's config names only the base model's EOS (Llama 3: <|eot_id|>, <|eom_id|>; Qwen ChatML:
// <|im_end|>, <|endoftext|>; DeepSeek: EOS).
std::vector<std::string_view> end_of_turn_tokens(ChatTemplateKind kind);

}  // namespace radseek::tokenizer

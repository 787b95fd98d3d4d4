// DeepSeek chat formats (spec §5), rendered by code rather than by a Jinja interpreter: the official
// templates are few and fixed, so each is a known kind, chosen by name or recognised from the
// `chat_template` string of tokenizer_config.json by its distinctive pieces.
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
};

// Names for --chat-template ("deepseek-v3", "deepseek-r1", ..., "deepseek-v2").
std::string_view chat_template_name(ChatTemplateKind kind);
std::span<const ChatTemplateKind> all_chat_template_kinds();
Expected<ChatTemplateKind> chat_template_from_name(std::string_view name);
// Recognises an official DeepSeek template; an unknown one is an error that suggests --chat-template.
Expected<ChatTemplateKind> detect_chat_template(std::string_view jinja_source);

struct ToolCall {
  std::string type = "function";
  std::string name = {};
  std::string arguments = {};  // JSON text, rendered verbatim
};

struct ChatMessage {
  std::string role = {};  // "system", "user", "assistant" or "tool"
  std::string content = {};
  // Reasoning of an earlier assistant turn. Never rendered: every DeepSeek template drops past
  // reasoning (R1's strip the text up to "</think>" from content as well).
  std::optional<std::string> reasoning = {};
  std::vector<ToolCall> tool_calls = {};  // assistant only
};

struct RenderOptions {
  bool add_generation_prompt = true;
  bool thinking = false;  // V3.1 only: open "<think>" instead of closing it
  std::string bos_token = "<｜begin▁of▁sentence｜>";
};

Expected<std::string> render_chat(ChatTemplateKind kind, std::span<const ChatMessage> messages,
                                  const RenderOptions& options);

// Whether the generation prompt leaves a "<think>" open, so the completion starts inside the
// reasoning (feed this to the reasoning splitter).
bool prompt_opens_think(ChatTemplateKind kind, const RenderOptions& options);

}  // namespace radseek::tokenizer

#include "tokenizer/chat_template.h"

#include <array>

namespace radseek::tokenizer {
namespace {

constexpr std::string_view kEos = "<｜end▁of▁sentence｜>";
constexpr std::string_view kUser = "<｜User｜>";
constexpr std::string_view kAssistant = "<｜Assistant｜>";
constexpr std::string_view kCallsBegin = "<｜tool▁calls▁begin｜>";
constexpr std::string_view kCallsEnd = "<｜tool▁calls▁end｜>";
constexpr std::string_view kCallBegin = "<｜tool▁call▁begin｜>";
constexpr std::string_view kCallEnd = "<｜tool▁call▁end｜>";
constexpr std::string_view kSep = "<｜tool▁sep｜>";
constexpr std::string_view kOutputsBegin = "<｜tool▁outputs▁begin｜>";
constexpr std::string_view kOutputsEnd = "<｜tool▁outputs▁end｜>";
constexpr std::string_view kOutputBegin = "<｜tool▁output▁begin｜>";
constexpr std::string_view kOutputEnd = "<｜tool▁output▁end｜>";
constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";

constexpr std::array<ChatTemplateKind, 11> kAllKinds = {
    ChatTemplateKind::kDeepSeekV3,      ChatTemplateKind::kDeepSeekR1,      ChatTemplateKind::kDeepSeekR1Think,
    ChatTemplateKind::kDeepSeekR1Distill, ChatTemplateKind::kDeepSeekV3_0324, ChatTemplateKind::kDeepSeekR1_0528,
    ChatTemplateKind::kDeepSeekV31,     ChatTemplateKind::kDeepSeekV2,      ChatTemplateKind::kLlama3,
    ChatTemplateKind::kQwen25,          ChatTemplateKind::kQwen3};

std::string known_names() {
  std::string s;
  for (ChatTemplateKind k : kAllKinds) s += (s.empty() ? "" : ", ") + std::string(chat_template_name(k));
  return s;
}

bool contains(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

// R1-style templates keep only the answer of earlier turns: the text after the last "</think>".
std::string_view after_last_think_close(std::string_view content) {
  const size_t pos = content.rfind(kThinkClose);
  return pos == std::string_view::npos ? content : content.substr(pos + kThinkClose.size());
}

// V3.1 splits at the first "</think>" instead.
std::string_view after_first_think_close(std::string_view content) {
  const size_t pos = content.find(kThinkClose);
  return pos == std::string_view::npos ? content : content.substr(pos + kThinkClose.size());
}

// All system contents joined with "\n\n" (V3, R1, V3.1), or only the last one (R1-Distill).
std::string hoisted_system(std::span<const ChatMessage> messages, bool last_only) {
  std::string sys;
  bool first = true;
  for (const ChatMessage& m : messages) {
    if (m.role != "system") continue;
    if (last_only || first) {
      sys = m.content;
    } else {
      sys += "\n\n" + m.content;
    }
    first = false;
  }
  return sys;
}

// One call as V3/R1/V3-0324 write it: type, name, then the arguments in a ```json fence.
std::string fenced_call(const ToolCall& c) {
  return std::string(kCallBegin) + c.type + std::string(kSep) + c.name + "\n```json\n" + c.arguments + "\n```" +
         std::string(kCallEnd);
}

Status check_roles(std::span<const ChatMessage> messages, bool tools_allowed) {
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    const bool known = m.role == "system" || m.role == "user" || m.role == "assistant" || m.role == "tool";
    if (!known) return make_error(ErrorCode::kInvalidArgument, "message " + std::to_string(i) + ": unknown role \"" + m.role + "\"");
    if (!tools_allowed && (m.role == "tool" || !m.tool_calls.empty()))
      return make_error(ErrorCode::kUnsupported, "message " + std::to_string(i) + ": radseek renders no tool calls with this chat template");
    if (!m.tool_calls.empty() && m.role != "assistant")
      return make_error(ErrorCode::kInvalidArgument, "message " + std::to_string(i) + ": only assistant messages carry tool calls");
  }
  return {};
}

}  // namespace

namespace {

struct V3Style {
  bool last_system_only = false;  // R1-Distill keeps only the last system message
  bool strip_reasoning = false;   // R1: earlier answers lose their "...</think>" part
  std::string_view prompt_suffix = {};  // after "A" in the generation prompt ("<think>\n" when forced)
};

// V3 (Dec 2024), R1 and R1-Distill (spec §5.1, §5.2). The official templates never reset the
// "first tool output" flag, so a second round of tool outputs would lose its opening marker; here
// each assistant tool-call message starts a new round, as the V3-0324 template does.
std::string render_v3_family(std::span<const ChatMessage> messages, const V3Style& style,
                             const RenderOptions& options) {
  std::string out = options.bos_token + hoisted_system(messages, style.last_system_only);
  bool is_tool = false;
  bool output_first = true;
  for (const ChatMessage& m : messages) {
    if (m.role == "user") {
      is_tool = false;
      out += std::string(kUser) + m.content;
    } else if (m.role == "assistant" && !m.tool_calls.empty()) {
      is_tool = false;
      output_first = true;
      for (size_t i = 0; i < m.tool_calls.size(); ++i)
        out += (i == 0 ? std::string(kAssistant) + std::string(kCallsBegin) : std::string("\n")) + fenced_call(m.tool_calls[i]);
      out += std::string(kCallsEnd) + std::string(kEos);
    } else if (m.role == "assistant") {
      if (is_tool) {
        out += std::string(kOutputsEnd) + m.content + std::string(kEos);
        is_tool = false;
      } else {
        const std::string_view answer = style.strip_reasoning ? after_last_think_close(m.content) : m.content;
        out += std::string(kAssistant) + std::string(answer) + std::string(kEos);
      }
    } else if (m.role == "tool") {
      is_tool = true;
      out += output_first ? std::string(kOutputsBegin) : std::string("\n");
      out += std::string(kOutputBegin) + m.content + std::string(kOutputEnd);
      output_first = false;
    }
  }
  if (is_tool) out += kOutputsEnd;
  if (options.add_generation_prompt && !is_tool) out += std::string(kAssistant) + std::string(style.prompt_suffix);
  return out;
}

// V3-0324 and R1-0528 (spec §5.3): "A" follows every user turn, even without a generation prompt.
std::string render_0324_family(std::span<const ChatMessage> messages, bool strip_reasoning,
                               const RenderOptions& options) {
  std::string out = options.bos_token + hoisted_system(messages, false);
  bool is_tool = false;
  bool output_first = true;
  bool last_user = false;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") continue;
    const bool user = m.role == "user";
    if (user) {
      is_tool = false;
      out += std::string(kUser) + m.content + std::string(kAssistant);
    } else if (m.role == "assistant" && !m.tool_calls.empty()) {
      if (is_tool) out += kOutputsEnd;
      is_tool = false;
      output_first = true;
      for (size_t i = 0; i < m.tool_calls.size(); ++i)
        out += (i == 0 ? m.content + std::string(kCallsBegin) : std::string("\n")) + fenced_call(m.tool_calls[i]);
      out += std::string(kCallsEnd) + std::string(kEos);
    } else if (m.role == "assistant") {
      const std::string_view answer = strip_reasoning && !is_tool ? after_last_think_close(m.content) : m.content;
      out += (is_tool ? std::string(kOutputsEnd) : std::string()) + std::string(answer) + std::string(kEos);
      is_tool = false;
    } else if (m.role == "tool") {
      is_tool = true;
      out += output_first ? std::string(kOutputsBegin) : std::string("\n");
      out += std::string(kOutputBegin) + m.content + std::string(kOutputEnd);
      output_first = false;
    }
    last_user = user;
  }
  if (is_tool) out += kOutputsEnd;
  if (options.add_generation_prompt && !last_user && !is_tool) out += kAssistant;
  return out;
}

// V3.1 (spec §5.4): the assistant marker is written when an assistant turn (or the generation
// prompt) follows a user turn, with "</think>" (non-thinking) or "<think>" (thinking) after it.
std::string render_v31(std::span<const ChatMessage> messages, const RenderOptions& options) {
  std::string out = options.bos_token + hoisted_system(messages, false);
  bool is_tool = false;
  bool last_user = false;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") continue;
    if (m.role == "assistant" && last_user) out += std::string(kAssistant) + std::string(kThinkClose);
    if (m.role == "user") {
      is_tool = false;
      out += std::string(kUser) + m.content;
    } else if (m.role == "assistant" && !m.tool_calls.empty()) {
      is_tool = false;
      out += m.content + std::string(kCallsBegin);
      for (const ToolCall& c : m.tool_calls)
        out += std::string(kCallBegin) + c.name + std::string(kSep) + c.arguments + std::string(kCallEnd);
      out += std::string(kCallsEnd) + std::string(kEos);
    } else if (m.role == "assistant") {
      out += std::string(is_tool ? std::string_view(m.content) : after_first_think_close(m.content)) + std::string(kEos);
      is_tool = false;
    } else if (m.role == "tool") {
      is_tool = true;
      out += std::string(kOutputBegin) + m.content + std::string(kOutputEnd);
    }
    last_user = m.role == "user";
  }
  if (options.add_generation_prompt && last_user && !is_tool)
    out += std::string(kAssistant) + std::string(options.thinking ? kThinkOpen : kThinkClose);
  return out;
}

// V2 (spec §5.5): plain-text roles; system messages stay where they are.
std::string render_v2(std::span<const ChatMessage> messages, const RenderOptions& options) {
  std::string out = options.bos_token;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") out += m.content + "\n\n";
    if (m.role == "user") out += "User: " + m.content + "\n\n";
    if (m.role == "assistant") out += "Assistant: " + m.content + std::string(kEos);
  }
  if (options.add_generation_prompt) out += "Assistant:";
  return out;
}

// Jinja's |trim (Python's str.strip()), which the Llama 3 template applies to every message.
std::string_view trim_space(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\r\v\f";
  const size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

std::string_view strip_newlines(std::string_view s, bool left, bool right) {
  while (left && !s.empty() && s.front() == '\n') s.remove_prefix(1);
  while (right && !s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s;
}

std::string llama3_turn(std::string_view role, std::string_view content) {
  return "<|start_header_id|>" + std::string(role) + "<|end_header_id|>\n\n" + std::string(trim_space(content)) +
         "<|eot_id|>";
}

// Llama 3.1 / 3.2 / 3.3 without tools. The system header is always written, with the knowledge
// cutoff and the date; only a leading system message fills it, later ones keep their place.
std::string render_llama3(std::span<const ChatMessage> messages, const RenderOptions& options) {
  const bool lead_system = !messages.empty() && messages.front().role == "system";
  std::string out = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                    "Cutting Knowledge Date: December 2023\nToday Date: " + options.date + "\n\n";
  out += std::string(lead_system ? trim_space(messages.front().content) : std::string_view()) + "<|eot_id|>";
  for (size_t i = lead_system ? 1 : 0; i < messages.size(); ++i) out += llama3_turn(messages[i].role, messages[i].content);
  if (options.add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

std::string chatml_turn(std::string_view role, std::string_view content) {
  return "<|im_start|>" + std::string(role) + "\n" + std::string(content) + "<|im_end|>\n";
}

// Qwen2.5 without tools: ChatML, with Qwen's own system message when the conversation opens
// without one. Every message, a later system one included, is written verbatim where it stands.
std::string render_qwen25(std::span<const ChatMessage> messages, const RenderOptions& options) {
  constexpr std::string_view kDefaultSystem = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
  const bool lead_system = !messages.empty() && messages.front().role == "system";
  std::string out = lead_system ? std::string() : chatml_turn("system", kDefaultSystem);
  for (const ChatMessage& m : messages) out += chatml_turn(m.role, m.content);
  if (options.add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

// A Qwen3 assistant turn. The answer is the text after the last "</think>"; the reasoning is the
// explicit field or the text before it. Only turns after the last user message that are the last
// message or carry reasoning keep a think block (steps of an agent turn still in progress); the
// rest lose their reasoning, as in the official template.
std::string qwen3_assistant(const ChatMessage& m, bool after_query, bool last) {
  std::string_view content = m.content;
  std::string_view reasoning = m.reasoning ? std::string_view(*m.reasoning) : std::string_view();
  const size_t close = content.find(kThinkClose);
  if (!m.reasoning && close != std::string_view::npos) {
    reasoning = strip_newlines(content.substr(0, close), false, true);
    if (const size_t open = reasoning.rfind(kThinkOpen); open != std::string_view::npos)
      reasoning = reasoning.substr(open + kThinkOpen.size());
    reasoning = strip_newlines(reasoning, true, false);
    content = strip_newlines(after_last_think_close(content), true, false);
  }
  if (after_query && (last || !reasoning.empty())) {
    return chatml_turn("assistant", std::string(kThinkOpen) + "\n" + std::string(strip_newlines(reasoning, true, true)) +
                                        "\n" + std::string(kThinkClose) + "\n\n" +
                                        std::string(strip_newlines(content, true, false)));
  }
  return chatml_turn("assistant", content);
}

// Qwen3 without tools: ChatML with no default system message. Without thinking the generation
// prompt closes an empty think block, so the model answers at once (enable_thinking=False).
std::string render_qwen3(std::span<const ChatMessage> messages, const RenderOptions& options) {
  size_t last_query = messages.empty() ? 0 : messages.size() - 1;
  for (size_t i = messages.size(); i-- > 0;)
    if (messages[i].role == "user") {
      last_query = i;
      break;
    }
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role != "assistant") {
      out += chatml_turn(m.role, m.content);
      continue;
    }
    out += qwen3_assistant(m, i > last_query, i + 1 == messages.size());
  }
  if (options.add_generation_prompt) out += options.thinking ? "<|im_start|>assistant\n" : "<|im_start|>assistant\n<think>\n\n</think>\n\n";
  return out;
}

// Llama 3.1+ is told by its header tokens and the knowledge-cutoff line (Llama 3.0 has no system
// header of its own, so it is left unknown rather than rendered wrongly). Among ChatML templates,
// Qwen3 is the one with the enable_thinking switch and Qwen2.5 the one with Qwen's default system
// message; other ChatML models differ in that message, so they stay unknown too.
std::optional<ChatTemplateKind> detect_dense_template(std::string_view src) {
  if (contains(src, "<|start_header_id|>") && contains(src, "<|eot_id|>") && contains(src, "Cutting Knowledge Date"))
    return ChatTemplateKind::kLlama3;
  if (contains(src, "<|im_start|>") && contains(src, "enable_thinking")) return ChatTemplateKind::kQwen3;
  if (contains(src, "<|im_start|>") && contains(src, "You are Qwen, created by Alibaba Cloud.")) return ChatTemplateKind::kQwen25;
  return std::nullopt;
}

}  // namespace

std::string_view chat_template_name(ChatTemplateKind kind) {
  switch (kind) {
    case ChatTemplateKind::kDeepSeekV3: return "deepseek-v3";
    case ChatTemplateKind::kDeepSeekR1: return "deepseek-r1";
    case ChatTemplateKind::kDeepSeekR1Think: return "deepseek-r1-think";
    case ChatTemplateKind::kDeepSeekR1Distill: return "deepseek-r1-distill";
    case ChatTemplateKind::kDeepSeekV3_0324: return "deepseek-v3-0324";
    case ChatTemplateKind::kDeepSeekR1_0528: return "deepseek-r1-0528";
    case ChatTemplateKind::kDeepSeekV31: return "deepseek-v3.1";
    case ChatTemplateKind::kDeepSeekV2: return "deepseek-v2";
    case ChatTemplateKind::kLlama3: return "llama3";
    case ChatTemplateKind::kQwen25: return "qwen2.5";
    case ChatTemplateKind::kQwen3: return "qwen3";
  }
  return "unknown";
}

std::span<const ChatTemplateKind> all_chat_template_kinds() { return kAllKinds; }

Expected<ChatTemplateKind> chat_template_from_name(std::string_view name) {
  for (ChatTemplateKind k : kAllKinds)
    if (chat_template_name(k) == name) return k;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown chat template \"" + std::string(name) + "\"; known: " + known_names());
}

Expected<ChatTemplateKind> detect_chat_template(std::string_view src) {
  const bool role_tokens = contains(src, kUser) && contains(src, kAssistant);
  if (!role_tokens && contains(src, "'User: '") && contains(src, "'Assistant: '")) return ChatTemplateKind::kDeepSeekV2;
  if (role_tokens) {
    // Ordered from the most specific piece to the most generic one.
    if (contains(src, "<｜Assistant｜></think>")) return ChatTemplateKind::kDeepSeekV31;
    if (contains(src, "+ '<｜Assistant｜>'}}"))  // the user turn appends "A" (V3-0324 family)
      return contains(src, kThinkClose) ? ChatTemplateKind::kDeepSeekR1_0528 : ChatTemplateKind::kDeepSeekV3_0324;
    // R1-Distill (Qwen and Llama bases) keeps the last system message and, unlike V3/R1, has no
    // is_first_sp flag. Its first release lacked the trailing "<think>\n" that DeepSeek later added
    // to force reasoning; both releases render as the later one.
    if (!contains(src, "is_first_sp") && contains(src, kThinkClose) &&
        contains(src, "set ns.system_prompt = message['content']"))
      return ChatTemplateKind::kDeepSeekR1Distill;
    if (contains(src, "<｜Assistant｜><think>\\n") || contains(src, "<｜Assistant｜><think>\n"))
      return contains(src, "is_first_sp") ? ChatTemplateKind::kDeepSeekR1Think : ChatTemplateKind::kDeepSeekR1Distill;
    if (contains(src, kThinkClose)) return ChatTemplateKind::kDeepSeekR1;
    return ChatTemplateKind::kDeepSeekV3;
  }
  if (auto dense = detect_dense_template(src)) return *dense;
  return make_error(ErrorCode::kUnsupported,
                    "the model's chat_template (tokenizer_config.json) is not one radseek knows; choose one with "
                    "--chat-template NAME (" + known_names() + ")");
}

Expected<std::string> render_chat(ChatTemplateKind kind, std::span<const ChatMessage> messages,
                                  const RenderOptions& options) {
  // V2 has no tool format; the Llama and Qwen ones have, but radseek does not render them yet.
  const bool tools = kind != ChatTemplateKind::kDeepSeekV2 && kind != ChatTemplateKind::kLlama3 &&
                     kind != ChatTemplateKind::kQwen25 && kind != ChatTemplateKind::kQwen3;
  RADSEEK_TRY(check_roles(messages, tools));
  switch (kind) {
    case ChatTemplateKind::kDeepSeekV3:
      return render_v3_family(messages, {.last_system_only = false, .strip_reasoning = false, .prompt_suffix = ""}, options);
    case ChatTemplateKind::kDeepSeekR1:
      return render_v3_family(messages, {.last_system_only = false, .strip_reasoning = true, .prompt_suffix = ""}, options);
    case ChatTemplateKind::kDeepSeekR1Think:
      return render_v3_family(messages, {.last_system_only = false, .strip_reasoning = true, .prompt_suffix = "<think>\n"}, options);
    case ChatTemplateKind::kDeepSeekR1Distill:
      return render_v3_family(messages, {.last_system_only = true, .strip_reasoning = true, .prompt_suffix = "<think>\n"}, options);
    case ChatTemplateKind::kDeepSeekV3_0324: return render_0324_family(messages, false, options);
    case ChatTemplateKind::kDeepSeekR1_0528: return render_0324_family(messages, true, options);
    case ChatTemplateKind::kDeepSeekV31: return render_v31(messages, options);
    case ChatTemplateKind::kDeepSeekV2: return render_v2(messages, options);
    case ChatTemplateKind::kLlama3: return render_llama3(messages, options);
    case ChatTemplateKind::kQwen25: return render_qwen25(messages, options);
    case ChatTemplateKind::kQwen3: return render_qwen3(messages, options);
  }
  return make_error(ErrorCode::kInternal, "unhandled chat template kind");
}

bool prompt_opens_think(ChatTemplateKind kind, const RenderOptions& options) {
  // Qwen3's prompt never leaves a block open: thinking, the model writes "<think>" itself; not
  // thinking, the prompt holds a closed empty block. Llama 3 and Qwen2.5 do not reason.
  switch (kind) {
    case ChatTemplateKind::kDeepSeekR1Think:
    case ChatTemplateKind::kDeepSeekR1Distill:
      return options.add_generation_prompt;
    case ChatTemplateKind::kDeepSeekV31:
      return options.add_generation_prompt && options.thinking;
    default:
      return false;
  }
}

std::vector<std::string_view> end_of_turn_tokens(ChatTemplateKind kind) {
  switch (kind) {
    case ChatTemplateKind::kLlama3:
      // <|eom_id|> ends a turn that made a tool call (Llama 3.1+); the reply comes in the next turn.
      return {"<|eot_id|>", "<|eom_id|>"};
    case ChatTemplateKind::kQwen25:
    case ChatTemplateKind::kQwen3:
      return {"<|im_end|>", "<|endoftext|>"};
    default:  // every DeepSeek template, R1-Distill included, closes the assistant turn with EOS
      return {kEos};
  }
}

}  // namespace radseek::tokenizer

// Chat templates of the dense families (Llama 3.x, Qwen2.5, Qwen3) against the formats their official
// Jinja templates render (exact strings), and their detection from distinctive template pieces.
#include <gtest/gtest.h>

#include "tokenizer/chat_template.h"

namespace radseek::tokenizer {
namespace {

std::string render(ChatTemplateKind kind, const std::vector<ChatMessage>& msgs, RenderOptions opts = {}) {
  auto r = render_chat(kind, msgs, opts);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : std::string();
}

const std::vector<ChatMessage> kConversation = {{.role = "system", .content = "You are a helpful assistant"},
                                                {.role = "user", .content = "Hello"},
                                                {.role = "assistant", .content = "Hi there"},
                                                {.role = "user", .content = "Who are you"}};

const std::string kLlamaSystemHead =
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n";

TEST(ChatTemplateDense, Llama3MatchesOfficialFormat) {
  EXPECT_EQ(render(ChatTemplateKind::kLlama3, kConversation),
            kLlamaSystemHead +
                "Today Date: 26 Jul 2024\n\nYou are a helpful assistant<|eot_id|>"
                "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
                "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
                "<|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|>"
                "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplateDense, Llama3AlwaysWritesSystemHeaderAndTrims) {
  const std::vector<ChatMessage> msgs = {{.role = "user", .content = "  Hi \n"}};
  EXPECT_EQ(render(ChatTemplateKind::kLlama3, msgs, {.add_generation_prompt = false, .date = "01 Jan 2025"}),
            kLlamaSystemHead + "Today Date: 01 Jan 2025\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
  // The BOS is Llama's own, whatever bos_token says (that one is DeepSeek's).
  EXPECT_EQ(render(ChatTemplateKind::kLlama3, msgs).rfind("<|begin_of_text|>", 0), 0u);
  EXPECT_FALSE(prompt_opens_think(ChatTemplateKind::kLlama3, {}));
}

TEST(ChatTemplateDense, Qwen25MatchesOfficialFormat) {
  const std::string turns =
      "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n"
      "<|im_start|>user\nWho are you<|im_end|>\n<|im_start|>assistant\n";
  EXPECT_EQ(render(ChatTemplateKind::kQwen25, kConversation),
            "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n" + turns);
  const std::vector<ChatMessage> no_system(kConversation.begin() + 1, kConversation.end());
  EXPECT_EQ(render(ChatTemplateKind::kQwen25, no_system),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" + turns);
  EXPECT_FALSE(prompt_opens_think(ChatTemplateKind::kQwen25, {}));
}

TEST(ChatTemplateDense, Qwen3ThinkingSwitchAndStrippedHistory) {
  std::vector<ChatMessage> msgs = kConversation;
  msgs[2].content = "<think>\nLet me greet.\n</think>\n\nHi there";
  const std::string base =
      "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
      "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n";
  EXPECT_EQ(render(ChatTemplateKind::kQwen3, msgs, {.thinking = true}), base + "<|im_start|>assistant\n");
  EXPECT_EQ(render(ChatTemplateKind::kQwen3, msgs, {.thinking = false}),
            base + "<|im_start|>assistant\n<think>\n\n</think>\n\n");
  EXPECT_EQ(render(ChatTemplateKind::kQwen3, msgs, {.add_generation_prompt = false}), base);
  // No default system message (unlike Qwen2.5).
  EXPECT_EQ(render(ChatTemplateKind::kQwen3, {{.role = "user", .content = "Q"}}, {.thinking = true}),
            "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_FALSE(prompt_opens_think(ChatTemplateKind::kQwen3, {.thinking = true}));
  EXPECT_FALSE(prompt_opens_think(ChatTemplateKind::kQwen3, {.thinking = false}));
}

TEST(ChatTemplateDense, Qwen3KeepsReasoningAfterLastUserMessage) {
  const std::vector<ChatMessage> msgs = {{.role = "user", .content = "Q"},
                                         {.role = "assistant", .content = "<think>\nr\n</think>\n\nA"}};
  EXPECT_EQ(render(ChatTemplateKind::kQwen3, msgs, {.add_generation_prompt = false}),
            "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\nr\n</think>\n\nA<|im_end|>\n");
  // The last message gets a think block even when empty; the explicit reasoning field wins.
  const std::vector<ChatMessage> plain = {{.role = "user", .content = "Q"}, {.role = "assistant", .content = "A"}};
  EXPECT_EQ(render(ChatTemplateKind::kQwen3, plain, {.add_generation_prompt = false}),
            "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nA<|im_end|>\n");
  const std::vector<ChatMessage> field = {{.role = "user", .content = "Q"},
                                          {.role = "assistant", .content = "A", .reasoning = "why"}};
  EXPECT_EQ(render(ChatTemplateKind::kQwen3, field, {.add_generation_prompt = false}),
            "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\nwhy\n</think>\n\nA<|im_end|>\n");
}

TEST(ChatTemplateDense, ToolMessagesAreRefused) {
  for (ChatTemplateKind k : {ChatTemplateKind::kLlama3, ChatTemplateKind::kQwen25, ChatTemplateKind::kQwen3}) {
    auto r = render_chat(k, std::vector<ChatMessage>{{.role = "tool", .content = "42"}}, {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kUnsupported);
  }
}

TEST(ChatTemplateDense, NamesForCommandLine) {
  EXPECT_EQ(*chat_template_from_name("llama3"), ChatTemplateKind::kLlama3);
  EXPECT_EQ(*chat_template_from_name("qwen2.5"), ChatTemplateKind::kQwen25);
  EXPECT_EQ(*chat_template_from_name("qwen3"), ChatTemplateKind::kQwen3);
}

// Distinctive pieces of each official template (written out here, not copied whole).
TEST(ChatTemplateDense, DetectsOfficialTemplatesByTheirPieces) {
  const std::string llama31 =
      "{{- bos_token }}{%- set date_string = \"26 Jul 2024\" %}"
      "{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}{{- \"Cutting Knowledge Date: December 2023\\n\" }}"
      "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}";
  const std::string qwen25 =
      "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}"
      "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}";
  const std::string qwen3 =
      "{{- '<|im_start|>' + message.role + '\\n' + content }}{%- if '</think>' in message.content %}"
      "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}";
  EXPECT_EQ(*detect_chat_template(llama31), ChatTemplateKind::kLlama3);
  EXPECT_EQ(*detect_chat_template(qwen25), ChatTemplateKind::kQwen25);
  EXPECT_EQ(*detect_chat_template(qwen3), ChatTemplateKind::kQwen3);
  // Llama 3.0 has no system header of its own, and plain ChatML no Qwen default: both unknown.
  EXPECT_FALSE(detect_chat_template("{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}<|eot_id|>").ok());
  EXPECT_FALSE(detect_chat_template("{% for m in messages %}<|im_start|>{{ m.role }}{% endfor %}").ok());
}

TEST(ChatTemplateDense, DetectsBothReleasesOfR1DistillTemplate) {
  // Shared by R1-Distill-Qwen and R1-Distill-Llama: the last system message, no is_first_sp flag.
  const std::string first_release =
      "{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt='') %}"
      "{%- if message['role'] == 'system' %}{% set ns.system_prompt = message['content'] %}{%- endif %}"
      "{{'<｜User｜>' + message['content']}}{% set content = content.split('</think>')[-1] %}"
      "{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{% if add_generation_prompt %}{{'<｜Assistant｜>'}}{% endif %}";
  const std::string later_release = first_release + "{{'<｜Assistant｜><think>\\n'}}";
  EXPECT_EQ(*detect_chat_template(first_release), ChatTemplateKind::kDeepSeekR1Distill);
  EXPECT_EQ(*detect_chat_template(later_release), ChatTemplateKind::kDeepSeekR1Distill);
}

}  // namespace
}  // namespace radseek::tokenizer

// Chat templates against the rendered examples of spec §5 (exact strings).
#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

namespace radseek::tokenizer {
namespace {

const std::string kBos = "<｜begin▁of▁sentence｜>";
const std::string kEos = "<｜end▁of▁sentence｜>";
const std::string kU = "<｜User｜>";
const std::string kA = "<｜Assistant｜>";

std::string render(ChatTemplateKind kind, const std::vector<ChatMessage>& msgs, RenderOptions opts = {}) {
  auto r = render_chat(kind, msgs, opts);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : std::string();
}

const std::vector<ChatMessage> kSpecConversation = {{.role = "system", .content = "You are a helpful assistant"},
                                                    {.role = "user", .content = "Hello"},
                                                    {.role = "assistant", .content = "Hi there"},
                                                    {.role = "user", .content = "Who are you"}};

TEST(ChatTemplate, V3AndR1MatchSpecExample) {
  const std::string want = kBos + "You are a helpful assistant" + kU + "Hello" + kA + "Hi there" + kEos + kU +
                           "Who are you" + kA;
  EXPECT_EQ(render(ChatTemplateKind::kDeepSeekV3, kSpecConversation), want);
  EXPECT_EQ(render(ChatTemplateKind::kDeepSeekR1, kSpecConversation), want);
  EXPECT_EQ(render(ChatTemplateKind::kDeepSeekR1Think, kSpecConversation), want + "<think>\n");
}

TEST(ChatTemplate, SystemMessagesJoinedOrLastOnly) {
  const std::vector<ChatMessage> msgs = {{.role = "system", .content = "S1"}, {.role = "user", .content = "Q"},
                                         {.role = "system", .content = "S2"}};
  EXPECT_EQ(render(ChatTemplateKind::kDeepSeekV3, msgs), kBos + "S1\n\nS2" + kU + "Q" + kA);
  EXPECT_EQ(render(ChatTemplateKind::kDeepSeekR1Distill, msgs), kBos + "S2" + kU + "Q" + kA + "<think>\n");
  EXPECT_EQ(render(ChatTemplateKind::kDeepSeekV3, msgs, {.add_generation_prompt = false}), kBos + "S1\n\nS2" + kU + "Q");
}

TEST(ChatTemplate, R1DistillMatchesSpecExamples) {
  EXPECT_EQ(render(ChatTemplateKind::kDeepSeekR1Distill, {{.role = "user", .content = "What is 1+1?"}}),
            kBos + kU + "What is 1+1?" + kA + "<think>\n");
  const std::vector<ChatMessage> multi = {{.role = "user", .content = "Q1"},
                                          {.role = "assistant", .content = "<think>\nhmm\n</think>A1-without-reasoning"},
                                          {.role = "user", .content = "Q2"}};
  EXPECT_EQ(render(ChatTemplateKind::kDeepSeekR1Distill, multi),
            kBos + kU + "Q1" + kA + "A1-without-reasoning" + kEos + kU + "Q2" + kA + "<think>\n");
  // V3 is not a reasoning template: it keeps the content as is.
  EXPECT_NE(render(ChatTemplateKind::kDeepSeekV3, multi).find("hmm"), std::string::npos);
}

TEST(ChatTemplate, V3_0324AndR1_0528AttachAssistantToUser) {
  const std::vector<ChatMessage> msgs = {{.role = "user", .content = "Hi"},
                                         {.role = "assistant", .content = "r</think>Hello"},
                                         {.role = "user", .content = "Q2"}};
  EXPECT_EQ(render(ChatTemplateKind::kDeepSeekV3_0324, msgs), kBos + kU + "Hi" + kA + "r</think>Hello" + kEos + kU + "Q2" + kA);
  EXPECT_EQ(render(ChatTemplateKind::kDeepSeekR1_0528, msgs), kBos + kU + "Hi" + kA + "Hello" + kEos + kU + "Q2" + kA);
  // After an assistant turn the generation prompt adds the marker; after a user turn it is there already.
  const std::vector<ChatMessage> ends_assistant(msgs.begin(), msgs.begin() + 2);
  EXPECT_EQ(render(ChatTemplateKind::kDeepSeekV3_0324, ends_assistant), kBos + kU + "Hi" + kA + "r</think>Hello" + kEos + kA);
}

TEST(ChatTemplate, V31ThinkingAndNonThinking) {
  const std::vector<ChatMessage> msgs = {{.role = "system", .content = "SYS"}, {.role = "user", .content = "Hi"}};
  EXPECT_EQ(render(ChatTemplateKind::kDeepSeekV31, msgs), kBos + "SYS" + kU + "Hi" + kA + "</think>");
  EXPECT_EQ(render(ChatTemplateKind::kDeepSeekV31, msgs, {.thinking = true}), kBos + "SYS" + kU + "Hi" + kA + "<think>");
  const std::vector<ChatMessage> multi = {{.role = "user", .content = "Q1"},
                                          {.role = "assistant", .content = "why</think>A1"},
                                          {.role = "user", .content = "Q2"}};
  EXPECT_EQ(render(ChatTemplateKind::kDeepSeekV31, multi, {.thinking = true}),
            kBos + kU + "Q1" + kA + "</think>A1" + kEos + kU + "Q2" + kA + "<think>");
  EXPECT_TRUE(prompt_opens_think(ChatTemplateKind::kDeepSeekV31, {.thinking = true}));
  EXPECT_FALSE(prompt_opens_think(ChatTemplateKind::kDeepSeekV31, {}));
  EXPECT_TRUE(prompt_opens_think(ChatTemplateKind::kDeepSeekR1Think, {}));
  EXPECT_FALSE(prompt_opens_think(ChatTemplateKind::kDeepSeekR1, {}));
}

TEST(ChatTemplate, V2MatchesLlamaCppExpectation) {
  EXPECT_EQ(render(ChatTemplateKind::kDeepSeekV2, kSpecConversation),
            kBos + "You are a helpful assistant\n\nUser: Hello\n\nAssistant: Hi there" + kEos +
                "User: Who are you\n\nAssistant:");
  EXPECT_FALSE(render_chat(ChatTemplateKind::kDeepSeekV2, std::vector<ChatMessage>{{.role = "tool", .content = "x"}}, {}).ok());
}

TEST(ChatTemplate, ToolCallsAndOutputs) {
  const std::vector<ChatMessage> msgs = {
      {.role = "user", .content = "Weather?"},
      {.role = "assistant", .tool_calls = {{.name = "get_weather", .arguments = "{\"location\": \"Paris\"}"},
                                           {.name = "get_time", .arguments = "{}"}}},
      {.role = "tool", .content = "12C"},
      {.role = "tool", .content = "noon"},
      {.role = "assistant", .content = "It is 12C at noon."}};
  const std::string call1 = "<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"location\": \"Paris\"}\n```<｜tool▁call▁end｜>";
  const std::string call2 = "<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{}\n```<｜tool▁call▁end｜>";
  const std::string outputs = "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>12C<｜tool▁output▁end｜>\n"
                              "<｜tool▁output▁begin｜>noon<｜tool▁output▁end｜>";
  EXPECT_EQ(render(ChatTemplateKind::kDeepSeekR1, msgs),
            kBos + kU + "Weather?" + kA + "<｜tool▁calls▁begin｜>" + call1 + "\n" + call2 + "<｜tool▁calls▁end｜>" + kEos +
                outputs + "<｜tool▁outputs▁end｜>It is 12C at noon." + kEos + kA);
  const std::vector<ChatMessage> pending(msgs.begin(), msgs.begin() + 3);  // ends with tool output
  EXPECT_EQ(render(ChatTemplateKind::kDeepSeekV3, pending),
            kBos + kU + "Weather?" + kA + "<｜tool▁calls▁begin｜>" + call1 + "\n" + call2 + "<｜tool▁calls▁end｜>" + kEos +
                "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>12C<｜tool▁output▁end｜><｜tool▁outputs▁end｜>");
  EXPECT_EQ(render(ChatTemplateKind::kDeepSeekV31, pending),
            kBos + kU + "Weather?" + kA + "</think><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>"
                "{\"location\": \"Paris\"}<｜tool▁call▁end｜><｜tool▁call▁begin｜>get_time<｜tool▁sep｜>{}<｜tool▁call▁end｜>"
                "<｜tool▁calls▁end｜>" + kEos + "<｜tool▁output▁begin｜>12C<｜tool▁output▁end｜>");
}

TEST(ChatTemplate, RejectsUnknownRoles) {
  auto r = render_chat(ChatTemplateKind::kDeepSeekV3, std::vector<ChatMessage>{{.role = "narrator", .content = "x"}}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("narrator"), std::string::npos);
}

TEST(ChatTemplate, NamesRoundTrip) {
  for (ChatTemplateKind k : all_chat_template_kinds()) EXPECT_EQ(*chat_template_from_name(chat_template_name(k)), k);
  auto bad = chat_template_from_name("chatml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("deepseek-r1"), std::string::npos);
}

// Distinctive pieces of each official template (written out here, not copied whole).
TEST(ChatTemplate, DetectsOfficialTemplatesByTheirPieces) {
  const std::string v3 = "{{bos_token}}{{ns.system_prompt}}{{'<｜User｜>' + message['content']}}"
                         "{{'<｜Assistant｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}"
                         "{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜>'}}{% endif %}";
  const std::string r1 = v3 + "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}"
                              "{% set ns.is_first_sp = false %}";
  const std::string r1_think = r1 + "{{'<｜Assistant｜><think>\\n'}}";
  const std::string distill = "{% set ns.system_prompt = message['content'] %}{{'<｜User｜>' + message['content']}}"
                              "{% set content = content.split('</think>')[-1] %}{{'<｜Assistant｜><think>\\n'}}";
  const std::string v3_0324 = "{{'<｜User｜>' + message['content'] + '<｜Assistant｜>'}}{{content + '<｜end▁of▁sentence｜>'}}";
  const std::string r1_0528 = v3_0324 + "{% set content = content.split('</think>')[-1] %}";
  const std::string v31 = "{{'<｜User｜>' + message['content']}}{{'<｜Assistant｜></think>'}}{%- if not thinking -%}";
  const std::string v2 = "{{ bos_token }}{{ 'User: ' + message['content'] + '\\n\\n' }}{{ 'Assistant: ' + message['content'] + eos_token }}";
  EXPECT_EQ(*detect_chat_template(v3), ChatTemplateKind::kDeepSeekV3);
  EXPECT_EQ(*detect_chat_template(r1), ChatTemplateKind::kDeepSeekR1);
  EXPECT_EQ(*detect_chat_template(r1_think), ChatTemplateKind::kDeepSeekR1Think);
  EXPECT_EQ(*detect_chat_template(distill), ChatTemplateKind::kDeepSeekR1Distill);
  EXPECT_EQ(*detect_chat_template(v3_0324), ChatTemplateKind::kDeepSeekV3_0324);
  EXPECT_EQ(*detect_chat_template(r1_0528), ChatTemplateKind::kDeepSeekR1_0528);
  EXPECT_EQ(*detect_chat_template(v31), ChatTemplateKind::kDeepSeekV31);
  EXPECT_EQ(*detect_chat_template(v2), ChatTemplateKind::kDeepSeekV2);
  auto unknown = detect_chat_template("{% for m in messages %}<|im_start|>{{ m.role }}{% endfor %}");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("--chat-template"), std::string::npos);
}

}  // namespace
}  // namespace radseek::tokenizer

// Request validation: every malformed field is a 400 naming that field; valid requests map to the
// typed options (max_completion_tokens over max_tokens, json_object as a schema, effort budgets).
#include <gtest/gtest.h>

#include "server/openai_schema.h"

namespace radseek::server {
namespace {

using nlohmann::json;

const json kMessages = json::array({{{"role", "user"}, {"content", "hi"}}});

ApiError chat_error(json body) {
  auto r = parse_chat_request(body, {});
  EXPECT_TRUE(std::holds_alternative<ApiError>(r)) << body.dump();
  return std::holds_alternative<ApiError>(r) ? std::get<ApiError>(r) : ApiError{};
}

TEST(OpenAiSchema, ValidChatRequest) {
  json body{{"model", "m"}, {"messages", json::array({{{"role", "developer"}, {"content", "be brief"}},
                                                      {{"role", "user"}, {"content", json::array({{{"type", "text"}, {"text", "a"}},
                                                                                                  {{"type", "text"}, {"text", "b"}}})}}})},
            {"temperature", 0}, {"top_p", 0.5}, {"max_tokens", 10}, {"max_completion_tokens", 20},
            {"stop", "END"}, {"seed", 3}, {"stream", true}, {"stream_options", {{"include_usage", true}}},
            {"logprobs", true}, {"top_logprobs", 2}, {"reasoning_effort", "low"}, {"user", "ignored"},
            {"response_format", {{"type", "json_object"}}}, {"frequency_penalty", 0}, {"n", 1}};
  auto r = parse_chat_request(body, {});
  ASSERT_TRUE(std::holds_alternative<GenerationRequest>(r)) << std::get<ApiError>(r).message;
  const auto& g = std::get<GenerationRequest>(r);
  EXPECT_EQ(g.messages[0].role, "system");
  EXPECT_EQ(g.messages[1].content, "ab");
  EXPECT_EQ(g.max_tokens, 20);
  EXPECT_EQ(g.stop, std::vector<std::string>{"END"});
  EXPECT_TRUE(g.stream && g.include_usage && g.logprobs);
  EXPECT_EQ(g.top_logprobs, 2);
  EXPECT_EQ((*g.json_schema)["type"], "object");
  EXPECT_EQ(reasoning_budget(g, {.low = 7}), 7);
}

TEST(OpenAiSchema, ErrorsNameTheField) {
  EXPECT_EQ(chat_error(json::array()).param, "");
  EXPECT_EQ(chat_error({{"model", "m"}}).param, "messages");
  EXPECT_EQ(chat_error({{"messages", "hi"}}).param, "messages");
  EXPECT_EQ(chat_error({{"messages", json::array({{{"role", "wizard"}, {"content", "x"}}})}}).param, "messages[0].role");
  EXPECT_EQ(chat_error({{"messages", json::array({{{"role", "user"}, {"content", 5}}})}}).param, "messages[0].content");
  EXPECT_EQ(chat_error({{"messages", kMessages}, {"temperature", "hot"}}).param, "temperature");
  EXPECT_EQ(chat_error({{"messages", kMessages}, {"temperature", 3}}).param, "temperature");
  EXPECT_EQ(chat_error({{"messages", kMessages}, {"max_tokens", -1}}).param, "max_tokens");
  EXPECT_EQ(chat_error({{"messages", kMessages}, {"max_tokens", 1.5}}).param, "max_tokens");
  EXPECT_EQ(chat_error({{"messages", kMessages}, {"stream", "yes"}}).param, "stream");
  EXPECT_EQ(chat_error({{"messages", kMessages}, {"stop", json::array({1})}}).param, "stop");
  EXPECT_EQ(chat_error({{"messages", kMessages}, {"stop", json::array({"a", "b", "c", "d", "e"})}}).param, "stop");
  EXPECT_EQ(chat_error({{"messages", kMessages}, {"n", 2}}).param, "n");
  EXPECT_EQ(chat_error({{"messages", kMessages}, {"top_logprobs", 3}}).param, "top_logprobs");
  EXPECT_EQ(chat_error({{"messages", kMessages}, {"reasoning_effort", "extreme"}}).param, "reasoning_effort");
  EXPECT_EQ(chat_error({{"messages", kMessages}, {"tools", json::array()}}).param, "tools");
  EXPECT_EQ(chat_error({{"messages", kMessages}, {"response_format", {{"type", "yaml"}}}}).param, "response_format.type");
  const ApiError e = chat_error({{"messages", kMessages}, {"top_p", 2}});
  EXPECT_EQ(e.status, 400);
  EXPECT_NE(e.message.find("top_p"), std::string::npos);
  const json shaped = error_json(e);
  EXPECT_EQ(shaped["error"]["type"], "invalid_request_error");
  EXPECT_EQ(shaped["error"]["param"], "top_p");
}

TEST(OpenAiSchema, CompletionPrompts) {
  auto text = parse_completion_request({{"prompt", "abc"}, {"logprobs", 2}}, {});
  ASSERT_TRUE(std::holds_alternative<GenerationRequest>(text));
  EXPECT_EQ(*std::get<GenerationRequest>(text).prompt_text, "abc");
  EXPECT_EQ(std::get<GenerationRequest>(text).top_logprobs, 2);
  auto ids = parse_completion_request({{"prompt", {0, 5, 9}}}, {});
  ASSERT_TRUE(std::holds_alternative<GenerationRequest>(ids));
  EXPECT_EQ(std::get<GenerationRequest>(ids).prompt_ids, (std::vector<int32_t>{0, 5, 9}));
  for (const json& bad : {json{{"prompt", {0, -1}}}, json{{"prompt", {"a", "b"}}}, json{{"prompt", 5}}, json::object()}) {
    auto r = parse_completion_request(bad, {});
    ASSERT_TRUE(std::holds_alternative<ApiError>(r)) << bad.dump();
    EXPECT_EQ(std::get<ApiError>(r).param, "prompt");
  }
  auto big = parse_completion_request({{"prompt", std::string(100, 'x')}}, {.max_prompt_chars = 10});
  ASSERT_TRUE(std::holds_alternative<ApiError>(big));
}

}  // namespace
}  // namespace radseek::server

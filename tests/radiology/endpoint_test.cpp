// Endpoint backend: remote refusal (no connection is ever made to a non-loopback host), prompts per
// family, strict answer parsing, and a round trip against a fake server on 127.0.0.1.
#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "radiology/endpoint.h"

namespace radseek::radiology {
namespace {

TEST(Endpoint, OnlyLoopbackUnlessAllowed) {
  for (const char* ok : {"http://127.0.0.1:8080", "http://localhost:8000/v1", "https://[::1]:443/x", "http://127.3.4.5"}) {
    EXPECT_TRUE(check_endpoint_allowed(ok, false).ok()) << ok;
  }
  for (const char* bad : {"http://10.0.0.1:8080", "http://192.168.1.20", "https://api.example.com/v1", "http://0.0.0.0:80",
                          "http://localhost.evil.example", "http://127.0.0.1.evil.example", "http://user@10.1.1.1",
                          "http://[2001:db8::1]:8080"}) {
    const Status s = check_endpoint_allowed(bad, false);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.error().message.find("--allow-remote"), std::string::npos);
    EXPECT_TRUE(check_endpoint_allowed(bad, true).ok()) << bad;
  }
  EXPECT_FALSE(check_endpoint_allowed("ftp://127.0.0.1", true).ok());
  EXPECT_FALSE(check_endpoint_allowed("127.0.0.1:8080", false).ok());
  // Refused at construction: the backend never exists, so nothing can be sent.
  EXPECT_FALSE(make_endpoint_backend(EndpointOptions{.url = "http://10.0.0.1:8080"}).ok());
}

TEST(Prompt, R1HasNoSystemPrompt) {
  const LabelSet labels = builtin_chexpert13();
  const auto r1 = build_multilabel_prompt("Small effusion.", labels, ModelFamily::kR1);
  ASSERT_EQ(r1.size(), 1u);
  EXPECT_EQ(r1[0].role, "user");
  EXPECT_NE(r1[0].content.find("Pleural Effusion"), std::string::npos);
  const auto generic = build_multilabel_prompt("Small effusion.", labels, ModelFamily::kGeneric);
  ASSERT_EQ(generic.size(), 2u);
  EXPECT_EQ(generic[0].role, "system");
}

TEST(Prompt, AnswerSplitAndStrictParsing) {
  const auto s = split_reasoning("<think>a </think> b </think>\n<answer>B</answer>");
  EXPECT_EQ(s.reasoning, "a </think> b ");
  EXPECT_EQ(s.answer, "\n<answer>B</answer>");
  ReportRecord r;
  r.options = {{"A", "x"}, {"B", "y"}};
  EXPECT_EQ(parse_mc_answer(s.answer, r).value(), "B");
  EXPECT_FALSE(parse_mc_answer("<answer>E</answer>", r).ok());
  EXPECT_FALSE(parse_mc_answer("B", r).ok());
  LabelSet two;
  two.labels = {LabelDef{.name = "Edema"}, LabelDef{.name = "Mass"}};
  EXPECT_EQ(parse_multilabel_answer("<answer>{\"Edema\":1,\"Mass\":null}</answer>", two).value()[0], LabelValue::kPositive);
  EXPECT_FALSE(parse_multilabel_answer("<answer>{\"Edema\":1}</answer>", two).ok());
  EXPECT_FALSE(parse_multilabel_answer("<answer>{\"Edema\":1,\"Mass\":0,\"X\":0}</answer>", two).ok());
  EXPECT_FALSE(parse_multilabel_answer("<answer>{\"Edema\":2,\"Mass\":0}</answer>", two).ok());
}

TEST(Endpoint, RoundTripWithAFakeLoopbackServer) {
  httplib::Server server;
  std::string last_body;
  std::string reply = "<think>The report says small effusion.</think><answer>B</answer>";
  server.Post("/v1/chat/completions", [&](const httplib::Request& req, httplib::Response& res) {
    last_body = req.body;
    const nlohmann::json out = {{"choices", {{{"message", {{"role", "assistant"}, {"content", reply}}}}}},
                                {"usage", {{"completion_tokens_details", {{"reasoning_tokens", 7}}}}}};
    res.set_content(out.dump(), "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread t([&] { server.listen_after_bind(); });
  auto backend = make_endpoint_backend(EndpointOptions{.url = "http://127.0.0.1:" + std::to_string(port), .timeout_s = 10});
  ASSERT_TRUE(backend.ok());
  ReportRecord r;
  r.id = "q";
  r.text = "Small effusion.";
  r.options = {{"A", "Mass"}, {"B", "Effusion"}};
  const std::vector<std::string> sections;
  auto a = (*backend)->choose(McRequest{.report = &r, .sections = &sections});
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->mc->answer, "B");
  EXPECT_EQ(a->reasoning, "The report says small effusion.");
  EXPECT_EQ(a->reasoning_tokens, 7);
  const auto sent = nlohmann::json::parse(last_body);
  EXPECT_EQ(sent["messages"].size(), 1u);  // R1: user turn only
  reply = "<think>hmm</think>I think it is B";
  EXPECT_FALSE((*backend)->choose(McRequest{.report = &r, .sections = &sections}).ok());
  server.stop();
  t.join();
}

}  // namespace
}  // namespace radseek::radiology

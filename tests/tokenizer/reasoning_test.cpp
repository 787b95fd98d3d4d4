#include "tokenizer/reasoning.h"

#include <gtest/gtest.h>

namespace radseek::tokenizer {
namespace {

TEST(Reasoning, SplitsAtTheLastClosingTag) {
  auto s = split_reasoning("<think>\nfirst</think>still thinking</think>\n\nAnswer");
  EXPECT_EQ(s.reasoning, "\nfirst</think>still thinking");
  EXPECT_EQ(s.content, "\n\nAnswer");
  EXPECT_TRUE(s.reasoning_closed);
}

TEST(Reasoning, ClosingTagOnlyWhenTheTemplateOpenedIt) {
  auto s = split_reasoning("Okay, the report says...\n</think>\n\nNo pneumothorax.");
  EXPECT_EQ(s.reasoning, "Okay, the report says...\n");
  EXPECT_EQ(s.content, "\n\nNo pneumothorax.");
  auto opened = split_reasoning("ok </think>done", {.think_opened_by_prompt = true});
  EXPECT_EQ(opened.reasoning, "ok ");
  EXPECT_EQ(opened.content, "done");
}

TEST(Reasoning, NoReasoningOrCutOffWhileThinking) {
  auto plain = split_reasoning("Just an answer.");
  EXPECT_EQ(plain.reasoning, "");
  EXPECT_EQ(plain.content, "Just an answer.");
  EXPECT_FALSE(plain.reasoning_closed);
  auto cut = split_reasoning("<think>still going");
  EXPECT_EQ(cut.reasoning, "still going");
  EXPECT_EQ(cut.content, "");
  EXPECT_FALSE(cut.reasoning_closed);
  auto cut_opened = split_reasoning("still going", {.think_opened_by_prompt = true});
  EXPECT_EQ(cut_opened.reasoning, "still going");
  auto spaced = split_reasoning("\n <think>r</think>a");
  EXPECT_EQ(spaced.reasoning, "r");
  EXPECT_EQ(spaced.content, "a");
}

ReasoningSplit stream_in_chunks(std::string_view text, const std::vector<size_t>& cuts, ReasoningOptions opts) {
  ReasoningStreamSplitter splitter(opts);
  ReasoningSplit out;
  size_t prev = 0;
  auto take = [&](const ReasoningStreamSplitter::Delta& d) {
    out.reasoning += d.reasoning;
    out.content += d.content;
  };
  for (size_t cut : cuts) {
    take(splitter.push(text.substr(prev, cut - prev)));
    prev = cut;
  }
  take(splitter.push(text.substr(prev)));
  take(splitter.finish());
  return out;
}

// Every way of cutting the text into two or three chunks routes the same text as the one-shot split,
// in particular when "<think>" or "</think>" is cut in the middle.
TEST(ReasoningStream, AgreesWithOneShotSplitForEveryChunking) {
  const std::vector<std::pair<std::string, ReasoningOptions>> cases = {
      {"<think>\nlook at the <b>hilum</b> < / think\n</think>\n\nAnswer: normal", {}},
      {"reason </th here</think>answer", {.think_opened_by_prompt = true}},
      {"plain answer with </thinking> text", {}},
      {"<thin", {}},
      {"  <think>unfinished </thi", {}},
  };
  for (const auto& [text, opts] : cases) {
    const ReasoningSplit want = split_reasoning(text, opts);
    for (size_t a = 0; a <= text.size(); ++a) {
      for (size_t b = a; b <= text.size(); ++b) {
        const ReasoningSplit got = stream_in_chunks(text, {a, b}, opts);
        ASSERT_EQ(got.reasoning, want.reasoning) << text << " cut at " << a << "," << b;
        ASSERT_EQ(got.content, want.content) << text << " cut at " << a << "," << b;
      }
    }
  }
}

TEST(ReasoningStream, EmitsReasoningBeforeTheTagArrives) {
  ReasoningStreamSplitter s({.think_opened_by_prompt = true});
  EXPECT_EQ(s.push("The lungs are clear").reasoning, "The lungs are clear");
  auto d = s.push(" ok</");  // "</" may start the closing tag: held back
  EXPECT_EQ(d.reasoning, " ok");
  EXPECT_TRUE(s.in_reasoning());
  d = s.push("think>\n\nNormal.");
  EXPECT_EQ(d.reasoning, "");
  EXPECT_EQ(d.content, "\n\nNormal.");
  EXPECT_FALSE(s.in_reasoning());
}

}  // namespace
}  // namespace radseek::tokenizer

// Unit tests of the tokenizer pipeline on small hand-made tokenizer.json documents: merge order,
// ignore_merges, pre-token boundaries, split behaviors, added tokens, errors, streaming decode.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/check.h"

#include "tiny_tokenizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/tokenizer.h"

namespace radseek::tokenizer {
namespace {

using testing::added_token;
using testing::tiny_tokenizer_json;
using testing::TinySpec;

Tokenizer make(const TinySpec& spec) {
  auto tok = Tokenizer::from_json(tiny_tokenizer_json(spec).dump(), "", "tiny/tokenizer.json");
  RADSEEK_CHECK(tok.ok(), "tiny tokenizer must load");
  return std::move(*tok);
}

// Token ids of the given raw-byte strings.
std::vector<int32_t> ids_of(const Tokenizer& tok, const std::vector<std::string>& pieces) {
  std::vector<int32_t> ids;
  for (const std::string& p : pieces) ids.push_back(*tok.token_to_id(bytes_to_byte_level(p)));
  return ids;
}

TEST(Bpe, LowestRankMergesFirst) {
  const Tokenizer ab_first = make({.merges = {{"a", "b"}, {"b", "c"}, {"ab", "c"}}});
  EXPECT_EQ(*ab_first.encode("abc"), ids_of(ab_first, {"abc"}));
  const Tokenizer bc_first = make({.merges = {{"b", "c"}, {"a", "b"}, {"ab", "c"}}});
  EXPECT_EQ(*bc_first.encode("abc"), ids_of(bc_first, {"a", "bc"}));
}

TEST(Bpe, EqualRanksMergeLeftmostFirst) {
  const Tokenizer tok = make({.merges = {{"a", "a"}, {"aa", "aa"}}});
  EXPECT_EQ(*tok.encode("aaa"), ids_of(tok, {"aa", "a"}));
  EXPECT_EQ(*tok.encode("aaaa"), ids_of(tok, {"aaaa"}));
  EXPECT_EQ(*tok.encode("aaaaa"), ids_of(tok, {"aaaa", "a"}));
}

TEST(Bpe, MergesAreRecomputedAfterEachStep) {
  // "xyz": only after x+y merge does "xy z" become possible; the stale (y,z) candidate must not fire.
  const Tokenizer tok = make({.merges = {{"x", "y"}, {"y", "z"}, {"xy", "z"}}});
  EXPECT_EQ(*tok.encode("xyz"), ids_of(tok, {"xyz"}));
  EXPECT_EQ(*tok.encode("yzxy"), ids_of(tok, {"yz", "xy"}));
}

TEST(Bpe, IgnoreMergesTakesWholeVocabEntries) {
  const TinySpec spec{.extra_vocab = {"report"}};
  EXPECT_EQ(make(spec).encode("report")->size(), 6u);
  TinySpec ignoring = spec;
  ignoring.ignore_merges = true;
  const Tokenizer tok = make(ignoring);
  EXPECT_EQ(*tok.encode("report"), ids_of(tok, {"report"}));
}

TEST(PreTokenizer, MergesNeverCrossPieceBoundaries) {
  TinySpec spec{.merges = {{"3", "4"}}, .split_regexes = {R"(\p{N}{1,3})"}};
  const Tokenizer tok = make(spec);
  EXPECT_EQ(*tok.encode("12345"), ids_of(tok, {"1", "2", "3", "4", "5"}));
  EXPECT_EQ(*tok.encode("1 345"), ids_of(tok, {"1", " ", "34", "5"}));
}

std::vector<std::string> split_with(std::string_view regex, SplitBehavior behavior, bool invert,
                                    std::string_view text) {
  PreTokenizer pt;
  pt.add_split({.regex = Regex::compile(regex, {}).value(), .behavior = behavior, .invert = invert});
  return *pt.split(text);
}

TEST(PreTokenizer, SplitBehaviorsFollowHuggingFace) {
  using V = std::vector<std::string>;
  const std::string text = "the-final--countdown";
  EXPECT_EQ(split_with("-", SplitBehavior::kIsolated, false, text), (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(split_with("-", SplitBehavior::kRemoved, false, text), (V{"the", "final", "countdown"}));
  EXPECT_EQ(split_with("-", SplitBehavior::kMergedWithPrevious, false, text), (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(split_with("-", SplitBehavior::kMergedWithNext, false, text), (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(split_with("-", SplitBehavior::kContiguous, false, text), (V{"the", "-", "final", "--", "countdown"}));
  EXPECT_EQ(split_with("[a-z]+", SplitBehavior::kRemoved, true, text), (V{"the", "final", "countdown"}));
}

TEST(PreTokenizer, UnicodePropertiesAndLookahead) {
  using V = std::vector<std::string>;
  // DeepSeek-V3's third regex: whitespace before a word stays with the run only up to the last space.
  const std::string r3 = R"(\s+(?!\S)|\s+|\p{L}+)";
  EXPECT_EQ(split_with(r3, SplitBehavior::kIsolated, false, "a   b"), (V{"a", "  ", " ", "b"}));
  EXPECT_EQ(split_with(R"(\p{L}+)", SplitBehavior::kIsolated, false, "café中文"), (V{"café中文"}));
  EXPECT_EQ(split_with(R"([一-龥぀-ゟ゠-ヿ]+)", SplitBehavior::kIsolated, false, "ab中文cd"), (V{"ab", "中文", "cd"}));
}

TEST(AddedTokens, LongestMatchWinsAndTextAroundIsEncoded) {
  TinySpec spec{.added_tokens = nlohmann::json::array({added_token(1000, "<|x|>", true), added_token(1001, "<|x|>y", false)})};
  const Tokenizer tok = make(spec);
  EXPECT_EQ(*tok.encode("a<|x|>yb<|x|>"), (std::vector<int32_t>{'a', 1001, 'b', 1000}));
  EXPECT_EQ(*tok.encode("<|x|"), (std::vector<int32_t>{'<', '|', 'x', '|'}));
  EXPECT_EQ(*tok.decode(std::vector<int32_t>{'a', 1000, 1001}), "a<|x|><|x|>y");
  EXPECT_EQ(*tok.decode(std::vector<int32_t>{'a', 1000, 1001}, {.skip_special_tokens = true}), "a<|x|>y");
}

TEST(AddedTokens, LstripAndRstripSwallowWhitespace) {
  TinySpec spec{.added_tokens = nlohmann::json::array({added_token(1000, "<m>", true, /*lstrip=*/true, /*rstrip=*/true)})};
  const Tokenizer tok = make(spec);
  EXPECT_EQ(*tok.encode("a \t<m>\n b"), (std::vector<int32_t>{'a', 1000, 'b'}));
}

TEST(Tokenizer, RejectsInvalidUtf8AndUnknownIds) {
  const Tokenizer tok = make({});
  auto bad = tok.encode("ab\xff");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("byte 2"), std::string::npos) << bad.error().message;
  auto unknown = tok.decode(std::vector<int32_t>{1, 99999});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("99999"), std::string::npos);
  auto no_bos = tok.encode("x", {.add_bos = true});
  EXPECT_FALSE(no_bos.ok());  // no tokenizer_config.json, so no BOS to add
}

TEST(StreamDecoder, HoldsBackSplitCharacters) {
  const Tokenizer tok = make({});
  const std::vector<int32_t> ids = *tok.encode("a😀b");  // each byte is one token here
  ASSERT_EQ(ids.size(), 6u);
  StreamDecoder stream(tok);
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(*stream.push(id));
  EXPECT_EQ(out, (std::vector<std::string>{"a", "", "", "", "😀", "b"}));
  EXPECT_EQ(stream.finish(), "");
  // A character that never completes is shown as U+FFFD at the end, not dropped.
  ASSERT_EQ(*stream.push(ids[1]), "");
  EXPECT_EQ(stream.finish(), "\xEF\xBF\xBD");
  EXPECT_FALSE(stream.push(-1).ok());
}

// Loading errors name the file and the field.
void expect_load_error(const nlohmann::json& doc, const std::string& needle) {
  auto tok = Tokenizer::from_json(doc.dump(), "", "m/tokenizer.json");
  ASSERT_FALSE(tok.ok()) << "expected an error mentioning " << needle;
  EXPECT_NE(tok.error().message.find("m/tokenizer.json"), std::string::npos) << tok.error().message;
  EXPECT_NE(tok.error().message.find(needle), std::string::npos) << tok.error().message;
}

TEST(TokenizerJson, ErrorsNameFileAndField) {
  const nlohmann::json good = tiny_tokenizer_json({.merges = {{"a", "b"}}});
  EXPECT_FALSE(Tokenizer::from_json("{not json", "", "m/tokenizer.json").ok());
  auto doc = good;
  doc["normalizer"] = {{"type", "NFKC"}};
  expect_load_error(doc, "normalizer");
  doc = good;
  doc["model"]["merges"][0] = "a zz";
  expect_load_error(doc, "model.merges[0]");
  doc = good;
  auto& steps = doc["pre_tokenizer"]["pretokenizers"];
  steps.insert(steps.begin(), nlohmann::json::object({{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}},
                                                      {"behavior", "Isolated"}}));
  expect_load_error(doc, "pre_tokenizer.pretokenizers[0].pattern.Regex");
  doc = good;
  doc["pre_tokenizer"] = nullptr;
  expect_load_error(doc, "ByteLevel");
  doc = good;
  doc["model"]["byte_fallback"] = true;
  expect_load_error(doc, "model.byte_fallback");
  doc = good;
  doc["model"]["vocab"]["x"] = "seven";
  expect_load_error(doc, "model.vocab[\"x\"]");
  doc = good;
  doc["decoder"] = {{"type", "Metaspace"}};
  expect_load_error(doc, "decoder");
}

class TokenizerFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(RADSEEK_BINARY_DIR) / ("tok_folder_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    TinySpec spec{.added_tokens = nlohmann::json::array({added_token(300, "<s>", true), added_token(301, "</s>", true)})};
    write("tokenizer.json", tiny_tokenizer_json(spec).dump());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  std::filesystem::path dir_;
};

TEST_F(TokenizerFolder, ReadsTokenizerConfig) {
  write("tokenizer_config.json", R"({"add_bos_token": true, "bos_token": {"__type": "AddedToken", "content": "<s>"},
                                     "eos_token": "</s>", "chat_template": [{"name": "default", "template": "T"}]})");
  auto tok = Tokenizer::load(dir_.string());
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  EXPECT_EQ(tok->bos_id(), 300);
  EXPECT_EQ(tok->eos_id(), 301);
  EXPECT_TRUE(tok->add_bos_token());
  EXPECT_EQ(tok->chat_template(), "T");
  EXPECT_EQ(*tok->encode("a", {.add_bos = true}), (std::vector<int32_t>{300, 'a'}));
}

TEST_F(TokenizerFolder, ConfigErrorsNameTheField) {
  write("tokenizer_config.json", R"({"bos_token": "<missing>"})");
  auto tok = Tokenizer::load(dir_.string());
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.error().message.find("tokenizer_config.json: bos_token"), std::string::npos) << tok.error().message;
  std::filesystem::remove(dir_ / "tokenizer.json");
  auto missing = Tokenizer::load(dir_.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("tokenizer.json"), std::string::npos) << missing.error().message;
}

}  // namespace
}  // namespace radseek::tokenizer

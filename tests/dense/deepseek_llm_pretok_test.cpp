// GGUF tokenizer.ggml.pre = "deepseek-llm" (DeepSeek LLM / V2 / V2-Lite GGUF files): the GGUF
// tokenizer splits like the tokenizer.json it stands for (spec §4.2: six Isolated splits), checked
// (1) against hand-worked pieces and (2) against a tokenizer.json whose regexes are typed here
// independently (as characters, the way the model's file holds them) on a varied corpus, and (3) it
// is not the deepseek-v3 split.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "format/gguf.h"
#include "format/gguf_tokenizer.h"
#include "format/gguf_writer.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"

namespace radseek::testing {
namespace {

using nlohmann::json;

// The split regexes as DeepSeek-V2's tokenizer.json holds them: literal characters. The NFC-prone
// endpoints (U+1F7D, U+1FBE, U+1FD3, U+1FDB, U+2126, U+212A) are spelled as universal character
// names so no editor can normalise them.
const char* const kV2Splits[] = {
    "[\r\n]",
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-"
    "\u1F7Dᾀ-ᾴᾶ-ᾼ\u1FBEῂ-ῄῆ-ῌῐ-\u1FD3ῖ-\u1FDBῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212A-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿ"
    "ﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
    "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
    "\\s+$",
    "[一-龥ࠀ-一가-퟿]+",
    "\\p{N}+",
};

// Byte tokens 0..255, then each word merged left to right (so a word is one token exactly when
// the pre-tokenizer keeps it in one piece), then <｜begin▁of▁sentence｜>.
struct Vocab {
  std::vector<std::string> tokens;  // id -> byte-level surface form
  std::vector<std::string> merges;
  int32_t id_of(const std::string& raw) const {
    const std::string s = tokenizer::bytes_to_byte_level(raw);
    for (size_t i = 0; i < tokens.size(); ++i)
      if (tokens[i] == s) return static_cast<int32_t>(i);
    return -1;
  }
};

Vocab make_vocab(const std::vector<std::string>& words) {
  Vocab v;
  for (int b = 0; b < 256; ++b) v.tokens.push_back(tokenizer::bytes_to_byte_level(std::string(1, static_cast<char>(b))));
  for (const std::string& w : words) {
    std::string acc(1, w[0]);
    for (size_t i = 1; i < w.size(); ++i) {
      const std::string l = tokenizer::bytes_to_byte_level(acc), r = tokenizer::bytes_to_byte_level(w.substr(i, 1));
      acc += w[i];
      if (std::find(v.tokens.begin(), v.tokens.end(), l + r) != v.tokens.end()) continue;
      v.merges.push_back(l + " " + r);
      v.tokens.push_back(l + r);
    }
  }
  v.tokens.push_back("<｜begin▁of▁sentence｜>");
  return v;
}

std::string tokenizer_json(const Vocab& v) {
  json vocab = json::object();
  for (size_t i = 0; i < v.tokens.size(); ++i) vocab[v.tokens[i]] = i;
  json steps = json::array();
  for (const char* re : kV2Splits)
    steps.push_back({{"type", "Split"}, {"pattern", {{"Regex", re}}}, {"behavior", "Isolated"}, {"invert", false}});
  steps.push_back({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}});
  const json added = json::array({{{"id", v.tokens.size() - 1}, {"content", v.tokens.back()}, {"single_word", false},
                                   {"lstrip", false}, {"rstrip", false}, {"normalized", true}, {"special", true}}});
  return json{{"version", "1.0"}, {"added_tokens", added}, {"normalizer", {{"type", "Sequence"}, {"normalizers", json::array()}}},
              {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", steps}}},
              {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
              {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"byte_fallback", false},
                         {"vocab", vocab}, {"merges", v.merges}}}}
      .dump();
}

tokenizer::Tokenizer gguf_tokenizer(const Vocab& v, const std::string& pre, const std::string& path) {
  std::vector<int64_t> types(v.tokens.size(), 1);
  types.back() = 3;  // CONTROL
  format::GgufWriteArgs w;
  w.metadata = {{"general.architecture", format::GgufValue::of_string("deepseek2")},
                {"tokenizer.ggml.model", format::GgufValue::of_string("gpt2")},
                {"tokenizer.ggml.pre", format::GgufValue::of_string(pre)},
                {"tokenizer.ggml.tokens", format::GgufValue::of_strings(v.tokens)},
                {"tokenizer.ggml.token_type", format::GgufValue::of_ints(format::GgufType::kI32, types)},
                {"tokenizer.ggml.merges", format::GgufValue::of_strings(v.merges)}};
  EXPECT_TRUE(format::write_gguf(path, w).ok());
  auto f = format::GgufFile::open(path);
  EXPECT_TRUE(f.ok()) << f.error().message;
  auto files = format::gguf_tokenizer_files(*f);
  EXPECT_TRUE(files.ok() && files->has_value()) << (files.ok() ? "no tokenizer" : files.error().message);
  auto tok = tokenizer::Tokenizer::from_json((**files).tokenizer_json, (**files).tokenizer_config_json, path);
  EXPECT_TRUE(tok.ok()) << tok.error().message;
  return std::move(*tok);
}

const std::vector<std::string> kWords = {"Hello", " world", "123", " 123", "你好", "!", "a_b", " a_b",
                                         "\u1F7D\u1FD3\u1FDB", "x\u212Ay\u2126", "\n\n", "  ", " (x)", "한국어", "³²", " 3.14"};

const std::vector<std::string> kCorpus = {
    "Hello world\n123 你好!",  "a_b a_b  ", "\u1F7D\u1FD3\u1FDB \u2126\u212A K x\u212Ay\u2126 \u03CE\u0390", "x = (y + 3.14) * 2;\r\n\tz",
    "한국어 텍스트와 日本語のテキスト", "Numbers 12345 and ³² and ١٢٣", "   leading and trailing   ",
    "\u1FBC\u1FBE \u1FD0\u1FD3 \u1FD6\u1FDB — “quotes” ‘single’ 　。", "Ünïcödé ÆØÅ ǅ ǲ Ǉ", "tabs\tand\nnewlines\n\n\nend",
    "emoji 😀👍🏽 and ❤️", "Ꭰ Ᏸ Ა ᴀ ᵫ ꙁ Ａｚ 𐐀 𞤀", "mixed中文and English123混合"};

class DeepseekLlmPre : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(RADSEEK_BINARY_DIR) / "tests" / "dense" / "scratch" / "deepseek_llm";
    std::filesystem::create_directories(dir_);
  }
  std::filesystem::path dir_;
};

TEST_F(DeepseekLlmPre, HandWorkedPieces) {
  const Vocab v = make_vocab(kWords);
  const tokenizer::Tokenizer g = gguf_tokenizer(v, "deepseek-llm", (dir_ / "a.gguf").string());
  // [\r\n] isolates the newline; letters keep one leading space; "!" is punctuation; the CJK run
  // leaves "123 " whose digits split from the space.
  auto ids = g.encode("Hello world\n123 你好!");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{v.id_of("Hello"), v.id_of(" world"), v.id_of("\n"), v.id_of("123"), v.id_of(" "),
                                        v.id_of("你好"), v.id_of("!")}));
  // "_" is punctuation (":-~"), so "a_b" is never one piece although the vocabulary has it.
  ids = g.encode(" a_b");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{v.id_of(" a"), v.id_of("_"), v.id_of("b")}));
  // Kelvin (U+212A) and Ohm (U+2126) are letters of the class, but like every character in
  // U+0800-U+4E00 the CJK split isolates them again: four pieces, although the vocabulary holds the
  // whole word (a wrong split would return its one id). Their bytes stay unmerged (byte ids = bytes).
  ids = g.encode("x\u212Ay\u2126");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{'x', 0xE2, 0x84, 0xAA, 'y', 0xE2, 0x84, 0xA6}));
  EXPECT_GE(v.id_of("x\u212Ay\u2126"), 256);
  // A run of Greek Extended letters is one CJK-range piece: one token.
  ids = g.encode("\u1F7D\u1FD3\u1FDB");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{v.id_of("\u1F7D\u1FD3\u1FDB")}));
}

TEST_F(DeepseekLlmPre, GgufMatchesTokenizerJson) {
  const Vocab v = make_vocab(kWords);
  auto ref = tokenizer::Tokenizer::from_json(tokenizer_json(v), "", "deepseek-v2 tokenizer.json");
  ASSERT_TRUE(ref.ok()) << ref.error().message;
  const tokenizer::Tokenizer g = gguf_tokenizer(v, "deepseek-llm", (dir_ / "b.gguf").string());
  const tokenizer::Tokenizer v3 = gguf_tokenizer(v, "deepseek-v3", (dir_ / "c.gguf").string());
  int differs_from_v3 = 0;
  for (const std::string& text : kCorpus) {
    auto want = ref->encode(text), got = g.encode(text), other = v3.encode(text);
    ASSERT_TRUE(want.ok() && got.ok() && other.ok()) << text;
    EXPECT_EQ(*got, *want) << text;
    differs_from_v3 += *other != *want;
  }
  EXPECT_GE(differs_from_v3, 1) << "the corpus must tell deepseek-llm from deepseek-v3";
}

}  // namespace
}  // namespace radseek::testing

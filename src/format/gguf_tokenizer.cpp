#include "format/gguf_tokenizer.h"

#include <set>

#include <nlohmann/json.hpp>

namespace radseek::format {
namespace {

using nlohmann::json;

// The HF pre-tokenizer regexes behind llama.cpp's tokenizer.ggml.pre names.
constexpr const char* kLlama3 =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
constexpr const char* kQwen2 =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
constexpr const char* kV3Digits = R"re(\p{N}{1,3})re";
constexpr const char* kV3Cjk = "[一-龥぀-ゟ゠-ヿ]+";
constexpr const char* kV3Words =
    R"re([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

// DeepSeek LLM / V2 / V2-Lite ("deepseek-llm"): six Isolated splits — newlines, a run of cased
// letters (the tokenizer's explicit list of Unicode ranges) with one optional leading space, ASCII
// and full-width punctuation, trailing whitespace, CJK/Hangul runs, digit runs. The letter class is
// written with code point escapes: typed as characters, its Greek Extended, Ohm and Kelvin
// endpoints are easily NFC-normalised into other letters (U+1F7D → U+03CE makes a range
// descending; U+212A → "K" silently widens "K-ℭ" to most of the BMP's punctuation).
constexpr const char* kV2Newline = R"re([\r\n])re";
constexpr const char* kV2Letters =
    R"re(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293}\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A}\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4}\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+)re";
constexpr const char* kV2Punct = R"re(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)re";
constexpr const char* kV2TrailingSpace = R"re(\s+$)re";
constexpr const char* kV2Cjk = R"re([\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}]+)re";
constexpr const char* kV2Digits = R"re(\p{N}+)re";

// llama.cpp token types.
constexpr int64_t kTypeControl = 3;
constexpr int64_t kTypeUserDefined = 4;

json split(const char* regex) {
  return {{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}};
}

struct PreTok {
  json splits;
  bool nfc = false;
  bool ignore_merges = false;
};

Expected<PreTok> pre_tokenizer_for(const std::string& pre, const std::string& where) {
  if (pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3") return PreTok{json::array({split(kLlama3)}), false, true};
  if (pre == "qwen2" || pre == "deepseek-r1-qwen") return PreTok{json::array({split(kQwen2)}), true, false};
  if (pre == "deepseek-v3") return PreTok{json::array({split(kV3Digits), split(kV3Cjk), split(kV3Words)}), false, false};
  if (pre == "deepseek-llm")
    return PreTok{json::array({split(kV2Newline), split(kV2Letters), split(kV2Punct), split(kV2TrailingSpace), split(kV2Cjk),
                               split(kV2Digits)}),
                  false, false};
  return make_error(ErrorCode::kUnsupported, where + " is '" + pre +
                                                 "', a pre-tokenizer radseek does not know (known: llama-bpe, llama3, qwen2, "
                                                 "deepseek-r1-qwen, deepseek-v3, deepseek-llm)");
}

Expected<json> tokenizer_json(const GgufFile& f, const std::vector<std::string>& tokens, const PreTok& pt) {
  const std::vector<int64_t>* types = nullptr;
  if (f.find("tokenizer.ggml.token_type")) {
    auto t = f.get_int_array("tokenizer.ggml.token_type");
    if (!t) return t.error();
    if ((*t)->size() != tokens.size())
      return make_error(ErrorCode::kBadShape, f.path() + ": metadata key 'tokenizer.ggml.token_type' has " + std::to_string((*t)->size()) +
                                                  " entries for " + std::to_string(tokens.size()) + " tokens");
    types = *t;
  }
  json vocab = json::object(), added = json::array();
  for (size_t id = 0; id < tokens.size(); ++id) {
    const int64_t type = types ? (*types)[id] : 1;
    if (type == kTypeControl || type == kTypeUserDefined) {
      added.push_back({{"id", id}, {"content", tokens[id]}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                       {"normalized", false}, {"special", type == kTypeControl}});
    } else if (!vocab.contains(tokens[id])) {  // a repeated string keeps its first id, as a JSON object must
      vocab[tokens[id]] = id;
    }
  }
  json merges = json::array();
  if (f.find("tokenizer.ggml.merges")) {
    auto m = f.get_string_array("tokenizer.ggml.merges");
    if (!m) return m.error();
    for (const std::string& s : **m) merges.push_back(s);
  }
  json pre = pt.splits;
  pre.push_back({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}});
  return json{{"version", "1.0"}, {"added_tokens", added},
              {"normalizer", pt.nfc ? json{{"type", "NFC"}} : json(nullptr)},
              {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", pre}}},
              {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
              {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"fuse_unk", false},
                         {"byte_fallback", false}, {"ignore_merges", pt.ignore_merges}, {"vocab", vocab}, {"merges", merges}}}};
}

Expected<json> config_json(const GgufFile& f, const std::vector<std::string>& tokens) {
  json c = json::object();
  for (const char* which : {"bos", "eos"}) {
    const std::string key = std::string("tokenizer.ggml.") + which + "_token_id";
    if (!f.find(key)) continue;
    auto id = f.get_uint(key);
    if (!id) return id.error();
    if (*id >= tokens.size())
      return make_error(ErrorCode::kOutOfRange, f.path() + ": metadata key '" + key + "' = " + std::to_string(*id) +
                                                    " is not a token id (" + std::to_string(tokens.size()) + " tokens)");
    c[std::string(which) + "_token"] = tokens[*id];
  }
  if (f.find("tokenizer.ggml.add_bos_token")) {
    auto b = f.get_bool("tokenizer.ggml.add_bos_token");
    if (!b) return b.error();
    c["add_bos_token"] = *b;
  }
  if (f.find("tokenizer.chat_template")) {
    auto t = f.get_string("tokenizer.chat_template");
    if (!t) return t.error();
    c["chat_template"] = *t;
  }
  return c;
}

}  // namespace

Expected<std::optional<TokenizerFiles>> gguf_tokenizer_files(const GgufFile& f) {
  if (!f.find("tokenizer.ggml.model")) return std::optional<TokenizerFiles>();
  auto model = f.get_string("tokenizer.ggml.model");
  if (!model) return model.error();
  if (*model != "gpt2")
    return make_error(ErrorCode::kUnsupported, f.path() + ": metadata key 'tokenizer.ggml.model' is '" + *model +
                                                   "'; radseek reads byte-level BPE tokenizers ('gpt2') only");
  auto pre_name = f.find("tokenizer.ggml.pre") ? f.get_string("tokenizer.ggml.pre") : Expected<std::string>(std::string("default"));
  if (!pre_name) return pre_name.error();
  auto pt = pre_tokenizer_for(*pre_name, f.path() + ": metadata key 'tokenizer.ggml.pre'");
  if (!pt) return pt.error();
  auto tokens = f.get_string_array("tokenizer.ggml.tokens");
  if (!tokens) return tokens.error();
  auto tj = tokenizer_json(f, **tokens, *pt);
  if (!tj) return tj.error();
  auto cj = config_json(f, **tokens);
  if (!cj) return cj.error();
  // Replace, not throw, on a token that is not UTF-8 (a malformed file): the tokenizer then rejects or
  // never matches it.
  constexpr auto kReplace = json::error_handler_t::replace;
  return std::optional<TokenizerFiles>(TokenizerFiles{.tokenizer_json = tj->dump(-1, ' ', false, kReplace),
                                                      .tokenizer_config_json = cj->dump(-1, ' ', false, kReplace)});
}

}  // namespace radseek::format

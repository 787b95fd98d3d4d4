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
  return make_error(ErrorCode::kUnsupported, where + " is '" + pre +
                                                 "', a pre-tokenizer radseek does not know (known: llama-bpe, llama3, qwen2, "
                                                 "deepseek-r1-qwen, deepseek-v3)");
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

#include "tokenizer/tokenizer.h"

#include <filesystem>

#include "base/mapped_file.h"
#include "tokenizer/nfc.h"
#include "tokenizer/utf8.h"

namespace radseek::tokenizer {
namespace {

// Resolves a configured token text (bos_token / eos_token) to its id.
Expected<std::optional<int32_t>> resolve_token(const Tokenizer& tok, const std::optional<std::string>& text,
                                               const std::string& file, const char* field) {
  if (!text) return std::optional<int32_t>();
  auto id = tok.token_to_id(*text);
  if (!id) return make_error(ErrorCode::kParse, file + ": " + field + ": \"" + *text + "\" is not a token of tokenizer.json");
  return std::optional<int32_t>(*id);
}

std::string apply_normalizer(NormalizerKind kind, std::string_view text) {
  switch (kind) {
    case NormalizerKind::kNfc:
      return nfc_normalize(text);
  }
  return std::string(text);
}

}  // namespace

Expected<Tokenizer> Tokenizer::load(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec))
    return make_error(ErrorCode::kNotFound, path + ": no such model folder or tokenizer.json");
  const fs::path json_path = fs::is_directory(path, ec) ? fs::path(path) / "tokenizer.json" : fs::path(path);
  auto json = read_text_file(json_path.string());
  if (!json) return json.error();
  const fs::path config_path = json_path.parent_path() / "tokenizer_config.json";
  std::string config;
  if (fs::exists(config_path, ec)) {
    auto c = read_text_file(config_path.string());
    if (!c) return c.error();
    config = std::move(*c);
  }
  return from_json(*json, config, json_path.string());
}

Expected<Tokenizer> Tokenizer::from_json(std::string_view tokenizer_json, std::string_view config_json,
                                         const std::string& source_name) {
  auto parts = parse_tokenizer_json(tokenizer_json, source_name);
  if (!parts) return parts.error();
  Tokenizer tok;
  tok.parts_ = std::move(*parts);
  tok.added_matcher_ = AddedTokenMatcher(tok.parts_.added_tokens);
  tok.token_to_id_.reserve(tok.parts_.id_to_token.size());
  for (size_t id = 0; id < tok.parts_.id_to_token.size(); ++id)
    if (tok.parts_.id_flags[id] & kIdPresent) tok.token_to_id_.emplace(tok.parts_.id_to_token[id], static_cast<int32_t>(id));
  if (config_json.empty()) return tok;
  const std::string config_name =
      (std::filesystem::path(source_name).parent_path() / "tokenizer_config.json").string();
  auto config = parse_tokenizer_config(config_json, config_name);
  if (!config) return config.error();
  tok.config_ = std::move(*config);
  auto bos = resolve_token(tok, tok.config_.bos_token, config_name, "bos_token");
  if (!bos) return bos.error();
  auto eos = resolve_token(tok, tok.config_.eos_token, config_name, "eos_token");
  if (!eos) return eos.error();
  tok.bos_id_ = *bos;
  tok.eos_id_ = *eos;
  return tok;
}

Status Tokenizer::encode_plain(std::string_view text, std::vector<int32_t>& out) const {
  std::string normalized;
  if (!parts_.normalizers.empty()) {
    normalized = std::string(text);
    for (NormalizerKind n : parts_.normalizers) normalized = apply_normalizer(n, normalized);
    text = normalized;
  }
  auto pieces = parts_.pre_tokenizer.split(text);
  if (!pieces) return pieces.error();
  for (const std::string& piece : *pieces) parts_.bpe.encode_word(piece, out);
  return {};
}

Expected<std::vector<int32_t>> Tokenizer::encode(std::string_view text, EncodeOptions options) const {
  if (auto bad = find_invalid_utf8(text))
    return make_error(ErrorCode::kInvalidArgument, "text is not valid UTF-8 at byte " + std::to_string(*bad));
  std::vector<int32_t> ids;
  if (options.add_bos) {
    if (!bos_id_) return make_error(ErrorCode::kInvalidArgument, "add_bos: the tokenizer has no bos_token (tokenizer_config.json missing or without it)");
    ids.push_back(*bos_id_);
  }
  if (!options.match_added_tokens) {
    RADSEEK_TRY(encode_plain(text, ids));
    return ids;
  }
  for (const TextSegment& seg : added_matcher_.split(text)) {
    if (seg.added_index >= 0) {
      ids.push_back(parts_.added_tokens[seg.added_index].id);
    } else {
      RADSEEK_TRY(encode_plain(seg.text, ids));
    }
  }
  return ids;
}

Expected<std::string> Tokenizer::decode(std::span<const int32_t> ids, DecodeOptions options) const {
  std::string bytes;
  for (int32_t id : ids) {
    auto b = token_bytes(id);
    if (!b) return make_error(ErrorCode::kOutOfRange, "token id " + std::to_string(id) + " is not in the vocabulary (size " + std::to_string(vocab_size()) + ")");
    if (options.skip_special_tokens && is_special(id)) continue;
    bytes.append(*b);
  }
  return utf8_lossy(bytes);
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  auto it = token_to_id_.find(std::string(token));
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string_view> Tokenizer::id_to_token(int32_t id) const {
  if (id < 0 || id >= vocab_size() || !(parts_.id_flags[id] & kIdPresent)) return std::nullopt;
  return parts_.id_to_token[id];
}

std::optional<std::string_view> Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || id >= vocab_size() || !(parts_.id_flags[id] & kIdPresent)) return std::nullopt;
  return parts_.id_to_bytes[id];
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < vocab_size() && (parts_.id_flags[id] & kIdSpecial);
}

}  // namespace radseek::tokenizer

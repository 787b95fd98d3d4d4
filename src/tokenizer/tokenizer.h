// Byte-level BPE tokenizer loaded from a Hugging Face `tokenizer.json` (plus `tokenizer_config.json`
// from the same folder when present). One data-driven pipeline serves DeepSeek-V3/R1/V3.1 and, as
// their files allow, other byte-level BPE models:
//   raw text -> added/special tokens (leftmost-longest) -> pre-tokenizer splits -> BPE -> ids.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/tokenizer_json.h"

namespace radseek::tokenizer {

struct EncodeOptions {
  bool add_bos = false;  // prepend bos_id(); a rendered chat prompt already holds the BOS text
  // false: added tokens in the text (e.g. "<｜User｜>" typed into a report) are encoded as plain
  // text, so untrusted input cannot forge chat-role markers.
  bool match_added_tokens = true;
};

struct DecodeOptions {
  bool skip_special_tokens = false;  // drop ids flagged "special" in tokenizer.json
};

class Tokenizer {
 public:
  // path: a tokenizer.json file, or a model folder that contains one.
  static Expected<Tokenizer> load(const std::string& path);
  // From JSON text; config_json may be empty (no tokenizer_config.json). Names are for messages.
  static Expected<Tokenizer> from_json(std::string_view tokenizer_json, std::string_view config_json,
                                       const std::string& source_name);

  // Fails only on input that is not valid UTF-8 (the message gives the byte offset).
  Expected<std::vector<int32_t>> encode(std::string_view text, EncodeOptions options = {}) const;
  // Invalid UTF-8 produced by a broken id sequence becomes U+FFFD; unknown ids are an error.
  Expected<std::string> decode(std::span<const int32_t> ids, DecodeOptions options = {}) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // HF surface form of a token ("Ġthe", "<｜User｜>"); nullopt for an id outside the vocabulary.
  std::optional<std::string_view> id_to_token(int32_t id) const;
  // The raw bytes an id decodes to (may be a partial UTF-8 character).
  std::optional<std::string_view> token_bytes(int32_t id) const;
  bool is_special(int32_t id) const;

  // One past the largest id (DeepSeek-V3: 128815; config.json's vocab_size pads beyond it).
  int32_t vocab_size() const { return static_cast<int32_t>(parts_.id_to_token.size()); }
  std::optional<int32_t> bos_id() const { return bos_id_; }
  std::optional<int32_t> eos_id() const { return eos_id_; }
  bool add_bos_token() const { return config_.add_bos_token; }  // tokenizer_config's default
  const std::string& chat_template() const { return config_.chat_template; }

 private:
  Status encode_plain(std::string_view text, std::vector<int32_t>& out) const;

  TokenizerParts parts_;
  TokenizerConfig config_;
  AddedTokenMatcher added_matcher_;
  std::unordered_map<std::string, int32_t> token_to_id_;
  std::optional<int32_t> bos_id_;
  std::optional<int32_t> eos_id_;
};

}  // namespace radseek::tokenizer

// Reads HF `tokenizer.json` and `tokenizer_config.json` into the tokenizer's parts. Everything a model
// needs is data in these files; unsupported components are reported by name instead of approximated.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/pre_tokenizer.h"

namespace radseek::tokenizer {

// Text normalization steps of the HF `normalizer` (DeepSeek's is an empty Sequence, Qwen2's is NFC).
// They apply to plain text runs, between the added-token split and pre-tokenization; the parser
// names any other step as unsupported.
enum class NormalizerKind { kNfc };

struct TokenizerParts {
  std::vector<NormalizerKind> normalizers;
  PreTokenizer pre_tokenizer;
  BpeModel bpe;
  std::vector<AddedToken> added_tokens;
  std::vector<std::string> id_to_token;  // HF surface form ("Ġthe", "<｜User｜>"); "" for unused ids
  std::vector<std::string> id_to_bytes;  // what each id decodes to
  std::vector<uint8_t> id_flags;         // kIdPresent | kIdSpecial
};
inline constexpr uint8_t kIdPresent = 1;
inline constexpr uint8_t kIdSpecial = 2;

// file_name is used in error messages only.
Expected<TokenizerParts> parse_tokenizer_json(std::string_view json_text, const std::string& file_name);

struct TokenizerConfig {
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  bool add_bos_token = false;
  std::string chat_template;  // "" when absent
};

Expected<TokenizerConfig> parse_tokenizer_config(std::string_view json_text,
                                                 const std::string& file_name);

}  // namespace radseek::tokenizer

// A byte-level BPE tokenizer.json for tiny test models: the 256 bytes from `byte_base`, the added
// tokens at their ids, and letter-pair tokens filling the rest of the vocabulary, so that any id a
// random model samples decodes to text. Shared by the server and dense-model fixtures.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/byte_level.h"

namespace radseek::testing {

struct AddedTokenSpec {
  int id = 0;
  std::string content;
  bool special = true;  // the real files mark the think tags not special (skip_special_tokens keeps them)
};

struct ByteTokenizerArgs {
  int byte_base = 0;                   // id of byte 0x00
  std::vector<AddedTokenSpec> added = {};
  int vocab = 0;                       // ids below this all get a token
};

inline nlohmann::json byte_tokenizer_json(const ByteTokenizerArgs& a) {
  using Json = nlohmann::json;
  Json v = Json::object(), added = Json::array();
  for (int b = 0; b < 256; ++b) v[tokenizer::bytes_to_byte_level(std::string(1, static_cast<char>(b)))] = a.byte_base + b;
  int next = a.byte_base + 256;
  for (const AddedTokenSpec& t : a.added) {
    v[t.content] = t.id;
    added.push_back({{"id", t.id}, {"content", t.content}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                     {"normalized", false}, {"special", t.special}});
    next = std::max(next, t.id + 1);
  }
  const std::string letters = "etaoinshrdlu cmfwyp";
  for (int id = next, i = 0; id < a.vocab; ++i) {
    const std::string pair{letters[i % letters.size()], letters[(i / letters.size()) % letters.size()]};
    if (pair[0] == pair[1] || v.contains(pair)) continue;
    v[pair] = id++;
  }
  Json steps = Json::array({{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}});
  return Json{{"version", "1.0"},
              {"added_tokens", added},
              {"normalizer", nullptr},
              {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", steps}}},
              {"post_processor", nullptr},
              {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
              {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"byte_fallback", false},
                         {"ignore_merges", false}, {"vocab", v}, {"merges", Json::array()}}}};
}

}  // namespace radseek::testing

// Builds small tokenizer.json documents for unit tests: the 256 byte-level characters (ids 0-255,
// in byte order) plus whatever merges, extra vocab and added tokens a test needs.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace radseek::tokenizer::testing {

struct TinySpec {
  std::vector<std::pair<std::string, std::string>> merges = {};  // raw-byte strings, in rank order
  std::vector<std::string> extra_vocab = {};                     // raw-byte strings without a merge path
  nlohmann::json added_tokens = nlohmann::json::array();
  std::vector<std::string> split_regexes = {};                   // Split steps (Isolated), in order
  bool ignore_merges = false;
};

inline std::string byte_char(int b) {
  std::string s;
  append_utf8(s, byte_to_code_point()[b]);
  return s;
}

inline nlohmann::json tiny_tokenizer_json(const TinySpec& spec) {
  using Json = nlohmann::json;
  Json vocab = Json::object();
  int next_id = 0;
  for (int b = 0; b < 256; ++b) vocab[byte_char(b)] = next_id++;
  Json merges = Json::array();
  for (const auto& [l, r] : spec.merges) {
    const std::string bl = bytes_to_byte_level(l), br = bytes_to_byte_level(r);
    merges.push_back(bl + " " + br);
    if (!vocab.contains(bl + br)) vocab[bl + br] = next_id++;
  }
  for (const std::string& v : spec.extra_vocab) vocab[bytes_to_byte_level(v)] = next_id++;
  Json steps = Json::array();
  for (const std::string& r : spec.split_regexes)
    steps.push_back({{"type", "Split"}, {"pattern", {{"Regex", r}}}, {"behavior", "Isolated"}, {"invert", false}});
  steps.push_back({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}});
  return Json{{"version", "1.0"},
              {"added_tokens", spec.added_tokens},
              {"normalizer", {{"type", "Sequence"}, {"normalizers", Json::array()}}},
              {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", steps}}},
              {"post_processor", nullptr},
              {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
              {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"byte_fallback", false},
                         {"ignore_merges", spec.ignore_merges}, {"vocab", vocab}, {"merges", merges}}}};
}

inline nlohmann::json added_token(int id, const std::string& content, bool special, bool lstrip = false,
                                  bool rstrip = false) {
  return {{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", lstrip},
          {"rstrip", rstrip}, {"normalized", false}, {"special", special}};
}

}  // namespace radseek::tokenizer::testing

// Test models for the server: a tiny random DeepSeek-V3 checkpoint (model::write_random_checkpoint)
// plus a byte-level BPE tokenizer.json written here, covering every id of the model's vocabulary so
// any sampled id decodes: 0 BOS, 1 EOS (as in the tiny config), 2..257 the 256 bytes,
// 258..261 <｜User｜> <｜Assistant｜> <think> </think>, the rest two-letter tokens. The
// tokenizer_config.json carries an R1 template with the Feb 2025 "<think>\n" generation prompt, so
// chat completions start inside the reasoning, as DeepSeek-R1's do.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "model/checkpoint_gen.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace radseek::server::testing {

inline nlohmann::json fixture_tokenizer_json(int vocab) {
  using Json = nlohmann::json;
  Json v = Json::object();
  Json added = Json::array();
  const auto add_special = [&](int id, const std::string& content, bool special) {
    v[content] = id;
    added.push_back({{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", special}});
  };
  add_special(0, "<｜begin▁of▁sentence｜>", true);
  add_special(1, "<｜end▁of▁sentence｜>", true);
  for (int b = 0; b < 256; ++b) v[tokenizer::bytes_to_byte_level(std::string(1, static_cast<char>(b)))] = 2 + b;
  add_special(258, "<｜User｜>", false);
  add_special(259, "<｜Assistant｜>", false);
  add_special(260, "<think>", false);
  add_special(261, "</think>", false);
  const std::string letters = "etaoinshrdlu cmfwyp";
  for (int id = 262, i = 0; id < vocab; ++i) {
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

// Pieces of DeepSeek-R1's (Feb 2025) template that detect_chat_template recognises.
inline const char* fixture_chat_template() {
  return "{% set ns = namespace(is_first_sp=true) %}{{'<｜User｜>' + message['content']}}"
         "{{'<｜Assistant｜><think>\\n'}}";
}

inline Status write_fixture_model(const std::string& dir, uint64_t seed = 7) {
  auto cfg = model::preset_config("tiny-v3");
  if (!cfg) return cfg.error();
  RADSEEK_TRY(model::write_random_checkpoint({.dir = dir, .config = *cfg, .format = model::WeightFormat::kBF16, .seed = seed}));
  const int vocab = (*cfg)["vocab_size"].get<int>();
  std::ofstream(std::filesystem::path(dir) / "tokenizer.json") << fixture_tokenizer_json(vocab).dump();
  nlohmann::json tc{{"bos_token", "<｜begin▁of▁sentence｜>"}, {"eos_token", "<｜end▁of▁sentence｜>"},
                    {"add_bos_token", true}, {"chat_template", fixture_chat_template()}};
  std::ofstream(std::filesystem::path(dir) / "tokenizer_config.json") << tc.dump();
  return {};
}

}  // namespace radseek::server::testing

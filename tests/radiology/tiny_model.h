// A tiny random DeepSeek-V3-style checkpoint with a small byte-level BPE tokenizer.json, written by
// the test itself: the oracle for "the constrained answer always parses", which must hold even when
// the weights are noise. The tokenizer has the 256 byte tokens (ids 0-255), a few merged words so
// multi-byte tokens occur, and DeepSeek's special tokens, all below the checkpoint's vocab_size.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/checkpoint_gen.h"
#include "tokenizer/byte_level.h"

namespace radseek::radiology::testing {

inline const std::vector<std::string>& tiny_special_tokens() {
  static const std::vector<std::string> kTokens = {"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>",
                                                   "<｜Assistant｜>", "<think>", "</think>"};
  return kTokens;
}

// Words merged left to right (" present" = " p" + "r" + ...), so they become single tokens.
inline nlohmann::json tiny_tokenizer_json(const std::vector<std::string>& words, int* next_id_out) {
  using Json = nlohmann::json;
  Json vocab = Json::object();
  int next_id = 0;
  for (int b = 0; b < 256; ++b) vocab[tokenizer::bytes_to_byte_level(std::string(1, static_cast<char>(b)))] = next_id++;
  Json merges = Json::array();
  for (const std::string& w : words) {
    std::string acc(1, w[0]);
    for (size_t i = 1; i < w.size(); ++i) {
      const std::string l = tokenizer::bytes_to_byte_level(acc), r = tokenizer::bytes_to_byte_level(w.substr(i, 1));
      acc += w[i];
      if (vocab.contains(l + r)) continue;
      merges.push_back(l + " " + r);
      vocab[l + r] = next_id++;
    }
  }
  Json added = Json::array();
  for (const std::string& t : tiny_special_tokens()) {
    const bool special = t.find("think") == std::string::npos;  // as in R1's tokenizer.json
    added.push_back({{"id", next_id}, {"content", t}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                     {"normalized", false}, {"special", special}});
    vocab[t] = next_id++;
  }
  *next_id_out = next_id;
  return Json{{"version", "1.0"},
              {"added_tokens", added},
              {"normalizer", nullptr},
              {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
              {"post_processor", nullptr},
              {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
              {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"byte_fallback", false},
                         {"ignore_merges", false}, {"vocab", vocab}, {"merges", merges}}}};
}

// Writes the checkpoint (once per dir) and returns dir. seed varies the random weights.
inline std::string write_tiny_model(const std::string& dir, uint64_t seed) {
  namespace fs = std::filesystem;
  if (fs::exists(dir + "/tokenizer.json")) return dir;
  const std::vector<std::string> words = {" present", " absent", " uncertain", " not", " mentioned", "answer",
                                          " the",     " heart",  " is",        " no",  " effusion", "Edema",
                                          "Mass",     "Evidence", " enlarged",  "Cardiomegaly"};
  int n_tokens = 0;
  const nlohmann::json tok = tiny_tokenizer_json(words, &n_tokens);
  auto cfg = model::preset_config("tiny-v3");
  if (!cfg.ok()) return "";
  if (n_tokens > (*cfg)["vocab_size"].get<int>()) return "";
  // BOS/EOS are the tokenizer's specials (ids 256+ here), not the preset's byte ids.
  (*cfg)["bos_token_id"] = tok["added_tokens"][0]["id"];
  (*cfg)["eos_token_id"] = tok["added_tokens"][1]["id"];
  auto st = model::write_random_checkpoint({.dir = dir, .config = *cfg, .format = model::WeightFormat::kBF16,
                                            .seed = seed});
  if (!st.ok()) return "";
  std::ofstream(dir + "/tokenizer.json") << tok.dump();
  const nlohmann::json tc = {{"bos_token", tiny_special_tokens()[0]}, {"eos_token", tiny_special_tokens()[1]},
                             {"add_bos_token", true}};
  std::ofstream(dir + "/tokenizer_config.json") << tc.dump();
  return dir;
}

}  // namespace radseek::radiology::testing

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
#include "../common/byte_tokenizer.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace radseek::server::testing {

inline nlohmann::json fixture_tokenizer_json(int vocab) {
  return radseek::testing::byte_tokenizer_json(
      {.byte_base = 2,
       .added = {{.id = 0, .content = "<｜begin▁of▁sentence｜>", .special = true},
                 {.id = 1, .content = "<｜end▁of▁sentence｜>", .special = true},
                 {.id = 258, .content = "<｜User｜>", .special = false},
                 {.id = 259, .content = "<｜Assistant｜>", .special = false},
                 {.id = 260, .content = "<think>", .special = false},
                 {.id = 261, .content = "</think>", .special = false}},
       .vocab = vocab});
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

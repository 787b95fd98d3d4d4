// Tiny random dense checkpoints (Llama 3, Qwen2.5, Qwen3, R1-Distill-Qwen) with the special tokens,
// chat-template pieces and end-of-turn ids of the real releases, written by the tests. The weights
// are noise; what matters is the plumbing: which ids end a turn, the reasoning split, constrained
// answers. Vocabulary (config vocab_size 512, every id decodes): 0-255 the bytes, 256.. the family's
// special tokens, then two-letter filler tokens.
//
// The ids in config.json are deliberately the stale ones some releases shipped (Llama-3-8B-Instruct
// first named only <|end_of_text|>; base Qwen configs name <|endoftext|>): generation_config.json and
// the chat template carry the end-of-turn ids, as in those releases.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "model/checkpoint_gen.h"
#include "../common/byte_tokenizer.h"
#include "tokenizer/byte_level.h"

namespace radseek::testing {

enum class DenseFamily { kLlama3, kQwen25, kQwen3, kR1DistillQwen };

struct DenseFamilyInfo {
  const char* preset;
  std::vector<std::string> specials;  // ids 256, 257, ...
  std::string bos, eos;               // tokenizer_config.json bos_token / eos_token ("" = none)
  std::string config_eos;             // config.json eos_token_id (as a token text)
  std::vector<std::string> generation_eos;  // generation_config.json eos_token_id
  std::string chat_template;                // pieces detect_chat_template recognises
};

inline DenseFamilyInfo dense_family_info(DenseFamily f) {
  switch (f) {
    case DenseFamily::kLlama3:
      return {"tiny-llama",
              {"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
               "<|eom_id|>", "<|python_tag|>"},
              "<|begin_of_text|>", "<|end_of_text|>", "<|end_of_text|>",
              {"<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"},
              "{{- bos_token }}{{- \"Cutting Knowledge Date: December 2023\\n\" }}"
              "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}"};
    case DenseFamily::kQwen25:
      return {"tiny-qwen2", {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}, "", "<|endoftext|>", "<|endoftext|>",
              {"<|im_end|>", "<|endoftext|>"},
              "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}"
              "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"};
    case DenseFamily::kQwen3:
      return {"tiny-qwen3", {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"}, "", "<|im_end|>",
              "<|im_end|>", {"<|im_end|>", "<|endoftext|>"},
              "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
              "{{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}"};
    case DenseFamily::kR1DistillQwen:
      return {"tiny-qwen2",
              {"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"},
              "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜end▁of▁sentence｜>", {},
              "{% set ns = namespace(system_prompt='') %}{% set ns.system_prompt = message['content'] %}"
              "{{'<｜User｜>' + message['content']}}{% set content = content.split('</think>')[-1] %}"
              "{{'<｜Assistant｜><think>\\n'}}"};
  }
  return {};
}

inline int32_t dense_special_id(DenseFamily f, const std::string& text) {
  const auto s = dense_family_info(f).specials;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == text) return 256 + static_cast<int32_t>(i);
  return -1;
}

inline nlohmann::json dense_tokenizer_json(const std::vector<std::string>& specials, int vocab) {
  ByteTokenizerArgs a{.byte_base = 0, .added = {}, .vocab = vocab};
  for (size_t i = 0; i < specials.size(); ++i)
    a.added.push_back({.id = 256 + static_cast<int>(i), .content = specials[i],
                       .special = specials[i].find("think") == std::string::npos});
  return byte_tokenizer_json(a);
}

struct DenseFixtureArgs {
  std::string dir;
  DenseFamily family = DenseFamily::kLlama3;
  uint64_t seed = 3;
  bool generation_config = true;  // write generation_config.json
  bool chat_template = true;      // put the template in tokenizer_config.json
};

inline Status write_dense_fixture(const DenseFixtureArgs& a) {
  namespace fs = std::filesystem;
  const DenseFamilyInfo info = dense_family_info(a.family);
  auto cfg = model::preset_config(info.preset);
  if (!cfg) return cfg.error();
  const int vocab = (*cfg)["vocab_size"].get<int>();
  const auto id = [&](const std::string& t) { return dense_special_id(a.family, t); };
  (*cfg)["bos_token_id"] = info.bos.empty() ? nlohmann::json(nullptr) : nlohmann::json(id(info.bos));
  (*cfg)["eos_token_id"] = id(info.config_eos);
  RADSEEK_TRY(model::write_random_checkpoint({.dir = a.dir, .config = *cfg, .format = model::WeightFormat::kBF16, .seed = a.seed}));
  std::ofstream(fs::path(a.dir) / "tokenizer.json") << dense_tokenizer_json(info.specials, vocab).dump();
  nlohmann::json tc{{"eos_token", info.eos}, {"add_bos_token", !info.bos.empty()}};
  if (!info.bos.empty()) tc["bos_token"] = info.bos;
  if (a.chat_template) tc["chat_template"] = info.chat_template;
  std::ofstream(fs::path(a.dir) / "tokenizer_config.json") << tc.dump();
  if (a.generation_config && !info.generation_eos.empty()) {
    nlohmann::json ids = nlohmann::json::array();
    for (const auto& t : info.generation_eos) ids.push_back(id(t));
    std::ofstream(fs::path(a.dir) / "generation_config.json") << nlohmann::json{{"eos_token_id", ids}, {"do_sample", true}}.dump();
  }
  return {};
}

}  // namespace radseek::testing

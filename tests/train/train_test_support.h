// Scaffolding shared by the training tests: per-process scratch folders, the finite-difference probe
// of the gradient checks, and the small corpus + config of the short training runs.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "radiology/synth.h"
#include "train/tokenizer_files.h"
#include "train/train_model.h"
#include "test_config.h"

namespace radseek::train::testing {

// A fresh folder per process and name: ctest -j runs a binary's tests side by side.
inline std::string scratch_dir(const std::string& prefix, const std::string& name) {
  const auto d = std::filesystem::temp_directory_path() / (prefix + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d.string();
}

// The experts every MoE layer chose in the last forward, to tell a routing flip from a smooth change.
inline std::vector<int32_t> routing_of(const TrainModel<double>& m) {
  std::vector<int32_t> all;
  for (const auto& a : m.layer_acts()) all.insert(all.end(), a.moe.idx.begin(), a.moe.idx.end());
  return all;
}

// (f(p + h) - f(p - h)) / 2h at params[i]. eval() returns the objective at the current params and
// whether the routing is the base forward's; nullopt when either side flips a routing choice, a
// step in the loss with no derivative.
template <typename Eval>
std::optional<double> central_difference(std::vector<double>& params, int64_t i, double h, Eval eval) {
  const double keep = params[i];
  params[i] = keep + h;
  const auto [up, same_up] = eval();
  params[i] = keep - h;
  const auto [down, same_down] = eval();
  params[i] = keep;
  if (!same_up || !same_down) return std::nullopt;
  return (up - down) / (2 * h);
}

// The short runs' model: the tiny V3 config widened to a byte-level vocabulary (264 ids).
inline nlohmann::json small_run_config() {
  auto cfg = tiny_train_config_json();
  cfg.update({{"vocab_size", 264}, {"hidden_size", 32}, {"intermediate_size", 48}, {"moe_intermediate_size", 16},
              {"num_attention_heads", 2}, {"q_lora_rank", 16}, {"kv_lora_rank", 16}, {"qk_nope_head_dim", 8},
              {"qk_rope_head_dim", 8}, {"v_head_dim", 8}});
  return cfg;
}

// dir/tok (byte-level tokenizer), dir/pretrain.jsonl and dir/sft.jsonl: 40 synthetic reports, the SFT
// lines with their reasoning in <think> and the answer after it.
inline void write_run_corpus(const std::string& dir) {
  EXPECT_TRUE(write_tokenizer_files(dir + "/tok", {}, 512).ok());
  std::ofstream pre(dir + "/pretrain.jsonl"), sft(dir + "/sft.jsonl");
  for (int i = 0; i < 40; ++i) {
    const auto r = radiology::synth_report({.seed = 3, .count = 40}, i);
    pre << nlohmann::json{{"text", r["text"]}}.dump() << "\n";
    const std::string answer = "<think>\n" + r["reasoning"].get<std::string>() + "\n</think>\n\n" + r["answer"].get<std::string>();
    sft << nlohmann::json{{"messages", {{{"role", "user"}, {"content", r["question"]}},
                                        {{"role", "assistant"}, {"content", answer}}}}}.dump() << "\n";
  }
}

}  // namespace radseek::train::testing

// Flags shared by every command that loads a model (-m, --threads, --precision, ...).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace radseek::cli {

struct ModelFlags {
  std::string model_dir;
  int threads = 0;
  std::string precision = "f32";
  std::string attention = "auto";
  std::string kv_cache = "f32";
  std::string isa;
  bool mmap = false;
};

void add_model_flags(CLI::App& cmd, ModelFlags& f, const std::string& default_precision);
// Loads the engine or prints the error (naming file/field) and returns null.
std::unique_ptr<engine::Engine> load_engine_or_report(const ModelFlags& f);

// "1,2,3" -> ids; false on a malformed list (message printed).
bool parse_id_list(const std::string& s, std::vector<int32_t>& out);

// ids from an --ids list, or text encoded with the model's tokenizer (BOS only when asked).
struct InputIdsArgs {
  std::string ids_flag;
  std::string text;
  bool add_bos = false;
};
bool input_ids(const engine::Engine& eng, const InputIdsArgs& a, std::vector<int32_t>& ids);

// Sampling flags; unset ones fall back to the model family's recommendation (R1: T 0.6, top-p 0.95).
struct SamplingFlags {
  std::optional<float> temperature, top_p, min_p;
  std::optional<int> top_k;
  uint64_t seed = 0;
};
void add_sampling_flags(CLI::App& cmd, SamplingFlags& f);
engine::SamplingParams resolve_sampling(const engine::Engine& eng, const SamplingFlags& f);

}  // namespace radseek::cli

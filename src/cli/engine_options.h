// Flags shared by every command that loads a model (-m, --threads, --precision, ...).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace radseek::cli {

struct ModelFlags {
  std::string model_dir;
  int threads = 0;
  std::string precision = "f32";
  std::string attention = "auto";
  std::string isa;
};

void add_model_flags(CLI::App& cmd, ModelFlags& f, const std::string& default_precision);
// Loads the engine or prints the error (naming file/field) and returns null.
std::unique_ptr<engine::Engine> load_engine_or_report(const ModelFlags& f);

// "1,2,3" -> ids; false on a malformed list (message printed).
bool parse_id_list(const std::string& s, std::vector<int32_t>& out);

}  // namespace radseek::cli

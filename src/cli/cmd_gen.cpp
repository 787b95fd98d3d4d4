// radseek gen-checkpoint: seeded random checkpoints in the official layout (tests, demos, benchmarks).
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/timer.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "model/checkpoint_gen.h"
#include "train/tokenizer_files.h"

namespace radseek::cli {
namespace {

struct GenFlags {
  std::string preset = "tiny-v3";
  std::string config_file;
  std::string out;
  std::string dtype = "bf16";
  int64_t layers = 0;
  uint64_t seed = 1;
  bool no_mtp = false;
  bool with_tokenizer = false;
  double shard_gb = 4.0;
};

int run_gen(const GenFlags& f) {
  nlohmann::json cfg;
  if (!f.config_file.empty()) {
    std::ifstream in(f.config_file);
    cfg = nlohmann::json::parse(in, nullptr, false);
    if (!in || cfg.is_discarded()) {
      std::fprintf(stderr, "radseek gen-checkpoint: %s: not readable JSON\n", f.config_file.c_str());
      return 2;
    }
  } else {
    auto p = model::preset_config(f.preset);
    if (!p) {
      std::fprintf(stderr, "radseek gen-checkpoint: %s\n", p.error().message.c_str());
      return 2;
    }
    cfg = *p;
  }
  if (f.layers > 0) cfg["num_hidden_layers"] = f.layers;
  if (cfg.contains("first_k_dense_replace") && f.layers > 0 && cfg["first_k_dense_replace"].get<int64_t>() > f.layers)
    cfg["first_k_dense_replace"] = f.layers;
  const auto fmt = f.dtype == "fp8" ? model::WeightFormat::kFP8 : f.dtype == "f32" ? model::WeightFormat::kF32
                                                                                  : model::WeightFormat::kBF16;
  Progress bar("writing", /*unit=*/"MB");
  Timer t;
  auto st = model::write_random_checkpoint({.dir = f.out, .config = cfg, .format = fmt, .seed = f.seed,
                                            .include_mtp = !f.no_mtp,
                                            .max_shard_bytes = static_cast<size_t>(f.shard_gb * 1e9),
                                            .progress = [&](size_t done, size_t total) {
                                              bar.update(static_cast<double>(done) / 1e6, static_cast<double>(total) / 1e6);
                                            }});
  bar.finish();
  if (!st) {
    std::fprintf(stderr, "radseek gen-checkpoint: %s\n", st.error().message.c_str());
    return 1;
  }
  if (f.with_tokenizer) {
    if (auto tk = train::write_byte_level_tokenizer(f.out); !tk) {
      std::fprintf(stderr, "radseek gen-checkpoint: %s\n", tk.error().message.c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "wrote %s in %.1f s\n", f.out.c_str(), t.seconds());
  return 0;
}

}  // namespace

void register_gen_checkpoint(CLI::App& app) {
  auto f = std::make_shared<GenFlags>();
  auto* cmd = app.add_subcommand("gen-checkpoint", "Write a seeded random checkpoint in the Hugging Face layout");
  cmd->add_option("-o,--out", f->out, "Output folder")->required();
  cmd->add_option("--preset", f->preset, "tiny-v3, tiny-v2 or v2-lite (DeepSeek-V2-Lite's real shapes)")->capture_default_str();
  cmd->add_option("--config", f->config_file, "Use this config.json instead of a preset");
  cmd->add_option("--layers", f->layers, "Override num_hidden_layers (e.g. 8 for the 4.6 B benchmark model)");
  cmd->add_option("--dtype", f->dtype, "Weight format: bf16, fp8 (e4m3, 128x128 block scales) or f32")
      ->check(CLI::IsMember({"bf16", "fp8", "f32"}))->capture_default_str();
  cmd->add_option("--seed", f->seed, "Random seed")->capture_default_str();
  cmd->add_option("--shard-gb", f->shard_gb, "Maximum shard size in GB")->capture_default_str();
  cmd->add_flag("--no-mtp", f->no_mtp, "Leave out the MTP module");
  cmd->add_flag("--with-tokenizer", f->with_tokenizer,
                "Also write a byte-level tokenizer.json + tokenizer_config.json (no merges, DeepSeek-R1 chat tokens)");
  cmd->footer("Examples:\n  radseek gen-checkpoint --preset tiny-v3 --dtype fp8 -o /tmp/tiny\n"
              "  radseek gen-checkpoint --preset v2-lite --layers 8 --dtype bf16 -o /data/v2lite8-bf16");
  cmd->callback([f] { std::exit(run_gen(*f)); });
}

}  // namespace radseek::cli

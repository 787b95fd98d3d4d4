#include "cli/engine_options.h"

#include <cstdio>
#include <iostream>

namespace radseek::cli {

void add_model_flags(CLI::App& cmd, ModelFlags& f, const std::string& default_precision) {
  f.precision = default_precision;
  cmd.add_option("-m,--model", f.model_dir, "Model folder (config.json, *.safetensors, tokenizer.json)")->required();
  cmd.add_option("-t,--threads", f.threads, "Worker threads (default: all cores)");
  cmd.add_option("--precision", f.precision, "Activation precision: f32 (exact) or bf16 (fast)")
      ->check(CLI::IsMember({"f32", "bf16"}))
      ->capture_default_str();
  cmd.add_option("--attention", f.attention, "MLA form: auto, absorbed or naive")
      ->check(CLI::IsMember({"auto", "absorbed", "naive"}))
      ->capture_default_str();
  cmd.add_option("--isa", f.isa, "Cap the kernel instruction set: scalar, avx2, avx512, amx")
      ->check(CLI::IsMember({"scalar", "avx2", "avx512", "amx"}));
}

std::unique_ptr<engine::Engine> load_engine_or_report(const ModelFlags& f) {
  engine::EngineOptions o;
  o.model_dir = f.model_dir;
  o.threads = f.threads;
  o.precision = f.precision == "bf16" ? kernels::ActPrecision::kBF16 : kernels::ActPrecision::kF32;
  o.attention = f.attention == "naive"      ? model::AttentionMode::kNaive
                : f.attention == "absorbed" ? model::AttentionMode::kAbsorbed
                                            : model::AttentionMode::kAuto;
  if (f.isa == "scalar") o.isa = kernels::Isa::kScalar;
  if (f.isa == "avx2") o.isa = kernels::Isa::kAvx2;
  if (f.isa == "avx512") o.isa = kernels::Isa::kAvx512;
  if (f.isa == "amx") o.isa = kernels::Isa::kAmx;
  auto e = engine::Engine::load(o);
  if (!e) {
    std::fprintf(stderr, "radseek: %s\n", e.error().message.c_str());
    return nullptr;
  }
  return std::move(*e);
}

bool parse_id_list(const std::string& s, std::vector<int32_t>& out) {
  out.clear();
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    const std::string tok = s.substr(i, j - i);
    try {
      size_t used = 0;
      const long v = std::stol(tok, &used);
      if (used != tok.size() || v < 0 || v > INT32_MAX) throw std::invalid_argument(tok);
      out.push_back(static_cast<int32_t>(v));
    } catch (const std::exception&) {
      std::fprintf(stderr, "radseek: --ids: '%s' is not a token id (expected comma-separated integers)\n", tok.c_str());
      return false;
    }
    i = j + 1;
  }
  if (out.empty()) {
    std::fprintf(stderr, "radseek: --ids: no ids given\n");
    return false;
  }
  return true;
}

}  // namespace radseek::cli

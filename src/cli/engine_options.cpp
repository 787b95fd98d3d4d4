#include "cli/engine_options.h"

#include "cli/bundled_model.h"
#include "engine/chat.h"

#include <cstdio>
#include <iostream>

namespace radseek::cli {

void add_model_flags(CLI::App& cmd, ModelFlags& f, const std::string& default_precision) {
  f.precision = default_precision;
  cmd.add_option("-m,--model", f.model_dir,
                 "Model folder (config.json, *.safetensors, tokenizer.json) or a .gguf file (default: the bundled "
                 "model, models/radseek-mini, or $RADSEEK_MODEL)");
  // No -m: the bundled model, resolved once the flags are parsed so every later use sees the path.
  cmd.parse_complete_callback([&f] {
    auto dir = resolve_model_dir(f.model_dir);
    if (!dir) throw CLI::ValidationError("-m,--model", dir.error().message);
    f.model_dir = *dir;
  });
  cmd.add_option("-t,--threads", f.threads, "Worker threads (default: all cores)");
  cmd.add_option("--precision", f.precision, "Activation precision: f32 (exact) or bf16 (fast)")
      ->check(CLI::IsMember({"f32", "bf16"}))
      ->capture_default_str();
  cmd.add_option("--attention", f.attention, "MLA form: auto, absorbed or naive")
      ->check(CLI::IsMember({"auto", "absorbed", "naive"}))
      ->capture_default_str();
  cmd.add_option("--kv-cache", f.kv_cache,
                 "MLA KV cache storage: f32 (exact), bf16 (half the bytes) or fp8 (e4m3 + a scale per row, "
                 "about a quarter); dense models keep f32")
      ->check(CLI::IsMember({"f32", "bf16", "fp8"}))
      ->capture_default_str();
  cmd.add_option("--isa", f.isa, "Cap the kernel instruction set: scalar, avx2, avx512, amx")
      ->check(CLI::IsMember({"scalar", "avx2", "avx512", "amx"}));
  cmd.add_flag("--mmap", f.mmap,
               "Map the weight files from the page cache (starts at once, shares pages with other processes) "
               "instead of reading them into huge-page memory (the default: faster decode)");
}

std::unique_ptr<engine::Engine> load_engine_or_report(const ModelFlags& f) {
  engine::EngineOptions o;
  o.model_dir = f.model_dir;
  o.threads = f.threads;
  o.precision = f.precision == "bf16" ? kernels::ActPrecision::kBF16 : kernels::ActPrecision::kF32;
  o.attention = f.attention == "naive"      ? model::AttentionMode::kNaive
                : f.attention == "absorbed" ? model::AttentionMode::kAbsorbed
                                            : model::AttentionMode::kAuto;
  o.kv_cache = f.kv_cache == "bf16"  ? model::KvDtype::kBF16
               : f.kv_cache == "fp8" ? model::KvDtype::kFP8
                                     : model::KvDtype::kF32;
  if (f.isa == "scalar") o.isa = kernels::Isa::kScalar;
  if (f.isa == "avx2") o.isa = kernels::Isa::kAvx2;
  if (f.isa == "avx512") o.isa = kernels::Isa::kAvx512;
  if (f.isa == "amx") o.isa = kernels::Isa::kAmx;
  o.weights = f.mmap ? FileBacking::kMapped : FileBacking::kResident;
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

bool input_ids(const engine::Engine& eng, const InputIdsArgs& a, std::vector<int32_t>& ids) {
  if (!a.ids_flag.empty()) return parse_id_list(a.ids_flag, ids);
  const tokenizer::Tokenizer* tok = eng.tokenizer();
  if (!tok) {
    std::fprintf(stderr, "radseek: %s has no tokenizer.json; pass --ids instead of text\n",
                 eng.model().checkpoint().dir().c_str());
    return false;
  }
  auto enc = tok->encode(a.text, tokenizer::EncodeOptions{.add_bos = a.add_bos});
  if (!enc) {
    std::fprintf(stderr, "radseek: %s\n", enc.error().message.c_str());
    return false;
  }
  ids = std::move(*enc);
  if (ids.empty()) std::fprintf(stderr, "radseek: the text encodes to no tokens\n");
  return !ids.empty();
}

void add_sampling_flags(CLI::App& cmd, SamplingFlags& f) {
  cmd.add_option("--temperature", f.temperature, "Sampling temperature; 0 = greedy (default 0; R1 models: 0.6)");
  cmd.add_option("--top-p", f.top_p, "Nucleus sampling mass (default 1; R1 models: 0.95)");
  cmd.add_option("--top-k", f.top_k, "Keep the k most likely tokens (0 = off)");
  cmd.add_option("--min-p", f.min_p, "Drop tokens below min_p x p(best) (0 = off)");
  cmd.add_option("--seed", f.seed, "Sampling seed")->capture_default_str();
}

engine::SamplingParams resolve_sampling(const engine::Engine& eng, const SamplingFlags& f) {
  engine::SamplingParams p;
  auto kind = engine::resolve_chat_template(eng, std::nullopt);
  using K = tokenizer::ChatTemplateKind;
  if (kind.ok() && (*kind == K::kDeepSeekR1 || *kind == K::kDeepSeekR1Think || *kind == K::kDeepSeekR1Distill ||
                    *kind == K::kDeepSeekR1_0528))
    p = engine::r1_recommended_sampling();
  if (f.temperature) p.temperature = *f.temperature;
  if (f.top_p) p.top_p = *f.top_p;
  if (f.top_k) p.top_k = *f.top_k;
  if (f.min_p) p.min_p = *f.min_p;
  p.seed = f.seed;
  return p;
}

}  // namespace radseek::cli

// radseek bench: pp/tg tokens/s against the limits measured in the same run.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/engine_options.h"
#include "engine/bench.h"

namespace radseek::cli {
namespace {

struct BenchFlags {
  ModelFlags model;
  int64_t p = 512, n = 128, r = 5, long_ctx = 4096;
  bool json_out = false;
};

double mn(const std::vector<double>& v) { return v.empty() ? 0 : *std::min_element(v.begin(), v.end()); }
double mx(const std::vector<double>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }

nlohmann::json to_json(const engine::BenchResult& r, const BenchFlags& f) {
  const double tg = engine::median(r.tg_tps), pp = engine::median(r.pp_tps), tga = engine::median(r.tg_after_prompt_tps);
  const double limit_tps = r.bandwidth_gbs * 1e9 / static_cast<double>(r.weight_bytes_per_token);
  return {{"model", f.model.model_dir}, {"threads", r.threads}, {"isa", r.isa}, {"precision", f.model.precision},
          {"prompt_tokens", f.p}, {"gen_tokens", f.n}, {"repeats", f.r},
          {"pp_tps_min", mn(r.pp_tps)}, {"pp_tps_median", pp}, {"pp_tps_max", mx(r.pp_tps)},
          {"tg_tps_min", mn(r.tg_tps)}, {"tg_tps_median", tg}, {"tg_tps_max", mx(r.tg_tps)},
          {"weight_bytes_per_token", r.weight_bytes_per_token}, {"weight_bytes_total", r.weight_bytes_total},
          {"measured_bandwidth_gbs", r.bandwidth_gbs}, {"bandwidth_probes_gbs", r.bandwidth_probes_gbs},
          {"tg_achieved_gbs", tg * r.weight_bytes_per_token / 1e9},
          {"tg_limit_tps", limit_tps}, {"tg_fraction_of_limit", tg / limit_tps},
          {"tg_after_prompt_tps_min", mn(r.tg_after_prompt_tps)}, {"tg_after_prompt_tps_median", tga},
          {"tg_after_prompt_tps_max", mx(r.tg_after_prompt_tps)}, {"tg_after_prompt_fraction_of_limit", tga / limit_tps},
          {"flops_per_token", r.flops_per_token}, {"matmul_gflops_measured", r.matmul_gflops},
          {"pp_gflops", pp * r.flops_per_token / 1e9},
          {"pp_fraction_of_matmul", pp * r.flops_per_token / 1e9 / std::max(r.matmul_gflops, 1e-9)},
          {"long_context", f.long_ctx}, {"tg_long_tps_median", engine::median(r.tg_long_tps)},
          {"kv_cache_bytes", r.kv_cache_bytes}, {"kv_cache_type", r.kv_cache_type},
          {"kv_cache_bytes_per_token", r.kv_cache_bytes_per_token}, {"rss_bytes", r.rss_bytes}};
}

int run_bench(const BenchFlags& f) {
  auto eng = load_engine_or_report(f.model);
  if (!eng) return 1;
  engine::BenchParams p{.prompt_tokens = f.p, .gen_tokens = f.n, .repeats = f.r, .long_context = f.long_ctx};
  p.progress = [](const std::string& s) { std::fprintf(stderr, "bench: %s\n", s.c_str()); };
  auto r = engine::run_bench(*eng, p);
  if (!r) {
    std::fprintf(stderr, "radseek bench: %s\n", r.error().message.c_str());
    return 1;
  }
  const auto j = to_json(*r, f);
  if (f.json_out) {
    std::cout << j.dump() << "\n";
    return 0;
  }
  std::printf("model %s, %d threads, kernels %s, precision %s\n", f.model.model_dir.c_str(), r->threads,
              r->isa.c_str(), f.model.precision.c_str());
  std::printf("%-24s %10s %10s %10s   %s\n", "", "min", "median", "max", "limit (measured in this run)");
  std::printf("%-24s %10.1f %10.1f %10.1f   %.1f%% of the kernels' matmul rate (%.0f GFLOP/s; %.2f GFLOP/token)\n",
              ("pp" + std::to_string(f.p) + " tok/s").c_str(), mn(r->pp_tps), engine::median(r->pp_tps),
              mx(r->pp_tps), 100 * j["pp_fraction_of_matmul"].get<double>(), r->matmul_gflops, r->flops_per_token / 1e9);
  std::printf("%-24s %10.2f %10.2f %10.2f   %.1f%% of bandwidth limit %.2f tok/s (best of %zu probes %.1f GB/s / %.3f GB/token)\n",
              ("tg" + std::to_string(f.n) + " tok/s").c_str(), mn(r->tg_tps), engine::median(r->tg_tps),
              mx(r->tg_tps), 100 * j["tg_fraction_of_limit"].get<double>(), j["tg_limit_tps"].get<double>(),
              r->bandwidth_probes_gbs.size(), r->bandwidth_gbs, r->weight_bytes_per_token / 1e9);
  std::printf("%-24s %10.2f %10.2f %10.2f   %.1f%% of the same limit\n",
              ("tg" + std::to_string(f.n) + " after pp" + std::to_string(f.p)).c_str(), mn(r->tg_after_prompt_tps),
              engine::median(r->tg_after_prompt_tps), mx(r->tg_after_prompt_tps),
              100 * j["tg_after_prompt_fraction_of_limit"].get<double>());
  if (f.long_ctx > 0)
    std::printf("%-24s %10.2f\n", ("tg @ ctx " + std::to_string(f.long_ctx)).c_str(), engine::median(r->tg_long_tps));
  std::printf("weights %.2f GB, KV cache %.1f MB (%s, %lld bytes/token), resident %.2f GB\n", r->weight_bytes_total / 1e9,
              r->kv_cache_bytes / 1e6, r->kv_cache_type.c_str(), (long long)r->kv_cache_bytes_per_token, r->rss_bytes / 1e9);
  return 0;
}

}  // namespace

void register_bench(CLI::App& app) {
  auto f = std::make_shared<BenchFlags>();
  auto* cmd = app.add_subcommand("bench", "Prefill and decode speed against the hardware limits measured in the same run");
  add_model_flags(*cmd, f->model, "bf16");
  cmd->add_option("-p,--prompt-tokens", f->p, "Prompt length for prompt processing")->capture_default_str();
  cmd->add_option("-n,--gen-tokens", f->n,
                  "Tokens to generate, from an empty cache (as llama-bench's tg) and again right after the prompt")
      ->capture_default_str();
  cmd->add_option("-r,--repeats", f->r, "Repeats (min / median / max are reported)")->capture_default_str();
  cmd->add_option("--long-context", f->long_ctx, "Also decode with this many tokens in the cache (0 = skip)")->capture_default_str();
  cmd->add_flag("--json", f->json_out, "One JSON object (pp_tps_median, tg_tps_median, weight_bytes_per_token, ...)");
  cmd->footer("Example:\n  radseek gen-checkpoint --preset v2-lite --layers 8 --dtype fp8 -o /data/v2l8-fp8\n"
              "  radseek bench -m /data/v2l8-fp8 -p 512 -n 128 -t 2 -r 5");
  cmd->callback([f] { std::exit(run_bench(*f)); });
}

}  // namespace radseek::cli

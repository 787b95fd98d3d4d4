// `radseek bench`: prompt-processing and generation speed, with the limits they are judged against
// measured in the same run (memory read bandwidth; matrix throughput of the chosen kernels).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace radseek::engine {

struct BenchParams {
  int64_t prompt_tokens = 512;
  int64_t gen_tokens = 128;
  int64_t repeats = 5;
  int64_t long_context = 4096;  // 0: skip the long-context decode measurement
  uint64_t seed = 1;
  std::function<void(const std::string&)> progress = {};  // optional status lines
};

struct BenchResult {
  // One entry per repeat. tg_tps: decode from an empty cache (what llama-bench's tg measures);
  // tg_after_prompt_tps: decode right after the pp prompt, its tokens in the cache.
  std::vector<double> pp_tps, tg_tps, tg_after_prompt_tps, tg_long_tps;
  double bandwidth_gbs = 0.0;       // read bandwidth with the engine's threads: the best probe
  std::vector<double> bandwidth_probes_gbs;  // every probe (before the first repeat, after each)
  int64_t weight_bytes_per_token = 0;
  int64_t weight_bytes_total = 0;
  double flops_per_token = 0.0;     // 2 × matrix parameters a token multiplies
  double matmul_gflops = 0.0;       // the kernels' own large-matrix throughput in this run
  int64_t kv_cache_bytes = 0;
  int64_t kv_cache_bytes_per_token = 0;  // all layers, in the cache's storage type
  std::string kv_cache_type;
  int64_t rss_bytes = 0;
  int threads = 0;
  std::string isa;
};

Expected<BenchResult> run_bench(const Engine& e, const BenchParams& p);

double median(std::vector<double> v);

}  // namespace radseek::engine

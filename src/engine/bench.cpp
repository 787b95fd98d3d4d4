#include "engine/bench.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>

#include "base/timer.h"
#include "model/linear.h"
#include "model/param_count.h"

namespace radseek::engine {
namespace {

// Larger than any last-level cache by far, so the sum streams from DRAM.
constexpr size_t kBandwidthBytes = size_t{1} << 30;
// Activation rows of the matmul-rate probe: a prompt-sized product (the old BF16 probe used 256 too).
constexpr int64_t kMatmulRows = 256;
constexpr int kMatmulMinRepeats = 5;
constexpr double kMatmulSeconds = 0.5;

int64_t rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return 0;
}

// Best of three full reads of a 1 GiB buffer, split over the engine's threads.
double measure_bandwidth(const Engine& e) {
  const size_t n = kBandwidthBytes / sizeof(float);
  std::vector<float> buf(n, 1.0f);
  const model::Context& ctx = e.context();
  const int threads = ctx.pool->size();
  const int64_t chunk = static_cast<int64_t>(n) / threads;
  std::vector<float> sink(static_cast<size_t>(threads));
  double best = 0.0;
  for (int rep = 0; rep < 3; ++rep) {
    Timer t;
    ctx.pool->parallel_for(threads, [&](int64_t i, int) {
      const float* p = buf.data() + i * chunk;
      sink[i] = ctx.kernels->dot_f32(p, p, chunk);  // one stream: both operands are the same memory
    });
    best = std::max(best, static_cast<double>(kBandwidthBytes) / t.seconds() / 1e9);
  }
  return best;
}

// Throughput of the kernels in the checkpoint's own format: the model's representative matrix (a
// routed expert's gate_proj) times kMatmulRows activation rows, the shape of a prompt's products. A
// fixed BF16 probe had read integer prefill as 170-230% of "the" rate.
double measure_matmul(const Engine& e) {
  const kernels::WeightMatrix& w = e.model().representative_weight();
  const int64_t m = kMatmulRows, n = w.rows, k = w.cols;
  std::vector<float> x(static_cast<size_t>(m * k)), y(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m * k; ++i) x[static_cast<size_t>(i)] = 0.01f * static_cast<float>((i * 37) % 101 - 50);
  const model::LinearArgs args{.x = x.data(), .m = m, .ldx = k, .w = &w, .y = y.data(), .ldy = n};
  model::linear(e.context(), args);  // untimed: pages the matrix in
  double best = 0.0;
  // A product takes milliseconds and this VM's throughput drifts: the best of repeats over ~0.5 s.
  Timer total;
  for (int rep = 0; rep < kMatmulMinRepeats || total.seconds() < kMatmulSeconds; ++rep) {
    Timer t;
    model::linear(e.context(), args);
    best = std::max(best, 2.0 * m * n * k / t.seconds() / 1e9);
  }
  return best;
}

// A cache holding `len` tokens of synthetic latents: the decode cost at long context depends on the
// length, not the values, so the prompt need not be computed.
void fill_cache(Session& s, int64_t len, uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  auto& c = s.cache();
  std::vector<float> row(static_cast<size_t>(c.row_size()));  // [row_size]
  for (int64_t l = 0; l < c.shape().n_layers; ++l)
    for (int64_t j = 0; j < len; ++j) {
      for (float& v : row) v = u(rng);
      c.write_row(l, j, row.data());
    }
  c.set_length(len);
}

Status decode_steps(const Engine& e, Session& s, int64_t n, double& seconds) {
  int32_t id = argmax(s.last_logits(), e.model().config().vocab_size);
  Timer t;
  for (int64_t i = 0; i < n; ++i) {
    RADSEEK_TRY(e.feed(s, std::span(&id, 1)));
    id = argmax(s.last_logits(), e.model().config().vocab_size);
  }
  seconds = t.seconds();
  return {};
}

}  // namespace

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

Expected<BenchResult> run_bench(const Engine& e, const BenchParams& p) {
  BenchResult r;
  const auto& cfg = e.model().config();
  const auto tb = e.model().weight_bytes(e.context().precision);
  r.weight_bytes_per_token = tb.per_token;
  r.weight_bytes_total = tb.total_weights;
  r.flops_per_token = 2.0 * static_cast<double>(model::count_params(cfg).active_per_token - cfg.hidden_size * cfg.vocab_size);
  r.threads = e.threads();
  r.isa = kernels::isa_name(e.kernel_table().isa);
  auto say = [&](const std::string& s) { if (p.progress) p.progress(s); };
  // The bandwidth probe runs before the first repeat and after each one, and the limit is the best
  // it read: on a shared machine the rate drifts by tens of percent within a minute, and one probe
  // taken in a slow moment made decode read as over 100% of the limit.
  say("measuring memory bandwidth");
  r.bandwidth_probes_gbs.push_back(measure_bandwidth(e));
  say("measuring matrix throughput");
  r.matmul_gflops = measure_matmul(e);
  std::mt19937 rng(static_cast<uint32_t>(p.seed));
  std::vector<int32_t> prompt(static_cast<size_t>(p.prompt_tokens));
  for (auto& id : prompt) id = static_cast<int32_t>(rng() % static_cast<uint32_t>(cfg.vocab_size));
  Session s(e.model(), p.prompt_tokens + p.gen_tokens + 1);
  r.kv_cache_bytes = static_cast<int64_t>(s.cache().bytes());
  r.kv_cache_bytes_per_token = s.cache().bytes_per_token();
  r.kv_cache_type = model::kv_dtype_name(s.cache().dtype());
  // One uncounted pass first: the weights are memory-mapped, and the first touch of each page costs a
  // page fault that says nothing about steady-state speed.
  say("warm-up (not counted)");
  RADSEEK_TRY(e.feed(s, prompt));
  double warm = 0.0;
  RADSEEK_TRY(decode_steps(e, s, std::min<int64_t>(p.gen_tokens, 8), warm));
  for (int64_t rep = 0; rep < p.repeats; ++rep) {
    say("repeat " + std::to_string(rep + 1) + "/" + std::to_string(p.repeats));
    s.reset();
    Timer t;
    RADSEEK_TRY(e.feed(s, prompt));
    r.pp_tps.push_back(p.prompt_tokens / t.seconds());
    double sec = 0.0;
    RADSEEK_TRY(decode_steps(e, s, p.gen_tokens, sec));
    r.tg_after_prompt_tps.push_back(p.gen_tokens / sec);
    s.reset();  // then from an empty cache: one (untimed) token in, gen_tokens decoded
    RADSEEK_TRY(e.feed(s, std::span(prompt.data(), 1)));
    RADSEEK_TRY(decode_steps(e, s, p.gen_tokens, sec));
    r.tg_tps.push_back(p.gen_tokens / sec);
    r.bandwidth_probes_gbs.push_back(measure_bandwidth(e));
  }
  r.bandwidth_gbs = *std::max_element(r.bandwidth_probes_gbs.begin(), r.bandwidth_probes_gbs.end());
  if (p.long_context > 0) {
    Session ls(e.model(), p.long_context + 17);
    for (int64_t rep = 0; rep < std::min<int64_t>(p.repeats, 3); ++rep) {
      say("decode at context " + std::to_string(p.long_context));
      fill_cache(ls, p.long_context, p.seed + rep);
      const int32_t first = prompt[0];
      RADSEEK_TRY(e.feed(ls, std::span(&first, 1)));
      double sec = 0.0;
      RADSEEK_TRY(decode_steps(e, ls, 16, sec));
      r.tg_long_tps.push_back(16 / sec);
    }
  }
  r.rss_bytes = rss_bytes();
  return r;
}

}  // namespace radseek::engine

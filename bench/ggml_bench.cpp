// Micro-benchmarks of the GGUF block-weight kernels (KernelTable::gemm_ggml), single thread.
//   GgmlMatvec/<isa>/<type>/<MiB>: y = W·x, m = 1, k = 1536, activations kBF16 (the integer path),
//     over <MiB> of weight blocks, as weight bytes per second. 512 MiB streams from DRAM (past the
//     260 MiB L3 here): compare with ReadBandwidth in kernels_bench. 1 MiB stays in L2: the kernel's
//     compute ceiling, which must be well above the per-core DRAM rate for decode to be bandwidth-bound.
//   GgmlMatmul/<isa>/<type>/m: prefill-shaped, n = k = 2048, FLOP/s (2·m·n·k).
//   GgmlShortRows/<isa>/<type>/k: MLA's per-head products in decode, m = 1 (see short_rows).
// Rates use the thread's CPU time, so a busy shared machine does not read as a slow kernel.
// Run: build/bench/ggml_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/ref/ggml_quants.h"

namespace radseek::kernels {
namespace {

constexpr int64_t kK = 1536;

// One row of valid blocks of random-ish weights, repeated: streaming cost does not depend on values.
std::vector<uint8_t> make_blocks(GgmlQuant q, int64_t rows, int64_t k) {
  std::vector<float> x(static_cast<size_t>(k));
  uint32_t s = 12345;
  for (float& v : x) {
    s = s * 1664525u + 1013904223u;
    v = static_cast<float>(static_cast<int32_t>(s >> 8)) * 1e-8f;
  }
  const GgmlQuantInfo info = ggml_quant_info(q);
  const int64_t rb = k / info.block_elems * info.block_bytes;
  std::vector<uint8_t> row(static_cast<size_t>(rb));
  switch (q) {
    case GgmlQuant::kQ8_0: ref::quantize_row_q8_0(x.data(), row.data(), k); break;
    case GgmlQuant::kQ4_0: ref::quantize_row_q4_0(x.data(), row.data(), k); break;
    case GgmlQuant::kQ5_0: ref::quantize_row_q5_0(x.data(), row.data(), k); break;
    case GgmlQuant::kQ4_K: ref::quantize_row_q4_k(x.data(), row.data(), k); break;
    case GgmlQuant::kQ6_K: ref::quantize_row_q6_k(x.data(), row.data(), k); break;
    case GgmlQuant::kQ5_K: ref::quantize_row_q5_k(x.data(), row.data(), k); break;
    default: break;
  }
  std::vector<uint8_t> all(static_cast<size_t>(rb * rows));
  for (int64_t r = 0; r < rows; ++r) std::copy(row.begin(), row.end(), all.begin() + r * rb);
  return all;
}

struct Problem {
  std::vector<uint8_t> blocks;
  std::vector<float> x, y;
  WeightMatrix w;
  GemmArgs args;
};

Problem make_problem(GgmlQuant q, int64_t m, int64_t n, int64_t k) {
  Problem p;
  p.blocks = make_blocks(q, n, k);
  p.w = WeightMatrix{.dtype = DType::kU8, .data = p.blocks.data(), .rows = n, .cols = k, .ggml = q};
  p.x.resize(static_cast<size_t>(m * k));
  for (int64_t i = 0; i < m * k; ++i) p.x[i] = static_cast<float>((i * 7919) % 201 - 100) * 0.01f;
  p.y.assign(static_cast<size_t>(m * n), 0.0f);
  p.args = GemmArgs{.x = p.x.data(), .m = m, .ldx = k, .w = &p.w, .y = p.y.data(), .ldy = n, .n_begin = 0,
                    .n_end = n, .precision = ActPrecision::kBF16};
  return p;
}

bool skip_unsupported(benchmark::State& state, Isa isa) {
  if (isa <= best_supported_isa(detect_cpu_features())) return false;
  state.SkipWithError((std::string("CPU lacks ") + isa_name(isa)).c_str());
  return true;
}

void matvec(benchmark::State& state, Isa isa, GgmlQuant q) {
  if (skip_unsupported(state, isa)) return;
  const KernelTable t = make_kernel_table(isa);
  const GgmlQuantInfo info = ggml_quant_info(q);
  const int64_t rb = kK / info.block_elems * info.block_bytes;
  const int64_t n = (state.range(0) << 20) / rb;
  Problem p = make_problem(q, 1, n, kK);
  for (auto _ : state) {
    t.gemm_ggml(p.args);
    benchmark::DoNotOptimize(p.y.data());
  }
  state.SetBytesProcessed(state.iterations() * n * rb);
}

// MLA's per-head products in absorbed decode, as weight bytes per second: attn_k_b (Arg 128: a head's
// 512 rows of qk_nope = 128 columns) and attn_v_b (Arg 512: a head's 128 rows of kv_lora_rank = 512).
void short_rows(benchmark::State& state, Isa isa, GgmlQuant q) {
  if (skip_unsupported(state, isa)) return;
  const KernelTable t = make_kernel_table(isa);
  const int64_t k = state.range(0), n = k == 128 ? 512 : 128, heads = 16;
  Problem p = make_problem(q, 1, n * heads, k);
  for (auto _ : state) {
    for (int64_t h = 0; h < heads; ++h) {
      GemmArgs a = p.args;
      a.n_begin = h * n;
      a.n_end = (h + 1) * n;
      t.gemm_ggml(a);
    }
    benchmark::DoNotOptimize(p.y.data());
  }
  state.SetBytesProcessed(state.iterations() * heads * n * (k / ggml_quant_info(q).block_elems * ggml_quant_info(q).block_bytes));
}

void matmul(benchmark::State& state, Isa isa, GgmlQuant q) {
  if (skip_unsupported(state, isa)) return;
  const KernelTable t = make_kernel_table(isa);
  const int64_t m = state.range(0), n = 2048, k = 2048;
  Problem p = make_problem(q, m, n, k);
  for (auto _ : state) {
    t.gemm_ggml(p.args);
    benchmark::DoNotOptimize(p.y.data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(m * n * k) * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
}

void register_all() {
  const GgmlQuant types[] = {GgmlQuant::kQ8_0, GgmlQuant::kQ4_0, GgmlQuant::kQ5_0, GgmlQuant::kQ4_K, GgmlQuant::kQ5_K,
                             GgmlQuant::kQ6_K};
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    for (GgmlQuant q : types) {
      const std::string tag = std::string(isa_name(isa)) + "/" + ggml_quant_info(q).name;
      benchmark::RegisterBenchmark(("GgmlMatvec/" + tag).c_str(), matvec, isa, q)->Arg(1)->Arg(512)->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("GgmlMatmul/" + tag).c_str(), matmul, isa, q)->Arg(4)->Arg(64)->Unit(benchmark::kMillisecond);
      auto* b = benchmark::RegisterBenchmark(("GgmlShortRows/" + tag).c_str(), short_rows, isa, q)->Arg(512);
      if (ggml_quant_info(q).block_elems == 32) b->Arg(128);
      b->Unit(benchmark::kMicrosecond);
    }
  }
}

const bool kRegistered = (register_all(), true);

}  // namespace
}  // namespace radseek::kernels

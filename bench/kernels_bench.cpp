// Kernel micro-benchmarks, single thread, per ISA level this CPU supports.
//   Matvec/<isa>/<dtype>[/bf16act]: y = W·x with m = 1 over a 512 MiB weight matrix (larger than any
//     cache here), reported as weight bytes read per second — compare with ReadBandwidth, a plain
//     dot_f32 over 512 MiB (the single-thread read limit this benchmark can reach). bf16act is the
//     precision decode runs at (ActPrecision::kBF16), which has its own FP8 kernel. The argument is
//     the matrix size in MiB: 512 measures streaming from memory, 1 (in L2) the kernel's own
//     arithmetic rate — what it would reach with unlimited bandwidth.
//   Matmul/<isa>/<dtype>/<precision>/m: prefill-shaped product, n = k = 2048, as FLOP/s (2·m·n·k).
// Rates use the thread's CPU time (Google Benchmark's default), so a busy shared machine that
// deschedules the benchmark does not read as a slow kernel.
// Run: build-kern/bench/kernels_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/numeric.h"
#include "kernels/kernels.h"

namespace radseek::kernels {
namespace {

constexpr int64_t kBigBytes = int64_t{512} << 20;  // past the 260 MiB L3 of the target machine
constexpr int64_t kMatvecK = 8192;

// Weights with finite, varied values. FP8 codes are normal values quantised as a checkpoint's are
// (block maximum near 448), so subnormal codes are as rare as in real weights (their fix-up is slow).
std::vector<uint8_t> make_weight_bytes(DType d, int64_t count) {
  std::vector<uint8_t> bytes(static_cast<size_t>(count) * dtype_size(d));
  if (d == DType::kF8E4M3) {
    std::mt19937 rng(12345);
    std::normal_distribution<float> normal(0.0f, 448.0f / 4.5f);
    for (int64_t i = 0; i < count; ++i) bytes[i] = f32_to_fp8_e4m3(normal(rng));
    return bytes;
  }
  uint32_t s = 12345;
  for (int64_t i = 0; i < count; ++i) {
    s = s * 1664525u + 1013904223u;
    const float v = static_cast<float>(static_cast<int32_t>(s >> 8)) * 1e-7f;
    switch (d) {
      case DType::kF32: std::memcpy(&bytes[i * 4], &v, 4); break;
      case DType::kBF16: { const uint16_t h = f32_to_bf16(v); std::memcpy(&bytes[i * 2], &h, 2); break; }
      case DType::kF16: { const uint16_t h = f32_to_fp16(v); std::memcpy(&bytes[i * 2], &h, 2); break; }
      default: bytes[i] = static_cast<uint8_t>((s >> 24) % 0x7f) | static_cast<uint8_t>(s & 0x80);
    }
  }
  return bytes;
}

struct Problem {
  std::vector<uint8_t> bytes;
  std::vector<float> scales;
  std::vector<float> x, y;
  WeightMatrix w;
};

Problem make_problem(DType d, int64_t m, int64_t n, int64_t k) {
  Problem p;
  p.bytes = make_weight_bytes(d, n * k);
  p.w = WeightMatrix{.dtype = d, .data = p.bytes.data(), .rows = n, .cols = k};
  if (d == DType::kF8E4M3) {
    p.scales.assign(static_cast<size_t>(((n + 127) / 128) * ((k + 127) / 128)), 1e-3f);
    p.w.block_scale = p.scales.data();
  }
  p.x.assign(static_cast<size_t>(m * k), 0.5f);
  p.y.assign(static_cast<size_t>(m * n), 0.0f);
  return p;
}

bool skip_unsupported(benchmark::State& state, Isa isa) {
  if (isa <= best_supported_isa(detect_cpu_features())) return false;
  state.SkipWithError((std::string("CPU lacks ") + isa_name(isa)).c_str());
  return true;
}

void matvec(benchmark::State& state, Isa isa, DType d, ActPrecision prec) {
  if (skip_unsupported(state, isa)) return;
  const KernelTable t = make_kernel_table(isa);
  const int64_t bytes = state.range(0) << 20;
  const int64_t n = bytes / (kMatvecK * static_cast<int64_t>(dtype_size(d)));
  Problem p = make_problem(d, 1, n, kMatvecK);
  const GemmArgs a{.x = p.x.data(), .m = 1, .ldx = kMatvecK, .w = &p.w, .y = p.y.data(), .ldy = n, .n_begin = 0,
                   .n_end = n, .precision = prec};
  for (auto _ : state) {
    t.gemm(a);
    benchmark::DoNotOptimize(p.y.data());
  }
  state.SetBytesProcessed(state.iterations() * n * kMatvecK * static_cast<int64_t>(dtype_size(d)));
}

void matmul(benchmark::State& state, Isa isa, DType d, ActPrecision prec) {
  if (skip_unsupported(state, isa)) return;
  const KernelTable t = make_kernel_table(isa);
  const int64_t m = state.range(0), n = 2048, k = 2048;
  Problem p = make_problem(d, m, n, k);
  const GemmArgs a{.x = p.x.data(), .m = m, .ldx = k, .w = &p.w, .y = p.y.data(), .ldy = n, .n_begin = 0,
                   .n_end = n, .precision = prec};
  for (auto _ : state) {
    t.gemm(a);
    benchmark::DoNotOptimize(p.y.data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(m * n * k) * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
}

void read_bandwidth(benchmark::State& state) {
  const KernelTable t = make_kernel_table(best_supported_isa(detect_cpu_features()));
  const int64_t count = kBigBytes / 4;
  std::vector<float> a(static_cast<size_t>(count), 1.0f);
  for (auto _ : state) benchmark::DoNotOptimize(t.dot_f32(a.data(), a.data(), count));
  state.SetBytesProcessed(state.iterations() * kBigBytes);
}

void register_all() {
  benchmark::RegisterBenchmark("ReadBandwidth/dot_f32", read_bandwidth)->Unit(benchmark::kMillisecond);
  const Isa isas[] = {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAmx};
  for (Isa isa : isas) {
    for (DType d : {DType::kF32, DType::kBF16, DType::kF16, DType::kF8E4M3}) {
      if (isa == Isa::kScalar) continue;  // ~1 GB/s; not worth a 512 MiB pass per iteration
      const std::string name = std::string("Matvec/") + isa_name(isa) + "/" + std::string(dtype_name(d));
      benchmark::RegisterBenchmark(name.c_str(), matvec, isa, d, ActPrecision::kF32)
          ->Unit(benchmark::kMillisecond)->Arg(kBigBytes >> 20)->Arg(1);
      if (d == DType::kBF16 || d == DType::kF8E4M3)
        benchmark::RegisterBenchmark((name + "/bf16act").c_str(), matvec, isa, d, ActPrecision::kBF16)
            ->Unit(benchmark::kMillisecond)->Arg(kBigBytes >> 20)->Arg(1);
    }
  }
  for (Isa isa : isas) {
    for (DType d : {DType::kBF16, DType::kF8E4M3}) {
      for (ActPrecision prec : {ActPrecision::kF32, ActPrecision::kBF16}) {
        const std::string name = std::string("Matmul/") + isa_name(isa) + "/" + std::string(dtype_name(d)) +
                                 (prec == ActPrecision::kF32 ? "/f32act" : "/bf16act");
        auto* b = benchmark::RegisterBenchmark(name.c_str(), matmul, isa, d, prec)->Unit(benchmark::kMillisecond);
        if (isa == Isa::kScalar) {
          b->Arg(16);
        } else {
          b->Arg(16)->Arg(128)->Arg(512);
        }
      }
    }
  }
}

const bool kRegistered = (register_all(), true);

}  // namespace
}  // namespace radseek::kernels

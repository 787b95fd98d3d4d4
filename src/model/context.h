// What every forward call needs, passed explicitly (no globals): threads, kernels, precision.
#pragma once

#include "base/thread_pool.h"
#include "kernels/kernels.h"

namespace radseek::model {

// How attention is computed. Absorbed: the MQA form over the latent cache (spec §3.5, decode).
// Naive: keys and values decompressed from the cache (prefill and reference). Auto: absorbed for
// short steps, naive for long prompts.
enum class AttentionMode { kAuto, kAbsorbed, kNaive };

// Training only (src/train/fp8_sim.h; inference ignores it): the number format the training GEMMs'
// inputs are rounded to before their FP32 product. BF16, or DeepSeek-V3's FP8 recipe (e4m3, 1×128
// activation tiles, 128×128 weight blocks), simulated on copies because CPUs have no FP8 matrix units.
enum class TrainGemmPrecision : uint8_t { kF32, kBF16, kFP8 };

struct Context {
  ThreadPool* pool = nullptr;
  const kernels::KernelTable* kernels = nullptr;
  kernels::ActPrecision precision = kernels::ActPrecision::kF32;
  AttentionMode attention = AttentionMode::kAuto;
  TrainGemmPrecision train_gemm = TrainGemmPrecision::kF32;
};

}  // namespace radseek::model

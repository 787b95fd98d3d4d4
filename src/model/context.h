// What every forward call needs, passed explicitly (no globals): threads, kernels, precision.
#pragma once

#include "base/thread_pool.h"
#include "kernels/kernels.h"

namespace radseek::model {

// How attention is computed. Absorbed: the MQA form over the latent cache (spec §3.5, decode).
// Naive: keys and values decompressed from the cache (prefill and reference). Auto: absorbed for
// short steps, naive for long prompts.
enum class AttentionMode { kAuto, kAbsorbed, kNaive };

struct Context {
  ThreadPool* pool = nullptr;
  const kernels::KernelTable* kernels = nullptr;
  kernels::ActPrecision precision = kernels::ActPrecision::kF32;
  AttentionMode attention = AttentionMode::kAuto;
};

}  // namespace radseek::model

// y = x · Wᵀ over the thread pool, splitting W's rows; and row dequantisation (embedding lookup).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/context.h"

namespace radseek::model {

struct LinearArgs {
  const float* x = nullptr;  // [m, ldx]
  int64_t m = 0;
  int64_t ldx = 0;
  const kernels::WeightMatrix* w = nullptr;  // [n, k]
  float* y = nullptr;  // [m, ldy]
  int64_t ldy = 0;
};

void linear(const Context& ctx, const LinearArgs& a);
// Same with explicit precision (the router is always FP32).
void linear_with(const Context& ctx, const LinearArgs& a, kernels::ActPrecision p);

// Per-call bookkeeping of linear_batch, kept by the caller so a warm decode allocates nothing.
struct LinearBatchScratch {
  std::vector<int64_t> first_task;  // [jobs + 1] index of each job's first task
  std::vector<int64_t> chunk;       // [jobs] rows per task
  std::vector<int64_t> xq_offset;   // [jobs] byte offset of the job's shared int8 activations, or -1
  std::vector<uint8_t> quantize_here;  // [jobs] 1 for the first job reading those activations
};

// Several independent products (ctx.precision) in one pool call, each split over rows as linear()
// splits it. Decode's MoE runs every expert's gate and up projections as one batch and their down
// projections as another: the pool synchronises twice instead of three times per expert, and a thread
// that finishes early takes rows of the next matrix instead of waiting at the end of each.
void linear_batch(const Context& ctx, std::span<const LinearArgs> jobs, LinearBatchScratch& s);

// out [n_rows, w.cols] = W[row0 .. row0+n_rows) as f32 (exact: fp8 × block scale, code × group scale).
void dequant_rows(const kernels::WeightMatrix& w, int64_t row0, int64_t n_rows, float* out);

}  // namespace radseek::model

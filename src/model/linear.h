// y = x · Wᵀ over the thread pool, splitting W's rows; and row dequantisation (embedding lookup).
#pragma once

#include <cstdint>

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

// out [n_rows, w.cols] = W[row0 .. row0+n_rows) as f32 (exact: fp8 × block scale, code × group scale).
void dequant_rows(const kernels::WeightMatrix& w, int64_t row0, int64_t n_rows, float* out);

}  // namespace radseek::model

// Mixed-precision training numerics on a CPU by fake quantisation: before a training GEMM, copies of
// its inputs are rounded to the simulated format and back to FP32, and the product then runs on the
// kernels' FP32 gemm (FP32 accumulation). A CPU has no FP8 (or BF16) matrix units to run the real
// thing, but the values reaching the products are the same as on such hardware, so the effect on the
// loss is reproduced; only the speed is not. Master weights, gradients and optimizer state stay FP32.
//
// FP8 follows the DeepSeek-V3 report §3.3: e4m3 everywhere (forward and both backward products), with
// fine-grained max-abs scaling so that outliers only cost precision inside their own group:
//  - activations and activation gradients: one scale per 1×128 tile (per row, per 128 columns of the
//    reduction dimension K); a row whose K is not a multiple of 128 ends in a shorter tile;
//  - weights: one scale per 128×128 block (ragged at the right and bottom edges).
// A group's scale is amax / 448 (e4m3's largest finite value), so its largest |x| lands on ±448.
// Which GEMMs are quantised is the caller's choice (train/ops.cpp, train_model.cpp): the sensitive
// ones (output head, MoE router) get sensitive_gemm_context(), attention's score/value products and
// the embedding, norms and softmax never go through here.
#pragma once

#include <cstdint>

#include "model/context.h"

namespace radseek::train {

using model::Context;
using model::TrainGemmPrecision;

inline constexpr int64_t kFp8Group = 128;     // tile width and block side
inline constexpr float kFp8E4M3Max = 448.0f;

// The role of a GEMM input, which decides its FP8 scaling groups. For y = x · Wᵀ with x [m, k] and
// W [n, k], both are row-major with the reduction dimension k along the columns.
enum class GemmOperand { kActivation, kWeight };

// In place over a [rows, cols] (reduction along cols): every 1×128 tile (activations) or 128×128
// block (weights) scaled by amax / 448, rounded to e4m3 (nearest even), scaled back. A group that is
// all zero stays zero; one holding Inf or NaN is left as is, so a diverging run still shows it.
// pool may be null (runs on the calling thread).
void fp8_fake_quantize(ThreadPool* pool, GemmOperand op, float* a, int64_t rows, int64_t cols);

// In place: every value rounded to BF16, nearest even.
void bf16_fake_round(ThreadPool* pool, float* a, int64_t n);

// The rounding ctx.train_gemm asks for, applied to one GEMM input (a scratch copy the caller owns).
void round_gemm_input(const Context& ctx, GemmOperand op, float* a, int64_t rows, int64_t cols);

inline bool rounds_gemm_inputs(const Context& ctx) { return ctx.train_gemm != TrainGemmPrecision::kF32; }

// For the GEMMs the V3 recipe keeps in higher precision (output head, MoE router): BF16 inputs when
// the run simulates FP8 (as in the report), so an FP8 run differs from its BF16 twin only in the
// quantised layers; unchanged otherwise.
inline Context sensitive_gemm_context(const Context& ctx) {
  Context c = ctx;
  if (c.train_gemm == TrainGemmPrecision::kFP8) c.train_gemm = TrainGemmPrecision::kBF16;
  return c;
}

}  // namespace radseek::train

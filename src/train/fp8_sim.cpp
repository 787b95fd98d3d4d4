#include "train/fp8_sim.h"

#include <algorithm>
#include <cmath>

#include "base/numeric.h"

namespace radseek::train {
namespace {

// Values per parallel task of the BF16 rounding.
constexpr int64_t kChunk = 1 << 14;

void run(ThreadPool* pool, int64_t tasks, TaskRef fn) {
  if (pool) pool->parallel_for(tasks, fn);
  else
    for (int64_t t = 0; t < tasks; ++t) fn(t, 0);
}

// Largest |x| over rows [r0, r1) × cols [c0, c1) of a [*, ld]; NaN wins (std::max would drop it).
float group_amax(const float* a, int64_t ld, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  float amax = 0.0f;
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t c = c0; c < c1; ++c) {
      const float v = std::fabs(a[r * ld + c]);
      amax = v > amax || std::isnan(v) ? v : amax;
    }
  return amax;
}

// q = e4m3(x / s) · s with s = amax / 448 over the group (division as in DeepSeek's quantisation
// kernels, so a group's largest value maps to ±448 exactly where s is exact).
void quantize_group(float* a, int64_t ld, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const float amax = group_amax(a, ld, r0, r1, c0, c1);
  const float s = amax / kFp8E4M3Max;
  if (!std::isfinite(amax) || s == 0.0f) return;  // zero (or underflowing) group, or a diverged one
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t c = c0; c < c1; ++c) {
      float& v = a[r * ld + c];
      v = fp8_e4m3_to_f32(f32_to_fp8_e4m3(v / s)) * s;
    }
}

}  // namespace

void fp8_fake_quantize(ThreadPool* pool, GemmOperand op, float* a, int64_t rows, int64_t cols) {
  const int64_t col_groups = (cols + kFp8Group - 1) / kFp8Group;
  if (op == GemmOperand::kActivation) {
    constexpr int64_t kRowsPerTask = 16;
    run(pool, (rows + kRowsPerTask - 1) / kRowsPerTask, [&](int64_t t, int) {
      for (int64_t r = t * kRowsPerTask; r < std::min(rows, (t + 1) * kRowsPerTask); ++r)
        for (int64_t g = 0; g < col_groups; ++g)
          quantize_group(a, cols, r, r + 1, g * kFp8Group, std::min(cols, (g + 1) * kFp8Group));
    });
    return;
  }
  const int64_t row_groups = (rows + kFp8Group - 1) / kFp8Group;
  run(pool, row_groups * col_groups, [&](int64_t t, int) {
    const int64_t rg = t / col_groups, cg = t % col_groups;
    quantize_group(a, cols, rg * kFp8Group, std::min(rows, (rg + 1) * kFp8Group), cg * kFp8Group,
                   std::min(cols, (cg + 1) * kFp8Group));
  });
}

void bf16_fake_round(ThreadPool* pool, float* a, int64_t n) {
  run(pool, (n + kChunk - 1) / kChunk, [&](int64_t t, int) {
    for (int64_t i = t * kChunk; i < std::min(n, (t + 1) * kChunk); ++i) a[i] = bf16_round(a[i]);
  });
}

void round_gemm_input(const Context& ctx, GemmOperand op, float* a, int64_t rows, int64_t cols) {
  switch (ctx.train_gemm) {
    case TrainGemmPrecision::kF32: return;
    case TrainGemmPrecision::kBF16: return bf16_fake_round(ctx.pool, a, rows * cols);
    case TrainGemmPrecision::kFP8: return fp8_fake_quantize(ctx.pool, op, a, rows, cols);
  }
}

}  // namespace radseek::train

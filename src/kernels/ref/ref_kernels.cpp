// Scalar reference kernels: the test oracle for every ISA variant, and the fallback on any CPU.
#include <algorithm>
#include <cmath>

#include "base/numeric.h"
#include "kernels/fp8_flags_walk.h"
#include "kernels/kernels.h"
#include "kernels/ref/ggml_gemm.h"
#include "kernels/ref/group_quant.h"
#include "kernels/ref/ref_kernels.h"

namespace radseek::kernels::ref {
namespace {

float weight_at(const WeightMatrix& w, int64_t r, int64_t c) {
  const int64_t i = r * w.cols + c;
  switch (w.dtype) {
    case DType::kF32: return static_cast<const float*>(w.data)[i];
    case DType::kBF16: return bf16_to_f32(static_cast<const uint16_t*>(w.data)[i]);
    case DType::kF16: return fp16_to_f32(static_cast<const uint16_t*>(w.data)[i]);
    case DType::kF8E4M3: return radseek::fp8_e4m3_to_f32(static_cast<const uint8_t*>(w.data)[i]);
    default: return NAN;
  }
}

// W[r, c] as f32 including its block or group scale, for every dtype.
float weight_value(const WeightMatrix& w, int64_t r, int64_t c) {
  if (w.dtype == DType::kF8E4M3) {
    const int64_t scale_cols = (w.cols + w.block_cols - 1) / w.block_cols;
    return weight_at(w, r, c) * w.block_scale[(r / w.block_rows) * scale_cols + c / w.block_cols];
  }
  if (is_group_quant(w.dtype)) {
    const int64_t G = (w.cols + kQuantGroup - 1) / kQuantGroup;
    const int32_t q = group_code(w, r, c);
    return static_cast<float>(q) * w.group_scale[r * G + c / kQuantGroup];
  }
  return weight_at(w, r, c);
}

float act(const GemmArgs& a, int64_t i, int64_t k) {
  const float v = a.x[i * a.ldx + k];
  return a.precision == ActPrecision::kBF16 ? bf16_round(v) : v;
}

}  // namespace

void gemm(const GemmArgs& a) {
  const WeightMatrix& w = *a.w;
  if (is_ggml(w)) return gemm_ggml(a);
  if (is_group_quant(w.dtype)) return gemm_group_quant(a);
  const bool blocked = w.dtype == DType::kF8E4M3;
  const int64_t scale_cols = blocked ? (w.cols + w.block_cols - 1) / w.block_cols : 1;
  for (int64_t i = 0; i < a.m; ++i) {
    for (int64_t j = a.n_begin; j < a.n_end; ++j) {
      float total = 0.0f;
      if (!blocked) {
        for (int64_t k = 0; k < w.cols; ++k) total += act(a, i, k) * weight_at(w, j, k);
      } else {
        // Per block: Σ x·q, then × the block's scale (the same math as dequantise-then-multiply).
        for (int64_t k0 = 0; k0 < w.cols; k0 += w.block_cols) {
          const int64_t k1 = std::min(w.cols, k0 + w.block_cols);
          float part = 0.0f;
          for (int64_t k = k0; k < k1; ++k) part += act(a, i, k) * weight_at(w, j, k);
          total += part * w.block_scale[(j / w.block_rows) * scale_cols + k0 / w.block_cols];
        }
      }
      a.y[i * a.ldy + j - a.y_col_offset] = total;
    }
  }
}

void gemv_t(const GemvTArgs& a) {
  const WeightMatrix& w = *a.w;
  const int64_t ldx = gemv_t_ldx(a), ldy = gemv_t_ldy(a);
  for (int64_t v = 0; v < a.m; ++v) {
    const float* x = a.x + v * ldx;
    float* y = a.y + v * ldy;
    if (is_ggml(w)) {
      gemv_t_ggml(GemvTArgs{.x = x, .w = &w, .row0 = a.row0, .rows = a.rows, .y = y});
      continue;
    }
    for (int64_t c = 0; c < w.cols; ++c) {
      float s = 0.0f;
      for (int64_t i = 0; i < a.rows; ++i) s += x[i] * weight_value(w, a.row0 + i, c);
      y[c] += s;
    }
  }
}

float dot_f32(const float* a, const float* b, int64_t n) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy_f32(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void rmsnorm_f32(const float* x, const float* w, float eps, float* y, int64_t n) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float inv = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(n)) + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = w[i] * (x[i] * inv);
}

void silu_mul_f32(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void fp8_e4m3_to_f32(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = radseek::fp8_e4m3_to_f32(src[i]);
}

void fp8_flags(const Fp8FlagsArgs& a) {
  fp8_flags_walk(a, [](const uint8_t* codes, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      const int mag = codes[i] & 0x7f;
      if ((mag >= 1 && mag <= 7) || mag == 0x7f) return true;
    }
    return false;
  });
}

void transpose_f32(const TransposeArgs& a) {
  for (int64_t i = 0; i < a.rows; ++i)
    for (int64_t j = 0; j < a.cols; ++j) a.out[j * a.ldo + i] = a.a[i * a.lda + j];
}

}  // namespace radseek::kernels::ref

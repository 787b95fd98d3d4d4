// Scalar reference for radseek's Q8 / Q4 formats (see group_quant.h).
#include "kernels/ref/group_quant.h"

#include <algorithm>
#include <cmath>

namespace radseek::kernels::ref {
namespace {

int64_t groups_of(int64_t n) { return (n + kQuantGroup - 1) / kQuantGroup; }

}  // namespace

int32_t group_code(const WeightMatrix& w, int64_t r, int64_t c) {
  if (w.dtype == DType::kI8) return static_cast<const int8_t*>(w.data)[r * w.cols + c];
  const uint8_t* row = static_cast<const uint8_t*>(w.data) + r * row_bytes(w);
  const int64_t g = c / kQuantGroup, in = c % kQuantGroup;
  const uint8_t b = row[g * kQ4GroupBytes + in % kQ4GroupBytes];
  return static_cast<int32_t>(in < kQ4GroupBytes ? (b & 0x0f) : (b >> 4)) - kQ4Offset;
}

namespace {

// Σ x · W[j, :] over one group [c0, c1) in FP32 (kF32 products): per-group partial times the scale.
float group_dot_f32(const GemmArgs& a, int64_t i, int64_t j, int64_t c0, int64_t c1) {
  float part = 0.0f;
  for (int64_t c = c0; c < c1; ++c) part += a.x[i * a.ldx + c] * static_cast<float>(group_code(*a.w, j, c));
  return part;
}

// The same with the group's activations quantised to int8: an exact integer sum times dx · dw.
float group_dot_int8(const GemmArgs& a, int64_t i, int64_t j, int64_t c0, int64_t c1) {
  const float* x = a.x + i * a.ldx;
  float amax = 0.0f;
  for (int64_t c = c0; c < c1; ++c) amax = std::max(amax, std::fabs(x[c]));
  const float mul = act_quant_mul(amax);
  int32_t isum = 0;
  for (int64_t c = c0; c < c1; ++c) isum += act_quant(x[c], mul) * group_code(*a.w, j, c);
  return static_cast<float>(isum) * act_quant_step(amax);
}

}  // namespace

void quantize_row_q8(const float* x, int64_t n, int8_t* codes, float* scales) {
  for (int64_t g = 0; g < groups_of(n); ++g) {
    const int64_t c0 = g * kQuantGroup, c1 = std::min(n, c0 + kQuantGroup);
    float amax = 0.0f;
    for (int64_t c = c0; c < c1; ++c) amax = std::max(amax, std::fabs(x[c]));
    const float d = amax / 127.0f, inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    scales[g] = d;
    for (int64_t c = c0; c < c1; ++c)
      codes[c] = static_cast<int8_t>(std::clamp(std::nearbyint(x[c] * inv), -127.0f, 127.0f));
  }
}

void quantize_row_q4(const float* x, int64_t n, uint8_t* packed, float* scales) {
  for (int64_t g = 0; g < groups_of(n); ++g) {
    const int64_t c0 = g * kQuantGroup, c1 = std::min(n, c0 + kQuantGroup);
    float vmax = 0.0f;
    for (int64_t c = c0; c < c1; ++c)
      if (std::fabs(x[c]) > std::fabs(vmax)) vmax = x[c];
    const float d = vmax / -8.0f, inv = d != 0.0f ? 1.0f / d : 0.0f;
    scales[g] = d;
    uint8_t* out = packed + g * kQ4GroupBytes;
    for (int64_t b = 0; b < kQ4GroupBytes; ++b) {
      uint8_t nib[2] = {kQ4Offset, kQ4Offset};
      for (int h = 0; h < 2; ++h) {
        const int64_t c = c0 + b + h * kQ4GroupBytes;
        if (c < c1) nib[h] = static_cast<uint8_t>(std::clamp(std::nearbyint(x[c] * inv) + 8.0f, 0.0f, 15.0f));
      }
      out[b] = static_cast<uint8_t>(nib[0] | (nib[1] << 4));
    }
  }
}

void dequantize_row_group(const WeightMatrix& w, int64_t r, float* out) {
  const int64_t G = groups_of(w.cols);
  for (int64_t c = 0; c < w.cols; ++c)
    out[c] = static_cast<float>(group_code(w, r, c)) * w.group_scale[r * G + c / kQuantGroup];
}

void gemm_group_quant(const GemmArgs& a) {
  const WeightMatrix& w = *a.w;
  const int64_t G = groups_of(w.cols);
  const bool int8_act = a.precision == ActPrecision::kBF16;
  for (int64_t i = 0; i < a.m; ++i) {
    for (int64_t j = a.n_begin; j < a.n_end; ++j) {
      float total = 0.0f;
      for (int64_t g = 0; g < G; ++g) {
        const int64_t c0 = g * kQuantGroup, c1 = std::min(w.cols, c0 + kQuantGroup);
        const float part = int8_act ? group_dot_int8(a, i, j, c0, c1) : group_dot_f32(a, i, j, c0, c1);
        total += part * w.group_scale[j * G + g];
      }
      a.y[i * a.ldy + j - a.y_col_offset] = total;
    }
  }
}

}  // namespace radseek::kernels::ref

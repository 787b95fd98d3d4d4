#include "kernels/ref/ggml_gemm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/ref/ggml_quants.h"
#include "kernels/ref/group_quant.h"

namespace radseek::kernels::ref {

int64_t ggml_act_group(GgmlQuant q) {
  return q == GgmlQuant::kQ4_K || q == GgmlQuant::kQ5_K || q == GgmlQuant::kQ6_K ? kQK_K : 32;
}

void dequantize_row_ggml(GgmlQuant q, const uint8_t* blocks, float* out, int64_t n) {
  switch (q) {
    case GgmlQuant::kQ8_0: return dequantize_row_q8_0(blocks, out, n);
    case GgmlQuant::kQ4_0: return dequantize_row_q4_0(blocks, out, n);
    case GgmlQuant::kQ5_0: return dequantize_row_q5_0(blocks, out, n);
    case GgmlQuant::kQ4_1: return dequantize_row_q4_1(blocks, out, n);
    case GgmlQuant::kQ5_1: return dequantize_row_q5_1(blocks, out, n);
    case GgmlQuant::kQ4_K: return dequantize_row_q4_k(blocks, out, n);
    case GgmlQuant::kQ5_K: return dequantize_row_q5_k(blocks, out, n);
    case GgmlQuant::kQ6_K: return dequantize_row_q6_k(blocks, out, n);
    case GgmlQuant::kNone: break;
  }
  std::fill(out, out + n, NAN);  // callers never pass kNone; NaN makes a slip visible in tests
}

void quantize_acts_ggml(const float* x, int64_t k, int64_t group, int8_t* codes, float* step, int32_t* bsum16) {
  for (int64_t g = 0; g < k / group; ++g) {
    const float* xg = x + g * group;
    float amax = 0.0f;
    for (int64_t j = 0; j < group; ++j) amax = std::max(amax, std::fabs(xg[j]));
    const float mul = act_quant_mul(amax);
    step[g] = act_quant_step(amax);
    for (int64_t j = 0; j < group; ++j) codes[g * group + j] = act_quant(xg[j], mul);
  }
  for (int64_t b = 0; b < k / 16; ++b) {
    int32_t s = 0;
    for (int j = 0; j < 16; ++j) s += codes[b * 16 + j];
    bsum16[b] = s;
  }
}

GgmlActs ggml_acts_view(void* buf, int64_t m, int64_t k, GgmlQuant type) {
  GgmlActs v;
  v.k = k;
  v.group = ggml_act_group(type);
  auto* p = static_cast<uint8_t*>(buf);
  v.q = reinterpret_cast<int8_t*>(p);
  p += (m * k + 63) / 64 * 64;
  v.step = reinterpret_cast<float*>(p);
  p += m * (k / 32) * 4;  // room for group 32; k-quants use k / 256 of it
  v.bsum16 = reinterpret_cast<int32_t*>(p);
  p += m * (k / 16) * 4;
  v.bsum32 = reinterpret_cast<int32_t*>(p);
  p += m * (k / 32) * 4;
  v.step_bsum32 = reinterpret_cast<float*>(p);
  return v;
}

void ggml_block_sums(const GgmlActs& v, int64_t i) {
  const int64_t k = v.k, G = k / 32;
  const int32_t* b16 = v.bsum16 + i * (k / 16);
  for (int64_t b = 0; b < G; ++b) {
    const int32_t s = b16[2 * b] + b16[2 * b + 1];
    v.bsum32[i * G + b] = s;
    v.step_bsum32[i * G + b] = v.step[i * (k / v.group) + b / (v.group / 32)] * static_cast<float>(s);
  }
}

void quantize_ggml(const GgmlQuantizeArgs& a) {
  const GgmlActs v = ggml_acts_view(a.out, a.m, a.k, a.type);
  const int64_t k = a.k;
  for (int64_t i = 0; i < a.m; ++i) {
    quantize_acts_ggml(a.x + i * a.ldx, k, v.group, v.q + i * k, v.step + i * (k / v.group), v.bsum16 + i * (k / 16));
    ggml_block_sums(v, i);
  }
}

void* thread_acts_buffer(int64_t bytes) {
  thread_local std::vector<uint8_t> buf;
  if (static_cast<int64_t>(buf.size()) < bytes) buf.resize(static_cast<size_t>(bytes));
  return buf.data();
}

void gemm_ggml(const GemmArgs& a) {
  const WeightMatrix& w = *a.w;
  const int64_t k = w.cols, group = ggml_act_group(w.ggml), rb = row_bytes(w);
  std::vector<float> row(static_cast<size_t>(k));
  const bool int8 = a.precision == ActPrecision::kBF16;
  std::vector<uint8_t> own;
  const void* xq = a.xq;
  if (int8 && xq == nullptr) {
    own.resize(static_cast<size_t>(ggml_acts_bytes(a.m, k)));
    quantize_ggml(GgmlQuantizeArgs{.x = a.x, .m = a.m, .ldx = a.ldx, .k = k, .type = w.ggml, .out = own.data()});
    xq = own.data();
  }
  const GgmlActs acts = int8 ? ggml_acts_view(const_cast<void*>(xq), a.m, k, w.ggml) : GgmlActs{};
  for (int64_t i = 0; i < a.m; ++i) {
    const float* x = a.x + i * a.ldx;
    const int8_t* codes = int8 ? acts.q + i * k : nullptr;
    const float* step = int8 ? acts.step + i * (k / group) : nullptr;
    for (int64_t j = a.n_begin; j < a.n_end; ++j) {
      dequantize_row_ggml(w.ggml, static_cast<const uint8_t*>(w.data) + j * rb, row.data(), k);
      float total = 0.0f;
      if (!int8) {
        for (int64_t c = 0; c < k; ++c) total += x[c] * row[c];
      } else {
        for (int64_t g = 0; g < k / group; ++g) {
          float part = 0.0f;
          for (int64_t c = g * group; c < (g + 1) * group; ++c) part += static_cast<float>(codes[c]) * row[c];
          total += part * step[g];
        }
      }
      a.y[i * a.ldy + j - a.y_col_offset] = total;
    }
  }
}

void gemv_t_ggml(const GemvTArgs& a) {
  const WeightMatrix& w = *a.w;
  const int64_t rb = row_bytes(w);
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int64_t i = 0; i < a.rows; ++i) {
    dequantize_row_ggml(w.ggml, static_cast<const uint8_t*>(w.data) + (a.row0 + i) * rb, row.data(), w.cols);
    for (int64_t c = 0; c < w.cols; ++c) a.y[c] += a.x[i] * row[c];
  }
}

}  // namespace radseek::kernels::ref

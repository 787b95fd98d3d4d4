#include "kernels/ref/ggml_quants.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "base/numeric.h"

namespace radseek::kernels::ref {
namespace {

// Little-endian f16 at p (blocks are byte arrays; no alignment assumed).
float load_f16(const uint8_t* p) { return fp16_to_f32(static_cast<uint16_t>(p[0] | (p[1] << 8))); }

void store_f16(uint8_t* p, float v) {
  const uint16_t h = f32_to_fp16(v);
  p[0] = static_cast<uint8_t>(h);
  p[1] = static_cast<uint8_t>(h >> 8);
}

}  // namespace

void unpack_scale_min_k4(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  // Sub-blocks 0..3 keep 6 bits in bytes 0..7; 4..7 put their low 4 bits in bytes 8..11 and their top
  // 2 bits in the spare high bits of bytes 0..7 (ggml get_scale_min_k4).
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
  }
}

void dequantize_row_q4_0(const uint8_t* blocks, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kQK4_0; ++b) {
    const uint8_t* blk = blocks + b * kBlockBytesQ4_0;
    const float d = load_f16(blk);
    const uint8_t* qs = blk + 2;
    float* y = out + b * kQK4_0;
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>((qs[j] & 0x0F) - 8) * d;
      y[j + 16] = static_cast<float>((qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_row_q5_0(const uint8_t* blocks, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kQK4_0; ++b) {
    const uint8_t* blk = blocks + b * kBlockBytesQ5_0;
    const float d = load_f16(blk);
    const uint32_t qh = static_cast<uint32_t>(blk[2]) | static_cast<uint32_t>(blk[3]) << 8 |
                        static_cast<uint32_t>(blk[4]) << 16 | static_cast<uint32_t>(blk[5]) << 24;
    const uint8_t* qs = blk + 6;
    float* y = out + b * kQK4_0;
    for (int j = 0; j < 16; ++j) {
      const int lo = (qs[j] & 0x0F) | static_cast<int>(((qh >> j) & 1u) << 4);
      const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
      y[j] = static_cast<float>(lo - 16) * d;
      y[j + 16] = static_cast<float>(hi - 16) * d;
    }
  }
}

// Q4_1 (kFive false) and Q5_1: x = q·d + m, q the nibble (plus 16 where qh's bit is set).
template <bool kFive>
void dequantize_row_q_1(const uint8_t* blocks, float* out, int64_t n) {
  const size_t bytes = kFive ? kBlockBytesQ5_1 : kBlockBytesQ4_1;
  for (int64_t b = 0; b < n / kQK4_0; ++b) {
    const uint8_t* blk = blocks + b * bytes;
    const float d = load_f16(blk), m = load_f16(blk + 2);
    uint32_t qh = 0;
    if (kFive) qh = static_cast<uint32_t>(blk[4]) | static_cast<uint32_t>(blk[5]) << 8 |
                    static_cast<uint32_t>(blk[6]) << 16 | static_cast<uint32_t>(blk[7]) << 24;
    const uint8_t* qs = blk + (kFive ? 8 : 4);
    float* y = out + b * kQK4_0;
    for (int j = 0; j < 16; ++j) {
      const int lo = (qs[j] & 0x0F) | static_cast<int>(((qh >> j) & 1u) << 4);
      const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
      y[j] = static_cast<float>(lo) * d + m;
      y[j + 16] = static_cast<float>(hi) * d + m;
    }
  }
}

void dequantize_row_q4_1(const uint8_t* blocks, float* out, int64_t n) { dequantize_row_q_1<false>(blocks, out, n); }
void dequantize_row_q5_1(const uint8_t* blocks, float* out, int64_t n) { dequantize_row_q_1<true>(blocks, out, n); }

void dequantize_row_q8_0(const uint8_t* blocks, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kQK8_0; ++b) {
    const uint8_t* blk = blocks + b * kBlockBytesQ8_0;
    const float d = load_f16(blk);
    for (int j = 0; j < 32; ++j) out[b * kQK8_0 + j] = static_cast<float>(static_cast<int8_t>(blk[2 + j])) * d;
  }
}

void dequantize_row_q4_k(const uint8_t* blocks, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const uint8_t* blk = blocks + b * kBlockBytesQ4_K;
    const float d = load_f16(blk), dmin = load_f16(blk + 2);
    const uint8_t* scales = blk + 4;
    const uint8_t* q = blk + 16;
    float* y = out + b * kQK_K;
    // Four groups of 64: the low nibbles of 32 bytes form one sub-block, the high nibbles the next.
    for (int g = 0, is = 0; g < 4; ++g, is += 2, q += 32) {
      uint8_t sc = 0, m = 0;
      unpack_scale_min_k4(is, scales, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      unpack_scale_min_k4(is + 1, scales, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

void dequantize_row_q5_k(const uint8_t* blocks, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const uint8_t* blk = blocks + b * kBlockBytesQ5_K;
    const float d = load_f16(blk), dmin = load_f16(blk + 2);
    const uint8_t* scales = blk + 4;
    const uint8_t* qh = blk + 16;
    const uint8_t* ql = blk + 48;
    float* y = out + b * kQK_K;
    // As Q4_K; bit 2g of qh[l] is the fifth bit of the low-nibble sub-block, bit 2g+1 of the high one.
    uint8_t u1 = 1, u2 = 2;
    for (int g = 0, is = 0; g < 4; ++g, is += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
      uint8_t sc = 0, m = 0;
      unpack_scale_min_k4(is, scales, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      unpack_scale_min_k4(is + 1, scales, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
    }
  }
}

void dequantize_row_q6_k(const uint8_t* blocks, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const uint8_t* blk = blocks + b * kBlockBytesQ6_K;
    const uint8_t* ql = blk;
    const uint8_t* qh = blk + 128;
    const auto* sc = reinterpret_cast<const int8_t*>(blk + 192);
    const float d = load_f16(blk + 208);
    float* y = out + b * kQK_K;
    // Two halves of 128; in each, 32 ql bytes hold elements l and l+64 (low/high nibble), the next 32
    // hold l+32 and l+96, and qh[l] carries the top two bits of all four.
    for (int half = 0; half < 2; ++half, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l + 0] = d * sc[is + 0] * static_cast<float>(q1);
        y[l + 32] = d * sc[is + 2] * static_cast<float>(q2);
        y[l + 64] = d * sc[is + 4] * static_cast<float>(q3);
        y[l + 96] = d * sc[is + 6] * static_cast<float>(q4);
      }
    }
  }
}

void dequantize_row_f16(const uint8_t* data, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = load_f16(data + 2 * i);
}

void dequantize_row_bf16(const uint8_t* data, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(static_cast<uint16_t>(data[2 * i] | (data[2 * i + 1] << 8)));
}

void dequantize_row_f32(const uint8_t* data, float* out, int64_t n) {
  std::memcpy(out, data, static_cast<size_t>(n) * sizeof(float));
}

namespace {

// The signed value of largest magnitude among a block's 32 (the first of equals, as ggml).
float largest_magnitude(const float* x) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < 32; ++j)
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  return max;
}

}  // namespace

// Q4_0 / Q5_0 (ggml quantize_row_q4_0_ref / q5_0_ref): the signed value of largest magnitude maps to
// -8 (-16), so the full [-8, 7] ([-16, 15]) range is used on that side; codes w + 8 (w + 16), Q5_0's
// fifth bits in the little-endian qh word after d.
template <bool kFive>
void quantize_row_q_0(const float* x, uint8_t* blocks, int64_t n) {
  constexpr int kHalf = kFive ? 16 : 8, kTop = 2 * kHalf - 1, kQs = kFive ? 6 : 2;
  const size_t bytes = kFive ? kBlockBytesQ5_0 : kBlockBytesQ4_0;
  for (int64_t b = 0; b < n / kQK4_0; ++b, x += kQK4_0) {
    const float d = largest_magnitude(x) / -static_cast<float>(kHalf);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    uint8_t* blk = blocks + b * bytes;
    store_f16(blk, d);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const int xi0 = std::min(kTop, static_cast<int>(static_cast<int8_t>(x[j] * id + (kHalf + 0.5f))));
      const int xi1 = std::min(kTop, static_cast<int>(static_cast<int8_t>(x[j + 16] * id + (kHalf + 0.5f))));
      blk[kQs + j] = static_cast<uint8_t>((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
      qh |= static_cast<uint32_t>((xi0 >> 4) & 1) << j;
      qh |= static_cast<uint32_t>((xi1 >> 4) & 1) << (j + 16);
    }
    if (kFive)
      for (int i = 0; i < 4; ++i) blk[2 + i] = static_cast<uint8_t>(qh >> (8 * i));
  }
}

void quantize_row_q4_0(const float* x, uint8_t* blocks, int64_t n) { quantize_row_q_0<false>(x, blocks, n); }
void quantize_row_q5_0(const float* x, uint8_t* blocks, int64_t n) { quantize_row_q_0<true>(x, blocks, n); }

// Q4_1 / Q5_1 (ggml quantize_row_q4_1_ref / q5_1_ref): min and max of the block, d = (max - min) /
// (2^bits - 1), codes round((x - min) / d).
template <bool kFive>
void quantize_row_q_1(const float* x, uint8_t* blocks, int64_t n) {
  const size_t bytes = kFive ? kBlockBytesQ5_1 : kBlockBytesQ4_1;
  const float levels = kFive ? 31.0f : 15.0f;
  for (int64_t b = 0; b < n / kQK4_0; ++b, x += kQK4_0) {
    float min = std::numeric_limits<float>::max(), max = -std::numeric_limits<float>::max();
    for (int j = 0; j < 32; ++j) {
      min = std::min(min, x[j]);
      max = std::max(max, x[j]);
    }
    const float d = (max - min) / levels;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    uint8_t* blk = blocks + b * bytes;
    store_f16(blk, d);
    store_f16(blk + 2, min);
    uint8_t* qs = blk + (kFive ? 8 : 4);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const int top = kFive ? 31 : 15;
      const int xi0 = std::min(top, static_cast<int>(static_cast<int8_t>((x[j] - min) * id + 0.5f)));
      const int xi1 = std::min(top, static_cast<int>(static_cast<int8_t>((x[j + 16] - min) * id + 0.5f)));
      qs[j] = static_cast<uint8_t>((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
      qh |= static_cast<uint32_t>((xi0 >> 4) & 1) << j;
      qh |= static_cast<uint32_t>((xi1 >> 4) & 1) << (j + 16);
    }
    if (kFive)
      for (int i = 0; i < 4; ++i) blk[4 + i] = static_cast<uint8_t>(qh >> (8 * i));
  }
}

void quantize_row_q4_1(const float* x, uint8_t* blocks, int64_t n) { quantize_row_q_1<false>(x, blocks, n); }
void quantize_row_q5_1(const float* x, uint8_t* blocks, int64_t n) { quantize_row_q_1<true>(x, blocks, n); }

void quantize_row_q8_0(const float* x, uint8_t* blocks, int64_t n) {
  for (int64_t b = 0; b < n / kQK8_0; ++b, x += kQK8_0) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    uint8_t* blk = blocks + b * kBlockBytesQ8_0;
    store_f16(blk, d);
    for (int j = 0; j < 32; ++j) blk[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::roundf(x[j] * id)));
  }
}

namespace {

// ggml's packing of 8 six-bit scales and mins into 12 bytes (inverse of unpack_scale_min_k4).
void pack_scale_min_k4(const uint8_t* sc, const uint8_t* mn, uint8_t* q) {
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      q[j] = sc[j];
      q[j + 4] = mn[j];
    } else {
      q[j + 4] = static_cast<uint8_t>((sc[j] & 0xF) | ((mn[j] & 0xF) << 4));
      q[j - 4] |= static_cast<uint8_t>((sc[j] >> 4) << 6);
      q[j] |= static_cast<uint8_t>((mn[j] >> 4) << 6);
    }
  }
}

int nearest_clamped(float v, int lo, int hi) { return std::clamp(static_cast<int>(std::nearbyint(v)), lo, hi); }

// Q4_K (kQ5 false: codes 0..15) and Q5_K (codes 0..31, the fifth bit in qh: bit 2g / 2g+1 of
// qh[l] for the low / high nibble of byte l of group g); the layouts differ only by the qh array.
template <bool kQ5>
void quantize_row_k4(const float* x, uint8_t* blocks, int64_t n) {
  constexpr int kTop = kQ5 ? 31 : 15;
  constexpr size_t kBytes = kQ5 ? kBlockBytesQ5_K : kBlockBytesQ4_K;
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    // Sub-block j covers [−min_j, −min_j + kTop·scale_j] with min_j ≥ 0 (ggml stores x = d·sc·q − dmin·m).
    float scale[8], mins[8], max_scale = 0.0f, max_min = 0.0f;
    for (int j = 0; j < 8; ++j) {
      float lo = 0.0f, hi = 0.0f;
      for (int l = 0; l < 32; ++l) lo = std::min(lo, x[32 * j + l]), hi = std::max(hi, x[32 * j + l]);
      scale[j] = (hi - lo) / static_cast<float>(kTop);
      mins[j] = -lo;
      max_scale = std::max(max_scale, scale[j]);
      max_min = std::max(max_min, mins[j]);
    }
    uint8_t* blk = blocks + b * kBytes;
    store_f16(blk, max_scale / 63.0f);
    store_f16(blk + 2, max_min / 63.0f);
    const float d = load_f16(blk), dmin = load_f16(blk + 2);  // the stored (f16-rounded) values
    uint8_t sc[8], mn[8];
    for (int j = 0; j < 8; ++j) {
      sc[j] = static_cast<uint8_t>(d > 0.0f ? nearest_clamped(scale[j] / d, 0, 63) : 0);
      mn[j] = static_cast<uint8_t>(dmin > 0.0f ? nearest_clamped(mins[j] / dmin, 0, 63) : 0);
    }
    std::memset(blk + 4, 0, 12);
    pack_scale_min_k4(sc, mn, blk + 4);
    uint8_t L[kQK_K];
    for (int j = 0; j < 8; ++j) {
      const float ds = d * sc[j], dm = dmin * mn[j];
      for (int l = 0; l < 32; ++l) L[32 * j + l] = static_cast<uint8_t>(ds > 0.0f ? nearest_clamped((x[32 * j + l] + dm) / ds, 0, kTop) : 0);
    }
    uint8_t* qh = blk + 16;
    uint8_t* q = blk + (kQ5 ? 48 : 16);
    if (kQ5) std::memset(qh, 0, 32);
    for (int j = 0, g = 0; j < kQK_K; j += 64, q += 32, ++g)
      for (int l = 0; l < 32; ++l) {
        q[l] = static_cast<uint8_t>((L[j + l] & 0xF) | ((L[j + l + 32] & 0xF) << 4));
        if (kQ5) qh[l] |= static_cast<uint8_t>(((L[j + l] >> 4) << (2 * g)) | ((L[j + l + 32] >> 4) << (2 * g + 1)));
      }
  }
}

}  // namespace

void quantize_row_q4_k(const float* x, uint8_t* blocks, int64_t n) { quantize_row_k4<false>(x, blocks, n); }
void quantize_row_q5_k(const float* x, uint8_t* blocks, int64_t n) { quantize_row_k4<true>(x, blocks, n); }

void quantize_row_q6_k(const float* x, uint8_t* blocks, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    // 16 sub-blocks of 16, each scaled so its largest magnitude maps to ±31 (codes q − 32 in [−32, 31]).
    float scale[16], max_scale = 0.0f;
    for (int j = 0; j < 16; ++j) {
      float amax = 0.0f;
      for (int l = 0; l < 16; ++l) amax = std::max(amax, std::fabs(x[16 * j + l]));
      scale[j] = amax / 31.0f;
      max_scale = std::max(max_scale, scale[j]);
    }
    uint8_t* blk = blocks + b * kBlockBytesQ6_K;
    store_f16(blk + 208, max_scale / 127.0f);
    const float d = load_f16(blk + 208);
    auto* sc = reinterpret_cast<int8_t*>(blk + 192);
    uint8_t L[kQK_K];
    for (int j = 0; j < 16; ++j) {
      sc[j] = static_cast<int8_t>(d > 0.0f ? nearest_clamped(scale[j] / d, -128, 127) : 0);
      const float ds = d * sc[j];
      for (int l = 0; l < 16; ++l)
        L[16 * j + l] = static_cast<uint8_t>(ds != 0.0f ? nearest_clamped(x[16 * j + l] / ds, -32, 31) + 32 : 32);
    }
    uint8_t* ql = blk;
    uint8_t* qh = blk + 128;
    for (int j = 0; j < kQK_K; j += 128, ql += 64, qh += 32)
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<uint8_t>((L[j + l] & 0xF) | ((L[j + l + 64] & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((L[j + l + 32] & 0xF) | ((L[j + l + 96] & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                     ((L[j + l + 96] >> 4) << 6));
      }
  }
}

}  // namespace radseek::kernels::ref

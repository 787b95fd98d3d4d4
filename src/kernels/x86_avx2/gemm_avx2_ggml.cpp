// AVX2 gemm for ggml block weights (GGUF), the level for CPUs without AVX-512 VNNI.
// ActPrecision::kBF16 with every supported type — integer path as llama.cpp's AVX2 code: activations
// quantised once per product (quantize_ggml, bit-identical to ref::quantize_ggml), then per 32
// columns vpmaddubsw (u8 × s8 → i16 pairs) and vpmaddwd (pairs → i32, by 1 or by the sub-block's
// scale), one convert and FMA per block (Q8_0/Q4_0) or super-block (Q4_K):
//   Q8_0: vpmaddubsw wants the unsigned side non-negative, so it gets |w| and x takes w's sign
//     (vpsignb; the activation codes never use −128, so the negation cannot overflow).
//   Q4_0: nibbles w + 8 against x; the 8·Σxq offset comes from the activations' step·bsum32.
//   Q5_0: as Q4_0 with qh's bit per column adding 16 (codes w + 16, offset 16·Σxq).
//   Q4_1 / Q5_1: codes are q (x = q·d + m); the m·Σxq term is added from the same sums.
//   Q4_K: nibbles q against x, scales by vpmaddwd; the min term dmin·Σ m·Σxq from per-32 code sums.
//   Q5_K: as Q4_K with qh's fifth bit moved to bit 4 of each code (0..31: no vpmaddubsw saturation).
//   Q6_K: 6-bit q = w + 32 against x, 16-column scales by vpmaddwd; 32·Σ sc·Σxq from per-16 sums.
// FP32 activations: each weight row is dequantised once by the scalar reference, then FMA dot
// products with every activation row.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/prefetch.h"
#include "kernels/ref/ggml_gemm.h"
#include "kernels/ref/group_quant.h"
#include "kernels/variants.h"

namespace radseek::kernels::avx2 {
namespace {

float hsum(__m256 v) {
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps(q, q, 1)));
}

float dot(const float* x, const float* w, int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int64_t c = 0;
  for (; c + 16 <= n; c += 16) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + c), _mm256_loadu_ps(w + c), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + c + 8), _mm256_loadu_ps(w + c + 8), a1);
  }
  float r = hsum(_mm256_add_ps(a0, a1));
  for (; c < n; ++c) r += x[c] * w[c];
  return r;
}

float f16_at(const uint8_t* p) { return _cvtsh_ss(static_cast<uint16_t>(p[0] | (p[1] << 8))); }

// 8 floats → lanes reduced to the maximum (for amax).
float hmax(__m256 v) {
  __m128 q = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  q = _mm_max_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_max_ss(q, _mm_shuffle_ps(q, q, 1)));
}

// One activation row as ref::quantize_acts_ggml computes it: same scalar multiplier, cvtps2dq's
// round-to-nearest-even (= nearbyint in the default mode), exact integer code sums.
void quantize_row(const float* x, int64_t k, int64_t group, int8_t* q, float* step, int32_t* bsum16) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t g0 = 0; g0 < k; g0 += group) {
    __m256 mx = _mm256_setzero_ps();
    // max(|x|, mx) keeps mx when |x| is NaN, as std::max(amax, |x|) does in the reference.
    for (int64_t c = g0; c < g0 + group; c += 8) mx = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + c)), mx);
    const float amax = hmax(mx);
    const __m256 mul = _mm256_set1_ps(ref::act_quant_mul(amax));
    step[g0 / group] = ref::act_quant_step(amax);
    for (int64_t c = g0; c < g0 + group; c += 16) {
      const __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + c), mul));
      const __m256i b = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + c + 8), mul));
      // packs interleave 128-bit lanes: [a0-3 b0-3 a4-7 b4-7]; the permute restores column order.
      const __m256i w16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xd8);
      const __m128i w8 = _mm_packs_epi16(_mm256_castsi256_si128(w16), _mm256_extracti128_si256(w16, 1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + c), w8);
      const __m256i s = _mm256_add_epi32(a, b);
      __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
      t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
      bsum16[c / 16] = _mm_cvtsi128_si32(_mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1)));
    }
  }
}

// As the AVX-512 kernels, the row kernels call prefetch_stream (kernels/prefetch.h): without a
// software prefetch the weight stream did not overlap the compute.

// i32 sums of 32 u8 × s8 products in 8 lanes.
inline __m256i dot32(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

float row_q8_0(const uint8_t* row, int64_t nblocks, const int8_t* xq, const float* step) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  for (int64_t b = 0; b < nblocks; ++b) {
    const uint8_t* p = row + b * 34;
    if ((b & 1) == 0) prefetch_stream(p, 68);
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2));
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + b * 32));
    const __m256 f = _mm256_cvtepi32_ps(dot32(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w)));
    const __m256 s = _mm256_set1_ps(f16_at(p) * step[b]);
    if (b & 1) acc1 = _mm256_fmadd_ps(f, s, acc1);
    else acc0 = _mm256_fmadd_ps(f, s, acc0);
  }
  return hsum(_mm256_add_ps(acc0, acc1));
}

// Byte j of the result is 16 where bit j of `bits` is set, else 0: each byte picks its dword byte
// (j / 8), ORs in every bit but its own, and compares with all ones.
inline __m256i sixteen_where(uint32_t bits) {
  const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)),
                                             _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                                               0x0101010101010101, 0x0000000000000000));
  const __m256i others = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);  // byte j: all bits but j % 8
  const __m256i set = _mm256_cmpeq_epi8(_mm256_or_si256(spread, others), _mm256_set1_epi8(-1));
  return _mm256_and_si256(set, _mm256_set1_epi8(16));
}

// The nibble types: Q4_0 (w + 8), Q5_0 (qh's bit j adds 16 to column j: w + 16), Q4_1 and Q5_1 (q
// itself, x = q·d + m: the m term added as m·step·Σxq where the others take off offset·d·step·Σxq).
template <bool kFive, bool kMin>
float row_nibbles(const uint8_t* row, int64_t nblocks, const int8_t* xq, const float* step, const float* step_bsum32) {
  constexpr int64_t kBytes = 18 + (kFive ? 4 : 0) + (kMin ? 2 : 0), kQh = kMin ? 4 : 2, kQs = kQh + (kFive ? 4 : 0);
  constexpr float kOffset = kMin ? -1.0f : kFive ? 16.0f : 8.0f;  // the factor taken off corr
  __m256 acc = _mm256_setzero_ps();
  float corr = 0.0f;
  const __m128i nib = _mm_set1_epi8(0x0f);
  for (int64_t b = 0; b < nblocks; ++b) {
    const uint8_t* p = row + b * kBytes;
    if ((b & 3) == 0) prefetch_stream(p, 4 * kBytes);
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + kQs));
    __m256i w = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), nib), _mm_and_si128(q, nib));
    if constexpr (kFive) {
      uint32_t qh;
      std::memcpy(&qh, p + kQh, 4);
      w = _mm256_or_si256(w, sixteen_where(qh));
    }
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + b * 32));
    const float d = f16_at(p);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot32(w, x)), _mm256_set1_ps(d * step[b]), acc);
    corr += (kMin ? f16_at(p + 2) : d) * step_bsum32[b];
  }
  return hsum(acc) - kOffset * corr;
}

// ggml's packed 6-bit Q4_K scales and mins → 8 scale bytes then 8 min bytes (ref::unpack_scale_min_k4).
inline void unpack_k4_scales(const uint8_t* packed, uint32_t u[4]) {
  constexpr uint32_t kMask1 = 0x3f3f3f3f, kMask2 = 0x0f0f0f0f, kMask3 = 0x03030303;
  std::memcpy(u, packed, 12);
  u[3] = ((u[2] >> 4) & kMask2) | (((u[1] >> 6) & kMask3) << 4);
  const uint32_t aux = u[1] & kMask1;
  u[1] = (u[2] & kMask2) | (((u[0] >> 6) & kMask3) << 4);
  u[2] = aux;
  u[0] &= kMask1;
}

// Bit b (0..7) of every byte of v, moved to bit 4 (value 16). The 16-bit shifts carry bits across
// the byte boundary, but bit 4 of each byte still comes from bit b of the same byte.
inline __m256i bit_to_16(__m256i v, int b) {
  const __m256i moved = b >= 4 ? _mm256_srli_epi16(v, b - 4) : _mm256_slli_epi16(v, 4 - b);
  return _mm256_and_si256(moved, _mm256_set1_epi8(16));
}

// Q4_K (kQ5 false, 144-byte super-blocks) and Q5_K (176 bytes: 32 qh bytes before the nibbles;
// bit 2c / 2c+1 of qh[l] is the fifth bit of column l of sub-block 2c / 2c+1).
template <bool kQ5>
float row_k4(const uint8_t* row, int64_t nblocks, const int8_t* xq, const float* step, const int32_t* bsum32) {
  constexpr int64_t kBytes = kQ5 ? 176 : 144, kQs = kQ5 ? 48 : 16;
  __m256 acc = _mm256_setzero_ps(), macc = _mm256_setzero_ps();
  const __m256i nib = _mm256_set1_epi8(0x0f);
  for (int64_t s = 0; s < nblocks; ++s) {
    const uint8_t* p = row + s * kBytes;
    prefetch_stream(p, kBytes);
    alignas(16) uint32_t u[4];
    unpack_k4_scales(p + 4, u);
    const auto* sc = reinterpret_cast<const uint8_t*>(u);
    const int8_t* x = xq + s * 256;
    __m256i isum = _mm256_setzero_si256();
    const __m256i qh = kQ5 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16)) : nib;
    for (int c = 0; c < 4; ++c) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + kQs + 32 * c));
      __m256i qlo = _mm256_and_si256(raw, nib), qhi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), nib);
      if constexpr (kQ5) {
        qlo = _mm256_or_si256(qlo, bit_to_16(qh, 2 * c));
        qhi = _mm256_or_si256(qhi, bit_to_16(qh, 2 * c + 1));
      }
      const __m256i lo = _mm256_maddubs_epi16(qlo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 64 * c)));
      const __m256i hi = _mm256_maddubs_epi16(qhi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 64 * c + 32)));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(lo, _mm256_set1_epi16(sc[2 * c])));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(hi, _mm256_set1_epi16(sc[2 * c + 1])));
    }
    const float st = step[s];
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(f16_at(p) * st), acc);
    const __m256i mins = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc + 8)));
    const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bsum32 + s * 8));
    // |Σxq| over 32 columns ≤ 4064 fits the low 16 bits; the mins' high halves are 0.
    macc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(mins, bs)), _mm256_set1_ps(f16_at(p + 2) * st), macc);
  }
  return hsum(acc) - hsum(macc);
}

// Q6_K: per half (128 columns) 64 ql bytes and 32 qh bytes; 32-column piece c of the half takes
// ql[32·(c%2) ..] (low nibbles for c < 2, high for c ≥ 2) and qh bits 2c..2c+1, and spans two
// 16-column sub-blocks with their own int8 scales. Codes are q = x/d/sc + 32; the 32·Σ sc·Σxq offset
// comes from per-16 code sums.
float row_q6_k(const uint8_t* row, int64_t nblocks, const int8_t* xq, const float* step, const int32_t* bsum16) {
  __m256 acc = _mm256_setzero_ps(), cacc = _mm256_setzero_ps();
  const __m256i nib = _mm256_set1_epi8(0x0f), two = _mm256_set1_epi8(3);
  for (int64_t s = 0; s < nblocks; ++s) {
    const uint8_t* p = row + s * 210;
    prefetch_stream(p, 210);
    const auto* sc = reinterpret_cast<const int8_t*>(p + 192);
    const int8_t* x = xq + s * 256;
    __m256i isum = _mm256_setzero_si256();
    for (int half = 0; half < 2; ++half) {
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 128 + 32 * half));
      for (int c = 0; c < 4; ++c) {
        const __m256i ql = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 64 * half + 32 * (c % 2)));
        const __m256i lo4 = c < 2 ? _mm256_and_si256(ql, nib) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), nib);
        const __m256i hi2 = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), two);
        const __m256i q = _mm256_or_si256(lo4, _mm256_slli_epi16(hi2, 4));
        const __m256i pairs = _mm256_maddubs_epi16(q, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 128 * half + 32 * c)));
        const int j = 8 * half + 2 * c;  // the piece's two sub-blocks
        const __m256i scv = _mm256_set_m128i(_mm_set1_epi16(sc[j + 1]), _mm_set1_epi16(sc[j]));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(pairs, scv));
      }
    }
    const float ds = _cvtsh_ss(static_cast<uint16_t>(p[208] | (p[209] << 8))) * step[s];
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(ds), acc);
    const __m256i s0 = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc)));
    const __m256i s1 = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc + 8)));
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bsum16 + s * 16));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bsum16 + s * 16 + 8));
    const __m256i off = _mm256_add_epi32(_mm256_mullo_epi32(s0, b0), _mm256_mullo_epi32(s1, b1));
    cacc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(off), _mm256_set1_ps(32.0f * ds), cacc);
  }
  return hsum(acc) - hsum(cacc);
}

void gemm_int(const GemmArgs& a, const ref::GgmlActs& ac) {
  const WeightMatrix& w = *a.w;
  const int64_t k = w.cols, rb = row_bytes(w), nblocks = k / ggml_quant_info(w.ggml).block_elems, G = k / 32;
  const int64_t S = k / ac.group;
  for (int64_t j = a.n_begin; j < a.n_end; ++j) {
    const uint8_t* row = static_cast<const uint8_t*>(w.data) + j * rb;
    for (int64_t i = 0; i < a.m; ++i) {
      const int8_t* xq = ac.q + i * k;
      float r = 0.0f;
      switch (w.ggml) {
        case GgmlQuant::kQ8_0: r = row_q8_0(row, nblocks, xq, ac.step + i * S); break;
        case GgmlQuant::kQ4_0: r = row_nibbles<false, false>(row, nblocks, xq, ac.step + i * S, ac.step_bsum32 + i * G); break;
        case GgmlQuant::kQ5_0: r = row_nibbles<true, false>(row, nblocks, xq, ac.step + i * S, ac.step_bsum32 + i * G); break;
        case GgmlQuant::kQ4_1: r = row_nibbles<false, true>(row, nblocks, xq, ac.step + i * S, ac.step_bsum32 + i * G); break;
        case GgmlQuant::kQ5_1: r = row_nibbles<true, true>(row, nblocks, xq, ac.step + i * S, ac.step_bsum32 + i * G); break;
        case GgmlQuant::kQ4_K: r = row_k4<false>(row, nblocks, xq, ac.step + i * S, ac.bsum32 + i * G); break;
        case GgmlQuant::kQ5_K: r = row_k4<true>(row, nblocks, xq, ac.step + i * S, ac.bsum32 + i * G); break;
        default: r = row_q6_k(row, nblocks, xq, ac.step + i * S, ac.bsum16 + i * (k / 16)); break;
      }
      a.y[i * a.ldy + j - a.y_col_offset] = r;
    }
  }
}

}  // namespace

void quantize_ggml(const GgmlQuantizeArgs& a) {
  const ref::GgmlActs v = ref::ggml_acts_view(a.out, a.m, a.k, a.type);
  const int64_t k = a.k;
  for (int64_t i = 0; i < a.m; ++i) {
    quantize_row(a.x + i * a.ldx, k, v.group, v.q + i * k, v.step + i * (k / v.group), v.bsum16 + i * (k / 16));
    ref::ggml_block_sums(v, i);
  }
}

void gemm_ggml(const GemmArgs& a) {
  const WeightMatrix& w = *a.w;
  const int64_t k = w.cols, rb = row_bytes(w);
  if (a.precision == ActPrecision::kBF16) {  // every ggml type has an integer row kernel here
    const void* xq = a.xq;
    if (xq == nullptr) {
      void* buf = ref::thread_acts_buffer(ggml_acts_bytes(a.m, k));
      quantize_ggml(GgmlQuantizeArgs{.x = a.x, .m = a.m, .ldx = a.ldx, .k = k, .type = w.ggml, .out = buf});
      xq = buf;
    }
    return gemm_int(a, ref::ggml_acts_view(const_cast<void*>(xq), a.m, k, w.ggml));
  }
  thread_local std::vector<float> row;  // the calling thread's, reused across calls
  row.resize(static_cast<size_t>(k));
  for (int64_t j = a.n_begin; j < a.n_end; ++j) {
    ref::dequantize_row_ggml(w.ggml, static_cast<const uint8_t*>(w.data) + j * rb, row.data(), k);
    for (int64_t i = 0; i < a.m; ++i) a.y[i * a.ldy + j - a.y_col_offset] = dot(a.x + i * a.ldx, row.data(), k);
  }
}

}  // namespace radseek::kernels::avx2

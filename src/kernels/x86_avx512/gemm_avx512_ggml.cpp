// AVX-512 (+VNNI) gemm for ggml block weights (GGUF Q8_0, Q4_0, Q4_K, Q6_K; Q5_K and FP32
// activations take the dequantising path at the end). Contract and oracle: ref/ggml_gemm.h.
//
// Legend: m activation rows, k = w.cols, n weight rows; a "block" is one ggml block of the weights,
// a "super-block" one 256-column k-quant block.
// ActPrecision::kBF16 — integer path: every activation row is quantised once per call with the
// shared scalar rule (ref::quantize_acts_ggml: per 32 columns for Q8_0/Q4_0, per 256 for the
// k-quants); then each weight row is decoded in registers to 64 byte codes at a time and multiplied
// by up to kMaxMR activation rows with vpdpbusd (u8 × s8 → i32):
//   Q8_0 / Q4_0: signed codes; vpdpbusd wants the unsigned side non-negative, so it gets |w| and the
//     activations take w's sign (|w|·sign(w)·x = w·x exactly; −128 works as u8 128). One float
//     scale d_w·step_x per 32-column block.
//   Q4_K: unsigned nibbles q (x = d·sc·q − dmin·m); the 6-bit sub-block scales multiply the i32 dot
//     products (vpmulld), so one super-block needs one float FMA; the min term is dmin·Σ m·Σxq,
//     from per-32 activation code sums.
//   Q6_K: unsigned 6-bit q (x = d·sc·(q − 32)); as Q4_K with 16-column sub-blocks, and the offset
//     term 32·Σ sc·Σxq from per-16 code sums.
// Decode (m = 1) streams one weight row at a time; prefill reuses each decoded block for kMaxMR rows.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/ref/ggml_gemm.h"
#include "kernels/variants.h"
#include "kernels/x86_avx512/avx512_convert.h"

namespace radseek::kernels::avx512 {
namespace {

constexpr int kMaxMR = 4;

float f16_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// All m activation rows, quantised. Q4_K rows are stored reordered per 128 columns as
// [0:32, 64:96, 32:64, 96:128] so the low and high nibbles of one 64-byte weight load (sub-blocks
// 2h/2h+2 and 2h+1/2h+3) meet contiguous activations; sums stay in natural order.
struct Acts {
  int64_t k = 0, group = 0;
  std::vector<int8_t> q;        // [m, k]
  std::vector<float> step;      // [m, k / group]
  std::vector<int32_t> bsum16;  // [m, k / 16]
  std::vector<int32_t> bsum32;  // [m, k / 32]
};

Acts quantize_all(const GemmArgs& a) {
  Acts ac;
  const GgmlQuant t = a.w->ggml;
  ac.k = a.w->cols;
  ac.group = ref::ggml_act_group(t);
  const int64_t k = ac.k;
  ac.q.resize(static_cast<size_t>(a.m * k));
  ac.step.resize(static_cast<size_t>(a.m * (k / ac.group)));
  ac.bsum16.resize(static_cast<size_t>(a.m * (k / 16)));
  ac.bsum32.resize(static_cast<size_t>(a.m * (k / 32)));
  std::vector<int8_t> nat(static_cast<size_t>(k));
  for (int64_t i = 0; i < a.m; ++i) {
    ref::quantize_acts_ggml(a.x + i * a.ldx, k, ac.group, nat.data(), ac.step.data() + i * (k / ac.group),
                            ac.bsum16.data() + i * (k / 16));
    for (int64_t b = 0; b < k / 32; ++b)
      ac.bsum32[i * (k / 32) + b] = ac.bsum16[i * (k / 16) + 2 * b] + ac.bsum16[i * (k / 16) + 2 * b + 1];
    int8_t* dst = ac.q.data() + i * k;
    if (t != GgmlQuant::kQ4_K) {
      std::copy(nat.begin(), nat.end(), dst);
      continue;
    }
    static constexpr int kSrc[4] = {0, 64, 32, 96};  // source offset of each 32-column piece
    for (int64_t c = 0; c < k; c += 128)
      for (int p = 0; p < 4; ++p) std::memcpy(dst + c + 32 * p, nat.data() + c + kSrc[p], 32);
  }
  return ac;
}

// One weight row against activation rows i0 .. i0+MR-1.
struct RowJob {
  const uint8_t* row;
  int64_t nblocks;  // ggml blocks in the row
  const Acts* ac;
  int64_t i0;
  float* out;  // [MR]
};

inline __m512 two_scales(float s0, float s1) {
  // insertf64x4 (AVX-512F) instead of insertf32x8, which would need AVX-512DQ.
  return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_set1_ps(s0)), _mm256_castps_pd(_mm256_set1_ps(s1)), 1));
}

// Q8_0 and Q4_0: two 32-column blocks per 512-bit register. kQ4: nibbles − 8, low nibbles are
// columns 0-15 of the block and high nibbles 16-31 (ggml order), rebuilt into natural order.
template <bool kQ4, int MR>
void row_32(const RowJob& jb) {
  constexpr int64_t kBytes = kQ4 ? 18 : 34;
  const int64_t k = jb.ac->k, G = k / 32;
  __m512 acc[MR];
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t b = 0; b < jb.nblocks; b += 2) {
    const bool two = b + 1 < jb.nblocks;
    const uint8_t* p0 = jb.row + b * kBytes;
    __m256i c0, c1 = _mm256_setzero_si256();
    if (kQ4) {
      const __m128i nib = _mm_set1_epi8(0x0f);
      const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p0 + 2));
      c0 = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q0, 4), nib), _mm_and_si128(q0, nib));
      if (two) {
        const __m128i q1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p0 + kBytes + 2));
        c1 = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q1, 4), nib), _mm_and_si128(q1, nib));
      }
    } else {
      c0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p0 + 2));
      if (two) c1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p0 + kBytes + 2));
    }
    __m512i w = _mm512_inserti64x4(_mm512_castsi256_si512(c0), c1, 1);
    if (kQ4) w = _mm512_sub_epi8(w, _mm512_set1_epi8(8));
    const __m512i aw = _mm512_abs_epi8(w);
    const __mmask64 neg = _mm512_movepi8_mask(w);
    const __mmask64 lanes = two ? ~__mmask64{0} : 0xffffffffull;
    const float d0 = f16_at(p0), d1 = two ? f16_at(p0 + kBytes) : 0.0f;
    RADSEEK_UNROLL
    for (int i = 0; i < MR; ++i) {
      const int8_t* xq = jb.ac->q.data() + (jb.i0 + i) * k + b * 32;
      const float* st = jb.ac->step.data() + (jb.i0 + i) * G + b;
      const __m512i x = _mm512_maskz_loadu_epi8(lanes, xq);
      const __m512i xs = _mm512_mask_sub_epi8(x, neg, _mm512_setzero_si512(), x);
      const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), aw, xs);
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), two_scales(d0 * st[0], two ? d1 * st[1] : 0.0f), acc[i]);
    }
  }
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) jb.out[i] = _mm512_reduce_add_ps(acc[i]);
}

// Lanes 0-7 take index a, lanes 8-15 index b (the two 32-column halves of a 64-byte load).
inline __m512i halves(int a, int b) {
  return _mm512_inserti64x4(_mm512_set1_epi32(a), _mm256_set1_epi32(b), 1);
}
// Lane l takes index first + l/4 (16-column sub-blocks: four i32 lanes each).
inline __m512i quarters(int first) {
  return _mm512_add_epi32(_mm512_set1_epi32(first),
                          _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3));
}

// ggml's 12-byte Q4_K scale/min packing unpacked into 8 scale bytes then 8 min bytes (ggml's
// utmp/kmask sequence, equivalent to ref::unpack_scale_min_k4 for j = 0..7).
inline void unpack_k4_scales(const uint8_t* packed, uint32_t u[4]) {
  constexpr uint32_t kMask1 = 0x3f3f3f3f, kMask2 = 0x0f0f0f0f, kMask3 = 0x03030303;
  std::memcpy(u, packed, 12);
  u[3] = ((u[2] >> 4) & kMask2) | (((u[1] >> 6) & kMask3) << 4);
  const uint32_t aux = u[1] & kMask1;
  u[1] = (u[2] & kMask2) | (((u[0] >> 6) & kMask3) << 4);
  u[2] = aux;
  u[0] &= kMask1;
}

// Q4_K: per super-block (144 bytes: f16 d, f16 dmin, 12 scale bytes, 128 nibble bytes) two 64-byte
// loads; load h holds sub-blocks 4h, 4h+2 (low nibbles) and 4h+1, 4h+3 (high nibbles).
template <int MR>
void row_q4_k(const RowJob& jb) {
  const int64_t k = jb.ac->k, S = k / 256;
  __m512 acc[MR];
  __m256 macc[MR];
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) acc[i] = _mm512_setzero_ps(), macc[i] = _mm256_setzero_ps();
  const __m512i nib = _mm512_set1_epi8(0x0f);
  for (int64_t s = 0; s < jb.nblocks; ++s) {
    const uint8_t* p = jb.row + s * 144;
    const float d = f16_at(p), dmin = f16_at(p + 2);
    alignas(16) uint32_t u[4];
    unpack_k4_scales(p + 4, u);
    const __m512i scz = _mm512_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(u)));
    const __m256i mins = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(u + 2)));
    __m512i lo[2], hi[2], slo[2], shi[2];
    RADSEEK_UNROLL
    for (int h = 0; h < 2; ++h) {
      const __m512i raw = _mm512_loadu_si512(p + 16 + 64 * h);
      lo[h] = _mm512_and_si512(raw, nib);
      hi[h] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), nib);
      slo[h] = _mm512_permutexvar_epi32(halves(4 * h, 4 * h + 2), scz);
      shi[h] = _mm512_permutexvar_epi32(halves(4 * h + 1, 4 * h + 3), scz);
    }
    RADSEEK_UNROLL
    for (int i = 0; i < MR; ++i) {
      const int8_t* xq = jb.ac->q.data() + (jb.i0 + i) * k + s * 256;
      __m512i isum = _mm512_setzero_si512();
      RADSEEK_UNROLL
      for (int h = 0; h < 2; ++h) {
        const __m512i dl = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo[h], _mm512_loadu_si512(xq + 128 * h));
        const __m512i dh = _mm512_dpbusd_epi32(_mm512_setzero_si512(), hi[h], _mm512_loadu_si512(xq + 128 * h + 64));
        isum = _mm512_add_epi32(isum, _mm512_add_epi32(_mm512_mullo_epi32(dl, slo[h]), _mm512_mullo_epi32(dh, shi[h])));
      }
      const float st = jb.ac->step[(jb.i0 + i) * S + s];
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * st), acc[i]);
      const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(jb.ac->bsum32.data() + (jb.i0 + i) * (k / 32) + s * 8));
      macc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_mullo_epi32(mins, bs)), _mm256_set1_ps(dmin * st), macc[i]);
    }
  }
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) {
    const __m128 m4 = _mm_add_ps(_mm256_castps256_ps128(macc[i]), _mm256_extractf128_ps(macc[i], 1));
    const __m128 m2 = _mm_add_ps(m4, _mm_movehl_ps(m4, m4));
    jb.out[i] = _mm512_reduce_add_ps(acc[i]) - _mm_cvtss_f32(_mm_add_ss(m2, _mm_shuffle_ps(m2, m2, 1)));
  }
}

// Q6_K: per super-block (210 bytes: ql[128], qh[64], i8 scales[16], f16 d) and half (128 columns)
// one 64-byte ql load and 32 qh bytes give columns 0-63 (low nibbles + qh bits 0-3) and 64-127
// (high nibbles + qh bits 4-7) of the half in natural order.
template <int MR>
void row_q6_k(const RowJob& jb) {
  const int64_t k = jb.ac->k, S = k / 256;
  __m512 acc[MR], cacc[MR];
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) acc[i] = cacc[i] = _mm512_setzero_ps();
  const __m512i nib = _mm512_set1_epi8(0x0f), two = _mm512_set1_epi8(3);
  for (int64_t s = 0; s < jb.nblocks; ++s) {
    const uint8_t* p = jb.row + s * 210;
    const float d = f16_at(p + 208);
    const __m512i scz = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 192)));
    __m512i z[4], sc[4];  // columns 64·c .. 64·c + 63 of the super-block
    RADSEEK_UNROLL
    for (int half = 0; half < 2; ++half) {
      const __m512i ab = _mm512_loadu_si512(p + 64 * half);
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 128 + 32 * half));
      const __m512i h01 = _mm512_inserti64x4(_mm512_castsi256_si512(h), _mm256_srli_epi16(h, 2), 1);
      const __m512i h23 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_srli_epi16(h, 4)), _mm256_srli_epi16(h, 6), 1);
      z[2 * half] = _mm512_or_si512(_mm512_and_si512(ab, nib), _mm512_slli_epi16(_mm512_and_si512(h01, two), 4));
      z[2 * half + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ab, 4), nib),
                                        _mm512_slli_epi16(_mm512_and_si512(h23, two), 4));
      sc[2 * half] = _mm512_permutexvar_epi32(quarters(8 * half), scz);
      sc[2 * half + 1] = _mm512_permutexvar_epi32(quarters(8 * half + 4), scz);
    }
    RADSEEK_UNROLL
    for (int i = 0; i < MR; ++i) {
      const int8_t* xq = jb.ac->q.data() + (jb.i0 + i) * k + s * 256;
      __m512i isum = _mm512_setzero_si512();
      RADSEEK_UNROLL
      for (int c = 0; c < 4; ++c) {
        const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), z[c], _mm512_loadu_si512(xq + 64 * c));
        isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(dot, sc[c]));
      }
      const float st = jb.ac->step[(jb.i0 + i) * S + s];
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * st), acc[i]);
      const __m512i bs = _mm512_loadu_si512(jb.ac->bsum16.data() + (jb.i0 + i) * (k / 16) + s * 16);
      cacc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_mullo_epi32(scz, bs)), _mm512_set1_ps(32.0f * d * st), cacc[i]);
    }
  }
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) jb.out[i] = _mm512_reduce_add_ps(acc[i]) - _mm512_reduce_add_ps(cacc[i]);
}

template <int MR>
void row_any(GgmlQuant t, const RowJob& jb) {
  switch (t) {
    case GgmlQuant::kQ8_0: return row_32<false, MR>(jb);
    case GgmlQuant::kQ4_0: return row_32<true, MR>(jb);
    case GgmlQuant::kQ4_K: return row_q4_k<MR>(jb);
    case GgmlQuant::kQ6_K: return row_q6_k<MR>(jb);
    default: return;  // not reached: gemm_ggml_vnni sends the others to gemm_dequant
  }
}

void gemm_int(const GemmArgs& a) {
  const WeightMatrix& w = *a.w;
  const Acts ac = quantize_all(a);
  const int64_t rb = row_bytes(w), nblocks = w.cols / ggml_quant_info(w.ggml).block_elems;
  const auto* base = static_cast<const uint8_t*>(w.data);
  float out[kMaxMR];
  for (int64_t i0 = 0; i0 < a.m; i0 += kMaxMR) {
    const int mr = static_cast<int>(std::min<int64_t>(kMaxMR, a.m - i0));
    for (int64_t j = a.n_begin; j < a.n_end; ++j) {
      const RowJob jb{.row = base + j * rb, .nblocks = nblocks, .ac = &ac, .i0 = i0, .out = out};
      switch (mr) {
        case 4: row_any<4>(w.ggml, jb); break;
        case 3: row_any<3>(w.ggml, jb); break;
        case 2: row_any<2>(w.ggml, jb); break;
        default: row_any<1>(w.ggml, jb); break;
      }
      for (int i = 0; i < mr; ++i) a.y[(i0 + i) * a.ldy + j - a.y_col_offset] = out[i];
    }
  }
}

float dot(const float* x, const float* w, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c + 16 <= n; c += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(x + c), _mm512_loadu_ps(w + c), acc);
  const __mmask16 m = static_cast<__mmask16>((1u << (n - c)) - 1u);
  acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + c), _mm512_maskz_loadu_ps(m, w + c), acc);
  return _mm512_reduce_add_ps(acc);
}

}  // namespace

// FP32 activations (and Q5_K): each weight row dequantised once by the scalar reference, then FMA
// dot products with every activation row (kBF16: with the int8-rounded activations, code × step).
void gemm_ggml_dequant(const GemmArgs& a) {
  const WeightMatrix& w = *a.w;
  const int64_t k = w.cols, rb = row_bytes(w);
  std::vector<float> row(static_cast<size_t>(k));
  const float* x = a.x;
  int64_t ldx = a.ldx;
  std::vector<float> xr;
  if (a.precision == ActPrecision::kBF16) {
    const int64_t group = ref::ggml_act_group(w.ggml);
    xr.resize(static_cast<size_t>(a.m * k));
    std::vector<int8_t> q(static_cast<size_t>(k));
    std::vector<float> step(static_cast<size_t>(k / group));
    std::vector<int32_t> bsum(static_cast<size_t>(k / 16));
    for (int64_t i = 0; i < a.m; ++i) {
      ref::quantize_acts_ggml(a.x + i * a.ldx, k, group, q.data(), step.data(), bsum.data());
      for (int64_t c = 0; c < k; ++c) xr[i * k + c] = static_cast<float>(q[c]) * step[c / group];
    }
    x = xr.data();
    ldx = k;
  }
  for (int64_t j = a.n_begin; j < a.n_end; ++j) {
    ref::dequantize_row_ggml(w.ggml, static_cast<const uint8_t*>(w.data) + j * rb, row.data(), k);
    for (int64_t i = 0; i < a.m; ++i) a.y[i * a.ldy + j - a.y_col_offset] = dot(x + i * ldx, row.data(), k);
  }
}

void gemm_ggml_vnni(const GemmArgs& a) {
  if (a.precision == ActPrecision::kF32 || a.w->ggml == GgmlQuant::kQ5_K) return gemm_ggml_dequant(a);
  gemm_int(a);
}

}  // namespace radseek::kernels::avx512

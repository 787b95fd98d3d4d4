// AVX2 gemm for radseek's Q8 / Q4 weights (layouts in kernels.h WeightMatrix), for CPUs without
// AVX-512 VNNI. Legend: m activation rows, k = w.cols, n weight rows, G = ceil(k/32) groups; one
// group is one ymm of 32 int8 codes.
// ActPrecision::kBF16 — integer path: activations quantised per group (ref/group_quant.h's rule,
// bit-identical) one k segment at a time; per group vpmaddubsw(|w|, sign(xq, w)) + vpmaddwd gives
// exact i32 sums (|w| ≤ 127, so pair sums ≤ 2·127·127 fit i16; Q4 nibbles are made signed
// first), converted and scaled by step · group scale into f32 accumulators.
// ActPrecision::kF32 — codes dequantised to f32 in registers, FP32 FMAs.
// Tails (the last group of a row) go through a zeroed copy, as AVX2 has no byte masks.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/kernels.h"
#include "kernels/prefetch.h"
#include "kernels/ref/group_quant.h"
#include "kernels/variants.h"
#include "kernels/x86_avx2/avx2_convert.h"

namespace radseek::kernels::avx2 {
namespace {

constexpr int64_t kG = kQuantGroup;
constexpr int64_t kSeg = 4096;  // columns quantised at once: bounds the stack buffers
constexpr int kMaxMR = 2;       // 16 ymm registers: 2 activation rows × 2 weight rows in prefill
// Software prefetch distance, as in the AVX-512 kernel (the tile's short row streams share pages,
// where the hardware streamer gives up): the same bytes of the row about this far ahead.
constexpr int64_t kPrefetchAhead = 16384;

struct ActBlock {
  alignas(32) int8_t q[kMaxMR][kSeg];         // codes, zero past the segment's end
  alignas(32) float step[kMaxMR][kSeg / kG];  // dequantisation step per group
};

// The 32 signed codes of group g of a row (Q4 nibbles minus 8, in column order).
template <bool kQ4>
inline __m256i load_codes(const uint8_t* row, int64_t g, int64_t k) {
  alignas(32) uint8_t buf[32] = {};
  if constexpr (kQ4) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + g * kQ4GroupBytes));
    const __m128i lo = _mm_and_si128(b, _mm_set1_epi8(0x0f)), hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(0x0f));
    return _mm256_sub_epi8(_mm256_set_m128i(hi, lo), _mm256_set1_epi8(static_cast<char>(ref::kQ4Offset)));
  } else {
    const int64_t left = k - g * kG;
    if (left >= kG) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + g * kG));
    std::memcpy(buf, row + g * kG, static_cast<size_t>(left));  // padding codes are 0
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(buf));
  }
}

// 8 floats of x from column c, zero past k.
inline __m256 load_x(const float* x, int64_t c, int64_t k) {
  return c + 8 <= k ? _mm256_loadu_ps(x + c) : _mm256_maskload_ps(x + c, tail_mask(std::max<int64_t>(0, k - c)));
}

void quantize_act(const float* x, int64_t k0, int64_t k1, ActBlock& ab, int slot) {
  for (int64_t g = 0; g < (k1 - k0 + kG - 1) / kG; ++g) {
    const int64_t c = k0 + g * kG;
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int q = 0; q < 4; ++q) v[q] = load_x(x, c + 8 * q, k1), amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[q]));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    const float am = _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
    const __m256 mul = _mm256_set1_ps(ref::act_quant_mul(am));
    __m256i q32[4];
    for (int q = 0; q < 4; ++q) q32[q] = _mm256_cvtps_epi32(_mm256_mul_ps(v[q], mul));
    // i32 → i8 with saturating packs (values are within ±127); packs interleave 128-bit lanes,
    // which the final permute undoes.
    const __m256i p16a = _mm256_packs_epi32(q32[0], q32[1]), p16b = _mm256_packs_epi32(q32[2], q32[3]);
    const __m256i p8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p16a, p16b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_store_si256(reinterpret_cast<__m256i*>(ab.q[slot] + g * kG), p8);
    ab.step[slot][g] = ref::act_quant_step(am);
  }
}

struct QPlan {
  const GemmArgs* a;
  const uint8_t* w;
  int64_t w_row_bytes, groups, k0, k1;
  const ActBlock* ab;
  int64_t i0;
  bool first;       // first segment: store y, later ones add
  int64_t pf_rows;  // prefetch distance in weight rows (about kPrefetchAhead bytes)
};

template <bool kQ4, int R, int MR>
void int_tile(const QPlan& p, int64_t j0) {
  __m256 acc[MR][R];
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i)
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) acc[i][r] = _mm256_setzero_ps();
  const int64_t g_base = p.k0 / kG, ng = (p.k1 - p.k0 + kG - 1) / kG;
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t g = 0; g < ng; ++g) {
    __m256i xq[MR];
    RADSEEK_UNROLL
    for (int i = 0; i < MR; ++i) xq[i] = _mm256_load_si256(reinterpret_cast<const __m256i*>(p.ab->q[i] + g * kG));
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) {
      // One request per 64 bytes of codes (2 Q8 groups, 4 Q4 groups) and per 16 scales.
      if (g % (kQ4 ? 4 : 2) == 0 && j0 + r + p.pf_rows < p.a->n_end) {
        const int64_t ahead = j0 + r + p.pf_rows, byte = kQ4 ? (g_base + g) * kQ4GroupBytes : (g_base + g) * kG;
        _mm_prefetch(reinterpret_cast<const char*>(p.w + ahead * p.w_row_bytes + byte), _MM_HINT_T0);
        if (g % 16 == 0) _mm_prefetch(reinterpret_cast<const char*>(p.a->w->group_scale + ahead * p.groups + g_base + g), _MM_HINT_T0);
      }
      const __m256i wq = load_codes<kQ4>(p.w + (j0 + r) * p.w_row_bytes, g_base + g, p.a->w->cols);
      const __m256i aw = _mm256_sign_epi8(wq, wq);
      const float dw = p.a->w->group_scale[(j0 + r) * p.groups + g_base + g];
      RADSEEK_UNROLL
      for (int i = 0; i < MR; ++i) {
        const __m256i s32 = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(xq[i], wq)), ones);
        acc[i][r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32), _mm256_set1_ps(dw * p.ab->step[i][g]), acc[i][r]);
      }
    }
  }
  const GemmArgs& a = *p.a;
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i)
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) {
      float* y = a.y + (p.i0 + i) * a.ldy + j0 + r - a.y_col_offset;
      *y = p.first ? hsum(acc[i][r]) : *y + hsum(acc[i][r]);
    }
}

template <bool kQ4, int MR>
void int_rows(const QPlan& p) {
  constexpr int R = MR == 1 ? 4 : 2;
  int64_t j = p.a->n_begin;
  // The tiles prefetch pf_rows ahead: the first pf_rows rows are requested here.
  prefetch_head(p.w + j * p.w_row_bytes, std::min(p.pf_rows, p.a->n_end - j) * p.w_row_bytes);
  for (; j + R <= p.a->n_end; j += R) int_tile<kQ4, R, MR>(p, j);
  for (; j < p.a->n_end; ++j) int_tile<kQ4, 1, MR>(p, j);
}

template <bool kQ4>
void gemm_int(const GemmArgs& a) {
  const WeightMatrix& w = *a.w;
  ActBlock ab;
  for (int64_t i0 = 0; i0 < a.m; i0 += kMaxMR) {
    const int mr = static_cast<int>(std::min<int64_t>(kMaxMR, a.m - i0));
    for (int64_t k0 = 0; k0 < w.cols; k0 += kSeg) {
      const int64_t k1 = std::min(w.cols, k0 + kSeg);
      for (int i = 0; i < mr; ++i) quantize_act(a.x + (i0 + i) * a.ldx, k0, k1, ab, i);
      const QPlan p{.a = &a, .w = static_cast<const uint8_t*>(w.data), .w_row_bytes = row_bytes(w),
                    .groups = (w.cols + kG - 1) / kG, .k0 = k0, .k1 = k1, .ab = &ab, .i0 = i0, .first = k0 == 0,
                    .pf_rows = std::max<int64_t>(1, kPrefetchAhead / row_bytes(w))};
      if (mr == 2) int_rows<kQ4, 2>(p);
      else int_rows<kQ4, 1>(p);
    }
  }
}

// FP32 path: per group, R rows' codes → f32 × scale (4 vectors each) against MR activation rows.
template <bool kQ4, int R, int MR>
void f32_tile(const GemmArgs& a, int64_t j0, int64_t i0) {
  const WeightMatrix& w = *a.w;
  const int64_t G = (w.cols + kG - 1) / kG, rb = row_bytes(w);
  const uint8_t* base = static_cast<const uint8_t*>(w.data);
  __m256 acc[MR][R];
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i)
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) acc[i][r] = _mm256_setzero_ps();
  for (int64_t g = 0; g < G; ++g) {
    __m256 xv[MR][4];
    RADSEEK_UNROLL
    for (int i = 0; i < MR; ++i)
      RADSEEK_UNROLL
      for (int q = 0; q < 4; ++q) xv[i][q] = load_x(a.x + (i0 + i) * a.ldx, g * kG + 8 * q, w.cols);
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) {
      const __m256i codes = load_codes<kQ4>(base + (j0 + r) * rb, g, w.cols);
      const __m256 s = _mm256_set1_ps(w.group_scale[(j0 + r) * G + g]);
      const __m128i lo = _mm256_castsi256_si128(codes), hi = _mm256_extracti128_si256(codes, 1);
      const __m128i part[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
      RADSEEK_UNROLL
      for (int q = 0; q < 4; ++q) {
        const __m256 wv = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(part[q])), s);
        RADSEEK_UNROLL
        for (int i = 0; i < MR; ++i) acc[i][r] = _mm256_fmadd_ps(xv[i][q], wv, acc[i][r]);
      }
    }
  }
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i)
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) a.y[(i0 + i) * a.ldy + j0 + r - a.y_col_offset] = hsum(acc[i][r]);
}

template <bool kQ4>
void gemm_f32(const GemmArgs& a) {
  for (int64_t i0 = 0; i0 < a.m; ++i0) {
    int64_t j = a.n_begin;
    for (; j + 4 <= a.n_end; j += 4) f32_tile<kQ4, 4, 1>(a, j, i0);
    for (; j < a.n_end; ++j) f32_tile<kQ4, 1, 1>(a, j, i0);
  }
}

}  // namespace

void gemm_q(const GemmArgs& a) {
  const bool q4 = a.w->dtype == DType::kU8;
  if (a.precision == ActPrecision::kBF16) {
    if (q4) gemm_int<true>(a);
    else gemm_int<false>(a);
  } else {
    if (q4) gemm_f32<true>(a);
    else gemm_f32<false>(a);
  }
}

}  // namespace radseek::kernels::avx2

// AVX-512 (+VNNI) gemm for radseek's Q8 / Q4 weights (layouts in kernels.h WeightMatrix).
//
// Legend: m activation rows, k reduction length (= w.cols), n weight rows, G = ceil(k/32) groups.
// ActPrecision::kBF16 — integer path: MR activation rows are quantised per 32-column group to int8
// (ref/group_quant.h's rule, bit-identical) for one k segment at a time; then vpdpbusd multiplies
// unsigned weight codes (Q8 code XOR 0x80 = q + 128; Q4 nibble = q + 8) by the signed activation
// codes. A 64-byte "unit" is 2 groups (Q8) or 4 (Q4); 16 groups (512 columns) are a "super", whose
// 16 weight scales are loaded in one vector and multiplied by the activation steps; vpermps
// spreads them to the lanes of each unit's dot products. The offset is removed once per super:
// Σ q·xq = Σ (q + c)·xq − c·Σ xq, with c·step·Σ xq precomputed per group (ActBlock::corr).
// Q4 activations are stored permuted per 128 columns so that the low and high nibbles of one 64-byte
// load meet their activations without shuffles: [g0 c0-15, g1 c0-15, g2 c0-15, g3 c0-15 | the
// same for c16-31].
// ActPrecision::kF32 — weights dequantised in registers (code → f32 × group scale), FP32 FMAs.
#include <immintrin.h>

#include <algorithm>

#include "kernels/kernels.h"
#include "kernels/ref/group_quant.h"
#include "kernels/variants.h"
#include "kernels/x86_avx512/avx512_convert.h"
#include "kernels/prefetch.h"

namespace radseek::kernels::avx512 {
namespace {

constexpr int64_t kG = kQuantGroup;
constexpr int64_t kSeg = 4096;          // columns quantised at once: bounds the stack buffers
constexpr int64_t kSuperCols = 512;     // 16 groups: one vector of scales
constexpr int kMaxMR = 4;
// Software prefetch distance. Expert rows are short (704-2048 bytes in V2-Lite), so a tile's R row
// streams share 4 KiB pages, where the L2 streamer mostly gives up (gemm_avx512_fp8_decode.cpp);
// each unit requests the same bytes of the row about this far ahead, each super its scale line.
constexpr int64_t kPrefetchAhead = 16384;

// Quantised activations of up to kMaxMR rows over one segment (~20 KiB on the stack).
struct ActBlock {
  alignas(64) int8_t q[kMaxMR][kSeg];            // codes, zero past the segment's end
  alignas(64) float step[kMaxMR][kSeg / kG];     // dequantisation step per group (0 past the end)
  alignas(64) float corr[kMaxMR][kSeg / kG];     // offset · step · Σ codes per group
};

// Row i's columns [k0, k1) into slot `slot` of `ab`, in natural (Q8) or Q4 order.
void quantize_act(const float* x, int64_t k0, int64_t k1, bool q4, ActBlock& ab, int slot) {
  const int32_t offset = q4 ? ref::kQ4Offset : ref::kQ8Offset;
  const int64_t n = k1 - k0, groups = (n + kG - 1) / kG, padded = (n + kSuperCols - 1) / kSuperCols * kSuperCols;
  for (int64_t g = 0; g < padded / kG; ++g) {
    int8_t* dst_lo = q4 ? ab.q[slot] + (g / 4) * 128 + (g % 4) * 16 : ab.q[slot] + g * kG;
    int8_t* dst_hi = q4 ? dst_lo + 64 : dst_lo + 16;
    if (g >= groups) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst_lo), _mm_setzero_si128());
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst_hi), _mm_setzero_si128());
      ab.step[slot][g] = ab.corr[slot][g] = 0.0f;
      continue;
    }
    const int64_t c = k0 + g * kG, left = std::min<int64_t>(kG, k1 - c);
    const __mmask16 m0 = static_cast<__mmask16>(left >= 16 ? 0xffff : (1u << left) - 1u);
    const __mmask16 m1 = static_cast<__mmask16>(left >= 32 ? 0xffff : left <= 16 ? 0 : (1u << (left - 16)) - 1u);
    const __m512 x0 = _mm512_maskz_loadu_ps(m0, x + c), x1 = _mm512_maskz_loadu_ps(m1, x + c + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
    const __m512 mul = _mm512_set1_ps(ref::act_quant_mul(amax));
    const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, mul)), q1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, mul));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst_lo), _mm512_cvtepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst_hi), _mm512_cvtepi32_epi8(q1));
    const float step = ref::act_quant_step(amax);
    ab.step[slot][g] = step;
    ab.corr[slot][g] = static_cast<float>(offset) * step * static_cast<float>(_mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1)));
  }
}

struct QPlan {
  const GemmArgs* a;
  const uint8_t* w;
  int64_t w_row_bytes;
  int64_t groups;  // G, scale columns per row
  int64_t k0, k1;  // the segment
  const ActBlock* ab;
  int64_t i0;      // first activation row of the block
  bool first;      // first segment: store y, later ones add
  int64_t pf_rows; // prefetch distance in weight rows (about kPrefetchAhead bytes)
};

inline void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }

// Lane l of unit u's i32 dot products belongs to group l/8 (Q8: 2 groups) or l/4 (Q4: 4 groups) of
// the unit; these indices pick that group's scale from the super's 16.
template <bool kQ4>
inline __m512i unit_index(int u) {
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  return kQ4 ? _mm512_add_epi32(_mm512_set1_epi32(4 * u), _mm512_srli_epi32(lane, 2))
             : _mm512_add_epi32(_mm512_set1_epi32(2 * u), _mm512_srli_epi32(lane, 3));
}

// Integer-path tile: R weight rows × MR activation rows over the segment. The hot loop (per unit:
// one 64-byte load, 1-2 vpdpbusd, a convert, a permute and an FMA per row × activation row) is
// long because Q8 and Q4 share it; split, the two copies would differ in three lines.
template <bool kQ4, int R, int MR>
void int_tile(const QPlan& p, int64_t j0) {
  __m512 acc[MR][R], cacc[MR][R];
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i)
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) acc[i][r] = cacc[i][r] = _mm512_setzero_ps();
  const int64_t seg_bytes = kQ4 ? (p.k1 - p.k0 + kG - 1) / kG * kQ4GroupBytes : p.k1 - p.k0;
  const int64_t byte0 = kQ4 ? p.k0 / 2 : p.k0, g_base = p.k0 / kG;
  constexpr int kUnitsPerSuper = kQ4 ? 4 : 8;
  for (int64_t s = 0; s * kUnitsPerSuper * 64 < seg_bytes; ++s) {
    const int64_t g0 = g_base + 16 * s;
    const __mmask16 gm = static_cast<__mmask16>(p.groups - g0 >= 16 ? 0xffff : (1u << (p.groups - g0)) - 1u);
    __m512 pv[MR][R];
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) {
      if (j0 + r + p.pf_rows < p.a->n_end) prefetch(p.a->w->group_scale + (j0 + r + p.pf_rows) * p.groups + g0);
      const __m512 dw = _mm512_maskz_loadu_ps(gm, p.a->w->group_scale + (j0 + r) * p.groups + g0);
      RADSEEK_UNROLL
      for (int i = 0; i < MR; ++i) {
        pv[i][r] = _mm512_mul_ps(dw, _mm512_load_ps(p.ab->step[i] + 16 * s));
        cacc[i][r] = _mm512_fmadd_ps(dw, _mm512_load_ps(p.ab->corr[i] + 16 * s), cacc[i][r]);
      }
    }
    for (int u = 0; u < kUnitsPerSuper; ++u) {
      const int64_t b = (s * kUnitsPerSuper + u) * 64;  // byte offset of the unit in the segment
      if (b >= seg_bytes) break;
      const __mmask64 bm = seg_bytes - b >= 64 ? ~__mmask64{0} : (__mmask64{1} << (seg_bytes - b)) - 1u;
      const __m512i idx = unit_index<kQ4>(u);
      __m512i xa[MR], xb[MR];
      RADSEEK_UNROLL
      for (int i = 0; i < MR; ++i) {
        xa[i] = _mm512_load_si512(p.ab->q[i] + (kQ4 ? 2 * b : b));
        if (kQ4) xb[i] = _mm512_load_si512(p.ab->q[i] + 2 * b + 64);
      }
      RADSEEK_UNROLL
      for (int r = 0; r < R; ++r) {
        if (j0 + r + p.pf_rows < p.a->n_end) prefetch(p.w + (j0 + r + p.pf_rows) * p.w_row_bytes + byte0 + b);
        const __m512i wb = _mm512_maskz_loadu_epi8(bm, p.w + (j0 + r) * p.w_row_bytes + byte0 + b);
        const __m512i nib = _mm512_set1_epi8(0x0f);
        const __m512i wa = kQ4 ? _mm512_and_si512(wb, nib) : _mm512_xor_si512(wb, _mm512_set1_epi8(static_cast<char>(0x80)));
        const __m512i wh = _mm512_and_si512(_mm512_srli_epi16(wb, 4), nib);
        RADSEEK_UNROLL
        for (int i = 0; i < MR; ++i) {
          __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wa, xa[i]);
          if (kQ4) d = _mm512_dpbusd_epi32(d, wh, xb[i]);
          acc[i][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_permutexvar_ps(idx, pv[i][r]), acc[i][r]);
        }
      }
    }
  }
  const GemmArgs& a = *p.a;
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i)
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) {
      float* y = a.y + (p.i0 + i) * a.ldy + j0 + r - a.y_col_offset;
      const float v = _mm512_reduce_add_ps(acc[i][r]) - _mm512_reduce_add_ps(cacc[i][r]);
      *y = p.first ? v : *y + v;
    }
}

template <bool kQ4, int MR>
void int_rows(const QPlan& p) {
  constexpr int R = MR == 1 ? 4 : 2;  // decode streams 4 rows; prefill tiles 2 × MR
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
      for (int i = 0; i < mr; ++i) quantize_act(a.x + (i0 + i) * a.ldx, k0, k1, kQ4, ab, i);
      const QPlan p{.a = &a, .w = static_cast<const uint8_t*>(w.data), .w_row_bytes = row_bytes(w),
                    .groups = (w.cols + kG - 1) / kG, .k0 = k0, .k1 = k1, .ab = &ab, .i0 = i0, .first = k0 == 0,
                    .pf_rows = std::max<int64_t>(1, kPrefetchAhead / row_bytes(w))};
      switch (mr) {
        case 4: int_rows<kQ4, 4>(p); break;
        case 3: int_rows<kQ4, 3>(p); break;
        case 2: int_rows<kQ4, 2>(p); break;
        default: int_rows<kQ4, 1>(p); break;
      }
    }
  }
}

// FP32 path: one 32-column group of R weight rows as two f32 vectors each (code × scale), times MR
// activation rows. Past k the x lanes are masked to zero, so padding codes contribute nothing.
template <bool kQ4, int R, int MR>
void f32_tile(const GemmArgs& a, int64_t j0, int64_t i0) {
  const WeightMatrix& w = *a.w;
  const int64_t G = (w.cols + kG - 1) / kG, rb = row_bytes(w);
  const uint8_t* base = static_cast<const uint8_t*>(w.data);
  __m512 acc[MR][R];
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i)
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) acc[i][r] = _mm512_setzero_ps();
  for (int64_t g = 0; g < G; ++g) {
    const int64_t c = g * kG, left = std::min<int64_t>(kG, w.cols - c);
    const __mmask16 m0 = static_cast<__mmask16>(left >= 16 ? 0xffff : (1u << left) - 1u);
    const __mmask16 m1 = static_cast<__mmask16>(left >= 32 ? 0xffff : left <= 16 ? 0 : (1u << (left - 16)) - 1u);
    __m512 x0[MR], x1[MR];
    RADSEEK_UNROLL
    for (int i = 0; i < MR; ++i) {
      x0[i] = _mm512_maskz_loadu_ps(m0, a.x + (i0 + i) * a.ldx + c);
      x1[i] = _mm512_maskz_loadu_ps(m1, a.x + (i0 + i) * a.ldx + c + 16);
    }
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) {
      const uint8_t* row = base + (j0 + r) * rb;
      const __m512 s = _mm512_set1_ps(w.group_scale[(j0 + r) * G + g]);
      __m512i q0, q1;
      if (kQ4) {
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + g * kQ4GroupBytes));
        const __m512i v = _mm512_cvtepu8_epi32(b), off = _mm512_set1_epi32(ref::kQ4Offset);
        q0 = _mm512_sub_epi32(_mm512_and_si512(v, _mm512_set1_epi32(0x0f)), off);
        q1 = _mm512_sub_epi32(_mm512_srli_epi32(v, 4), off);
      } else {
        q0 = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m0, row + c));
        q1 = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m1, row + c + 16));
      }
      const __m512 w0 = _mm512_mul_ps(_mm512_cvtepi32_ps(q0), s), w1 = _mm512_mul_ps(_mm512_cvtepi32_ps(q1), s);
      RADSEEK_UNROLL
      for (int i = 0; i < MR; ++i) acc[i][r] = _mm512_fmadd_ps(x1[i], w1, _mm512_fmadd_ps(x0[i], w0, acc[i][r]));
    }
  }
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i)
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) a.y[(i0 + i) * a.ldy + j0 + r - a.y_col_offset] = _mm512_reduce_add_ps(acc[i][r]);
}

template <bool kQ4, int MR>
void f32_rows(const GemmArgs& a, int64_t i0) {
  constexpr int R = MR == 1 ? 4 : 2;
  int64_t j = a.n_begin;
  for (; j + R <= a.n_end; j += R) f32_tile<kQ4, R, MR>(a, j, i0);
  for (; j < a.n_end; ++j) f32_tile<kQ4, 1, MR>(a, j, i0);
}

template <bool kQ4>
void gemm_f32(const GemmArgs& a) {
  int64_t i0 = 0;
  for (; i0 + kMaxMR <= a.m; i0 += kMaxMR) f32_rows<kQ4, kMaxMR>(a, i0);
  switch (a.m - i0) {
    case 3: f32_rows<kQ4, 3>(a, i0); break;
    case 2: f32_rows<kQ4, 2>(a, i0); break;
    case 1: f32_rows<kQ4, 1>(a, i0); break;
    default: break;
  }
}

}  // namespace

void gemm_q_vnni(const GemmArgs& a) {
  const bool q4 = a.w->dtype == DType::kU8;
  if (gemm_q_panels(a)) return;  // prefill: repacked 16-row panels (gemm_avx512_ggml_panel.cpp)
  if (a.precision == ActPrecision::kBF16) {
    if (q4) gemm_int<true>(a);
    else gemm_int<false>(a);
  } else {
    if (q4) gemm_f32<true>(a);
    else gemm_f32<false>(a);
  }
}

}  // namespace radseek::kernels::avx512

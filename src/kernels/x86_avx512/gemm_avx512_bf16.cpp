// AVX512_BF16 gemm for ActPrecision::kBF16 with BF16 or FP8 weights and kMinPackedRows <= m <
// kMinPanelRows: vdpbf16ps on packed chunks (layout in pack_avx512.h). Larger m goes to the f32
// panels, which measured faster here (f32 FMA issues twice per cycle, vdpbf16ps about once per two);
// FP8 decode (m = 1) to gemm_fp8_decode_bf16 (gemm_avx512_fp8_decode.cpp); everything else to the
// FP32 tile path.
//
// Legend: m activation rows, k reduction length, n weight rows. Loop nest (outer to inner):
//   i0c  kBlockRows activation rows, whose bf16 chunk ap[] stays in L1 across the whole n range;
//   k0   one chunk of ≤ 128 columns (one FP8 block, so one scale per weight row);
//   n0   a 32-row weight panel, converted and transposed into bp[] once per (i0c, k0);
//   i    MR activation rows × 32 weight rows in 2·MR accumulators (y columns across lanes, so no
//        horizontal sums), then y += acc · scale (the scale applied in f32 per block, as the
//        reference does).
// Products bf16 × bf16 are exact in f32, so this matches the reference up to summation order.
#include <immintrin.h>

#include "kernels/kernels.h"
#include "kernels/variants.h"
#include "kernels/x86_avx512/avx512_convert.h"
#include "kernels/x86_avx512/pack_avx512.h"

namespace radseek::kernels::avx512 {
namespace {

// Below this the FP32 tile path (x rounded in registers) is faster: measured at n = k = 2048, BF16
// weights, m = 4: 68 vs 39 GFLOP/s, m = 8: 53 vs 41; m = 12: 54 vs 63, m = 15: 69 vs 71.
constexpr int64_t kMinPackedRows = 12;
constexpr int64_t kBlockRows = 64;     // activation rows per A chunk: 64 × 128 bf16 = 16 KiB
constexpr int kMR = 8;                 // activation rows per register tile (16 accumulators)

struct Panel {
  const uint16_t* ap;
  const uint32_t* bp;
  const float* sv;  // per weight row multiplier of this chunk
  int64_t kpairs;
  float* y;  // y at (first activation row of the chunk, n0)
  int64_t ldy;
  int64_t valid_n;  // weight rows of the panel below n_end
  bool first;       // the first chunk overwrites y, later chunks add
};

inline __m512bh as_bh(__m512i v) { return reinterpret_cast<__m512bh>(v); }

// MR activation rows starting at i against the panel; the k loop is the hot loop (2·MR vdpbf16ps
// per 2 loads of B and MR broadcasts of A pairs).
template <int MR>
void micro(const Panel& p, int64_t i) {
  __m512 acc[MR][2];
  RADSEEK_UNROLL
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  const uint16_t* a = p.ap + i * kPackK;
  for (int64_t kp = 0; kp < p.kpairs; ++kp) {
    const __m512i b0 = _mm512_load_si512(p.bp + kp * kPackN);
    const __m512i b1 = _mm512_load_si512(p.bp + kp * kPackN + 16);
    RADSEEK_UNROLL
    for (int r = 0; r < MR; ++r) {
      int32_t pair;
      __builtin_memcpy(&pair, a + r * kPackK + 2 * kp, sizeof pair);
      const __m512i av = _mm512_set1_epi32(pair);
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], as_bh(av), as_bh(b0));
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], as_bh(av), as_bh(b1));
    }
  }
  const __mmask16 m0 = static_cast<__mmask16>(p.valid_n >= 16 ? 0xffff : (1u << p.valid_n) - 1u);
  const __mmask16 m1 = static_cast<__mmask16>(p.valid_n >= 32 ? 0xffff : p.valid_n <= 16 ? 0 : (1u << (p.valid_n - 16)) - 1u);
  const __m512 s0 = _mm512_loadu_ps(p.sv), s1 = _mm512_loadu_ps(p.sv + 16);
  RADSEEK_UNROLL
  for (int r = 0; r < MR; ++r) {
    float* yr = p.y + (i + r) * p.ldy;
    __m512 v0 = _mm512_mul_ps(acc[r][0], s0), v1 = _mm512_mul_ps(acc[r][1], s1);
    if (!p.first) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, yr));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, yr + 16));
    }
    _mm512_mask_storeu_ps(yr, m0, v0);
    _mm512_mask_storeu_ps(yr + 16, m1, v1);
  }
}

void panel_rows(const Panel& p, int64_t rows) {
  int64_t i = 0;
  for (; i + kMR <= rows; i += kMR) micro<kMR>(p, i);
  switch (rows - i) {
    case 7: micro<7>(p, i); break;
    case 6: micro<6>(p, i); break;
    case 5: micro<5>(p, i); break;
    case 4: micro<4>(p, i); break;
    case 3: micro<3>(p, i); break;
    case 2: micro<2>(p, i); break;
    case 1: micro<1>(p, i); break;
    default: break;
  }
}

void gemm_packed(const GemmArgs& a) {
  const WeightMatrix& w = *a.w;
  alignas(64) uint16_t ap[kBlockRows * kPackK];
  alignas(64) uint32_t bp[kPackK / 2 * kPackN];
  alignas(64) float sv[kPackN];
  for (int64_t i0 = 0; i0 < a.m; i0 += kBlockRows) {
    const int64_t rows = std::min(kBlockRows, a.m - i0);
    for (int64_t k0 = 0; k0 < w.cols;) {
      const int64_t k1 = chunk_end(w, k0);
      pack_a(a.x + i0 * a.ldx, a.ldx, rows, rows, k0, k1, ap);
      for (int64_t n0 = a.n_begin; n0 < a.n_end; n0 += kPackN) {
        pack_b(w, n0, a.n_end, k0, k1, bp);
        chunk_scales(w, n0, a.n_end, k0, sv);
        const Panel p{.ap = ap, .bp = bp, .sv = sv, .kpairs = padded_k(k0, k1) / 2,
                      .y = a.y + i0 * a.ldy + n0 - a.y_col_offset, .ldy = a.ldy, .valid_n = a.n_end - n0, .first = k0 == 0};
        panel_rows(p, rows);
      }
      k0 = k1;
    }
  }
}

}  // namespace

void gemm_bf16(const GemmArgs& a) {
  const DType d = a.w->dtype;
  if (a.m >= kMinPanelRows) {
    gemm_f32_panels(a);
  } else if (gemm_fp8_decode_bf16(a)) {
    // m = 1, kBF16, FP8: done
  } else if (a.precision == ActPrecision::kBF16 && (d == DType::kBF16 || d == DType::kF8E4M3) && a.m >= kMinPackedRows) {
    gemm_packed(a);
  } else {
    gemm(a);
  }
}

}  // namespace radseek::kernels::avx512

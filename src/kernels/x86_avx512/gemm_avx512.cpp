// AVX-512 gemm on FP32 arithmetic: ActPrecision::kF32 (the accuracy path) and kBF16 emulated by
// rounding activations to bf16 in registers (products and sums stay f32, as in the reference).
//
// Legend: m activation rows, k reduction length (= w.cols), n weight rows. A register tile covers
// R weight rows × MR activation rows; acc[i][r] holds 16 partial sums of y[i0+i, j0+r], reduced to
// one float at the end. Weights are converted to f32 in registers as they stream by; FP8 values are
// multiplied by their block scale (f32) before the FMA, so every product is x · (q · s) in FP32.
//
// Decode (m = 1) is memory-bound: kDecodeRows rows stream at once so several sequential streams keep
// the prefetchers busy, and x (k floats, in L1/L2) is shared by all of them. Prefill (m > 1) keeps a
// kRows-row weight strip in L1/L2 and walks all activation rows over it, converting each weight
// vector once per MR activation rows.
#include <immintrin.h>

#include <algorithm>

#include "kernels/kernels.h"
#include "kernels/variants.h"
#include "kernels/x86_avx512/avx512_convert.h"
#include "kernels/prefetch.h"

namespace radseek::kernels::avx512 {
namespace {

constexpr int kLanes = 16;
constexpr int kDecodeRows = 8;  // weight rows per tile when m == 1 (8 streams, 8 accumulators)
constexpr int kRows = 4;        // weight rows per tile when m > 1
constexpr int kActRows = 4;     // activation rows per tile when m > 1 (16 accumulators)

// Everything a tile needs, resolved once per call.
struct Plan {
  const float* x;
  int64_t ldx;
  int64_t k;
  const uint8_t* w;
  int64_t w_row_bytes;
  const float* block_scale;
  int64_t block_rows;
  int64_t block_cols;
  int64_t scale_cols;
  float* y;
  int64_t ldy;
  int64_t y_off;  // GemmArgs::y_col_offset
  int64_t n_end;  // GemmArgs::n_end: decode tiles prefetch the rows after theirs up to here
};

template <DType D>
constexpr int64_t elem_bytes() {
  return D == DType::kF32 ? 4 : (D == DType::kF8E4M3 ? 1 : 2);
}

// 16 weights of one row from column kk, as f32 (FP8: value / 256). kMasked loads only lanes in mask.
template <DType D, bool kMasked>
inline __m512 load_w(const uint8_t* row, int64_t kk, __mmask16 mask) {
  const uint8_t* p = row + kk * elem_bytes<D>();
  if constexpr (D == DType::kF32) {
    return kMasked ? _mm512_maskz_loadu_ps(mask, p) : _mm512_loadu_ps(p);
  } else if constexpr (D == DType::kBF16) {
    return bf16x16_to_f32(kMasked ? _mm256_maskz_loadu_epi16(mask, p)
                                  : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  } else if constexpr (D == DType::kF16) {
    return _mm512_cvtph_ps(kMasked ? _mm256_maskz_loadu_epi16(mask, p)
                                   : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  } else {
    return fp8x16_to_f32_div256(kMasked ? _mm_maskz_loadu_epi8(mask, p)
                                        : _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
}

template <bool kRoundX, bool kMasked>
inline __m512 load_x(const float* p, __mmask16 mask) {
  const __m512 v = kMasked ? _mm512_maskz_loadu_ps(mask, p) : _mm512_loadu_ps(p);
  return kRoundX ? round_to_bf16(v) : v;
}

// One 16-column step of a tile: MR activation vectors against R weight vectors.
template <DType D, bool kRoundX, int R, int MR, bool kMasked>
inline void step(const float* const* xr, const uint8_t* const* wr, const float* s, int64_t kk,
                 __mmask16 mask, __m512 (&acc)[MR][R]) {
  __m512 xv[MR];
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) xv[i] = load_x<kRoundX, kMasked>(xr[i] + kk, mask);
  RADSEEK_UNROLL
  for (int r = 0; r < R; ++r) {
    __m512 wv = load_w<D, kMasked>(wr[r], kk, mask);
    if constexpr (D == DType::kF8E4M3) wv = _mm512_mul_ps(wv, _mm512_set1_ps(s[r]));
    RADSEEK_UNROLL
    for (int i = 0; i < MR; ++i) acc[i][r] = _mm512_fmadd_ps(xv[i], wv, acc[i][r]);
  }
}

// y[i0.., j0..] for an R × MR tile over the whole reduction. FP8 walks k block by block so each
// row's scale is fetched once per block (rows of one tile may sit in different row blocks).
template <DType D, bool kRoundX, int R, int MR>
void tile(const Plan& p, int64_t j0, int64_t i0) {
  __m512 acc[MR][R];
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i)
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) acc[i][r] = _mm512_setzero_ps();
  const float* xr[MR];
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) xr[i] = p.x + (i0 + i) * p.ldx;
  const uint8_t* wr[R];
  RADSEEK_UNROLL
  for (int r = 0; r < R; ++r) wr[r] = p.w + (j0 + r) * p.w_row_bytes;
  const int64_t chunk = D == DType::kF8E4M3 ? p.block_cols : p.k;
  float s[R] = {};
  // Decode only: the next tile's rows in address order, as many bytes per step as the step reads (see
  // gemm_avx512_fp8_decode.cpp: rows shorter than 4 KiB share pages, which the L2 streamer does not
  // follow; BF16 rows of the experts' down_proj are 2816 bytes). Into L2, not L1: a request for L1
  // holds one of the core's few L1 miss buffers for the whole trip to memory, and with the tile's own
  // loads these ran out — BF16 rows streamed at 12.3-12.7 GB/s on one core with T0 and 14.3-14.7
  // with T1, the rate of a plain sequential read (2,048 and 1,408 columns, 2 runs each).
  const uint8_t* pf = p.w + (j0 + R) * p.w_row_bytes;
  const uint8_t* const pf_end = MR == 1 ? p.w + std::min(p.n_end, j0 + 2 * R) * p.w_row_bytes : pf;
  for (int64_t k0 = 0; k0 < p.k; k0 += chunk) {
    const int64_t k1 = std::min(p.k, k0 + chunk);
    if constexpr (D == DType::kF8E4M3) {
      RADSEEK_UNROLL
      for (int r = 0; r < R; ++r)
        s[r] = p.block_scale[((j0 + r) / p.block_rows) * p.scale_cols + k0 / p.block_cols] * kFp8Unscale;
    }
    int64_t kk = k0;
    for (; kk + kLanes <= k1; kk += kLanes) {
      if constexpr (MR == 1) {
        for (int64_t b = 0; b < R * kLanes * elem_bytes<D>(); b += 64, pf += 64)
          if (pf < pf_end) _mm_prefetch(reinterpret_cast<const char*>(pf), _MM_HINT_T1);
      }
      step<D, kRoundX, R, MR, false>(xr, wr, s, kk, 0xffff, acc);
    }
    if (kk < k1) {
      const __mmask16 mask = static_cast<__mmask16>((1u << (k1 - kk)) - 1u);
      step<D, kRoundX, R, MR, true>(xr, wr, s, kk, mask, acc);
    }
  }
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i)
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) p.y[(i0 + i) * p.ldy + j0 + r - p.y_off] = _mm512_reduce_add_ps(acc[i][r]);
}

// 32 FP8 weights (sign-extended to 16 bits) times 32 activations into one accumulator. One zmm
// sign-extension widens all 32 bytes; the mapping is fp8x16_to_f16's (value / 256, exact).
inline __m512 fma_fp8x32(__m256i b, __m512 x0, __m512 x1, __m512 acc) {
  const __m512i h = _mm512_and_si512(_mm512_slli_epi16(_mm512_cvtepi8_epi16(b), 7),
                                     _mm512_set1_epi16(static_cast<int16_t>(0xbf80)));
  acc = _mm512_fmadd_ps(x0, _mm512_cvtph_ps(_mm512_castsi512_si256(h)), acc);
  return _mm512_fmadd_ps(x1, _mm512_cvtph_ps(_mm512_extracti64x4_epi64(h, 1)), acc);
}

// One 64-column step of an FP8 decode tile: R rows of 64 bytes against 64 activations (shared by
// the rows). The raw bytes OR 0x80 feed a running byte max that reaches 0xff only if some code is
// a NaN (checked once per tile) — two uops per 64 weights rather than a per-lane fix-up.
template <bool kRoundX, int R, bool kMasked>
inline void decode_fp8_step(const float* x, const uint8_t* const* wr, int64_t kk, __mmask64 mask,
                            __m512 (&blk)[R], __m512i& nan_max) {
  __m512 xv[4];
  RADSEEK_UNROLL
  for (int q = 0; q < 4; ++q) xv[q] = load_x<kRoundX, kMasked>(x + kk + 16 * q, static_cast<__mmask16>(mask >> (16 * q)));
  RADSEEK_UNROLL
  for (int r = 0; r < R; ++r) {
    const __m512i b = kMasked ? _mm512_maskz_loadu_epi8(mask, wr[r] + kk) : _mm512_loadu_si512(wr[r] + kk);
    nan_max = _mm512_max_epu8(nan_max, _mm512_or_si512(b, _mm512_set1_epi8(static_cast<char>(0x80))));
    blk[r] = fma_fp8x32(_mm512_castsi512_si256(b), xv[0], xv[1], blk[r]);
    blk[r] = fma_fp8x32(_mm512_extracti64x4_epi64(b, 1), xv[2], xv[3], blk[r]);
  }
}

// Decode (m = 1) with FP8 weights, R rows: the block scale multiplies a per-block partial sum (as
// the reference does) instead of every weight. With AVX512_BF16, kBF16 decode takes the cheaper
// gemm_fp8_decode_bf16 instead; this serves kF32 and CPUs without it.
// A NaN code anywhere in a row makes that row's result NaN, as x · NaN is NaN in the reference.
template <bool kRoundX, int R>
void decode_fp8(const Plan& p, int64_t j0) {
  __m512 total[R];
  RADSEEK_UNROLL
  for (int r = 0; r < R; ++r) total[r] = _mm512_setzero_ps();
  const uint8_t* wr[R];
  RADSEEK_UNROLL
  for (int r = 0; r < R; ++r) wr[r] = p.w + (j0 + r) * p.w_row_bytes;
  __m512i nan_max = _mm512_setzero_si512();
  for (int64_t k0 = 0; k0 < p.k; k0 += p.block_cols) {
    const int64_t k1 = std::min(p.k, k0 + p.block_cols);
    __m512 blk[R];
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) blk[r] = _mm512_setzero_ps();
    int64_t kk = k0;
    for (; kk + 64 <= k1; kk += 64) decode_fp8_step<kRoundX, R, false>(p.x, wr, kk, ~__mmask64{0}, blk, nan_max);
    if (kk < k1) {
      const __mmask64 mask = (uint64_t{1} << (k1 - kk)) - 1u;  // k1 - kk < 64
      decode_fp8_step<kRoundX, R, true>(p.x, wr, kk, mask, blk, nan_max);
    }
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) {
      const float s = p.block_scale[((j0 + r) / p.block_rows) * p.scale_cols + k0 / p.block_cols] * kFp8Unscale;
      total[r] = _mm512_fmadd_ps(blk[r], _mm512_set1_ps(s), total[r]);
    }
  }
  const bool any_nan = _mm512_cmpeq_epi8_mask(nan_max, _mm512_set1_epi8(static_cast<char>(0xff))) != 0;
  RADSEEK_UNROLL
  for (int r = 0; r < R; ++r) {
    bool row_nan = false;
    for (int64_t kk = 0; any_nan && kk < p.k && !row_nan; ++kk) row_nan = (wr[r][kk] & 0x7f) == 0x7f;
    p.y[j0 + r - p.y_off] = row_nan ? __builtin_nanf("") : _mm512_reduce_add_ps(total[r]);
  }
}

// All activation rows against the R weight rows starting at j0.
template <DType D, bool kRoundX, int R>
void strip(const Plan& p, int64_t j0, int64_t m) {
  int64_t i0 = 0;
  for (; i0 + kActRows <= m; i0 += kActRows) tile<D, kRoundX, R, kActRows>(p, j0, i0);
  switch (m - i0) {
    case 3: tile<D, kRoundX, R, 3>(p, j0, i0); break;
    case 2: tile<D, kRoundX, R, 2>(p, j0, i0); break;
    case 1: tile<D, kRoundX, R, 1>(p, j0, i0); break;
    default: break;
  }
}

template <DType D, bool kRoundX>
void gemm_typed(const GemmArgs& a, const Plan& p) {
  int64_t j = a.n_begin;
  if (a.m == 1 && D == DType::kF8E4M3) {
    prefetch_head(p.w + j * p.w_row_bytes, std::min((a.n_end - j) * p.w_row_bytes, kSmallRangePrefetch));
    for (; j + kDecodeRows <= a.n_end; j += kDecodeRows) decode_fp8<kRoundX, kDecodeRows>(p, j);
    for (; j < a.n_end; ++j) decode_fp8<kRoundX, 1>(p, j);
  } else if (a.m == 1) {
    prefetch_head(p.w + j * p.w_row_bytes, std::min<int64_t>(kDecodeRows, a.n_end - j) * p.w_row_bytes);  // tiles prefetch the next
    for (; j + kDecodeRows <= a.n_end; j += kDecodeRows) tile<D, kRoundX, kDecodeRows, 1>(p, j, 0);
  } else {
    for (; j + kRows <= a.n_end; j += kRows) strip<D, kRoundX, kRows>(p, j, a.m);
  }
  for (; j < a.n_end; ++j) strip<D, kRoundX, 1>(p, j, a.m);
}

template <bool kRoundX>
void gemm_dtype(const GemmArgs& a, const Plan& p) {
  switch (a.w->dtype) {
    case DType::kF32: gemm_typed<DType::kF32, kRoundX>(a, p); break;
    case DType::kBF16: gemm_typed<DType::kBF16, kRoundX>(a, p); break;
    case DType::kF16: gemm_typed<DType::kF16, kRoundX>(a, p); break;
    case DType::kF8E4M3: gemm_typed<DType::kF8E4M3, kRoundX>(a, p); break;
    default: break;  // other dtypes are rejected when weights are loaded
  }
}

}  // namespace

void gemm(const GemmArgs& a) {
  const WeightMatrix& w = *a.w;
  const Plan p{.x = a.x,
               .ldx = a.ldx,
               .k = w.cols,
               .w = static_cast<const uint8_t*>(w.data),
               .w_row_bytes = w.cols * static_cast<int64_t>(dtype_size(w.dtype)),
               .block_scale = w.block_scale,
               .block_rows = w.block_rows,
               .block_cols = w.block_cols,
               .scale_cols = (w.cols + w.block_cols - 1) / w.block_cols,
               .y = a.y,
               .ldy = a.ldy,
               .y_off = a.y_col_offset,
               .n_end = a.n_end};
  if (a.m >= kMinPanelRows) {
    gemm_f32_panels(a);
  } else if (a.precision == ActPrecision::kBF16) {
    gemm_dtype<true>(a, p);
  } else {
    gemm_dtype<false>(a, p);
  }
}

}  // namespace radseek::kernels::avx512

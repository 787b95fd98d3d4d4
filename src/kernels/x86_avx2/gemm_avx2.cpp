// AVX2 gemm on FP32 arithmetic, for CPUs without AVX-512: ActPrecision::kF32 and kBF16 (emulated by
// rounding activations to bf16 in registers; products and sums stay f32, as in the reference).
//
// Legend: m activation rows, k reduction length (= w.cols), n weight rows. A register tile covers
// R weight rows × MR activation rows; acc[i][r] holds 8 partial sums of y[i0+i, j0+r]. Weights are
// converted to f32 in registers; FP8 values are multiplied by their f32 block scale before the FMA.
// With 16 ymm registers the tiles are small: 4 rows × 1 for decode, 4 × 2 for prefill.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/kernels.h"
#include "kernels/variants.h"
#include "kernels/x86_avx2/avx2_convert.h"

namespace radseek::kernels::avx2 {
namespace {

constexpr int kLanes = 8;
constexpr int kRows = 4;     // weight rows per tile
constexpr int kActRows = 2;  // activation rows per tile when m > 1 (8 accumulators)

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
};

template <DType D>
constexpr int64_t elem_bytes() {
  return D == DType::kF32 ? 4 : (D == DType::kF8E4M3 ? 1 : 2);
}

// 8 weights of a row as f32 (FP8: value / 256), from a pointer with at least 8 readable elements.
template <DType D>
inline __m256 load_w(const uint8_t* p) {
  if constexpr (D == DType::kF32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
  } else if constexpr (D == DType::kBF16) {
    return bf16x8_to_f32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  } else if constexpr (D == DType::kF16) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  } else {
    return fp8x8_to_f32_div256(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  }
}

// The last rem (< 8) weights of a block: copied into a zeroed buffer, as AVX2 has no byte masks.
template <DType D>
inline __m256 load_w_tail(const uint8_t* p, int64_t rem) {
  alignas(32) uint8_t buf[kLanes * 4] = {};
  std::memcpy(buf, p, static_cast<size_t>(rem * elem_bytes<D>()));
  return load_w<D>(buf);
}

template <DType D, bool kRoundX, int R, int MR, bool kTail>
inline void step(const float* const* xr, const uint8_t* const* wr, const float* s, int64_t kk,
                 int64_t rem, __m256 (&acc)[MR][R]) {
  __m256 xv[MR];
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) {
    const __m256 v = kTail ? _mm256_maskload_ps(xr[i] + kk, tail_mask(rem)) : _mm256_loadu_ps(xr[i] + kk);
    xv[i] = kRoundX ? round_to_bf16(v) : v;
  }
  RADSEEK_UNROLL
  for (int r = 0; r < R; ++r) {
    const uint8_t* p = wr[r] + kk * elem_bytes<D>();
    __m256 wv = kTail ? load_w_tail<D>(p, rem) : load_w<D>(p);
    if constexpr (D == DType::kF8E4M3) wv = _mm256_mul_ps(wv, _mm256_broadcast_ss(s + r));
    RADSEEK_UNROLL
    for (int i = 0; i < MR; ++i) acc[i][r] = _mm256_fmadd_ps(xv[i], wv, acc[i][r]);
  }
}

// y[i0.., j0..] for an R × MR tile over the whole reduction; FP8 walks k one scale block at a time.
template <DType D, bool kRoundX, int R, int MR>
void tile(const Plan& p, int64_t j0, int64_t i0) {
  __m256 acc[MR][R];
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i)
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) acc[i][r] = _mm256_setzero_ps();
  const float* xr[MR];
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) xr[i] = p.x + (i0 + i) * p.ldx;
  const uint8_t* wr[R];
  RADSEEK_UNROLL
  for (int r = 0; r < R; ++r) wr[r] = p.w + (j0 + r) * p.w_row_bytes;
  const int64_t chunk = D == DType::kF8E4M3 ? p.block_cols : p.k;
  float s[R] = {};
  for (int64_t k0 = 0; k0 < p.k; k0 += chunk) {
    const int64_t k1 = std::min(p.k, k0 + chunk);
    if constexpr (D == DType::kF8E4M3) {
      RADSEEK_UNROLL
      for (int r = 0; r < R; ++r)
        s[r] = p.block_scale[((j0 + r) / p.block_rows) * p.scale_cols + k0 / p.block_cols] * kFp8Unscale;
    }
    int64_t kk = k0;
    for (; kk + kLanes <= k1; kk += kLanes) step<D, kRoundX, R, MR, false>(xr, wr, s, kk, kLanes, acc);
    if (kk < k1) step<D, kRoundX, R, MR, true>(xr, wr, s, kk, k1 - kk, acc);
  }
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i)
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) p.y[(i0 + i) * p.ldy + j0 + r - p.y_off] = hsum(acc[i][r]);
}

// One 16-column step of an FP8 decode tile: R rows of 16 bytes against 16 activations. One ymm
// sign-extension widens 16 bytes; the bytes OR 0x80 feed a running byte max that reaches 0xff only if
// some code is a NaN (checked once per tile). kTail reads `rem` < 16 columns through a zeroed copy.
template <bool kRoundX, int R, bool kTail>
inline void decode_fp8_step(const float* x, const uint8_t* const* wr, int64_t kk, int64_t rem,
                            __m256 (&blk)[R], __m128i& nan_max) {
  alignas(64) float xbuf[16] = {};
  if (kTail) std::memcpy(xbuf, x + kk, static_cast<size_t>(rem) * sizeof(float));
  const float* xp = kTail ? xbuf : x + kk;
  __m256 x0 = _mm256_loadu_ps(xp), x1 = _mm256_loadu_ps(xp + 8);
  if (kRoundX) x0 = round_to_bf16(x0), x1 = round_to_bf16(x1);
  const __m256i sign_em = _mm256_set1_epi16(static_cast<int16_t>(0xbf80));
  RADSEEK_UNROLL
  for (int r = 0; r < R; ++r) {
    alignas(16) uint8_t wbuf[16] = {};
    if (kTail) std::memcpy(wbuf, wr[r] + kk, static_cast<size_t>(rem));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kTail ? wbuf : wr[r] + kk));
    nan_max = _mm_max_epu8(nan_max, _mm_or_si128(b, _mm_set1_epi8(static_cast<char>(0x80))));
    // Same mapping as fp8x8_to_f16 (value / 256, exact), 16 lanes at once.
    const __m256i h = _mm256_and_si256(_mm256_slli_epi16(_mm256_cvtepi8_epi16(b), 7), sign_em);
    blk[r] = _mm256_fmadd_ps(x0, _mm256_cvtph_ps(_mm256_castsi256_si128(h)), blk[r]);
    blk[r] = _mm256_fmadd_ps(x1, _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1)), blk[r]);
  }
}

// Decode (m = 1) with FP8 weights, R rows: the block scale multiplies a per-block partial sum (as
// the reference does) rather than every weight, to stay near memory speed. A NaN code anywhere in a
// row makes that row's result NaN, as x · NaN is NaN in the reference.
template <bool kRoundX, int R>
void decode_fp8(const Plan& p, int64_t j0) {
  __m256 total[R];
  const uint8_t* wr[R];
  RADSEEK_UNROLL
  for (int r = 0; r < R; ++r) total[r] = _mm256_setzero_ps(), wr[r] = p.w + (j0 + r) * p.w_row_bytes;
  __m128i nan_max = _mm_setzero_si128();
  for (int64_t k0 = 0; k0 < p.k; k0 += p.block_cols) {
    const int64_t k1 = std::min(p.k, k0 + p.block_cols);
    __m256 blk[R];
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) blk[r] = _mm256_setzero_ps();
    int64_t kk = k0;
    for (; kk + 16 <= k1; kk += 16) decode_fp8_step<kRoundX, R, false>(p.x, wr, kk, 16, blk, nan_max);
    if (kk < k1) decode_fp8_step<kRoundX, R, true>(p.x, wr, kk, k1 - kk, blk, nan_max);
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) {
      const float s = p.block_scale[((j0 + r) / p.block_rows) * p.scale_cols + k0 / p.block_cols] * kFp8Unscale;
      total[r] = _mm256_fmadd_ps(blk[r], _mm256_set1_ps(s), total[r]);
    }
  }
  const bool any_nan = _mm_movemask_epi8(_mm_cmpeq_epi8(nan_max, _mm_set1_epi8(static_cast<char>(0xff)))) != 0;
  for (int r = 0; r < R; ++r) {
    bool row_nan = false;
    for (int64_t kk = 0; any_nan && kk < p.k && !row_nan; ++kk) row_nan = (wr[r][kk] & 0x7f) == 0x7f;
    p.y[j0 + r - p.y_off] = row_nan ? __builtin_nanf("") : hsum(total[r]);
  }
}

template <DType D, bool kRoundX, int R>
void strip(const Plan& p, int64_t j0, int64_t m) {
  int64_t i0 = 0;
  for (; i0 + kActRows <= m; i0 += kActRows) tile<D, kRoundX, R, kActRows>(p, j0, i0);
  if (i0 < m) tile<D, kRoundX, R, 1>(p, j0, i0);
}

template <DType D, bool kRoundX>
void gemm_typed(const GemmArgs& a, const Plan& p) {
  int64_t j = a.n_begin;
  if (a.m == 1 && D == DType::kF8E4M3) {
    for (; j + kRows <= a.n_end; j += kRows) decode_fp8<kRoundX, kRows>(p, j);
    for (; j < a.n_end; ++j) decode_fp8<kRoundX, 1>(p, j);
    return;
  }
  for (; j + kRows <= a.n_end; j += kRows) strip<D, kRoundX, kRows>(p, j, a.m);
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
               .y_off = a.y_col_offset};
  if (a.precision == ActPrecision::kBF16) {
    gemm_dtype<true>(a, p);
  } else {
    gemm_dtype<false>(a, p);
  }
}

}  // namespace radseek::kernels::avx2

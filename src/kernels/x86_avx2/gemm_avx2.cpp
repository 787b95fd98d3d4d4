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
  for (int i = 0; i < MR; ++i) {
    const __m256 v = kTail ? _mm256_maskload_ps(xr[i] + kk, tail_mask(rem)) : _mm256_loadu_ps(xr[i] + kk);
    xv[i] = kRoundX ? round_to_bf16(v) : v;
  }
  for (int r = 0; r < R; ++r) {
    const uint8_t* p = wr[r] + kk * elem_bytes<D>();
    __m256 wv = kTail ? load_w_tail<D>(p, rem) : load_w<D>(p);
    if constexpr (D == DType::kF8E4M3) wv = _mm256_mul_ps(wv, _mm256_broadcast_ss(s + r));
    for (int i = 0; i < MR; ++i) acc[i][r] = _mm256_fmadd_ps(xv[i], wv, acc[i][r]);
  }
}

// y[i0.., j0..] for an R × MR tile over the whole reduction; FP8 walks k one scale block at a time.
template <DType D, bool kRoundX, int R, int MR>
void tile(const Plan& p, int64_t j0, int64_t i0) {
  __m256 acc[MR][R];
  for (int i = 0; i < MR; ++i)
    for (int r = 0; r < R; ++r) acc[i][r] = _mm256_setzero_ps();
  const float* xr[MR];
  for (int i = 0; i < MR; ++i) xr[i] = p.x + (i0 + i) * p.ldx;
  const uint8_t* wr[R];
  for (int r = 0; r < R; ++r) wr[r] = p.w + (j0 + r) * p.w_row_bytes;
  const int64_t chunk = D == DType::kF8E4M3 ? p.block_cols : p.k;
  float s[R] = {};
  for (int64_t k0 = 0; k0 < p.k; k0 += chunk) {
    const int64_t k1 = std::min(p.k, k0 + chunk);
    if constexpr (D == DType::kF8E4M3) {
      for (int r = 0; r < R; ++r)
        s[r] = p.block_scale[((j0 + r) / p.block_rows) * p.scale_cols + k0 / p.block_cols] * kFp8Unscale;
    }
    int64_t kk = k0;
    for (; kk + kLanes <= k1; kk += kLanes) step<D, kRoundX, R, MR, false>(xr, wr, s, kk, kLanes, acc);
    if (kk < k1) step<D, kRoundX, R, MR, true>(xr, wr, s, kk, k1 - kk, acc);
  }
  for (int i = 0; i < MR; ++i)
    for (int r = 0; r < R; ++r) p.y[(i0 + i) * p.ldy + j0 + r] = hsum(acc[i][r]);
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
               .ldy = a.ldy};
  if (a.precision == ActPrecision::kBF16) {
    gemm_dtype<true>(a, p);
  } else {
    gemm_dtype<false>(a, p);
  }
}

}  // namespace radseek::kernels::avx2

// AVX-512 gemv_t: y[c] += Σ_i x[i] · W[row0 + i, c], the transposed product MLA absorption needs
// (q_abs = W_UKᵀ · q_nope). Rows are read in storage order, so the weights stream once.
//
// Legend: c columns (= w.cols), r rows in the range, m vectors. One vector: a chunk of up to 64
// columns is held in 4 accumulators while every row of the range passes over it (x[i] times the
// row's scale broadcast); then y += acc. Several vectors (the heads of a query over a chunk of the
// MLA cache): up to 8 of them share each row's 32 columns, 2 loads and 16 FMAs per row, so the rows
// are read m/8 times instead of m times — one call per head had re-read a 64-row chunk from L2 for
// each head and reached ~30 GFLOP/s. FP8 walks columns one scale block at a time, and rows in runs
// that share a scale row block, so each scale is fetched once per run.
#include <immintrin.h>

#include <algorithm>

#include "kernels/gemv_t_walk.h"
#include "kernels/kernels.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/variants.h"
#include "kernels/x86_avx512/avx512_convert.h"

namespace radseek::kernels::avx512 {
namespace {

constexpr int kLanes = 16;
constexpr int kVecs = 4;  // accumulators per chunk: 64 columns

template <DType D>
constexpr int64_t elem_bytes() {
  return D == DType::kF32 ? 4 : (D == DType::kF8E4M3 ? 1 : 2);
}

// 16 weights from element `c` of `row` as f32 (FP8: value / 256, NaN codes to NaN), lanes in `m`.
template <DType D>
inline __m512 load_w(const uint8_t* row, int64_t c, __mmask16 m) {
  const uint8_t* p = row + c * elem_bytes<D>();
  if constexpr (D == DType::kF32) return _mm512_maskz_loadu_ps(m, p);
  else if constexpr (D == DType::kBF16) return bf16x16_to_f32(_mm256_maskz_loadu_epi16(m, p));
  else if constexpr (D == DType::kF16) return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
  else return fp8x16_to_f32_div256(_mm_maskz_loadu_epi8(m, p));
}

struct Chunk {
  const GemvTArgs* a;
  const uint8_t* w;     // row 0 of the matrix
  int64_t row_bytes;
  int64_t c0;           // first column of the chunk
  __mmask16 mask[kVecs];
  int64_t block_col;    // FP8: the scale column of the chunk
  int64_t scale_cols;
};

// One chunk over the whole row range. Masked loads cost the same as plain ones here, and masks of
// zero lanes neither read nor fault, so one body serves full chunks and tails.
template <DType D>
void chunk(const Chunk& ch) {
  const GemvTArgs& a = *ch.a;
  const WeightMatrix& w = *a.w;
  __m512 acc[kVecs];
  RADSEEK_UNROLL
  for (int q = 0; q < kVecs; ++q) acc[q] = _mm512_setzero_ps();
  for (int64_t i = 0; i < a.rows;) {
    const int64_t r = a.row0 + i;
    int64_t i_end = a.rows;
    float s = 1.0f;
    if constexpr (D == DType::kF8E4M3) {
      const int64_t rb = r / w.block_rows;
      i_end = std::min(a.rows, (rb + 1) * w.block_rows - a.row0);
      s = w.block_scale[rb * ch.scale_cols + ch.block_col] * kFp8Unscale;
    }
    for (; i < i_end; ++i) {
      const uint8_t* row = ch.w + (a.row0 + i) * ch.row_bytes;
      const __m512 coef = _mm512_set1_ps(a.x[i] * s);
      RADSEEK_UNROLL
      for (int q = 0; q < kVecs; ++q) acc[q] = _mm512_fmadd_ps(coef, load_w<D>(row, ch.c0 + q * kLanes, ch.mask[q]), acc[q]);
    }
  }
  RADSEEK_UNROLL
  for (int q = 0; q < kVecs; ++q) {
    float* y = a.y + ch.c0 + q * kLanes;
    _mm512_mask_storeu_ps(y, ch.mask[q], _mm512_add_ps(_mm512_maskz_loadu_ps(ch.mask[q], y), acc[q]));
  }
}

template <DType D>
void gemv_t_typed(const GemvTArgs& a) {
  const WeightMatrix& w = *a.w;
  const int64_t seg = D == DType::kF8E4M3 ? w.block_cols : w.cols;
  Chunk ch{.a = &a, .w = static_cast<const uint8_t*>(w.data), .row_bytes = row_bytes(w), .c0 = 0, .mask = {},
           .block_col = 0, .scale_cols = (w.cols + w.block_cols - 1) / w.block_cols};
  for (int64_t s0 = 0; s0 < w.cols; s0 += seg) {
    const int64_t s1 = std::min(w.cols, s0 + seg);
    ch.block_col = s0 / w.block_cols;
    for (int64_t c0 = s0; c0 < s1; c0 += kVecs * kLanes) {
      ch.c0 = c0;
      RADSEEK_UNROLL
      for (int q = 0; q < kVecs; ++q) {
        const int64_t left = std::clamp<int64_t>(s1 - c0 - q * kLanes, 0, kLanes);
        ch.mask[q] = static_cast<__mmask16>((1u << left) - 1u);
      }
      chunk<D>(ch);
    }
  }
}

constexpr int kMultiVecs = 8;   // vectors sharing a row's loads
constexpr int kMultiCols = 32;  // columns per pass: 2 accumulators per vector

// One chunk (≤ 32 columns) of V vectors over the whole row range.
template <DType D, int V>
void multi_chunk(const GemvTArgs& a, const GemvTChunk& ch) {
  const WeightMatrix& w = *a.w;
  const auto* base = static_cast<const uint8_t*>(w.data);
  const int64_t rbytes = row_bytes(w), ldx = gemv_t_ldx(a), ldy = gemv_t_ldy(a);
  const int64_t scale_cols = (w.cols + w.block_cols - 1) / w.block_cols;
  __mmask16 mask[2];
  RADSEEK_UNROLL
  for (int q = 0; q < 2; ++q) mask[q] = static_cast<__mmask16>((1u << std::clamp<int64_t>(ch.width - q * kLanes, 0, kLanes)) - 1u);
  __m512 acc[V][2];
  RADSEEK_UNROLL
  for (int v = 0; v < V; ++v) acc[v][0] = acc[v][1] = _mm512_setzero_ps();
  for (int64_t i = 0; i < a.rows;) {
    int64_t i_end = a.rows;
    __m512 s = _mm512_set1_ps(1.0f);
    if constexpr (D == DType::kF8E4M3) {
      const int64_t rb = (a.row0 + i) / w.block_rows;
      i_end = std::min(a.rows, (rb + 1) * w.block_rows - a.row0);
      s = _mm512_set1_ps(w.block_scale[rb * scale_cols + ch.block_col] * kFp8Unscale);
    }
    for (; i < i_end; ++i) {
      const uint8_t* row = base + (a.row0 + i) * rbytes;
      __m512 w0 = load_w<D>(row, ch.c0, mask[0]), w1 = load_w<D>(row, ch.c0 + kLanes, mask[1]);
      if constexpr (D == DType::kF8E4M3) w0 = _mm512_mul_ps(w0, s), w1 = _mm512_mul_ps(w1, s);
      RADSEEK_UNROLL
      for (int v = 0; v < V; ++v) {
        const __m512 xv = _mm512_set1_ps(ch.x[v * ldx + i]);
        acc[v][0] = _mm512_fmadd_ps(xv, w0, acc[v][0]);
        acc[v][1] = _mm512_fmadd_ps(xv, w1, acc[v][1]);
      }
    }
  }
  RADSEEK_UNROLL
  for (int v = 0; v < V; ++v) {
    RADSEEK_UNROLL
    for (int q = 0; q < 2; ++q) {
      float* y = ch.y + v * ldy + ch.c0 + q * kLanes;
      _mm512_mask_storeu_ps(y, mask[q], _mm512_add_ps(_mm512_maskz_loadu_ps(mask[q], y), acc[v][q]));
    }
  }
}

template <DType D>
void gemv_t_multi(const GemvTArgs& a) {
  gemv_t_walk<kMultiVecs, kMultiCols>(a, [&]<int V>(const GemvTChunk& ch) { multi_chunk<D, V>(a, ch); });
}

template <DType D>
void gemv_t_dtype(const GemvTArgs& a) {
  if (a.m == 1) gemv_t_typed<D>(a);
  else gemv_t_multi<D>(a);
}

}  // namespace

void gemv_t(const GemvTArgs& a) {
  switch (a.w->dtype) {
    case DType::kF32: gemv_t_dtype<DType::kF32>(a); break;
    case DType::kBF16: gemv_t_dtype<DType::kBF16>(a); break;
    case DType::kF16: gemv_t_dtype<DType::kF16>(a); break;
    case DType::kF8E4M3: gemv_t_dtype<DType::kF8E4M3>(a); break;
    default: ref::gemv_t(a);  // integer formats: not on a hot path (quantize keeps kv_b_proj float)
  }
}

}  // namespace radseek::kernels::avx512

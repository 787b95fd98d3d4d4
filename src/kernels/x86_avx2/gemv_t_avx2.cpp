// AVX2 gemv_t: y[c] += Σ_i x[i] · W[row0 + i, c] (see kernels.h GemvTArgs), for CPUs without AVX-512.
//
// Legend: c columns (= w.cols), r rows in the range. A chunk of up to 32 columns is held in 4
// accumulators while every row of the range passes over it; then y += acc. FP8 walks columns one
// scale block at a time and rows in runs sharing a scale row block (one scale fetch per run, and
// the scale multiplies x[i], not every weight). Chunk tails read weights through a zeroed copy,
// as AVX2 has no byte masks.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/gemv_t_walk.h"
#include "kernels/kernels.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/variants.h"
#include "kernels/x86_avx2/avx2_convert.h"

namespace radseek::kernels::avx2 {
namespace {

constexpr int kLanes = 8;
constexpr int kVecs = 4;  // accumulators per chunk: 32 columns

template <DType D>
constexpr int64_t elem_bytes() {
  return D == DType::kF32 ? 4 : (D == DType::kF8E4M3 ? 1 : 2);
}

// 8 weights as f32 (FP8: value / 256, NaN codes to NaN) from a pointer with 8 readable elements.
template <DType D>
inline __m256 load_w(const uint8_t* p) {
  if constexpr (D == DType::kF32) return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
  else if constexpr (D == DType::kBF16) return bf16x8_to_f32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  else if constexpr (D == DType::kF16) return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  else return fp8x8_to_f32_div256(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}

struct Chunk {
  const GemvTArgs* a;
  const uint8_t* w;  // row 0 of the matrix
  int64_t row_bytes;
  int64_t c0;        // first column of the chunk
  int64_t width;     // columns in the chunk, ≤ 32
  int64_t block_col;  // FP8: the scale column of the chunk
  int64_t scale_cols;
};

// One chunk over the whole row range; kTail: width < 32, weights copied into a zeroed buffer.
template <DType D, bool kTail>
void chunk(const Chunk& ch) {
  const GemvTArgs& a = *ch.a;
  const WeightMatrix& w = *a.w;
  __m256 acc[kVecs];
  RADSEEK_UNROLL
  for (int q = 0; q < kVecs; ++q) acc[q] = _mm256_setzero_ps();
  alignas(32) uint8_t buf[kVecs * kLanes * 4] = {};
  for (int64_t i = 0; i < a.rows;) {
    int64_t i_end = a.rows;
    float s = 1.0f;
    if constexpr (D == DType::kF8E4M3) {
      const int64_t rb = (a.row0 + i) / w.block_rows;
      i_end = std::min(a.rows, (rb + 1) * w.block_rows - a.row0);
      s = w.block_scale[rb * ch.scale_cols + ch.block_col] * kFp8Unscale;
    }
    for (; i < i_end; ++i) {
      const uint8_t* p = ch.w + (a.row0 + i) * ch.row_bytes + ch.c0 * elem_bytes<D>();
      if (kTail) std::memcpy(buf, p, static_cast<size_t>(ch.width * elem_bytes<D>())), p = buf;
      const __m256 coef = _mm256_set1_ps(a.x[i] * s);
      RADSEEK_UNROLL
      for (int q = 0; q < kVecs; ++q) acc[q] = _mm256_fmadd_ps(coef, load_w<D>(p + q * kLanes * elem_bytes<D>()), acc[q]);
    }
  }
  RADSEEK_UNROLL
  for (int q = 0; q < kVecs; ++q) {
    float* y = a.y + ch.c0 + q * kLanes;
    const int64_t left = std::clamp<int64_t>(ch.width - q * kLanes, 0, kLanes);
    if (!kTail) {
      _mm256_storeu_ps(y, _mm256_add_ps(_mm256_loadu_ps(y), acc[q]));
    } else if (left > 0) {
      const __m256i m = tail_mask(left);
      _mm256_maskstore_ps(y, m, _mm256_add_ps(_mm256_maskload_ps(y, m), acc[q]));
    }
  }
}

template <DType D>
void gemv_t_typed(const GemvTArgs& a) {
  const WeightMatrix& w = *a.w;
  const int64_t seg = D == DType::kF8E4M3 ? w.block_cols : w.cols;
  Chunk ch{.a = &a, .w = static_cast<const uint8_t*>(w.data), .row_bytes = row_bytes(w), .c0 = 0, .width = 0,
           .block_col = 0, .scale_cols = (w.cols + w.block_cols - 1) / w.block_cols};
  for (int64_t s0 = 0; s0 < w.cols; s0 += seg) {
    const int64_t s1 = std::min(w.cols, s0 + seg);
    ch.block_col = s0 / w.block_cols;
    for (int64_t c0 = s0; c0 < s1; c0 += kVecs * kLanes) {
      ch.c0 = c0;
      ch.width = std::min<int64_t>(kVecs * kLanes, s1 - c0);
      if (ch.width == kVecs * kLanes) chunk<D, false>(ch);
      else chunk<D, true>(ch);
    }
  }
}

// Several vectors over shared rows (the heads of a query against a chunk of the MLA cache): up to 4
// of them take each row's 16 columns, 2 loads for 8 FMAs, so the rows are read m/4 times instead of
// m times (16 registers hold 8 accumulators, the 2 weight vectors and a broadcast).
constexpr int kMultiVecs = 4;
constexpr int kMultiCols = 2 * kLanes;

// One chunk of V vectors over the whole row range; kTail: width < 16, weights read through a zeroed
// copy (AVX2 has no byte masks).
template <DType D, int V, bool kTail>
void multi_chunk(const GemvTArgs& a, const GemvTChunk& ch) {
  const WeightMatrix& w = *a.w;
  const auto* base = static_cast<const uint8_t*>(w.data);
  const int64_t rbytes = row_bytes(w), ldx = gemv_t_ldx(a), ldy = gemv_t_ldy(a);
  const int64_t scale_cols = (w.cols + w.block_cols - 1) / w.block_cols;
  __m256 acc[V][2];
  RADSEEK_UNROLL
  for (int v = 0; v < V; ++v) acc[v][0] = acc[v][1] = _mm256_setzero_ps();
  alignas(32) uint8_t buf[kMultiCols * 4] = {};
  for (int64_t i = 0; i < a.rows;) {
    int64_t i_end = a.rows;
    __m256 s = _mm256_set1_ps(1.0f);
    if constexpr (D == DType::kF8E4M3) {
      const int64_t rb = (a.row0 + i) / w.block_rows;
      i_end = std::min(a.rows, (rb + 1) * w.block_rows - a.row0);
      s = _mm256_set1_ps(w.block_scale[rb * scale_cols + ch.block_col] * kFp8Unscale);
    }
    for (; i < i_end; ++i) {
      const uint8_t* p = base + (a.row0 + i) * rbytes + ch.c0 * elem_bytes<D>();
      if (kTail) std::memcpy(buf, p, static_cast<size_t>(ch.width * elem_bytes<D>())), p = buf;
      __m256 w0 = load_w<D>(p), w1 = load_w<D>(p + kLanes * elem_bytes<D>());
      if constexpr (D == DType::kF8E4M3) w0 = _mm256_mul_ps(w0, s), w1 = _mm256_mul_ps(w1, s);
      RADSEEK_UNROLL
      for (int v = 0; v < V; ++v) {
        const __m256 xv = _mm256_broadcast_ss(ch.x + v * ldx + i);
        acc[v][0] = _mm256_fmadd_ps(xv, w0, acc[v][0]);
        acc[v][1] = _mm256_fmadd_ps(xv, w1, acc[v][1]);
      }
    }
  }
  RADSEEK_UNROLL
  for (int v = 0; v < V; ++v) {
    RADSEEK_UNROLL
    for (int q = 0; q < 2; ++q) {
      float* y = ch.y + v * ldy + ch.c0 + q * kLanes;
      const int64_t left = std::clamp<int64_t>(ch.width - q * kLanes, 0, kLanes);
      if (!kTail) {
        _mm256_storeu_ps(y, _mm256_add_ps(_mm256_loadu_ps(y), acc[v][q]));
      } else if (left > 0) {
        const __m256i m = tail_mask(left);
        _mm256_maskstore_ps(y, m, _mm256_add_ps(_mm256_maskload_ps(y, m), acc[v][q]));
      }
    }
  }
}

template <DType D>
void gemv_t_multi(const GemvTArgs& a) {
  gemv_t_walk<kMultiVecs, kMultiCols>(a, [&]<int V>(const GemvTChunk& ch) {
    if (ch.width == kMultiCols) multi_chunk<D, V, false>(a, ch);
    else multi_chunk<D, V, true>(a, ch);
  });
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

}  // namespace radseek::kernels::avx2

// Packing into the BF16 pair layout (see pack_avx512.h). B packing converts 16 rows × 32 columns to
// bf16 pairs (16 u32 per row) and transposes that 16 × 16 block of u32, so each output vector is one
// k-pair across 16 weight rows.
#include "kernels/x86_avx512/pack_avx512.h"

#include <immintrin.h>

#include "kernels/x86_avx512/avx512_convert.h"

namespace radseek::kernels::avx512 {
namespace {

// 32 columns of one weight row from column k as 16 u32 bf16 pairs; columns at or past `valid` are 0.
inline __m512i load_row_pairs(const WeightMatrix& w, int64_t row, int64_t k, int64_t valid) {
  const __mmask32 mask = valid >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((1u << valid) - 1u);
  if (w.dtype == DType::kBF16) {
    return _mm512_maskz_loadu_epi16(mask, static_cast<const uint16_t*>(w.data) + row * w.cols + k);
  }
  const __m256i b = _mm256_maskz_loadu_epi8(mask, static_cast<const uint8_t*>(w.data) + row * w.cols + k);
  const __m512 lo = fp8x16_to_f32_div256(_mm256_castsi256_si128(b));
  const __m512 hi = fp8x16_to_f32_div256(_mm256_extracti128_si256(b, 1));
  return reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));  // exact: e4m3 fits in bf16
}

}  // namespace

void pack_a(const float* x, int64_t ldx, int64_t rows, int64_t rows_padded, int64_t k0, int64_t k1,
            uint16_t* ap) {
  const int64_t kc = padded_k(k0, k1);
  for (int64_t i = 0; i < rows_padded; ++i) {
    for (int64_t c = 0; c < kc; c += 32) {
      const int64_t valid = i < rows ? std::clamp<int64_t>(k1 - k0 - c, 0, 32) : 0;
      const __mmask16 mlo = static_cast<__mmask16>((1u << std::min<int64_t>(valid, 16)) - 1u);
      const __mmask16 mhi = static_cast<__mmask16>((1u << std::max<int64_t>(valid - 16, 0)) - 1u);
      const float* p = x + i * ldx + k0 + c;
      const __m512 lo = _mm512_maskz_loadu_ps(mlo, p);
      const __m512 hi = _mm512_maskz_loadu_ps(mhi, p + 16);
      _mm512_store_si512(ap + i * kPackK + c, reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo)));
    }
  }
}

void pack_b(const WeightMatrix& w, int64_t n0, int64_t n_end, int64_t k0, int64_t k1, uint32_t* bp) {
  const int64_t kc = padded_k(k0, k1);
  for (int64_t g = 0; g < kPackN; g += 16) {
    for (int64_t c = 0; c < kc; c += 32) {
      const int64_t valid = std::clamp<int64_t>(k1 - k0 - c, 0, 32);
      __m512i r[16];
      RADSEEK_UNROLL
      for (int64_t t = 0; t < 16; ++t) {
        const int64_t row = n0 + g + t;
        r[t] = row < n_end ? load_row_pairs(w, row, k0 + c, valid) : _mm512_setzero_si512();
      }
      transpose16(r);
      RADSEEK_UNROLL
      for (int64_t t = 0; t < 16; ++t) _mm512_store_si512(bp + (c / 2 + t) * kPackN + g, r[t]);
    }
  }
}

void chunk_scales(const WeightMatrix& w, int64_t n0, int64_t n_end, int64_t k0, float* sv) {
  const int64_t scale_cols = (w.cols + w.block_cols - 1) / w.block_cols;
  RADSEEK_UNROLL
  for (int64_t t = 0; t < kPackN; ++t) {
    const int64_t row = n0 + t;
    if (row >= n_end) {
      sv[t] = 0.0f;
    } else if (w.dtype == DType::kF8E4M3) {
      sv[t] = w.block_scale[(row / w.block_rows) * scale_cols + k0 / w.block_cols] * kFp8Unscale;
    } else {
      sv[t] = 1.0f;
    }
  }
}

}  // namespace radseek::kernels::avx512

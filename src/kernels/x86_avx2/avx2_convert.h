// In-register conversions for the AVX2 (+FMA, F16C) units. Included only from x86_avx2/*.cpp.
#pragma once

#include <immintrin.h>

#include <cstdint>

// Register tiles are arrays indexed by small constant-bound loops; GCC at -O2 keeps such arrays on
// the stack unless the loops are fully unrolled, so every such loop in a kernel is marked.
#define RADSEEK_UNROLL _Pragma("GCC unroll 32")

namespace radseek::kernels::avx2 {

// e4m3 → f16 conversion yields value / 256 (see fp8x8_to_f16); multiply scales by this to undo it.
inline constexpr float kFp8Unscale = 256.0f;

// 8 e4m3 bytes (low half of `bytes`) → 8 f16 whose values are the e4m3 values / 256, NaN to NaN.
// e4m3 (bias 7) and f16 (bias 15) share sign|exp|mantissa, so shifting exponent+mantissa into f16's
// place is exact for normals and subnormals alike, off only by 2^8. Sign-extension puts the sign in
// bit 15 after the shift; the AND clears its stray copy in bit 14. S.1111.111 (e4m3's only NaN)
// would read as 1.875, so those lanes get bit 14 set, making the f16 exponent all ones.
inline __m128i fp8x8_to_f16(__m128i bytes) {
  const __m128i w = _mm_cvtepi8_epi16(bytes);
  const __m128i em = _mm_set1_epi16(0x3f80);
  const __m128i h = _mm_and_si128(_mm_slli_epi16(w, 7), _mm_set1_epi16(static_cast<int16_t>(0xbf80)));
  const __m128i nan = _mm_cmpeq_epi16(_mm_and_si128(h, em), em);
  return _mm_or_si128(h, _mm_and_si128(nan, _mm_set1_epi16(0x4000)));
}

inline __m256 fp8x8_to_f32_div256(__m128i bytes) { return _mm256_cvtph_ps(fp8x8_to_f16(bytes)); }

inline __m256 bf16x8_to_f32(__m128i h) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

// Round-to-nearest-even to bf16 precision in f32 lanes (finite inputs; see avx512::round_to_bf16).
inline __m256 round_to_bf16(__m256 v) {
  const __m256i u = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i r = _mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)));
  return _mm256_castsi256_ps(_mm256_and_si256(r, _mm256_set1_epi32(static_cast<int32_t>(0xffff0000u))));
}

// Lanes [0, rem) all ones, for maskload/maskstore.
inline __m256i tail_mask(int64_t rem) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(rem)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace radseek::kernels::avx2

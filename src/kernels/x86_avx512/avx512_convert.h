// In-register conversions of stored weight formats to f32 (and ggml's packed k-quant scales to bytes).
// Included only from translation units compiled with the AVX-512 flags (see kernels/CMakeLists.txt).
#pragma once

#include <immintrin.h>

#include <cstdint>

// Register tiles are arrays indexed by small constant-bound loops; GCC at -O2 keeps such arrays on
// the stack unless the loops are fully unrolled, so every such loop in a kernel is marked.
#define RADSEEK_UNROLL _Pragma("GCC unroll 32")

namespace radseek::kernels::avx512 {

// e4m3 → f16 conversion yields value / 256 (see fp8x16_to_f16); multiply scales by this to undo it.
inline constexpr float kFp8Unscale = 256.0f;

// 16 e4m3 bytes → 16 f16 whose values are exactly the e4m3 values / 256, NaN codes to NaN.
// Why this works: e4m3 (bias 7) and f16 (bias 15) share the layout sign|exp|mantissa, so shifting
// exponent+mantissa into f16's place is exact for normals *and* subnormals (both formats use the
// same implicit-zero rule), off only by the bias difference 2^8. Sign-extending the byte puts the
// sign into bit 15 after the shift; the AND clears the stray copy in bit 14. e4m3 has no infinity
// and only S.1111.111 is NaN; f16 reads that as 1.875, so those lanes get bit 14 set (exp = 31).
inline __m256i fp8x16_to_f16(__m128i bytes) {
  const __m256i w = _mm256_cvtepi8_epi16(bytes);
  const __m256i em = _mm256_set1_epi16(0x3f80);
  const __m256i h = _mm256_and_si256(_mm256_slli_epi16(w, 7), _mm256_set1_epi16(static_cast<int16_t>(0xbf80)));
  const __mmask16 nan = _mm256_cmpeq_epi16_mask(_mm256_and_si256(h, em), em);
  return _mm256_mask_add_epi16(h, nan, h, _mm256_set1_epi16(0x4000));  // bit 14 is clear: add = or
}

// 16 e4m3 → f32 (value / 256).
inline __m512 fp8x16_to_f32_div256(__m128i bytes) { return _mm512_cvtph_ps(fp8x16_to_f16(bytes)); }

// 16 bf16 → f32: bf16 is the top half of an f32.
inline __m512 bf16x16_to_f32(__m256i h) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// Round-to-nearest-even to bf16 precision, kept in f32 lanes (as radseek::bf16_round, except that a
// NaN input is not kept quiet: callers use it only on finite activations).
inline __m512 round_to_bf16(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
  return _mm512_castsi512_ps(_mm512_and_si512(r, _mm512_set1_epi32(static_cast<int32_t>(0xffff0000u))));
}

// In-place transpose of a 16 × 16 matrix of u32 held in 16 registers. Unpacks interleave row pairs
// within 128-bit lanes, then 64-bit unpacks gather 4 rows of one column per lane, and two rounds of
// 128-bit lane shuffles transpose the 4 × 4 grid of lanes.
inline void transpose16(__m512i (&r)[16]) {
  __m512i t[16];
  RADSEEK_UNROLL
  for (int p = 0; p < 8; ++p) {
    t[2 * p] = _mm512_unpacklo_epi32(r[2 * p], r[2 * p + 1]);
    t[2 * p + 1] = _mm512_unpackhi_epi32(r[2 * p], r[2 * p + 1]);
  }
  __m512i u[16];
  RADSEEK_UNROLL
  for (int q = 0; q < 4; ++q) {
    u[4 * q + 0] = _mm512_unpacklo_epi64(t[4 * q], t[4 * q + 2]);
    u[4 * q + 1] = _mm512_unpackhi_epi64(t[4 * q], t[4 * q + 2]);
    u[4 * q + 2] = _mm512_unpacklo_epi64(t[4 * q + 1], t[4 * q + 3]);
    u[4 * q + 3] = _mm512_unpackhi_epi64(t[4 * q + 1], t[4 * q + 3]);
  }
  // u[4q + c], lane L = rows 4q..4q+3 of column 4L + c.
  RADSEEK_UNROLL
  for (int c = 0; c < 4; ++c) {
    const __m512i v0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44);
    const __m512i v1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xee);
    const __m512i v2 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44);
    const __m512i v3 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xee);
    r[0 + c] = _mm512_shuffle_i32x4(v0, v2, 0x88);
    r[4 + c] = _mm512_shuffle_i32x4(v0, v2, 0xdd);
    r[8 + c] = _mm512_shuffle_i32x4(v1, v3, 0x88);
    r[12 + c] = _mm512_shuffle_i32x4(v1, v3, 0xdd);
  }
}

// ggml's 12-byte Q4_K scale/min packing (q) as 8 scale bytes then 8 min bytes, as
// ref::unpack_scale_min_k4 for j = 0..7: sc_j = q[j] & 63 and m_j = q[j+4] & 63 for j < 4; sc_j =
// (q[j+4] & 15) | (q[j-4] >> 6) << 4 and m_j = (q[j+4] >> 4) | (q[j] >> 6) << 4 for j ≥ 4. Two byte
// shuffles put each output's sources in its lane, three masks pick the bits. Reads 16 bytes (the
// scales are followed by the super-block's nibbles).
inline __m128i unpack_k4_scales(const uint8_t* packed) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(packed));
  const __m128i a = _mm_shuffle_epi8(q, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11));
  const __m128i b = _mm_shuffle_epi8(q, _mm_setr_epi8(-128, -128, -128, -128, 0, 1, 2, 3, -128, -128, -128, -128, 4, 5, 6, 7));
  const __m128i low = _mm_and_si128(a, _mm_setr_epi8(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0));
  const __m128i high = _mm_and_si128(_mm_srli_epi16(a, 4), _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15));
  const __m128i top = _mm_and_si128(_mm_srli_epi16(b, 2), _mm_setr_epi8(0, 0, 0, 0, 48, 48, 48, 48, 0, 0, 0, 0, 48, 48, 48, 48));
  return _mm_or_si128(_mm_or_si128(low, high), top);
}

}  // namespace radseek::kernels::avx512

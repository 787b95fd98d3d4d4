// Scalar conversions between f32 and the storage formats (bf16, fp16, fp8 e4m3fn).
// These are the reference definitions the SIMD kernels are tested against.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace radseek {

inline float bf16_to_f32(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

// Round to nearest even; NaN stays NaN (quiet).
inline uint16_t f32_to_bf16(float f) {
  uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

inline float bf16_round(float f) { return bf16_to_f32(f32_to_bf16(f)); }

float fp16_to_f32(uint16_t h);
uint16_t f32_to_fp16(float f);

// float8_e4m3fn: 1 sign, 4 exponent (bias 7), 3 mantissa, no infinities, S.1111.111 = NaN, max 448.
constexpr float fp8_e4m3_decode(uint8_t b) {
  const int s = b >> 7;
  const int e = (b >> 3) & 0xf;
  const int m = b & 0x7;
  float v = 0.0f;
  if (e == 15 && m == 7) {
    v = __builtin_nanf("");
  } else if (e == 0) {
    v = static_cast<float>(m) / 8.0f / 64.0f;  // 2^-6 * m/8
  } else {
    float p = 1.0f;
    for (int i = 7; i < e; ++i) p *= 2.0f;
    for (int i = e; i < 7; ++i) p *= 0.5f;
    v = p * (1.0f + static_cast<float>(m) / 8.0f);
  }
  return s ? -v : v;
}

struct Fp8Table {
  std::array<float, 256> v{};
  constexpr Fp8Table() {
    for (int i = 0; i < 256; ++i) v[i] = fp8_e4m3_decode(static_cast<uint8_t>(i));
  }
};
inline constexpr Fp8Table kFp8E4M3Table{};

inline float fp8_e4m3_to_f32(uint8_t b) { return kFp8E4M3Table.v[b]; }

// Round-to-nearest-even into e4m3fn with saturation to ±448 (as torch's to(float8_e4m3fn) after clamp).
uint8_t f32_to_fp8_e4m3(float f);

}  // namespace radseek

#include "base/numeric.h"

namespace radseek {

float fp16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t man = h & 0x3ff;
  if (exp == 0) {
    // Subnormal or zero: value = man * 2^-24.
    const float v = static_cast<float>(man) * 5.9604644775390625e-08f;
    return sign ? -v : v;
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (man << 13));
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t f32_to_fp16(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000);
  const float a = std::fabs(f);
  if (std::isnan(f)) return static_cast<uint16_t>(sign | 0x7e00);
  if (a >= 65520.0f) return static_cast<uint16_t>(sign | 0x7c00);
  if (a < 6.103515625e-05f) {
    // Subnormal: quantum 2^-24, nearbyint rounds half to even.
    const float q = std::nearbyint(a / 5.9604644775390625e-08f);
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(q));
  }
  uint32_t v = std::bit_cast<uint32_t>(a);
  v += 0xfffu + ((v >> 13) & 1u);  // round mantissa to 10 bits, nearest even
  const uint32_t exp = (v >> 23) - 112;
  return static_cast<uint16_t>(sign | (exp << 10) | ((v >> 13) & 0x3ff));
}

uint8_t f32_to_fp8_e4m3(float f) {
  if (std::isnan(f)) return 0x7f;
  const uint8_t sign = std::signbit(f) ? 0x80 : 0x00;
  const float a = std::fabs(f);
  if (a >= 448.0f) return static_cast<uint8_t>(sign | 0x7e);  // saturate (no infinities in e4m3fn)
  if (a < 0.015625f) {
    // Subnormal range: multiples of 2^-9; code 8 is the smallest normal 2^-6, so no special case.
    return static_cast<uint8_t>(sign | static_cast<uint8_t>(std::nearbyint(a * 512.0f)));
  }
  const uint32_t bits = std::bit_cast<uint32_t>(a);
  int e = static_cast<int>(bits >> 23) - 127;  // in [-6, 8]
  uint32_t m = bits & 0x7fffffu;
  m += 0x7ffffu + ((m >> 20) & 1u);  // round 23 -> 3 mantissa bits, nearest even
  if (m & 0x800000u) {
    ++e;
    m = 0;
  }
  const uint32_t code = (static_cast<uint32_t>(e + 7) << 3) | ((m >> 20) & 7u);
  return static_cast<uint8_t>(sign | (code > 0x7e ? 0x7e : code));
}

}  // namespace radseek

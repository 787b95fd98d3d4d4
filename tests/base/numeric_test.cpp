#include <gtest/gtest.h>

#include <cmath>

#include "base/numeric.h"

namespace radseek {
namespace {

TEST(Fp8E4M3, AllCodesDecodeAsSpecified) {
  // Independent decode straight from the bit layout s.eeee.mmm (bias 7), spec §2.3.
  for (int b = 0; b < 256; ++b) {
    const int s = b >> 7, e = (b >> 3) & 15, m = b & 7;
    const float got = fp8_e4m3_to_f32(static_cast<uint8_t>(b));
    if (e == 15 && m == 7) {
      EXPECT_TRUE(std::isnan(got)) << b;
      continue;
    }
    const double mag = e == 0 ? std::ldexp(m / 8.0, -6) : std::ldexp(1.0 + m / 8.0, e - 7);
    EXPECT_EQ(got, static_cast<float>(s ? -mag : mag)) << "code " << b;
  }
  EXPECT_EQ(fp8_e4m3_to_f32(0x7e), 448.0f);
  EXPECT_EQ(fp8_e4m3_to_f32(0x01), 0.001953125f);  // smallest subnormal 2^-9
}

TEST(Fp8E4M3, EncodeRoundTripsEveryFiniteCode) {
  for (int b = 0; b < 256; ++b) {
    const float v = fp8_e4m3_to_f32(static_cast<uint8_t>(b));
    if (std::isnan(v)) continue;
    const uint8_t back = f32_to_fp8_e4m3(v);
    EXPECT_EQ(fp8_e4m3_to_f32(back), v) << b;
  }
  EXPECT_EQ(f32_to_fp8_e4m3(1000.0f), 0x7e);  // saturates
}

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties to even (1.0).
  EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3f82);  // 1 + 3*2^-8 -> ties to even upward
  EXPECT_EQ(bf16_to_f32(0xc000), -2.0f);
}

TEST(Fp16, RoundTrip) {
  for (float v : {0.0f, 1.0f, -2.5f, 65504.0f, 6.103515625e-05f, 5.9604644775390625e-08f}) {
    EXPECT_EQ(fp16_to_f32(f32_to_fp16(v)), v) << v;
  }
  EXPECT_TRUE(std::isinf(fp16_to_f32(f32_to_fp16(1e6f))));
}

}  // namespace
}  // namespace radseek

namespace radseek {
namespace {

// The bit-twiddling encoder against a brute-force nearest-value search (ties to even codes).
TEST(Fp8E4M3, EncodeMatchesNearestSearch) {
  uint32_t state = 12345;
  for (int i = 0; i < 200000; ++i) {
    state = state * 1664525u + 1013904223u;
    const float v = std::ldexp(static_cast<float>(state >> 8) / 16777216.0f * 2.0f - 1.0f,
                               static_cast<int>(state % 24) - 14);
    const float a = std::fabs(v);
    uint8_t best = 0;
    float best_err = a;
    for (uint8_t c = 1; c <= 0x7e; ++c) {
      const float err = std::fabs(fp8_e4m3_to_f32(c) - a);
      if (err < best_err || (err == best_err && (c & 1) == 0)) {
        best = c;
        best_err = err;
      }
    }
    const uint8_t got = f32_to_fp8_e4m3(v);
    ASSERT_EQ(got & 0x7f, best) << v;
  }
}

}  // namespace
}  // namespace radseek

// Reference ggml dequantisation against blocks built by hand, with expectations computed element by
// element from the published layouts (ggml-common.h) rather than by the loops under test; and the
// Q4_0/Q8_0 quantisers against their error bounds.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "base/numeric.h"
#include "format/gguf.h"
#include "kernels/ref/ggml_quants.h"

namespace radseek::kernels::ref {
namespace {

void put_f16(uint8_t* p, float v) {
  const uint16_t h = f32_to_fp16(v);
  std::memcpy(p, &h, 2);
}

// The 12-byte Q4_K/Q5_K scale field for 6-bit scales sc[8] and mins m[8] (the inverse of ggml's
// get_scale_min_k4, written from the layout description).
std::array<uint8_t, 12> pack_scales(const std::array<uint8_t, 8>& sc, const std::array<uint8_t, 8>& m) {
  std::array<uint8_t, 12> q{};
  for (int j = 0; j < 4; ++j) {
    q[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    q[j + 4] = static_cast<uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
    q[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
  }
  return q;
}

constexpr std::array<uint8_t, 8> kSc = {1, 2, 3, 4, 17, 33, 50, 63};  // > 15 exercises the split high bits
constexpr std::array<uint8_t, 8> kMin = {0, 5, 10, 15, 52, 9, 30, 20};  // top bits differ from kSc's

TEST(GgmlQuants, BlockSizesMatchTheGgufTypeTable) {
  using format::GgmlType;
  auto bytes = [](GgmlType t) { return format::ggml_type_info(static_cast<uint32_t>(t))->block_bytes; };
  EXPECT_EQ(bytes(GgmlType::kQ4_0), kBlockBytesQ4_0);
  EXPECT_EQ(bytes(GgmlType::kQ5_0), kBlockBytesQ5_0);
  EXPECT_EQ(bytes(GgmlType::kQ4_1), kBlockBytesQ4_1);
  EXPECT_EQ(bytes(GgmlType::kQ5_1), kBlockBytesQ5_1);
  EXPECT_EQ(bytes(GgmlType::kQ8_0), kBlockBytesQ8_0);
  EXPECT_EQ(bytes(GgmlType::kQ4_K), kBlockBytesQ4_K);
  EXPECT_EQ(bytes(GgmlType::kQ5_K), kBlockBytesQ5_K);
  EXPECT_EQ(bytes(GgmlType::kQ6_K), kBlockBytesQ6_K);
  EXPECT_EQ(format::ggml_type_info(static_cast<uint32_t>(GgmlType::kQ4_K))->block_elems, kQK_K);
  EXPECT_EQ(format::ggml_type_info(4), nullptr);  // Q4_2, removed from ggml
}

TEST(GgmlQuants, ScaleMinUnpacking) {
  const auto q = pack_scales(kSc, kMin);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc = 0, m = 0;
    unpack_scale_min_k4(j, q.data(), &sc, &m);
    EXPECT_EQ(sc, kSc[j]) << j;
    EXPECT_EQ(m, kMin[j]) << j;
  }
}

TEST(GgmlQuants, Q4_0HandBlock) {
  std::vector<uint8_t> blk(kBlockBytesQ4_0);
  put_f16(blk.data(), 0.5f);
  for (int j = 0; j < 16; ++j) blk[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  std::vector<float> y(32);
  dequantize_row_q4_0(blk.data(), y.data(), 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], (j - 8) * 0.5f) << j;
    EXPECT_EQ(y[j + 16], (7 - j) * 0.5f) << j;
  }
}

// Q5_0: the fifth bit of element j is bit j of the little-endian qh word (elements 16..31: bits 16..31).
TEST(GgmlQuants, Q5_0HandBlock) {
  std::vector<uint8_t> blk(kBlockBytesQ5_0);
  put_f16(blk.data(), 0.5f);
  const uint32_t qh = 0x8001'0003u;  // elements 0, 1, 16 and 31 have the fifth bit
  for (int i = 0; i < 4; ++i) blk[2 + i] = static_cast<uint8_t>(qh >> (8 * i));
  for (int j = 0; j < 16; ++j) blk[6 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  std::vector<float> y(32);
  dequantize_row_q5_0(blk.data(), y.data(), 32);
  for (int j = 0; j < 16; ++j) {
    const int lo = j + ((qh >> j) & 1u ? 16 : 0), hi = (15 - j) + ((qh >> (j + 16)) & 1u ? 16 : 0);
    EXPECT_EQ(y[j], (lo - 16) * 0.5f) << j;
    EXPECT_EQ(y[j + 16], (hi - 16) * 0.5f) << j;
  }
  EXPECT_EQ(y[0], 0.0f);    // code 16
  EXPECT_EQ(y[31], 0.0f);   // nibble 0 + 16
  EXPECT_EQ(y[2], -7.0f);   // code 2
}

// Q4_1 / Q5_1: x = q·d + m, d and m the block's two leading f16 values; Q5_1's qh follows them.
TEST(GgmlQuants, Q4_1AndQ5_1HandBlocks) {
  std::vector<uint8_t> b4(kBlockBytesQ4_1), b5(kBlockBytesQ5_1);
  for (auto* b : {&b4, &b5}) {
    put_f16(b->data(), 0.25f);
    put_f16(b->data() + 2, -3.0f);
  }
  const uint32_t qh = 0x0001'8000u;  // columns 15 and 16 have the fifth bit
  for (int i = 0; i < 4; ++i) b5[4 + i] = static_cast<uint8_t>(qh >> (8 * i));
  for (int j = 0; j < 16; ++j) b4[4 + j] = b5[8 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  std::vector<float> y4(32), y5(32);
  dequantize_row_q4_1(b4.data(), y4.data(), 32);
  dequantize_row_q5_1(b5.data(), y5.data(), 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y4[j], j * 0.25f - 3.0f) << j;
    EXPECT_EQ(y4[j + 16], (15 - j) * 0.25f - 3.0f) << j;
    EXPECT_EQ(y5[j], (j + (j == 15 ? 16 : 0)) * 0.25f - 3.0f) << j;
    EXPECT_EQ(y5[j + 16], (15 - j + (j == 0 ? 16 : 0)) * 0.25f - 3.0f) << j;
  }
}

TEST(GgmlQuants, Q8_0HandBlocks) {
  std::vector<uint8_t> blk(2 * kBlockBytesQ8_0);
  put_f16(blk.data(), 0.25f);
  put_f16(blk.data() + kBlockBytesQ8_0, -2.0f);
  for (int j = 0; j < 32; ++j) {
    blk[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j - 16));
    blk[kBlockBytesQ8_0 + 2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j == 0 ? -128 : 127));
  }
  std::vector<float> y(64);
  dequantize_row_q8_0(blk.data(), y.data(), 64);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], (j - 16) * 0.25f) << j;
  EXPECT_EQ(y[32], 256.0f);
  EXPECT_EQ(y[33], -254.0f);
}

TEST(GgmlQuants, Q4_KHandBlock) {
  std::vector<uint8_t> blk(kBlockBytesQ4_K);
  put_f16(blk.data(), 1.0f);
  put_f16(blk.data() + 2, 0.5f);
  const auto sc = pack_scales(kSc, kMin);
  std::memcpy(blk.data() + 4, sc.data(), 12);
  for (int i = 0; i < 128; ++i) blk[16 + i] = static_cast<uint8_t>((i * 7 + 3) & 0xFF);
  std::vector<float> y(256);
  dequantize_row_q4_k(blk.data(), y.data(), 256);
  for (int e = 0; e < 256; ++e) {
    const int g = e / 64, within = e % 64, l = within % 32, sb = 2 * g + (within >= 32);
    const uint8_t byte = blk[16 + 32 * g + l];
    const int q = within < 32 ? (byte & 0xF) : (byte >> 4);
    EXPECT_EQ(y[e], 1.0f * kSc[sb] * q - 0.5f * kMin[sb]) << e;
  }
}

TEST(GgmlQuants, Q5_KHandBlock) {
  std::vector<uint8_t> blk(kBlockBytesQ5_K);
  put_f16(blk.data(), 0.25f);
  put_f16(blk.data() + 2, 1.0f);
  const auto sc = pack_scales(kSc, kMin);
  std::memcpy(blk.data() + 4, sc.data(), 12);
  for (int i = 0; i < 32; ++i) blk[16 + i] = static_cast<uint8_t>((i * 37) & 0xFF);  // qh
  for (int i = 0; i < 128; ++i) blk[48 + i] = static_cast<uint8_t>((i * 11 + 5) & 0xFF);
  std::vector<float> y(256);
  dequantize_row_q5_k(blk.data(), y.data(), 256);
  for (int e = 0; e < 256; ++e) {
    const int g = e / 64, within = e % 64, l = within % 32, sb = 2 * g + (within >= 32);
    const uint8_t byte = blk[48 + 32 * g + l];
    const int low = within < 32 ? (byte & 0xF) : (byte >> 4);
    const int high = (blk[16 + l] >> sb) & 1;  // bit sb of qh[l] is the fifth bit of sub-block sb
    EXPECT_EQ(y[e], 0.25f * kSc[sb] * (low + 16 * high) - 1.0f * kMin[sb]) << e;
  }
}

TEST(GgmlQuants, Q6_KHandBlock) {
  std::vector<uint8_t> blk(kBlockBytesQ6_K);
  for (int i = 0; i < 128; ++i) blk[i] = static_cast<uint8_t>((i * 13 + 1) & 0xFF);     // ql
  for (int i = 0; i < 64; ++i) blk[128 + i] = static_cast<uint8_t>((i * 29 + 7) & 0xFF); // qh
  const std::array<int8_t, 16> scales = {1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12, 13, -14, 127, -128};
  std::memcpy(blk.data() + 192, scales.data(), 16);
  put_f16(blk.data() + 208, 0.125f);
  std::vector<float> y(256);
  dequantize_row_q6_k(blk.data(), y.data(), 256);
  for (int e = 0; e < 256; ++e) {
    // Half h of 128; quarter k of 32 within it; element l of the quarter.
    const int h = e / 128, k = (e % 128) / 32, l = e % 32;
    const uint8_t lo_byte = blk[64 * h + l + (k & 1) * 32];
    const int lo = k < 2 ? (lo_byte & 0xF) : (lo_byte >> 4);
    const int hi = (blk[128 + 32 * h + l] >> (2 * k)) & 3;
    const int scale = scales[8 * h + l / 16 + 2 * k];
    EXPECT_EQ(y[e], 0.125f * scale * ((lo | (hi << 4)) - 32)) << e;
  }
}

TEST(GgmlQuants, PlainTypes) {
  const std::vector<uint8_t> f16 = {0x00, 0x3C, 0x00, 0xC0, 0x00, 0x7C};  // 1, -2, +inf
  std::vector<float> y(3);
  dequantize_row_f16(f16.data(), y.data(), 3);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -2.0f);
  EXPECT_TRUE(std::isinf(y[2]));
  const std::vector<uint8_t> bf16 = {0x80, 0x3F, 0x40, 0xC0};  // 1, -3
  dequantize_row_bf16(bf16.data(), y.data(), 2);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -3.0f);
}

std::vector<float> test_signal(int n) {
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[i] = std::sin(0.37f * i) * (1.0f + (i % 32) / 8.0f) + (i % 64 == 5 ? 6.0f : 0.0f);
  return x;
}

TEST(GgmlQuants, Q8_0RoundTripWithinHalfAStep) {
  const auto x = test_signal(256);
  std::vector<uint8_t> q(256 / 32 * kBlockBytesQ8_0);
  quantize_row_q8_0(x.data(), q.data(), 256);
  std::vector<float> y(256);
  dequantize_row_q8_0(q.data(), y.data(), 256);
  for (int b = 0; b < 8; ++b) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
    // Half a step, plus the f16 rounding of d (relative 2^-11) times the largest code 127.
    const float tol = 0.5f * amax / 127.0f + amax * std::ldexp(1.0f, -11);
    for (int j = 0; j < 32; ++j) EXPECT_NEAR(y[b * 32 + j], x[b * 32 + j], tol) << b * 32 + j;
  }
}

TEST(GgmlQuants, Q4_0RoundTripAndExactCodes) {
  const auto x = test_signal(128);
  std::vector<uint8_t> q(128 / 32 * kBlockBytesQ4_0);
  quantize_row_q4_0(x.data(), q.data(), 128);
  std::vector<float> y(128);
  dequantize_row_q4_0(q.data(), y.data(), 128);
  for (int b = 0; b < 4; ++b) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
    // One step |d| = amax/8: the side opposite the extreme value is clamped at code 15 (ggml's choice).
    const float tol = amax / 8.0f * 1.01f;
    for (int j = 0; j < 32; ++j) EXPECT_NEAR(y[b * 32 + j], x[b * 32 + j], tol) << b * 32 + j;
  }
  // Values on the grid of d = -max/8 come back exactly; zeros give d = 0 and code 8.
  std::vector<float> grid(32), zeros(32, 0.0f);
  for (int j = 0; j < 32; ++j) grid[j] = -0.25f * static_cast<float>((j % 16) - 7);  // max |.| is 2 at j=15
  std::vector<uint8_t> g(kBlockBytesQ4_0), z(kBlockBytesQ4_0);
  quantize_row_q4_0(grid.data(), g.data(), 32);
  quantize_row_q4_0(zeros.data(), z.data(), 32);
  dequantize_row_q4_0(g.data(), y.data(), 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], grid[j]) << j;
  EXPECT_EQ(z[2], 0x88);
}

TEST(GgmlQuants, Q5_0RoundTripAndExactCodes) {
  const auto x = test_signal(128);
  std::vector<uint8_t> q(128 / 32 * kBlockBytesQ5_0);
  quantize_row_q5_0(x.data(), q.data(), 128);
  std::vector<float> y(128);
  dequantize_row_q5_0(q.data(), y.data(), 128);
  for (int b = 0; b < 4; ++b) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
    // One step |d| = amax/16 (the side opposite the extreme value is clamped at code 31).
    const float tol = amax / 16.0f * 1.01f;
    for (int j = 0; j < 32; ++j) EXPECT_NEAR(y[b * 32 + j], x[b * 32 + j], tol) << b * 32 + j;
  }
  // Values on the grid of d = -max/16 come back exactly (codes use the fifth bit); zeros give code 16.
  std::vector<float> grid(32), zeros(32, 0.0f);
  for (int j = 0; j < 32; ++j) grid[j] = -0.125f * static_cast<float>(j - 15);  // max |.| is 2 at j=31
  std::vector<uint8_t> g(kBlockBytesQ5_0), z(kBlockBytesQ5_0);
  quantize_row_q5_0(grid.data(), g.data(), 32);
  quantize_row_q5_0(zeros.data(), z.data(), 32);
  dequantize_row_q5_0(g.data(), y.data(), 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], grid[j]) << j;
  EXPECT_EQ(z[6], 0x00);
  EXPECT_EQ(z[2] & z[3] & z[4] & z[5], 0xff);  // code 16 everywhere: every fifth bit set
}

// Q4_1 / Q5_1 round trip: within half a step (d = (max - min) / 15 or 31) plus f16 rounding of d and m.
TEST(GgmlQuants, Q4_1AndQ5_1RoundTrip) {
  const auto x = test_signal(128);
  for (bool five : {false, true}) {
    std::vector<uint8_t> q(128 / 32 * (five ? kBlockBytesQ5_1 : kBlockBytesQ4_1));
    std::vector<float> y(128);
    if (five) {
      quantize_row_q5_1(x.data(), q.data(), 128);
      dequantize_row_q5_1(q.data(), y.data(), 128);
    } else {
      quantize_row_q4_1(x.data(), q.data(), 128);
      dequantize_row_q4_1(q.data(), y.data(), 128);
    }
    for (int b = 0; b < 4; ++b) {
      const auto [lo, hi] = std::minmax_element(x.begin() + b * 32, x.begin() + b * 32 + 32);
      const float step = (*hi - *lo) / (five ? 31.0f : 15.0f), amax = std::max(std::fabs(*lo), std::fabs(*hi));
      const float tol = 0.5f * step + (five ? 32.0f : 16.0f) * step * std::ldexp(1.0f, -11) + amax * std::ldexp(1.0f, -11);
      for (int j = 0; j < 32; ++j) EXPECT_NEAR(y[b * 32 + j], x[b * 32 + j], tol) << (five ? "Q5_1 " : "Q4_1 ") << b * 32 + j;
    }
  }
}

}  // namespace
}  // namespace radseek::kernels::ref

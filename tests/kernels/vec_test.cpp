// Oracle: the scalar reference kernels. dot, axpy, RMSNorm and SiLU·up of every ISA level this CPU
// supports against them, over lengths that hit the vector body and every tail length.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/kernels.h"
#include "isa_levels.h"

namespace radseek::kernels::testing {
namespace {

constexpr double kEpsF32 = 1.1920929e-7;
// dot: f32 sums in another order; error ≤ ~n·eps·Σ|a·b| in the worst case, sqrt(n)·eps typically.
constexpr double kDotTol = 64 * kEpsF32;  // times Σ|a·b|, n ≤ 2000
// axpy: one FMA vs a multiply then an add: at most one extra rounding of |alpha·x| + |y|.
constexpr double kAxpyTol = 2 * kEpsF32;
// RMSNorm: Σx² in f64 in both; the rest is the same three f32 roundings, so a few ulp.
constexpr double kRmsNormTol = 4 * kEpsF32;
// SiLU·up: polynomial exp (~2 ulp) and a division, vs std::exp: ~8 ulp relative, plus an absolute
// floor for outputs near zero, where |g| is large and exp is clamped.
constexpr double kSiluRelTol = 8 * kEpsF32;
constexpr double kSiluAbsTol = 1e-30;

const int64_t kLengths[] = {1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 100, 1000, 1031, 2048};

std::vector<float> random_vec(int64_t n, uint32_t seed, float sd = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, sd);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& f : v) f = normal(rng);
  return v;
}

class VecTest : public IsaTest {};

TEST_P(VecTest, DotMatchesReference) {
  for (int64_t n : kLengths) {
    const auto a = random_vec(n, 1), b = random_vec(n, 2);
    double l1 = 0.0;
    for (int64_t i = 0; i < n; ++i) l1 += std::fabs(double(a[i]) * b[i]);
    EXPECT_NEAR(table_.dot_f32(a.data(), b.data(), n), ref_.dot_f32(a.data(), b.data(), n), kDotTol * l1) << "n=" << n;
  }
}

TEST_P(VecTest, AxpyMatchesReference) {
  for (int64_t n : kLengths) {
    const auto x = random_vec(n, 3);
    auto y_fast = random_vec(n + 1, 4);  // one element past n must stay as it was
    auto y_ref = y_fast;
    table_.axpy_f32(0.37f, x.data(), y_fast.data(), n);
    ref_.axpy_f32(0.37f, x.data(), y_ref.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double bound = kAxpyTol * (std::fabs(0.37 * x[i]) + std::fabs(y_ref[i])) + 1e-30;
      ASSERT_NEAR(y_fast[i], y_ref[i], bound) << "n=" << n << " i=" << i;
    }
    EXPECT_EQ(y_fast[n], y_ref[n]) << "wrote past n = " << n;
  }
}

TEST_P(VecTest, RmsNormMatchesReference) {
  for (int64_t n : kLengths) {
    const auto x = random_vec(n, 5, 3.0f), w = random_vec(n, 6);
    std::vector<float> y_fast(static_cast<size_t>(n) + 1, -1.0f), y_ref = y_fast;
    table_.rmsnorm_f32(x.data(), w.data(), 1e-6f, y_fast.data(), n);
    ref_.rmsnorm_f32(x.data(), w.data(), 1e-6f, y_ref.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_NEAR(y_fast[i], y_ref[i], kRmsNormTol * std::fabs(y_ref[i]) + 1e-30) << "n=" << n << " i=" << i;
    }
    EXPECT_EQ(y_fast[n], -1.0f) << "wrote past n = " << n;
  }
}

TEST_P(VecTest, SiluMulMatchesReference) {
  for (int64_t n : kLengths) {
    auto g = random_vec(n, 7, 6.0f);  // wide spread: saturating both ends of the sigmoid
    if (n > 2) g[0] = -100.0f, g[1] = 100.0f;
    const auto u = random_vec(n, 8);
    std::vector<float> y_fast(static_cast<size_t>(n) + 1, -1.0f), y_ref = y_fast;
    table_.silu_mul_f32(g.data(), u.data(), y_fast.data(), n);
    ref_.silu_mul_f32(g.data(), u.data(), y_ref.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_NEAR(y_fast[i], y_ref[i], kSiluRelTol * std::fabs(y_ref[i]) + kSiluAbsTol)
          << "n=" << n << " g=" << g[i];
    }
    EXPECT_EQ(y_fast[n], -1.0f) << "wrote past n = " << n;
  }
}

// A transpose only moves values: bit-exact, for shapes with and without whole tiles (8 for AVX2, 16
// for AVX-512) and strides wider than the block, and nothing outside the block is written.
TEST_P(VecTest, TransposeMatchesReferenceExactly) {
  const int64_t shapes[][2] = {{1, 1}, {3, 5}, {8, 8}, {16, 16}, {17, 33}, {32, 48}, {40, 23}, {64, 256}, {130, 7}};
  for (const auto& sh : shapes) {
    const int64_t rows = sh[0], cols = sh[1], lda = cols + 3, ldo = rows + 5;
    const auto a = random_vec(rows * lda, 9);
    std::vector<float> out_fast(static_cast<size_t>(cols * ldo), -7.0f), out_ref = out_fast;
    table_.transpose_f32({.a = a.data(), .lda = lda, .rows = rows, .cols = cols, .out = out_fast.data(), .ldo = ldo});
    ref_.transpose_f32({.a = a.data(), .lda = lda, .rows = rows, .cols = cols, .out = out_ref.data(), .ldo = ldo});
    ASSERT_EQ(out_fast, out_ref) << rows << "x" << cols;
    for (int64_t i = 0; i < rows; ++i)  // the reference itself
      for (int64_t j = 0; j < cols; ++j) ASSERT_EQ(out_ref[j * ldo + i], a[i * lda + j]) << i << "," << j;
  }
}

INSTANTIATE_TEST_SUITE_P(Levels, VecTest, ::testing::ValuesIn(kFastLevels), level_name);

}  // namespace
}  // namespace radseek::kernels::testing

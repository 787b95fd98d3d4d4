// Oracle: the scalar reference (kernels/ref/group_quant). radseek's Q8 / Q4 gemm (KernelTable::
// gemm_q) on every ISA level this CPU supports, both activation precisions, shapes that cross the
// kernels' 4096-column segments, partial last groups and m for decode and prefill tiles; plus the
// quantisers' own round trip.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "isa_levels.h"
#include "kernels/kernels.h"
#include "kernels/ref/group_quant.h"

namespace radseek::kernels::testing {
namespace {

// kF32: the same exact products as the reference, summed in another order (see gemm_test's
// kGemmTol). kBF16: both quantise x identically and sum codes exactly in integers; the f32 scaling
// differs in order, and the SIMD Q8 path carries an offset term 128·step·Σxq that cancels: its
// rounding is relative to ≤ 128·Σ|xq|·step·dw, at most ~130× Σ|x·w| for codes ≥ 1 in magnitude.
constexpr double kTolF32 = 1e-5;
constexpr double kTolInt = 1e-5 * 130;
constexpr float kSentinel = -12345.0f;

struct QMat {
  std::vector<uint8_t> bytes;
  std::vector<float> scales;
  std::vector<float> dense;  // the dequantised values [n, k]
  WeightMatrix w;
};

QMat make_qmat(DType d, int64_t n, int64_t k, std::mt19937& rng) {
  QMat m;
  m.w = WeightMatrix{.dtype = d, .rows = n, .cols = k};
  const int64_t G = (k + kQuantGroup - 1) / kQuantGroup;
  m.bytes.resize(static_cast<size_t>(n * row_bytes(m.w)));
  m.scales.resize(static_cast<size_t>(n * G));
  m.dense.resize(static_cast<size_t>(n * k));
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> v(static_cast<size_t>(k));
  for (int64_t r = 0; r < n; ++r) {
    for (float& f : v) f = normal(rng);
    uint8_t* dst = m.bytes.data() + r * row_bytes(m.w);
    if (d == DType::kI8) ref::quantize_row_q8(v.data(), k, reinterpret_cast<int8_t*>(dst), m.scales.data() + r * G);
    else ref::quantize_row_q4(v.data(), k, dst, m.scales.data() + r * G);
  }
  m.w.data = m.bytes.data();
  m.w.group_scale = m.scales.data();
  for (int64_t r = 0; r < n; ++r) ref::dequantize_row_group(m.w, r, m.dense.data() + r * k);
  return m;
}

void check(const KernelTable& t, DType d, ActPrecision p, int64_t m, int64_t n, int64_t k, uint32_t seed) {
  SCOPED_TRACE(std::string(d == DType::kI8 ? "Q8" : "Q4") + (p == ActPrecision::kF32 ? " f32" : " int8") + " m=" +
               std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k));
  std::mt19937 rng(seed);
  const QMat w = make_qmat(d, n, k, rng);
  const int64_t ldx = k + 1, ldy = n + 3, nb = n / 5, ne = n - n / 7;
  std::vector<float> x(static_cast<size_t>(m * ldx));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& f : x) f = normal(rng);
  std::vector<float> y(static_cast<size_t>(m * ldy), kSentinel), want = y;
  GemmArgs a{.x = x.data(), .m = m, .ldx = ldx, .w = &w.w, .y = y.data(), .ldy = ldy, .n_begin = nb, .n_end = ne, .precision = p};
  t.gemm_q(a);
  a.y = want.data();
  reference_kernels().gemm_q(a);
  const double tol = p == ActPrecision::kF32 ? kTolF32 : kTolInt;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const float got = y[i * ldy + j];
      if (j < nb || j >= ne) {
        ASSERT_EQ(got, kSentinel) << "wrote outside [n_begin, n_end) at " << i << "," << j;
        continue;
      }
      double l1 = 0.0;
      for (int64_t c = 0; c < k; ++c) l1 += std::fabs(double(x[i * ldx + c]) * w.dense[j * k + c]);
      ASSERT_NEAR(got, want[i * ldy + j], tol * l1 + 1e-30) << "y[" << i << "," << j << "]";
    }
  }
}

class QuantGemmTest : public IsaTest {};

TEST_P(QuantGemmTest, MatchesReference) {
  struct Shape { int64_t m, n, k; };
  const Shape shapes[] = {{1, 37, 1000}, {1, 64, 4096 + 77}, {1, 9, 31}, {1, 5, 33}, {2, 20, 512}, {3, 30, 8200},
                          {4, 17, 130}, {5, 23, 1024}, {9, 11, 257}, {17, 13, 96},
                          // prefill panels (m >= 8, k a multiple of 32): partial panels and tiles
                          {8, 40, 512}, {13, 33, 2048}, {37, 20, 1408}};
  uint32_t seed = 1;
  for (DType d : {DType::kI8, DType::kU8})
    for (ActPrecision p : {ActPrecision::kF32, ActPrecision::kBF16})
      for (const Shape& s : shapes) check(table_, d, p, s.m, s.n, s.k, ++seed);
}

// linear() hands prefill products of radseek's Q8 / Q4 the activations quantised once, as for Q8_0
// (GemmArgs::xq): the products must be exactly those the kernel computes when it quantises itself.
TEST_P(QuantGemmTest, SharedQuantisedActivationsGiveTheSameProducts) {
  std::mt19937 rng(41);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t m = 11, n = 21, k = 512, ldx = k + 3;
  for (DType d : {DType::kI8, DType::kU8}) {
    SCOPED_TRACE(d == DType::kI8 ? "Q8" : "Q4");
    const QMat w = make_qmat(d, n, k, rng);
    std::vector<float> x(static_cast<size_t>(m * ldx));
    for (float& f : x) f = normal(rng);
    std::vector<uint8_t> xq(static_cast<size_t>(ggml_acts_bytes(m, k)));
    table_.quantize_ggml(GgmlQuantizeArgs{.x = x.data(), .m = m, .ldx = ldx, .k = k, .type = GgmlQuant::kQ8_0, .out = xq.data()});
    std::vector<float> own(static_cast<size_t>(m * n)), shared(own);
    GemmArgs a{.x = x.data(), .m = m, .ldx = ldx, .w = &w.w, .y = own.data(), .ldy = n, .n_begin = 0, .n_end = n,
               .precision = ActPrecision::kBF16};
    table_.gemm_q(a);
    a.y = shared.data();
    a.xq = xq.data();
    table_.gemm_q(a);
    EXPECT_EQ(own, shared);
  }
}

// The integer path must equal an exact computation: Σ_g dw·step·Σ xq·q in double, with xq from the
// reference rule. Guards the reference itself (a wrong rule in both would otherwise pass).
TEST(QuantGemmReference, IntPathIsExactIntegerSum) {
  std::mt19937 rng(5);
  for (DType d : {DType::kI8, DType::kU8}) {
    const int64_t n = 3, k = 75, G = 3;
    const QMat w = make_qmat(d, n, k, rng);
    std::vector<float> x(static_cast<size_t>(k));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (float& f : x) f = normal(rng);
    std::vector<float> y(n);
    reference_kernels().gemm_q(GemmArgs{.x = x.data(), .m = 1, .ldx = k, .w = &w.w, .y = y.data(), .ldy = n, .n_begin = 0,
                                        .n_end = n, .precision = ActPrecision::kBF16});
    for (int64_t j = 0; j < n; ++j) {
      double want = 0.0, l1 = 0.0;
      for (int64_t g = 0; g < G; ++g) {
        float amax = 0.0f;
        for (int64_t c = g * 32; c < std::min<int64_t>(k, g * 32 + 32); ++c) amax = std::max(amax, std::fabs(x[c]));
        int64_t isum = 0;
        for (int64_t c = g * 32; c < std::min<int64_t>(k, g * 32 + 32); ++c)
          isum += std::lrint(x[c] * 127.0 / amax) * ref::group_code(w.w, j, c), l1 += std::fabs(x[c] * w.dense[j * k + c]);
        want += double(isum) * amax / 127.0 * w.scales[j * G + g];
      }
      EXPECT_NEAR(y[j], want, 1e-5 * l1) << (d == DType::kI8 ? "Q8" : "Q4") << " row " << j;
      // And it approximates the float product within int8 activation error (≤ half a step each).
      double exact = 0.0;
      for (int64_t c = 0; c < k; ++c) exact += double(x[c]) * w.dense[j * k + c];
      EXPECT_NEAR(y[j], exact, 0.02 * l1);
    }
  }
}

// Quantisers: every value within half a step of its group's scale, padding nibbles decode to 0.
TEST(QuantGemmReference, QuantiserRoundTrip) {
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t k = 70;
  std::vector<float> v(k);
  for (float& f : v) f = normal(rng);
  std::vector<int8_t> q8(k);
  std::vector<uint8_t> q4(3 * kQ4GroupBytes);
  std::vector<float> s8(3), s4(3), back(k);
  ref::quantize_row_q8(v.data(), k, q8.data(), s8.data());
  ref::quantize_row_q4(v.data(), k, q4.data(), s4.data());
  const WeightMatrix w8{.dtype = DType::kI8, .data = q8.data(), .rows = 1, .cols = k, .group_scale = s8.data()};
  const WeightMatrix w4{.dtype = DType::kU8, .data = q4.data(), .rows = 1, .cols = k, .group_scale = s4.data()};
  ref::dequantize_row_group(w8, 0, back.data());
  for (int64_t c = 0; c < k; ++c) EXPECT_NEAR(back[c], v[c], 0.5 * s8[c / 32] * 1.0001) << "Q8 col " << c;
  ref::dequantize_row_group(w4, 0, back.data());
  // Q4: the code range is −8..7, so the value opposite the group maximum may clamp: a full step.
  for (int64_t c = 0; c < k; ++c) EXPECT_NEAR(back[c], v[c], std::fabs(s4[c / 32]) * 1.0001) << "Q4 col " << c;
  EXPECT_EQ(q4[2 * kQ4GroupBytes + 10] & 0x0f, 8) << "padding nibble of column 74 must decode to 0";
}

INSTANTIATE_TEST_SUITE_P(Levels, QuantGemmTest, ::testing::ValuesIn(kFastLevels), level_name);

}  // namespace
}  // namespace radseek::kernels::testing

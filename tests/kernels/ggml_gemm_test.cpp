// Oracle: the scalar reference (kernels/ref/ggml_gemm). KernelTable::gemm_ggml on every ISA level
// this CPU supports, for every ggml block type radseek reads from GGUF, both activation precisions,
// decode and prefill m (partial activation tiles), odd block counts; gemv_t with ggml weights; and
// the Q4_K / Q5_K / Q6_K writers' round trip.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "base/numeric.h"
#include "isa_levels.h"
#include "kernels/kernels.h"
#include "kernels/ref/ggml_gemm.h"
#include "kernels/ref/ggml_quants.h"

namespace radseek::kernels::testing {
namespace {

// kF32: identical dequantised weights and activations, summed in another order: error relative to
// Σ|x·w| of a few f32 ulps per term; 1e-5 leaves room for k up to a few thousand.
constexpr double kTolF32 = 1e-5;
// kBF16 (int8 activations): codes are bit-identical and the SIMD integer sums exact; only the f32
// scaling order differs, but the offset/min terms (Q4_K/Q5_K: dmin·m·Σxq, Q6_K: 32·d·sc·Σxq) are
// subtracted as separate f32 sums as large as Σ|x|·(|w| + offset), so the bound uses that sum.
constexpr double kTolInt = 1e-5;
constexpr float kSentinel = -12345.0f;

const GgmlQuant kTypes[] = {GgmlQuant::kQ8_0, GgmlQuant::kQ4_0, GgmlQuant::kQ5_0, GgmlQuant::kQ4_1,
                            GgmlQuant::kQ5_1, GgmlQuant::kQ4_K, GgmlQuant::kQ5_K, GgmlQuant::kQ6_K};

void put_f16(uint8_t* p, float v) {
  const uint16_t h = f32_to_fp16(v);
  p[0] = static_cast<uint8_t>(h);
  p[1] = static_cast<uint8_t>(h >> 8);
}

// Random block bytes (every code pattern, Q8_0 −128 and negative Q6_K scales included) with finite
// scales in place of the random f16 fields.
struct GMat {
  std::vector<uint8_t> bytes;
  std::vector<float> dense;  // dequantised [n, k]
  std::vector<float> bound;  // per row: max over columns of |w| + offset-term magnitude
  WeightMatrix w;
};

GMat make_gmat(GgmlQuant t, int64_t n, int64_t k, std::mt19937& rng) {
  GMat m;
  m.w = WeightMatrix{.dtype = DType::kU8, .rows = n, .cols = k, .ggml = t};
  const GgmlQuantInfo info = ggml_quant_info(t);
  m.bytes.resize(static_cast<size_t>(n * row_bytes(m.w)));
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(0.0005f, 0.004f);
  for (auto& b : m.bytes) b = static_cast<uint8_t>(byte(rng));
  for (int64_t blk = 0; blk < n * k / info.block_elems; ++blk) {
    uint8_t* p = m.bytes.data() + blk * info.block_bytes;
    if (t == GgmlQuant::kQ6_K) put_f16(p + 208, scale(rng));
    else put_f16(p, scale(rng));
    if (t == GgmlQuant::kQ4_K || t == GgmlQuant::kQ5_K) put_f16(p + 2, scale(rng));
    if (t == GgmlQuant::kQ4_1 || t == GgmlQuant::kQ5_1) put_f16(p + 2, -16.0f * scale(rng));  // m: a block's minimum
  }
  m.w.data = m.bytes.data();
  m.dense.resize(static_cast<size_t>(n * k));
  m.bound.resize(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    ref::dequantize_row_ggml(t, m.bytes.data() + r * row_bytes(m.w), m.dense.data() + r * k, k);
    float mx = 0.0f;
    for (int64_t c = 0; c < k; ++c) mx = std::max(mx, std::fabs(m.dense[r * k + c]));
    m.bound[r] = 2.0f * mx;  // offset terms are at most the code range times the scale: ≤ 2·max|w|-ish
  }
  return m;
}

void check(const KernelTable& t, GgmlQuant q, ActPrecision p, int64_t m, int64_t n, int64_t k, uint32_t seed) {
  SCOPED_TRACE(std::string(ggml_quant_info(q).name) + (p == ActPrecision::kF32 ? " f32" : " int8") + " m=" +
               std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k));
  std::mt19937 rng(seed);
  const GMat w = make_gmat(q, n, k, rng);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(m * k));
  for (float& v : x) v = normal(rng);
  const KernelTable ref = reference_kernels();
  std::vector<float> want(static_cast<size_t>(m * n), kSentinel), got(want);
  // An interior row range with an output offset, as linear() and MLA call it.
  const int64_t n0 = n > 3 ? 1 : 0;
  auto run = [&](const KernelTable& kt, std::vector<float>& y) {
    select_gemm(kt, w.w)(GemmArgs{.x = x.data(), .m = m, .ldx = k, .w = &w.w, .y = y.data(), .ldy = n, .n_begin = n0,
                                  .n_end = n, .precision = p, .y_col_offset = 0});
  };
  run(ref, want);
  run(t, got);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      if (j < n0) {
        EXPECT_EQ(got[i * n + j], kSentinel) << "row " << j << " outside [n_begin, n_end) written";
        continue;
      }
      double mag = 0.0, xabs = 0.0;
      for (int64_t c = 0; c < k; ++c) {
        mag += std::fabs(static_cast<double>(x[i * k + c]) * w.dense[j * k + c]);
        xabs += std::fabs(x[i * k + c]);
      }
      const double tol = p == ActPrecision::kF32 ? kTolF32 * mag : kTolInt * (mag + xabs * w.bound[j]);
      ASSERT_NEAR(got[i * n + j], want[i * n + j], tol) << "i=" << i << " j=" << j;
    }
}

class GgmlGemm : public IsaTest {};

TEST_P(GgmlGemm, MatchesReferenceEveryType) {
  uint32_t seed = 1;
  for (GgmlQuant q : kTypes)
    for (ActPrecision p : {ActPrecision::kF32, ActPrecision::kBF16})
      for (int64_t m : {1, 2, 3, 4, 7}) {
        check(table_, q, p, m, 9, 512, seed++);
        if (HasFatalFailure()) return;
      }
}

TEST_P(GgmlGemm, OddBlockCountsAndLongRows) {
  // 3 blocks of 32 (an unpaired last block in the two-block loop) and a 3-super-block row.
  check(table_, GgmlQuant::kQ8_0, ActPrecision::kBF16, 1, 5, 96, 11);
  check(table_, GgmlQuant::kQ4_0, ActPrecision::kBF16, 2, 5, 96, 12);
  check(table_, GgmlQuant::kQ5_0, ActPrecision::kBF16, 3, 5, 96, 17);
  check(table_, GgmlQuant::kQ5_0, ActPrecision::kBF16, 1, 3, 128, 18);  // attn_k_b's rows (qk_nope 128)
  check(table_, GgmlQuant::kQ4_1, ActPrecision::kBF16, 2, 5, 96, 19);
  check(table_, GgmlQuant::kQ5_1, ActPrecision::kBF16, 3, 5, 160, 20);
  for (GgmlQuant q : kTypes) check(table_, q, ActPrecision::kBF16, 1, 17, 768, 13);
  check(table_, GgmlQuant::kQ4_K, ActPrecision::kBF16, 5, 6, 2048, 14);
  check(table_, GgmlQuant::kQ5_K, ActPrecision::kBF16, 5, 6, 2048, 16);
  check(table_, GgmlQuant::kQ6_K, ActPrecision::kF32, 5, 6, 2048, 15);
}

// Prefill shapes: from 8 activation rows every type takes repacked 16-row panels (AVX-512 VNNI);
// n = 40 from n_begin = 1 leaves a partial last panel, m = 13 / 37 partial activation tiles.
TEST_P(GgmlGemm, PrefillPanelsMatchReference) {
  uint32_t seed = 100;
  for (GgmlQuant q : kTypes)
    for (int64_t m : {8, 10, 11, 12, 13, 14, 15, 37}) {  // with m = 9 below: every tail of the 8-row passes
      check(table_, q, ActPrecision::kBF16, m, 40, 512, seed++);
      if (HasFatalFailure()) return;
    }
  check(table_, GgmlQuant::kQ4_K, ActPrecision::kBF16, 9, 17, 2048, seed++);
  check(table_, GgmlQuant::kQ8_0, ActPrecision::kBF16, 9, 17, 1408, seed++);
  check(table_, GgmlQuant::kQ6_K, ActPrecision::kBF16, 9, 17, 2816, seed++);  // a shared expert's down_proj
  check(table_, GgmlQuant::kQ5_K, ActPrecision::kBF16, 21, 33, 768, seed++);
  // Rows of ≤ 256 columns of the 32-column types take panels at any m (MLA's 128-wide attn_k_b in
  // decode); the k-quants keep their row kernels there, checked by the same calls.
  for (GgmlQuant q : kTypes)
    for (int64_t m : {1, 2, 5}) {
      check(table_, q, ActPrecision::kBF16, m, 40, 256, seed++);
      if (ggml_quant_info(q).block_elems == 32) check(table_, q, ActPrecision::kBF16, m, 40, 128, seed++);
      if (HasFatalFailure()) return;
    }
}

TEST_P(GgmlGemm, GemvTransposedMatchesDequantised) {
  std::mt19937 rng(21);
  for (GgmlQuant q : kTypes) {
    SCOPED_TRACE(ggml_quant_info(q).name);
    const GMat w = make_gmat(q, 12, 256, rng);
    std::vector<float> x(5), y(256, 0.5f), want(256, 0.5f);
    for (float& v : x) v = std::normal_distribution<float>(0.0f, 1.0f)(rng);
    table_.gemv_t(GemvTArgs{.x = x.data(), .w = &w.w, .row0 = 4, .rows = 5, .y = y.data()});
    for (int64_t c = 0; c < 256; ++c) {
      double s = 0.0, mag = 0.0;
      for (int64_t i = 0; i < 5; ++i) s += x[i] * w.dense[(4 + i) * 256 + c], mag += std::fabs(x[i] * w.dense[(4 + i) * 256 + c]);
      ASSERT_NEAR(y[c], want[c] + s, kTolF32 * (mag + 1.0)) << "column " << c;
    }
  }
}

// linear() quantises the activations once with the level's quantize_ggml and hands the buffer to
// every task (GemmArgs::xq): its row layout must be byte-identical to the reference quantiser's
// (codes, steps, code sums; a zero group and a NaN-free outlier included) and the buffer must give
// exactly the products the kernel computes when it quantises by itself (m = 9, 17: the AVX-512
// prefill panels, which read the level's own panel-order copy in the buffer's tail).
TEST_P(GgmlGemm, SharedQuantisedActivationsMatchTheReference) {
  std::mt19937 rng(31);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t k = 768, n = 7, ldx = k + 5;
  for (GgmlQuant q : kTypes)
    for (int64_t m : {1, 3, 6, 9, 17}) {
      SCOPED_TRACE(std::string(ggml_quant_info(q).name) + " m=" + std::to_string(m));
      std::vector<float> x(static_cast<size_t>(m * ldx));
      for (float& v : x) v = normal(rng);
      for (int64_t c = 32; c < 64; ++c) x[c] = 0.0f;  // an all-zero group in row 0
      x[100] = 300.0f;
      const int64_t bytes = ggml_acts_bytes(m, k);
      std::vector<uint8_t> want(static_cast<size_t>(bytes), 0xAB), got(want);
      const GgmlQuantizeArgs qa{.x = x.data(), .m = m, .ldx = ldx, .k = k, .type = q, .out = want.data()};
      ref_.quantize_ggml(qa);
      GgmlQuantizeArgs qb = qa;
      qb.out = got.data();
      table_.quantize_ggml(qb);
      const auto rows_end = static_cast<std::ptrdiff_t>(ggml_acts_rows_bytes(m, k));
      ASSERT_TRUE(std::equal(want.begin(), want.begin() + rows_end, got.begin()));
      const GMat w = make_gmat(q, n, k, rng);
      std::vector<float> own(static_cast<size_t>(m * n)), shared(own);
      GemmArgs ga{.x = x.data(), .m = m, .ldx = ldx, .w = &w.w, .y = own.data(), .ldy = n, .n_begin = 0, .n_end = n,
                  .precision = ActPrecision::kBF16};
      table_.gemm_ggml(ga);
      ga.y = shared.data();
      ga.xq = got.data();
      table_.gemm_ggml(ga);
      ASSERT_EQ(own, shared);
    }
}

INSTANTIATE_TEST_SUITE_P(Levels, GgmlGemm, ::testing::ValuesIn(kFastLevels), level_name);

// The writers: dequantise(quantise(x)) stays within the sub-block step. Q4_K / Q5_K: 15 / 31 steps
// over each 32-value range plus 6-bit scale/min rounding; Q6_K: 63 steps with 8-bit scales. Bounds are the
// relative RMS errors of uniform rounding at those step counts with a 2× margin.
constexpr double kQ4KRelRms = 2.0 * (1.0 / 15.0) * 4.0 / std::sqrt(12.0);
constexpr double kQ5KRelRms = 2.0 * (1.0 / 31.0) * 4.0 / std::sqrt(12.0);
constexpr double kQ6KRelRms = 2.0 * (1.0 / 31.0) * 3.0 / std::sqrt(12.0);

double rel_rms_roundtrip(void (*quant)(const float*, uint8_t*, int64_t), GgmlQuant t) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  const int64_t n = 4096;
  std::vector<float> x(n), back(n);
  for (float& v : x) v = normal(rng);
  std::vector<uint8_t> blocks(static_cast<size_t>(n / 256 * ggml_quant_info(t).block_bytes));
  quant(x.data(), blocks.data(), n);
  ref::dequantize_row_ggml(t, blocks.data(), back.data(), n);
  double e = 0.0, s = 0.0;
  for (int64_t i = 0; i < n; ++i) e += (x[i] - back[i]) * (x[i] - back[i]), s += x[i] * x[i];
  return std::sqrt(e / s);
}

TEST(GgmlQuantisers, Q4KRoundTrip) { EXPECT_LT(rel_rms_roundtrip(ref::quantize_row_q4_k, GgmlQuant::kQ4_K), kQ4KRelRms); }
TEST(GgmlQuantisers, Q5KRoundTrip) { EXPECT_LT(rel_rms_roundtrip(ref::quantize_row_q5_k, GgmlQuant::kQ5_K), kQ5KRelRms); }
TEST(GgmlQuantisers, Q6KRoundTrip) { EXPECT_LT(rel_rms_roundtrip(ref::quantize_row_q6_k, GgmlQuant::kQ6_K), kQ6KRelRms); }

TEST(GgmlQuantisers, Q4KAllZeroBlockDecodesToZero) {
  std::vector<float> x(256, 0.0f), back(256, 1.0f);
  std::vector<uint8_t> b(144);
  ref::quantize_row_q4_k(x.data(), b.data(), 256);
  ref::dequantize_row_q4_k(b.data(), back.data(), 256);
  for (float v : back) ASSERT_EQ(v, 0.0f);
}

}  // namespace
}  // namespace radseek::kernels::testing

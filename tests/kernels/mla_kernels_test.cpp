// Oracle: the scalar reference kernels. The two products MLA weight absorption uses — gemv_t
// (q_abs = W_UKᵀ·q_nope) and gemm over a row range written at y_col_offset (o = W_UV·o_lat) — on
// every ISA level this CPU supports, for every weight dtype, odd shapes and partial FP8 blocks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "base/numeric.h"
#include "isa_levels.h"
#include "kernels/kernels.h"
#include "kernels/ref/group_quant.h"

namespace radseek::kernels::testing {
namespace {

// Same reasoning as gemm_test's kGemmTol: identical exact-in-f32 products (x·s may be formed before
// the weight multiply: one extra rounding) summed in another order; error ≪ 1e-5 · Σ|x·w|, while
// a wrong element, row or scale is off by O(1) of that sum.
constexpr double kTol = 1e-5;
constexpr float kSentinel = -12345.0f;

struct Mat {
  std::vector<uint8_t> bytes;
  std::vector<float> scales;
  WeightMatrix w;
};

// Random weights in `d` (FP8: finite codes, scale blocks br × bc; Q8/Q4 via the quantisers).
Mat make_mat(DType d, int64_t rows, int64_t cols, int64_t br, int64_t bc, std::mt19937& rng) {
  Mat m;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(rows * cols));
  for (float& f : v) f = normal(rng);
  m.w = WeightMatrix{.dtype = d, .rows = rows, .cols = cols};
  m.bytes.resize(static_cast<size_t>(rows * row_bytes(m.w)));
  const int64_t G = (cols + kQuantGroup - 1) / kQuantGroup;
  if (is_group_quant(d)) m.scales.resize(static_cast<size_t>(rows * G));
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = v.data() + r * cols;
    uint8_t* dst = m.bytes.data() + r * row_bytes(m.w);
    if (d == DType::kI8) ref::quantize_row_q8(src, cols, reinterpret_cast<int8_t*>(dst), m.scales.data() + r * G);
    if (d == DType::kU8) ref::quantize_row_q4(src, cols, dst, m.scales.data() + r * G);
    for (int64_t c = 0; c < cols; ++c) {
      if (d == DType::kF32) reinterpret_cast<float*>(dst)[c] = src[c];
      if (d == DType::kBF16) reinterpret_cast<uint16_t*>(dst)[c] = f32_to_bf16(src[c]);
      if (d == DType::kF16) reinterpret_cast<uint16_t*>(dst)[c] = f32_to_fp16(src[c]);
      if (d == DType::kF8E4M3) dst[c] = f32_to_fp8_e4m3(src[c] * 64.0f);  // finite: |x·64| < 448
    }
  }
  if (d == DType::kF8E4M3) {
    std::uniform_real_distribution<float> sd(1e-3f, 4e-3f);
    for (int64_t i = 0; i < ((rows + br - 1) / br) * ((cols + bc - 1) / bc); ++i) m.scales.push_back(sd(rng));
    m.w.block_scale = m.scales.data();
    m.w.block_rows = br;
    m.w.block_cols = bc;
  }
  if (is_group_quant(d)) m.w.group_scale = m.scales.data();
  m.w.data = m.bytes.data();
  return m;
}

// |W[r, c]| as the reference sees it (through gemv_t with a one-hot x).
std::vector<float> dense_row_abs(const WeightMatrix& w, int64_t r) {
  std::vector<float> y(static_cast<size_t>(w.cols), 0.0f);
  const float one = 1.0f;
  reference_kernels().gemv_t(GemvTArgs{.x = &one, .w = &w, .row0 = r, .rows = 1, .y = y.data()});
  for (float& f : y) f = std::fabs(f);
  return y;
}

class MlaKernelTest : public IsaTest {};

constexpr DType kAllDtypes[] = {DType::kF32, DType::kBF16, DType::kF16, DType::kF8E4M3, DType::kI8, DType::kU8};

// y starts non-zero (gemv_t accumulates) and has a sentinel past the end that must stay.
TEST_P(MlaKernelTest, GemvTMatchesReference) {
  std::mt19937 rng(42);
  struct Case { int64_t rows, cols, row0, r, br, bc; };
  const Case cases[] = {{256, 512, 0, 128, 128, 128}, {256, 512, 128, 128, 128, 128}, {300, 192, 37, 64, 128, 128},
                        {90, 77, 5, 80, 64, 48}, {40, 33, 0, 1, 1, 200}, {17, 129, 3, 13, 128, 128}, {8, 5, 2, 6, 3, 2}};
  for (DType d : kAllDtypes) {
    for (const Case& cs : cases) {
      SCOPED_TRACE(std::string(dtype_name(d)) + " rows=" + std::to_string(cs.rows) + " cols=" + std::to_string(cs.cols) +
                   " row0=" + std::to_string(cs.row0) + " r=" + std::to_string(cs.r));
      const Mat m = make_mat(d, cs.rows, cs.cols, cs.br, cs.bc, rng);
      std::vector<float> x(static_cast<size_t>(cs.r));
      std::normal_distribution<float> normal(0.0f, 1.0f);
      for (float& f : x) f = normal(rng);
      std::vector<float> y(static_cast<size_t>(cs.cols + 1)), want;
      for (float& f : y) f = normal(rng);
      y[cs.cols] = kSentinel;
      want = y;
      const GemvTArgs a{.x = x.data(), .w = &m.w, .row0 = cs.row0, .rows = cs.r, .y = y.data()};
      table_.gemv_t(a);
      reference_kernels().gemv_t(GemvTArgs{.x = x.data(), .w = &m.w, .row0 = cs.row0, .rows = cs.r, .y = want.data()});
      std::vector<double> bound(static_cast<size_t>(cs.cols), 1e-30);
      for (int64_t i = 0; i < cs.r; ++i) {
        const auto wa = dense_row_abs(m.w, cs.row0 + i);
        for (int64_t c = 0; c < cs.cols; ++c) bound[c] += kTol * std::fabs(x[i]) * wa[c];
      }
      for (int64_t c = 0; c < cs.cols; ++c) {
        bound[c] += kTol * std::fabs(want[c]);
        ASSERT_NEAR(y[c], want[c], bound[c]) << "column " << c;
      }
      EXPECT_EQ(y[cs.cols], kSentinel) << "wrote past w.cols";
    }
  }
}

// m vectors over shared rows (the heads of a query against a chunk of the MLA cache): each vector's
// y row must equal its own one-vector reference product; strides wider than the rows, a sentinel
// after each y row, vector counts around the kernels' blocks of 8, and the cache's FP8 layout (a
// scale per row: block_rows 1, block_cols = cols) besides 128 × 128 blocks.
TEST_P(MlaKernelTest, GemvTSeveralVectorsMatchReference) {
  std::mt19937 rng(43);
  struct Case { int64_t rows, cols, row0, r, br, bc; };
  const Case cases[] = {{64, 576, 0, 64, 1, 576}, {90, 576, 7, 50, 1, 576}, {256, 512, 128, 128, 128, 128},
                        {40, 77, 3, 33, 16, 48}, {9, 5, 0, 9, 1, 5}};
  for (DType d : {DType::kF32, DType::kBF16, DType::kF16, DType::kF8E4M3}) {
    for (const Case& cs : cases) {
      for (int64_t m : {2, 3, 8, 9, 16, 17}) {
        SCOPED_TRACE(std::string(dtype_name(d)) + " rows=" + std::to_string(cs.rows) + " cols=" + std::to_string(cs.cols) +
                     " r=" + std::to_string(cs.r) + " m=" + std::to_string(m));
        const Mat mat = make_mat(d, cs.rows, cs.cols, cs.br, cs.bc, rng);
        const int64_t ldx = cs.r + 3, ldy = cs.cols + 1;
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::vector<float> x(static_cast<size_t>(m * ldx)), y(static_cast<size_t>(m * ldy));
        for (float& f : x) f = normal(rng);
        for (float& f : y) f = normal(rng);
        for (int64_t v = 0; v < m; ++v) y[v * ldy + cs.cols] = kSentinel;
        std::vector<float> want = y;
        table_.gemv_t(GemvTArgs{.x = x.data(), .w = &mat.w, .row0 = cs.row0, .rows = cs.r, .y = y.data(), .m = m,
                                .ldx = ldx, .ldy = ldy});
        for (int64_t v = 0; v < m; ++v)
          reference_kernels().gemv_t(GemvTArgs{.x = x.data() + v * ldx, .w = &mat.w, .row0 = cs.row0, .rows = cs.r,
                                               .y = want.data() + v * ldy});
        std::vector<std::vector<float>> row_abs;
        for (int64_t i = 0; i < cs.r; ++i) row_abs.push_back(dense_row_abs(mat.w, cs.row0 + i));
        for (int64_t v = 0; v < m; ++v) {
          for (int64_t c = 0; c < cs.cols; ++c) {
            double bound = 1e-30 + kTol * std::fabs(want[v * ldy + c]);
            for (int64_t i = 0; i < cs.r; ++i) bound += kTol * std::fabs(x[v * ldx + i]) * row_abs[i][c];
            ASSERT_NEAR(y[v * ldy + c], want[v * ldy + c], bound) << "vector " << v << " column " << c;
          }
          EXPECT_EQ(y[v * ldy + cs.cols], kSentinel) << "vector " << v << " wrote past w.cols";
        }
      }
    }
  }
}

// A row range [n0, n1) written into a y only n1 − n0 wide via y_col_offset = n0 must equal the same
// columns of a full-width reference product (m = 1 decode and m > 1 tile / panel paths).
TEST_P(MlaKernelTest, GemmColumnOffsetMatchesReference) {
  std::mt19937 rng(7);
  for (DType d : kAllDtypes) {
    for (ActPrecision p : {ActPrecision::kF32, ActPrecision::kBF16}) {
      for (int64_t m : {1, 3, 13, 20}) {
        const int64_t n = 260, k = 192, n0 = 100, n1 = 228, ldy = n1 - n0 + 2;
        SCOPED_TRACE(std::string(dtype_name(d)) + " m=" + std::to_string(m) + (p == ActPrecision::kF32 ? " f32" : " bf16"));
        const Mat w = make_mat(d, n, k, 128, 128, rng);
        std::vector<float> x(static_cast<size_t>(m * k));
        std::normal_distribution<float> normal(0.0f, 1.0f);
        for (float& f : x) f = normal(rng);
        std::vector<float> y(static_cast<size_t>(m * ldy), kSentinel), full(static_cast<size_t>(m * n), 0.0f);
        GemmArgs a{.x = x.data(), .m = m, .ldx = k, .w = &w.w, .y = full.data(), .ldy = n, .n_begin = n0, .n_end = n1,
                   .precision = p};
        reference_kernels().gemm(a);
        a.y = y.data();
        a.ldy = ldy;
        a.y_col_offset = n0;
        select_gemm(table_, d)(a);
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t j = n0; j < n1; ++j) {
            const auto wa = dense_row_abs(w.w, j);
            double l1 = 0.0;
            for (int64_t c = 0; c < k; ++c) l1 += std::fabs(x[i * k + c]) * wa[c];
            // Q8/Q4 with int8 activations: the reference and the kernel quantise x identically, so
            // only the float scaling differs; the offset term c·Σxq adds up to 128·Σ|w|/|q| more.
            const double scale = is_group_quant(d) ? 130.0 : 1.0;
            ASSERT_NEAR(y[i * ldy + j - n0], full[i * n + j], kTol * scale * l1 + 1e-30) << "i=" << i << " j=" << j;
          }
          EXPECT_EQ(y[i * ldy + n1 - n0], kSentinel) << "wrote past n_end - y_col_offset";
          EXPECT_EQ(y[i * ldy + n1 - n0 + 1], kSentinel);
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Levels, MlaKernelTest, ::testing::ValuesIn(kFastLevels), level_name);

}  // namespace
}  // namespace radseek::kernels::testing

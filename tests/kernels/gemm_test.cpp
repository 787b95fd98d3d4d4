// Oracle: the scalar reference gemm (kernels/ref). Every ISA level this CPU supports is compared
// with it on random shapes (odd sizes, partial FP8 scale blocks, m = 1..40, n sub-ranges), for
// both activation precisions and every weight dtype; plus the FP8 conversion on all 256 codes.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "base/numeric.h"
#include "kernels/kernels.h"
#include "isa_levels.h"

namespace radseek::kernels::testing {
namespace {

// |fast - ref| ≤ kGemmTol · Σ_k |x·w·scale|: both sum the same exact-in-f32 products (kBF16 rounds
// x to bf16 in both; FP8 may multiply q·s before the sum: one more rounding of 2^-24) in different
// orders; summation error grows like sqrt(k)·2^-24 for random signs, so 1e-5 (~170 ulp) leaves
// room for k in the thousands while still catching any wrong element or scale (errors of O(1)).
constexpr double kGemmTol = 1e-5;
constexpr float kSentinel = -12345.0f;  // marks y columns outside [n_begin, n_end) that must stay

struct Shape {
  DType dtype;
  ActPrecision precision;
  int64_t m, n, k;
  int64_t n_begin, n_end;
  int64_t block_rows = kFp8Block, block_cols = kFp8Block;
  bool fp8_flags = false;  // attach WeightMatrix::fp8_flags (made by the reference)
};

std::string describe(const Shape& s) {
  return std::string(dtype_name(s.dtype)) + (s.precision == ActPrecision::kBF16 ? " bf16-act" : " f32-act") +
         " m=" + std::to_string(s.m) + " n=" + std::to_string(s.n) + " k=" + std::to_string(s.k) + " n∈[" +
         std::to_string(s.n_begin) + "," + std::to_string(s.n_end) + ") block=" + std::to_string(s.block_rows) +
         "x" + std::to_string(s.block_cols) + (s.fp8_flags ? " with fp8_flags" : "");
}

// Random weights in the stored format; FP8 bytes cover every finite code (NaN codes excluded).
struct Weights {
  std::vector<uint8_t> bytes;
  std::vector<float> scales;
  std::vector<uint8_t> flags;
  WeightMatrix w;

  // (Re)makes w.fp8_flags from the current bytes with the reference.
  void attach_flags() {
    flags.assign(static_cast<size_t>(fp8_flags_bytes(w)), 0xee);
    reference_kernels().fp8_flags(Fp8FlagsArgs{.w = &w, .row_begin = 0, .row_end = w.rows, .flags = flags.data()});
    w.fp8_flags = flags.data();
  }
};

Weights make_weights(const Shape& s, std::mt19937& rng) {
  Weights out;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const size_t count = static_cast<size_t>(s.n * s.k);
  out.bytes.resize(count * dtype_size(s.dtype));
  for (size_t i = 0; i < count; ++i) {
    const float v = normal(rng);
    switch (s.dtype) {
      case DType::kF32: reinterpret_cast<float*>(out.bytes.data())[i] = v; break;
      case DType::kBF16: reinterpret_cast<uint16_t*>(out.bytes.data())[i] = f32_to_bf16(v); break;
      case DType::kF16: reinterpret_cast<uint16_t*>(out.bytes.data())[i] = f32_to_fp16(v); break;
      default: {
        uint8_t b = static_cast<uint8_t>(rng());
        if ((b & 0x7f) == 0x7f) b ^= 1;  // NaN → 448-ish neighbour; NaN is tested separately
        out.bytes[i] = b;
      }
    }
  }
  out.w = WeightMatrix{.dtype = s.dtype, .data = out.bytes.data(), .rows = s.n, .cols = s.k};
  if (s.dtype == DType::kF8E4M3) {
    const int64_t br = (s.n + s.block_rows - 1) / s.block_rows, bc = (s.k + s.block_cols - 1) / s.block_cols;
    std::uniform_real_distribution<float> scale(1e-3f, 4e-3f);
    for (int64_t i = 0; i < br * bc; ++i) out.scales.push_back(scale(rng));
    out.w.block_scale = out.scales.data();
    out.w.block_rows = s.block_rows;
    out.w.block_cols = s.block_cols;
    if (s.fp8_flags) out.attach_flags();
  }
  return out;
}

// Σ_k |x·w·scale| for output (i, j): the scale of the error bound.
double abs_sum(const GemmArgs& a, const WeightMatrix& w, int64_t i, int64_t j) {
  const int64_t scale_cols = (w.cols + w.block_cols - 1) / w.block_cols;
  double total = 0.0;
  for (int64_t k = 0; k < w.cols; ++k) {
    float wv = 0.0f;
    switch (w.dtype) {
      case DType::kF32: wv = static_cast<const float*>(w.data)[j * w.cols + k]; break;
      case DType::kBF16: wv = bf16_to_f32(static_cast<const uint16_t*>(w.data)[j * w.cols + k]); break;
      case DType::kF16: wv = fp16_to_f32(static_cast<const uint16_t*>(w.data)[j * w.cols + k]); break;
      default:
        wv = fp8_e4m3_to_f32(static_cast<const uint8_t*>(w.data)[j * w.cols + k]) *
             w.block_scale[(j / w.block_rows) * scale_cols + k / w.block_cols];
    }
    total += std::fabs(static_cast<double>(a.x[i * a.ldx + k]) * wv);
  }
  return total;
}

// Runs `table.gemm` and the reference on one shape and checks every y element.
void check_shape(const KernelTable& table, const Shape& s, uint32_t seed) {
  SCOPED_TRACE(describe(s));
  std::mt19937 rng(seed);
  const Weights wt = make_weights(s, rng);
  const int64_t ldx = s.k + 3, ldy = s.n + 5;  // strides wider than the data, as callers may pass
  std::vector<float> x(static_cast<size_t>(s.m * ldx));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& v : x) v = normal(rng);
  std::vector<float> y_fast(static_cast<size_t>(s.m * ldy), kSentinel), y_ref = y_fast;
  GemmArgs a{.x = x.data(), .m = s.m, .ldx = ldx, .w = &wt.w, .y = y_fast.data(), .ldy = ldy,
             .n_begin = s.n_begin, .n_end = s.n_end, .precision = s.precision};
  table.gemm(a);
  a.y = y_ref.data();
  reference_kernels().gemm(a);
  int failures = 0;
  for (int64_t i = 0; i < s.m && failures < 5; ++i) {
    for (int64_t j = 0; j < s.n && failures < 5; ++j) {
      const float got = y_fast[i * ldy + j], want = y_ref[i * ldy + j];
      if (j < s.n_begin || j >= s.n_end) {
        if (got != kSentinel) ++failures, ADD_FAILURE() << "wrote outside [n_begin, n_end) at " << i << "," << j;
        continue;
      }
      const double bound = kGemmTol * abs_sum(a, wt.w, i, j) + 1e-30;
      if (!(std::fabs(static_cast<double>(got) - want) <= bound)) {
        ++failures;
        ADD_FAILURE() << "y[" << i << "," << j << "] = " << got << ", reference " << want << ", bound " << bound;
      }
    }
  }
}

class GemmTest : public IsaTest {};

constexpr DType kDtypes[] = {DType::kF32, DType::kBF16, DType::kF16, DType::kF8E4M3};
constexpr ActPrecision kPrecisions[] = {ActPrecision::kF32, ActPrecision::kBF16};

// m = 1..40 with random odd n, k (FP8 edges not multiples of 128) and random n sub-ranges.
TEST_P(GemmTest, RandomShapesMatchReference) {
  std::mt19937 rng(1234);
  for (DType d : kDtypes) {
    for (ActPrecision p : kPrecisions) {
      for (int64_t m = 1; m <= 40; ++m) {
        const int64_t n = 1 + static_cast<int64_t>(rng() % 300), k = 1 + static_cast<int64_t>(rng() % 420);
        const int64_t nb = static_cast<int64_t>(rng() % static_cast<uint32_t>(n));
        const int64_t ne = nb + 1 + static_cast<int64_t>(rng() % static_cast<uint32_t>(n - nb));
        const bool full = m % 3 == 0;  // a third of the cases cover all rows
        check_shape(table_, Shape{d, p, m, n, k, full ? 0 : nb, full ? n : ne}, static_cast<uint32_t>(rng()));
      }
    }
  }
}

// Shapes of the real model class: several whole and partial 128-blocks, and m for each path:
// decode (1), register tiles (4), vdpbf16ps (12..15), f32 panels / AMX tiles (16 and up, past one
// 64-row rounding block).
TEST_P(GemmTest, BlockEdgesMatchReference) {
  const int64_t ms[] = {1, 4, 13, 16, 33, 70};
  uint32_t seed = 7;
  for (DType d : {DType::kBF16, DType::kF8E4M3}) {
    for (ActPrecision p : kPrecisions) {
      for (int64_t m : ms) {
        check_shape(table_, Shape{d, p, m, 300, 1000, 0, 300}, ++seed);
        check_shape(table_, Shape{d, p, m, 257, 129, 100, 257}, ++seed);
        check_shape(table_, Shape{d, p, m, 128, 256, 0, 128}, ++seed);
      }
    }
  }
}

// Scale blocks of other sizes than 128 (the header allows any): 64 × 48 and 1 × 200.
TEST_P(GemmTest, OtherFp8BlockSizesMatchReference) {
  for (ActPrecision p : kPrecisions) {
    for (int64_t m : {1, 5, 20}) {
      Shape s{DType::kF8E4M3, p, m, 150, 333, 3, 149};
      s.block_rows = 64;
      s.block_cols = 48;
      check_shape(table_, s, 99);
      s.block_rows = 1;
      s.block_cols = 200;
      check_shape(table_, s, 98);
    }
  }
}

// All 256 codes through the gemm: W[j, c] = code 16·j + c with scale 1 and one-hot x rows, so each
// y is one product, exact — it must equal the reference bit for bit (rows holding a NaN code give
// NaN everywhere, as 0 · NaN is NaN) — for decode and for the packed paths.
TEST_P(GemmTest, Fp8AllCodesThroughGemm) {
  std::vector<uint8_t> codes(256);
  for (int c = 0; c < 256; ++c) codes[c] = static_cast<uint8_t>(c);
  const float scale = 1.0f;
  WeightMatrix w{.dtype = DType::kF8E4M3, .data = codes.data(), .rows = 16, .cols = 16, .block_scale = &scale};
  std::vector<uint8_t> flags(static_cast<size_t>(fp8_flags_bytes(w)));
  reference_kernels().fp8_flags(Fp8FlagsArgs{.w = &w, .row_begin = 0, .row_end = 16, .flags = flags.data()});
  for (const uint8_t* with : {static_cast<const uint8_t*>(nullptr), static_cast<const uint8_t*>(flags.data())}) {
    w.fp8_flags = with;
    std::vector<float> x(16 * 16, 0.0f), y(16 * 16, 0.0f), want(16 * 16, 0.0f);
    for (int i = 0; i < 16; ++i) x[i * 16 + i] = 1.0f;
    for (ActPrecision p : kPrecisions) {
      GemmArgs a{.x = x.data(), .m = 16, .ldx = 16, .w = &w, .y = want.data(), .ldy = 16, .n_begin = 0, .n_end = 16,
                 .precision = p};
      reference_kernels().gemm(a);
      for (int64_t m : {1, 16}) {
        for (int64_t c0 = 0; c0 < 16; c0 += m) {  // m = 1: one call per column
          a.x = x.data() + c0 * 16;
          a.y = y.data() + c0 * 16;
          a.m = m;
          table_.gemm(a);
        }
        for (int i = 0; i < 16 * 16; ++i) {
          if (std::isnan(want[i])) {
            EXPECT_TRUE(std::isnan(y[i])) << "y[" << i / 16 << "," << i % 16 << "] m=" << m;
          } else {
            EXPECT_EQ(y[i], want[i]) << "code " << 16 * (i % 16) + i / 16 << " m=" << m << (with ? " with flags" : "");
          }
        }
      }
    }
  }
}

// Rows whose only non-zero codes are subnormal (which vdpbf16ps reads as zero and the decode kernel
// adds back exactly), in a row range starting off a multiple of 8 so tiles straddle two flag bytes:
// without and with fp8_flags, every y must be the reference's.
TEST_P(GemmTest, Fp8DecodeSubnormalOnlyRows) {
  const int64_t n = 40, k = 512;
  std::mt19937 rng(5);
  Weights wt = make_weights(Shape{DType::kF8E4M3, ActPrecision::kBF16, 1, n, k, 0, n}, rng);
  std::fill(wt.bytes.begin(), wt.bytes.end(), uint8_t{0});
  for (int64_t j = 0; j < n; j += 3)
    for (int i = 0; i < 4; ++i) wt.bytes[j * k + rng() % k] = static_cast<uint8_t>(1 + rng() % 7) | static_cast<uint8_t>(rng() & 0x80);
  std::vector<float> x(k);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& v : x) v = normal(rng);
  for (const bool flags : {false, true}) {
    if (flags) wt.attach_flags();
    std::vector<float> y(n, kSentinel), want(n, kSentinel);
    GemmArgs a{.x = x.data(), .m = 1, .ldx = k, .w = &wt.w, .y = want.data(), .ldy = n, .n_begin = 3, .n_end = n,
               .precision = ActPrecision::kBF16};
    reference_kernels().gemm(a);
    a.y = y.data();
    table_.gemm(a);
    for (int64_t j = 3; j < n; ++j) {
      EXPECT_NEAR(y[j], want[j], kGemmTol * abs_sum(a, wt.w, 0, j) + 1e-30) << "row " << j << (flags ? " with flags" : "");
      if (j % 3 == 0) {
        EXPECT_NE(want[j], 0.0f) << "row " << j;  // the test holds what it means to test
      }
    }
  }
}

// The in-register conversion exposed as fp8_e4m3_to_f32: all 256 codes bit-exact (NaN stays NaN),
// at every offset so the vector body and each tail length are covered.
TEST_P(GemmTest, Fp8ConversionAllCodes) {
  std::vector<uint8_t> codes(256 + 31);
  for (size_t c = 0; c < codes.size(); ++c) codes[c] = static_cast<uint8_t>(c);
  for (int64_t n : {int64_t{256}, int64_t{287}, int64_t{13}, int64_t{1}}) {
    std::vector<float> out(static_cast<size_t>(n) + 1, kSentinel);
    table_.fp8_e4m3_to_f32(codes.data(), out.data(), n);
    for (int64_t c = 0; c < n; ++c) {
      const float want = fp8_e4m3_to_f32(codes[c]);
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(out[c])) << "code " << c;
      } else {
        EXPECT_EQ(std::bit_cast<uint32_t>(out[c]), std::bit_cast<uint32_t>(want)) << "code " << int(codes[c]);
      }
    }
    EXPECT_EQ(out[n], kSentinel) << "wrote past n = " << n;
  }
}

// Decode (m = 1) at the model's FP8 shapes — k of 2048 (projections, experts' gate/up), 1408
// (experts' down), 10944 (dense down), 512 (MLA's W_UV) — which the AVX512_BF16 level runs on its
// vdpbf16ps decode kernel. Codes are uniform over all finite codes, so nearly every block holds
// subnormal and zero codes and takes that kernel's exact fix-up too.
// Each shape also runs with WeightMatrix::fp8_flags, which the kernel then trusts instead of its own
// per-code test (row ranges starting off a multiple of 8 read two flag bytes per tile).
TEST_P(GemmTest, Fp8DecodeModelShapesMatchReference) {
  uint32_t seed = 500;
  for (const bool flags : {false, true}) {
    for (ActPrecision p : kPrecisions) {
      check_shape(table_, Shape{DType::kF8E4M3, p, 1, 300, 2048, 3, 291, kFp8Block, kFp8Block, flags}, ++seed);
      check_shape(table_, Shape{DType::kF8E4M3, p, 1, 200, 1408, 0, 200, kFp8Block, kFp8Block, flags}, ++seed);
      check_shape(table_, Shape{DType::kF8E4M3, p, 1, 40, 10944, 5, 37, kFp8Block, kFp8Block, flags}, ++seed);
      check_shape(table_, Shape{DType::kF8E4M3, p, 1, 256, 512, 128, 256, kFp8Block, kFp8Block, flags}, ++seed);
      check_shape(table_, Shape{DType::kF8E4M3, p, 1, 33, 2000, 0, 33, kFp8Block, kFp8Block, flags}, ++seed);  // ragged last block
    }
  }
}

// The decode kernels' edge cases against the reference: a NaN code makes its own row NaN and no
// other; activations too large for vdpbf16ps's exponent trick (|x| ~ 2^40) and a NaN activation
// must still give the reference's answer (the kernel hands those to the FP32 path).
TEST_P(GemmTest, Fp8DecodeNanCodesAndExtremeActivations) {
  const int64_t n = 24, k = 1024;
  std::mt19937 rng(77);
  Weights wt = make_weights(Shape{DType::kF8E4M3, ActPrecision::kBF16, 1, n, k, 0, n}, rng);
  wt.bytes[5 * k + 700] = 0x7f;
  wt.bytes[17 * k + 3] = 0xff;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const float x_scale : {1.0f, 0x1p40f, -1.0f, 2.0f}) {
    SCOPED_TRACE("x scale " + std::to_string(x_scale));
    if (x_scale == 2.0f) wt.attach_flags();  // the same with fp8_flags
    std::vector<float> x(k);
    for (float& v : x) v = normal(rng) * std::fabs(x_scale);
    if (x_scale < 0) x[100] = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> y(n), want(n);
    GemmArgs a{.x = x.data(), .m = 1, .ldx = k, .w = &wt.w, .y = y.data(), .ldy = n, .n_begin = 0, .n_end = n,
               .precision = ActPrecision::kBF16};
    table_.gemm(a);
    a.y = want.data();
    reference_kernels().gemm(a);
    for (int64_t j = 0; j < n; ++j) {
      if (std::isnan(want[j])) {
        EXPECT_TRUE(std::isnan(y[j])) << "row " << j;
        continue;
      }
      a.y = y.data();
      EXPECT_NEAR(y[j], want[j], kGemmTol * abs_sum(a, wt.w, 0, j)) << "row " << j;
    }
  }
}

// fp8_flags against the reference, bit for bit: codes drawn so that some blocks hold no subnormal
// and no NaN code, others one of either at random places; rows and columns not multiples of 8 and of
// the block, and a row range starting inside the matrix (the bytes of earlier rows stay untouched).
TEST_P(GemmTest, Fp8FlagsMatchReference) {
  std::mt19937 rng(91);
  for (const int64_t block_cols : {int64_t{128}, int64_t{96}}) {
    const int64_t n = 37, k = 2000;
    Weights wt = make_weights(Shape{DType::kF8E4M3, ActPrecision::kBF16, 1, n, k, 0, n, kFp8Block, block_cols}, rng);
    for (uint8_t& b : wt.bytes) b = static_cast<uint8_t>(0x08 + rng() % 0x70) | static_cast<uint8_t>(rng() & 0x80);
    for (int i = 0; i < 25; ++i) {
      const uint8_t special[] = {0x01, 0x07, 0x81, 0x87, 0x7f, 0xff};
      wt.bytes[rng() % wt.bytes.size()] = special[rng() % 6];
    }
    wt.bytes[3 * k + k - 1] = 0x81;   // in the ragged end of the last block (past the last whole vector)
    wt.bytes[20 * k + k - 5] = 0x7f;
    const size_t bytes = static_cast<size_t>(fp8_flags_bytes(wt.w));
    std::vector<uint8_t> want(bytes, 0xee), got(bytes, 0xee);
    for (const int64_t r0 : {int64_t{0}, int64_t{16}}) {
      reference_kernels().fp8_flags(Fp8FlagsArgs{.w = &wt.w, .row_begin = r0, .row_end = n, .flags = want.data()});
      table_.fp8_flags(Fp8FlagsArgs{.w = &wt.w, .row_begin = r0, .row_end = n, .flags = got.data()});
      EXPECT_EQ(got, want) << "block_cols " << block_cols << ", rows from " << r0;
    }
    int set = 0;
    for (uint8_t b : want) set += b != 0 && b != 0xee;
    EXPECT_GT(set, 10);                           // the test holds flagged blocks ...
    EXPECT_LT(set, static_cast<int>(bytes) - 3);  // ... and clean ones
  }
}

INSTANTIATE_TEST_SUITE_P(Levels, GemmTest, ::testing::ValuesIn(kFastLevels), level_name);

// The AVX-512 level has a second gemm (vdpbf16ps) used only with AVX512_BF16; say so when absent.
TEST(GemmDispatch, Avx512Bf16PathAvailable) {
  const CpuFeatures f = detect_cpu_features();
  if (best_supported_isa(f) < Isa::kAvx512 || !f.avx512_bf16) {
    GTEST_SKIP() << "CPU lacks AVX512_BF16; the vdpbf16ps gemm is untested on this machine";
  }
  EXPECT_NE(make_kernel_table(Isa::kAvx512).gemm, make_kernel_table(Isa::kAvx2).gemm);
}

// The AMX level must really use tiles (Linux grants them per process via arch_prctl); a refused
// request would silently leave the AVX-512 gemm in place and the AMX tests above testing nothing new.
TEST(GemmDispatch, AmxTilesEnabled) {
  const CpuFeatures f = detect_cpu_features();
  if (best_supported_isa(f) < Isa::kAmx) GTEST_SKIP() << "CPU lacks AMX; the tile gemm is untested on this machine";
  EXPECT_NE(make_kernel_table(Isa::kAmx).gemm, make_kernel_table(Isa::kAvx512).gemm)
      << "AMX present but the tile gemm was not installed (arch_prctl refused, or no AVX512_BF16)";
}

}  // namespace
}  // namespace radseek::kernels::testing

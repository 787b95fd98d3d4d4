// Oracle: linear() itself. linear_batch runs several products in one pool call (decode's MoE); every
// job must come out bit for bit as the same product run alone, whatever the weight format, the
// number of activation rows and whether jobs share their activations.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/numeric.h"
#include "base/thread_pool.h"
#include "kernels/kernels.h"
#include "kernels/ref/ggml_quants.h"
#include "kernels/ref/group_quant.h"
#include "model/linear.h"

namespace radseek::model {
namespace {

// One matrix in some stored format, owning its bytes.
struct Mat {
  std::vector<uint8_t> bytes;
  std::vector<float> scales;
  kernels::WeightMatrix w;
};

Mat make_mat(const std::string& format, int64_t n, int64_t k, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> v(static_cast<size_t>(n * k));
  for (float& f : v) f = normal(rng);
  Mat m;
  m.w = kernels::WeightMatrix{.rows = n, .cols = k};
  if (format == "bf16") {
    m.w.dtype = DType::kBF16;
    m.bytes.resize(static_cast<size_t>(n * k * 2));
    for (int64_t i = 0; i < n * k; ++i) {
      const uint16_t b = f32_to_bf16(v[i]);
      std::memcpy(m.bytes.data() + 2 * i, &b, 2);
    }
  } else if (format == "fp8") {
    m.w.dtype = DType::kF8E4M3;
    m.bytes.resize(static_cast<size_t>(n * k));
    for (uint8_t& b : m.bytes) b = static_cast<uint8_t>(rng() % 0x7f) | static_cast<uint8_t>(rng() & 0x80);  // no NaN
    m.scales.resize(static_cast<size_t>(((n + 127) / 128) * ((k + 127) / 128)));
    for (float& s : m.scales) s = 1e-3f * static_cast<float>(1 + rng() % 7);
    m.w.block_scale = m.scales.data();
  } else if (format == "q8") {  // radseek's group Q8
    m.w.dtype = DType::kI8;
    const int64_t G = (k + kernels::kQuantGroup - 1) / kernels::kQuantGroup;
    m.bytes.resize(static_cast<size_t>(n * k));
    m.scales.resize(static_cast<size_t>(n * G));
    for (int64_t r = 0; r < n; ++r)
      kernels::ref::quantize_row_q8(v.data() + r * k, k, reinterpret_cast<int8_t*>(m.bytes.data() + r * k),
                                    m.scales.data() + r * G);
    m.w.group_scale = m.scales.data();
  } else {  // GGUF Q8_0
    m.w.dtype = DType::kU8;
    m.w.ggml = kernels::GgmlQuant::kQ8_0;
    m.bytes.resize(static_cast<size_t>(n * kernels::row_bytes(m.w)));
    for (int64_t r = 0; r < n; ++r)
      kernels::ref::quantize_row_q8_0(v.data() + r * k, m.bytes.data() + r * kernels::row_bytes(m.w), k);
  }
  m.w.data = m.bytes.data();
  return m;
}

void check_batch(const std::string& format, kernels::ActPrecision p) {
  SCOPED_TRACE(format + (p == kernels::ActPrecision::kF32 ? " f32" : " bf16/int8"));
  std::mt19937 rng(11);
  ThreadPool pool(3);
  const kernels::KernelTable table = kernels::make_kernel_table(kernels::best_supported_isa(kernels::detect_cpu_features()));
  const Context ctx{.pool = &pool, .kernels = &table, .precision = p};
  // Two products reading the same activations (as gate and up do), a tall one, a small one that
  // stays one task, and a prefill-sized one (m = 9 takes the panel kernels and shared int8 rows).
  const int64_t k = 256;
  struct Shape { int64_t n, m; int x; };
  const std::vector<Shape> shapes = {{352, 1, 0}, {352, 1, 0}, {1024, 1, 1}, {16, 2, 2}, {200, 9, 3}};
  std::vector<std::vector<float>> xs(4);
  for (size_t i = 0; i < xs.size(); ++i) {
    xs[i].resize(static_cast<size_t>(9 * k));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (float& f : xs[i]) f = normal(rng);
  }
  std::vector<Mat> mats;
  for (const Shape& s : shapes) mats.push_back(make_mat(format, s.n, k, rng));
  std::vector<std::vector<float>> batched(shapes.size()), alone(shapes.size());
  std::vector<LinearArgs> jobs;
  for (size_t i = 0; i < shapes.size(); ++i) {
    batched[i].assign(static_cast<size_t>(shapes[i].m * shapes[i].n), -1.0f);
    alone[i] = batched[i];
    jobs.push_back({.x = xs[shapes[i].x].data(), .m = shapes[i].m, .ldx = k, .w = &mats[i].w, .y = batched[i].data(),
                    .ldy = shapes[i].n});
  }
  LinearBatchScratch scratch;
  linear_batch(ctx, jobs, scratch);
  for (size_t i = 0; i < shapes.size(); ++i) {
    LinearArgs a = jobs[i];
    a.y = alone[i].data();
    linear(ctx, a);
    ASSERT_EQ(alone[i], batched[i]) << "job " << i << " (" << shapes[i].n << " rows, m = " << shapes[i].m << ")";
  }
}

TEST(LinearBatch, EachJobEqualsTheProductRunAlone) {
  for (const char* f : {"bf16", "fp8", "q8", "q8_0"})
    for (auto p : {kernels::ActPrecision::kF32, kernels::ActPrecision::kBF16}) check_batch(f, p);
}

}  // namespace
}  // namespace radseek::model

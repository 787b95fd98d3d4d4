#include "model/linear.h"

#include <algorithm>
#include <vector>

#include "base/numeric.h"
#include "kernels/ref/ggml_gemm.h"
#include "kernels/ref/group_quant.h"

namespace radseek::model {
namespace {
// Below this many weight elements a product is not worth splitting across threads.
constexpr int64_t kMinParallelElems = 1 << 15;
// Rows per task are a multiple of this so SIMD kernels see whole row groups.
constexpr int64_t kRowQuantum = 16;

// kBF16 products split over several tasks, with ggml block weights or (prefill) radseek's Q8 / Q4: the
// int8 activations are made once here and shared, instead of once per task (GemmArgs::xq). The
// buffer is the calling thread's and only grows, so decode allocates nothing per token once warm.
const void* quantize_once(const Context& ctx, const LinearArgs& a, kernels::ActPrecision p, int64_t tasks) {
  const bool ggml = kernels::is_ggml(*a.w);
  // radseek's Q8 / Q4: only the prefill panels read shared activations (decode and MTP verify steps
  // would quantise for nothing).
  const bool group = kernels::is_group_quant(a.w->dtype) && a.m >= kernels::kPanelMinRows && a.w->cols % 32 == 0;
  if (tasks < 2 || !(ggml || group) || p != kernels::ActPrecision::kBF16) return nullptr;
  thread_local std::vector<uint8_t> buf;
  const int64_t bytes = kernels::ggml_acts_bytes(a.m, a.w->cols);
  if (static_cast<int64_t>(buf.size()) < bytes) buf.resize(static_cast<size_t>(bytes));
  ctx.kernels->quantize_ggml(kernels::GgmlQuantizeArgs{.x = a.x, .m = a.m, .ldx = a.ldx, .k = a.w->cols,
                                                       .type = ggml ? a.w->ggml : kernels::GgmlQuant::kQ8_0,
                                                       .out = buf.data()});
  return buf.data();
}
}  // namespace

void linear_with(const Context& ctx, const LinearArgs& a, kernels::ActPrecision p) {
  const int64_t n = a.w->rows;
  const int threads = ctx.pool->size();
  int64_t tasks = 1;
  if (threads > 1 && n * a.w->cols >= kMinParallelElems) tasks = std::min<int64_t>(threads * 4, (n + kRowQuantum - 1) / kRowQuantum);
  int64_t chunk = (n + tasks - 1) / tasks;
  chunk = (chunk + kRowQuantum - 1) / kRowQuantum * kRowQuantum;
  tasks = (n + chunk - 1) / chunk;
  const auto gemm = kernels::select_gemm(*ctx.kernels, *a.w);
  const void* xq = quantize_once(ctx, a, p, tasks);
  ctx.pool->parallel_for(tasks, [&](int64_t t, int) {
    gemm(kernels::GemmArgs{.x = a.x, .m = a.m, .ldx = a.ldx, .w = a.w, .y = a.y, .ldy = a.ldy,
                              .n_begin = t * chunk, .n_end = std::min(n, (t + 1) * chunk), .precision = p, .xq = xq});
  });
}

void linear(const Context& ctx, const LinearArgs& a) { linear_with(ctx, a, ctx.precision); }

void dequant_rows(const kernels::WeightMatrix& w, int64_t row0, int64_t n_rows, float* out) {
  const int64_t k = w.cols;
  const int64_t scale_cols = w.block_scale ? (k + w.block_cols - 1) / w.block_cols : 0;
  for (int64_t r = 0; r < n_rows; ++r) {
    const int64_t row = row0 + r;
    float* o = out + r * k;
    if (kernels::is_ggml(w)) {  // GGUF blocks: exact ggml dequantisation of the row
      kernels::ref::dequantize_row_ggml(w.ggml, static_cast<const uint8_t*>(w.data) + row * kernels::row_bytes(w), o, k);
      continue;
    }
    switch (w.dtype) {
      case DType::kF32: {
        const float* src = static_cast<const float*>(w.data) + row * k;
        std::copy(src, src + k, o);
        break;
      }
      case DType::kBF16: {
        const uint16_t* src = static_cast<const uint16_t*>(w.data) + row * k;
        for (int64_t j = 0; j < k; ++j) o[j] = bf16_to_f32(src[j]);
        break;
      }
      case DType::kF16: {
        const uint16_t* src = static_cast<const uint16_t*>(w.data) + row * k;
        for (int64_t j = 0; j < k; ++j) o[j] = fp16_to_f32(src[j]);
        break;
      }
      case DType::kF8E4M3: {
        const uint8_t* src = static_cast<const uint8_t*>(w.data) + row * k;
        const float* srow = w.block_scale + (row / w.block_rows) * scale_cols;
        for (int64_t b = 0; b < scale_cols; ++b) {
          const float sc = srow[b];
          const int64_t j1 = std::min(k, (b + 1) * w.block_cols);
          for (int64_t j = b * w.block_cols; j < j1; ++j) o[j] = kFp8E4M3Table.v[src[j]] * sc;
        }
        break;
      }
      case DType::kI8:
      case DType::kU8: kernels::ref::dequantize_row_group(w, row, o); break;  // radseek Q8 / Q4
      default: std::fill(o, o + k, 0.0f);
    }
  }
}

}  // namespace radseek::model

#include "model/linear.h"

#include <algorithm>
#include <span>
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
// A large product gets about one task per this many weight bytes (at least 4 a thread): the threads
// wait for the slowest at the end of a product, for up to one task.
constexpr int64_t kTaskBytes = 1 << 20;

// How a product's rows are split: `tasks` tasks of `chunk` rows (the last may be shorter).
struct RowSplit {
  int64_t chunk = 0, tasks = 1;
};

RowSplit split_rows(const kernels::WeightMatrix& w, int threads) {
  const int64_t n = w.rows;
  int64_t tasks = 1;
  if (threads > 1 && n * w.cols >= kMinParallelElems) {
    const int64_t by_bytes = n * kernels::row_bytes(w) / kTaskBytes;
    tasks = std::min<int64_t>(std::max<int64_t>(threads * 4, by_bytes), (n + kRowQuantum - 1) / kRowQuantum);
  }
  int64_t chunk = (n + tasks - 1) / tasks;
  chunk = (chunk + kRowQuantum - 1) / kRowQuantum * kRowQuantum;
  return RowSplit{.chunk = chunk, .tasks = (n + chunk - 1) / chunk};
}

// kBF16 products split over several tasks, with ggml block weights or (prefill) radseek's Q8 / Q4, read
// int8 activations made once by the caller and shared, instead of once per task (GemmArgs::xq).
bool wants_shared_acts(const LinearArgs& a, kernels::ActPrecision p, int64_t tasks) {
  const bool ggml = kernels::is_ggml(*a.w);
  // radseek's Q8 / Q4: only the prefill panels read shared activations (decode and MTP verify steps
  // would quantise for nothing).
  const bool group = kernels::is_group_quant(a.w->dtype) && a.m >= kernels::kPanelMinRows && a.w->cols % 32 == 0;
  return tasks >= 2 && (ggml || group) && p == kernels::ActPrecision::kBF16;
}

void quantize_acts(const Context& ctx, const LinearArgs& a, uint8_t* out) {
  ctx.kernels->quantize_ggml(kernels::GgmlQuantizeArgs{.x = a.x, .m = a.m, .ldx = a.ldx, .k = a.w->cols,
                                                       .type = kernels::is_ggml(*a.w) ? a.w->ggml : kernels::GgmlQuant::kQ8_0,
                                                       .out = out});
}

// Same activations quantised the same way: a batch's jobs that can share one buffer.
bool same_acts(const LinearArgs& a, const LinearArgs& b) {
  const auto type = [](const LinearArgs& j) { return kernels::is_ggml(*j.w) ? j.w->ggml : kernels::GgmlQuant::kQ8_0; };
  return a.x == b.x && a.m == b.m && a.ldx == b.ldx && a.w->cols == b.w->cols && type(a) == type(b);
}

// The calling thread's buffer for shared activations; it only grows, so decode allocates nothing per
// token once warm.
uint8_t* acts_buffer(int64_t bytes) {
  thread_local std::vector<uint8_t> buf;
  if (static_cast<int64_t>(buf.size()) < bytes) buf.resize(static_cast<size_t>(bytes));
  return buf.data();
}
}  // namespace

void linear_with(const Context& ctx, const LinearArgs& a, kernels::ActPrecision p) {
  const int64_t n = a.w->rows;
  const RowSplit split = split_rows(*a.w, ctx.pool->size());
  const auto gemm = kernels::select_gemm(*ctx.kernels, *a.w);
  const void* xq = nullptr;
  if (wants_shared_acts(a, p, split.tasks)) {
    uint8_t* buf = acts_buffer(kernels::ggml_acts_bytes(a.m, a.w->cols));
    quantize_acts(ctx, a, buf);
    xq = buf;
  }
  ctx.pool->parallel_for(split.tasks, [&](int64_t t, int) {
    gemm(kernels::GemmArgs{.x = a.x, .m = a.m, .ldx = a.ldx, .w = a.w, .y = a.y, .ldy = a.ldy,
                              .n_begin = t * split.chunk, .n_end = std::min(n, (t + 1) * split.chunk), .precision = p,
                              .xq = xq});
  });
}

void linear_batch(const Context& ctx, std::span<const LinearArgs> jobs, LinearBatchScratch& s) {
  const int64_t J = static_cast<int64_t>(jobs.size());
  const kernels::ActPrecision p = ctx.precision;
  s.first_task.resize(static_cast<size_t>(J) + 1);  // capacity kept between calls: no allocation once warm
  s.chunk.resize(static_cast<size_t>(J));
  s.xq_offset.resize(static_cast<size_t>(J));
  s.quantize_here.resize(static_cast<size_t>(J));
  int64_t acts_bytes = 0;
  s.first_task[0] = 0;
  for (int64_t j = 0; j < J; ++j) {
    const RowSplit split = split_rows(*jobs[j].w, ctx.pool->size());
    s.chunk[j] = split.chunk;
    s.first_task[j + 1] = s.first_task[j] + split.tasks;
    s.xq_offset[j] = -1;
    s.quantize_here[j] = 0;
    if (!wants_shared_acts(jobs[j], p, split.tasks)) continue;
    for (int64_t i = 0; i < j && s.xq_offset[j] < 0; ++i)
      if (s.xq_offset[i] >= 0 && same_acts(jobs[i], jobs[j])) s.xq_offset[j] = s.xq_offset[i];
    if (s.xq_offset[j] >= 0) continue;
    s.xq_offset[j] = acts_bytes;
    s.quantize_here[j] = 1;
    acts_bytes += (kernels::ggml_acts_bytes(jobs[j].m, jobs[j].w->cols) + 63) / 64 * 64;
  }
  uint8_t* buf = acts_buffer(acts_bytes);
  for (int64_t j = 0; j < J; ++j)
    if (s.quantize_here[j]) quantize_acts(ctx, jobs[j], buf + s.xq_offset[j]);
  ctx.pool->parallel_for(s.first_task[J], [&](int64_t t, int) {
    const int64_t j = std::upper_bound(s.first_task.begin(), s.first_task.end(), t) - s.first_task.begin() - 1;
    const LinearArgs& a = jobs[j];
    const int64_t r0 = (t - s.first_task[j]) * s.chunk[j];
    kernels::select_gemm(*ctx.kernels, *a.w)(kernels::GemmArgs{
        .x = a.x, .m = a.m, .ldx = a.ldx, .w = a.w, .y = a.y, .ldy = a.ldy, .n_begin = r0,
        .n_end = std::min(a.w->rows, r0 + s.chunk[j]), .precision = p,
        .xq = s.xq_offset[j] >= 0 ? buf + s.xq_offset[j] : nullptr});
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

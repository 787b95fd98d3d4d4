// AVX2 gemm for ggml block weights (GGUF): each weight row is dequantised once by the scalar
// reference (ref/ggml_gemm.h), then FMA dot products with every activation row; for kBF16 the
// activations are first rounded to the shared int8 grid (code × step), so the result is the
// reference's up to summation order. No integer path here: this level is the fallback for CPUs
// without AVX-512 VNNI (the machine radseek is tuned on has it).
#include <immintrin.h>

#include <vector>

#include "kernels/kernels.h"
#include "kernels/ref/ggml_gemm.h"
#include "kernels/variants.h"

namespace radseek::kernels::avx2 {
namespace {

float dot(const float* x, const float* w, int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int64_t c = 0;
  for (; c + 16 <= n; c += 16) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + c), _mm256_loadu_ps(w + c), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + c + 8), _mm256_loadu_ps(w + c + 8), a1);
  }
  const __m256 s = _mm256_add_ps(a0, a1);
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  float r = _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps(q, q, 1)));
  for (; c < n; ++c) r += x[c] * w[c];
  return r;
}

}  // namespace

void gemm_ggml(const GemmArgs& a) {
  const WeightMatrix& w = *a.w;
  const int64_t k = w.cols, rb = row_bytes(w);
  thread_local std::vector<float> row, xr;  // the calling thread's, reused across calls
  row.resize(static_cast<size_t>(k));
  const float* x = a.x;
  int64_t ldx = a.ldx;
  if (a.precision == ActPrecision::kBF16) {
    const void* xq = a.xq;
    if (xq == nullptr) {
      void* buf = ref::thread_acts_buffer(ggml_acts_bytes(a.m, k));
      ref::quantize_ggml(GgmlQuantizeArgs{.x = a.x, .m = a.m, .ldx = a.ldx, .k = k, .type = w.ggml, .out = buf});
      xq = buf;
    }
    const ref::GgmlActs ac = ref::ggml_acts_view(const_cast<void*>(xq), a.m, k, w.ggml);
    xr.resize(static_cast<size_t>(a.m * k));
    for (int64_t i = 0; i < a.m; ++i)
      for (int64_t c = 0; c < k; ++c) xr[i * k + c] = static_cast<float>(ac.q[i * k + c]) * ac.step[i * (k / ac.group) + c / ac.group];
    x = xr.data();
    ldx = k;
  }
  for (int64_t j = a.n_begin; j < a.n_end; ++j) {
    ref::dequantize_row_ggml(w.ggml, static_cast<const uint8_t*>(w.data) + j * rb, row.data(), k);
    for (int64_t i = 0; i < a.m; ++i) a.y[i * a.ldy + j - a.y_col_offset] = dot(x + i * ldx, row.data(), k);
  }
}

}  // namespace radseek::kernels::avx2

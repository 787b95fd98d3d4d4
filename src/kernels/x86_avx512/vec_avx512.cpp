// AVX-512 vector kernels: dot, axpy, RMSNorm, SiLU·up, FP8 → f32. Tails use masked loads/stores, so
// every length is handled without a scalar loop.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/fp8_flags_walk.h"
#include "kernels/variants.h"
#include "kernels/x86_avx512/avx512_convert.h"

namespace radseek::kernels::avx512 {
namespace {

constexpr int kLanes = 16;

inline __mmask16 tail_mask(int64_t rem) { return static_cast<__mmask16>((1u << rem) - 1u); }

// e^v for v in [-87, 88] (clamped), Cephes expf: 2^n · p(r) with r = v - n·ln2 split in two parts
// so r is exact; the degree-5 polynomial is good to ~1 ulp on [-ln2/2, ln2/2].
inline __m512 exp_ps(__m512 v) {
  v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(v, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), v);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);  // × 2^n, exact
}

inline __m512 silu_mul(__m512 g, __m512 u) {
  const __m512 e = exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), g));
  return _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e)), u);
}

// Σ x² of 16 floats widened to f64, as the reference sums in double.
inline __m512d square_sum_pd(__m512 v, __m512d acc) {
  const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
  const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  return _mm512_fmadd_pd(hi, hi, _mm512_fmadd_pd(lo, lo, acc));
}

}  // namespace

float dot_f32(const float* a, const float* b, int64_t n) {
  // Four accumulators hide the FMA latency.
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 4 * kLanes <= n; i += 4 * kLanes) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
    s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
  }
  for (; i + kLanes <= n; i += kLanes) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

void axpy_f32(float alpha, const float* x, float* y, int64_t n) {
  const __m512 va = _mm512_set1_ps(alpha);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

void rmsnorm_f32(const float* x, const float* w, float eps, float* y, int64_t n) {
  __m512d ss = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) ss = square_sum_pd(_mm512_loadu_ps(x + i), ss);
  if (i < n) ss = square_sum_pd(_mm512_maskz_loadu_ps(tail_mask(n - i), x + i), ss);
  const double mean = _mm512_reduce_add_pd(ss) / static_cast<double>(n);
  const __m512 inv = _mm512_set1_ps(1.0f / std::sqrt(static_cast<float>(mean) + eps));
  for (i = 0; i + kLanes <= n; i += kLanes)
    _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(w + i), _mm512_mul_ps(_mm512_loadu_ps(x + i), inv)));
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, w + i), _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv)));
  }
}

void silu_mul_f32(const float* gate, const float* up, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    _mm512_storeu_ps(out + i, silu_mul(_mm512_loadu_ps(gate + i), _mm512_loadu_ps(up + i)));
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(out + i, m, silu_mul(_mm512_maskz_loadu_ps(m, gate + i), _mm512_maskz_loadu_ps(m, up + i)));
  }
}

void fp8_e4m3_to_f32(const uint8_t* src, float* dst, int64_t n) {
  const __m512 unscale = _mm512_set1_ps(kFp8Unscale);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm512_storeu_ps(dst + i, _mm512_mul_ps(fp8x16_to_f32_div256(b), unscale));
  }
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(dst + i, m, _mm512_mul_ps(fp8x16_to_f32_div256(_mm_maskz_loadu_epi8(m, src + i)), unscale));
  }
}

// One code's test is (|q| - 1) < 7 unsigned (subnormal) or |q| == 127 (NaN); a block stops at its
// first hit, and real checkpoints have hits in a few blocks of 8 rows out of a hundred.
void fp8_flags(const Fp8FlagsArgs& a) {
  const __m512i low7 = _mm512_set1_epi8(0x7f), one = _mm512_set1_epi8(1), seven = _mm512_set1_epi8(7);
  fp8_flags_walk(a, [&](const uint8_t* codes, int64_t n) {
    for (int64_t c = 0; c < n; c += 64) {
      const __mmask64 lanes = n - c >= 64 ? ~__mmask64{0} : (uint64_t{1} << (n - c)) - 1u;
      const __m512i mag = _mm512_and_si512(_mm512_maskz_loadu_epi8(lanes, codes + c), low7);  // dead lanes: 0
      if ((_mm512_cmplt_epu8_mask(_mm512_sub_epi8(mag, one), seven) | _mm512_cmpeq_epi8_mask(mag, low7)) != 0) return true;
    }
    return false;
  });
}

}  // namespace radseek::kernels::avx512

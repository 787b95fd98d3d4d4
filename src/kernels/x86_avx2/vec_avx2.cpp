// AVX2 vector kernels: dot, axpy, RMSNorm, SiLU·up, FP8 → f32. Tails use maskload/maskstore (f32)
// or a short scalar loop (bytes), since AVX2 has no byte masks.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/fp8_flags_walk.h"
#include "kernels/variants.h"
#include "kernels/x86_avx2/avx2_convert.h"

namespace radseek::kernels::avx2 {
namespace {

constexpr int kLanes = 8;

// e^v for v in [-87, 88] (clamped), Cephes expf: 2^n · p(r), r = v - n·ln2 in two parts so it is
// exact; degree-5 polynomial good to ~1 ulp on [-ln2/2, ln2/2]. 2^n is built in the exponent field
// (n + 127 stays within [1, 254] after the clamp).
inline __m256 exp_ps(__m256 v) {
  v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(v, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), v);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

inline __m256 silu_mul(__m256 g, __m256 u) {
  const __m256 e = exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), g));
  return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

// Σ x² of 8 floats widened to f64, as the reference sums in double.
inline __m256d square_sum_pd(__m256 v, __m256d acc) {
  const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
  const __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
  return _mm256_fmadd_pd(hi, hi, _mm256_fmadd_pd(lo, lo, acc));
}

}  // namespace

float dot_f32(const float* a, const float* b, int64_t n) {
  // Four accumulators hide the FMA latency.
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 4 * kLanes <= n; i += 4 * kLanes) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
  }
  for (; i + kLanes <= n; i += kLanes) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), s1);
  }
  return hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

void axpy_f32(float alpha, const float* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(alpha);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    _mm256_maskstore_ps(y + i, m, _mm256_fmadd_ps(va, _mm256_maskload_ps(x + i, m), _mm256_maskload_ps(y + i, m)));
  }
}

void rmsnorm_f32(const float* x, const float* w, float eps, float* y, int64_t n) {
  __m256d ss = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) ss = square_sum_pd(_mm256_loadu_ps(x + i), ss);
  if (i < n) ss = square_sum_pd(_mm256_maskload_ps(x + i, tail_mask(n - i)), ss);
  const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(ss), _mm256_extractf128_pd(ss, 1));
  const double sum = _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
  const __m256 inv = _mm256_set1_ps(1.0f / std::sqrt(static_cast<float>(sum / static_cast<double>(n)) + eps));
  for (i = 0; i + kLanes <= n; i += kLanes)
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(w + i), _mm256_mul_ps(_mm256_loadu_ps(x + i), inv)));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    _mm256_maskstore_ps(y + i, m, _mm256_mul_ps(_mm256_maskload_ps(w + i, m), _mm256_mul_ps(_mm256_maskload_ps(x + i, m), inv)));
  }
}

void silu_mul_f32(const float* gate, const float* up, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    _mm256_storeu_ps(out + i, silu_mul(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    _mm256_maskstore_ps(out + i, m, silu_mul(_mm256_maskload_ps(gate + i, m), _mm256_maskload_ps(up + i, m)));
  }
}

void fp8_e4m3_to_f32(const uint8_t* src, float* dst, int64_t n) {
  const __m256 unscale = _mm256_set1_ps(kFp8Unscale);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + i));
    _mm256_storeu_ps(dst + i, _mm256_mul_ps(fp8x8_to_f32_div256(b), unscale));
  }
  if (i < n) {
    alignas(16) uint8_t buf[16] = {};
    RADSEEK_UNROLL
    for (int64_t t = 0; t < n - i; ++t) buf[t] = src[i + t];
    const __m256 v = _mm256_mul_ps(fp8x8_to_f32_div256(_mm_load_si128(reinterpret_cast<const __m128i*>(buf))), unscale);
    _mm256_maskstore_ps(dst + i, tail_mask(n - i), v);
  }
}

// As the AVX-512 version: (|q| - 1) <= 6 unsigned (min(v, 6) == v) or |q| == 127; the ragged end
// of a block goes through a zero-padded copy.
void fp8_flags(const Fp8FlagsArgs& a) {
  const __m256i low7 = _mm256_set1_epi8(0x7f), one = _mm256_set1_epi8(1), six = _mm256_set1_epi8(6);
  const auto hit = [&](__m256i bytes) {
    const __m256i mag = _mm256_and_si256(bytes, low7), m1 = _mm256_sub_epi8(mag, one);
    const __m256i sub = _mm256_cmpeq_epi8(_mm256_min_epu8(m1, six), m1);
    return _mm256_movemask_epi8(_mm256_or_si256(sub, _mm256_cmpeq_epi8(mag, low7))) != 0;
  };
  fp8_flags_walk(a, [&](const uint8_t* codes, int64_t n) {
    int64_t c = 0;
    for (; c + 32 <= n; c += 32)
      if (hit(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + c)))) return true;
    if (c == n) return false;
    alignas(32) uint8_t buf[32] = {};  // zero codes are neither subnormal nor NaN
    std::copy(codes + c, codes + n, buf);
    return hit(_mm256_load_si256(reinterpret_cast<const __m256i*>(buf)));
  });
}

}  // namespace radseek::kernels::avx2

// AVX2 transpose: 8×8 tiles in registers (unpack → shuffle → 128-bit lane permute), edges by the
// scalar reference.
#include <immintrin.h>

#include "kernels/transpose_tiles.h"
#include "kernels/variants.h"

namespace radseek::kernels::avx2 {
namespace {

constexpr int64_t kTile = 8;

void tile8(const float* a, int64_t lda, float* out, int64_t ldo) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(a + i * lda);
  for (int i = 0; i < 8; i += 2) {  // t[i] lane l: r_i[4l], r_i+1[4l], r_i[4l+1], r_i+1[4l+1]
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {  // r[i + c] lane l: column 4l + c of rows i..i+3
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
  }
  for (int c = 0; c < 4; ++c) {  // columns c and c + 4 of all 8 rows
    _mm256_storeu_ps(out + c * ldo, _mm256_permute2f128_ps(r[c], r[4 + c], 0x20));
    _mm256_storeu_ps(out + (c + 4) * ldo, _mm256_permute2f128_ps(r[c], r[4 + c], 0x31));
  }
}

}  // namespace

void transpose_f32(const TransposeArgs& a) { transpose_by_tiles<kTile>(a, tile8); }

}  // namespace radseek::kernels::avx2

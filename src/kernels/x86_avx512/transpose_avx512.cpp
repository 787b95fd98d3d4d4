// AVX-512 transpose: 16×16 tiles in registers (unpack ps → unpack pd → two rounds of 128-bit lane
// shuffles), edges by the scalar reference. Reads and writes whole 64-byte lines, so large power-of-two
// strides do not thrash one L1 set as an element-wise transpose does.
#include <immintrin.h>

#include "kernels/transpose_tiles.h"
#include "kernels/variants.h"

namespace radseek::kernels::avx512 {
namespace {

constexpr int64_t kTile = 16;

void tile16(const float* a, int64_t lda, float* out, int64_t ldo) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(a + i * lda);
  for (int i = 0; i < 16; i += 2) {  // t[i] lane l: r_i[4l], r_i+1[4l], r_i[4l+1], r_i+1[4l+1]
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {  // r[i + c] lane l: column 4l + c of rows i..i+3
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
  }
  for (int h = 0; h < 16; h += 8)  // lanes 0, 2 (0x88) and 1, 3 (0xdd) of row groups h, h + 4
    for (int c = 0; c < 4; ++c) {
      t[h + c] = _mm512_shuffle_f32x4(r[h + c], r[h + 4 + c], 0x88);
      t[h + 4 + c] = _mm512_shuffle_f32x4(r[h + c], r[h + 4 + c], 0xdd);
    }
  for (int c = 0; c < 8; ++c) {  // column c and column c + 8 of all 16 rows
    _mm512_storeu_ps(out + c * ldo, _mm512_shuffle_f32x4(t[c], t[8 + c], 0x88));
    _mm512_storeu_ps(out + (c + 8) * ldo, _mm512_shuffle_f32x4(t[c], t[8 + c], 0xdd));
  }
}

}  // namespace

void transpose_f32(const TransposeArgs& a) { transpose_by_tiles<kTile>(a, tile16); }

}  // namespace radseek::kernels::avx512

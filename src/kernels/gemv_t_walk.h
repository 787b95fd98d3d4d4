// The walk every level's several-vector gemv_t shares (GemvTArgs::m > 1, the heads of a query over a
// chunk of the MLA cache): blocks of up to kMax vectors, and within a block the column segments (FP8:
// one scale block at a time, so a chunk has one scale column) cut into chunks of kCols columns. The
// level supplies the chunk kernel, templated on the block's vector count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>

#include "kernels/kernels.h"

namespace radseek::kernels {

// One chunk of one block of vectors.
struct GemvTChunk {
  const float* x = nullptr;  // [V, ldx]: the block's first vector
  float* y = nullptr;        // [V, ldy]
  int64_t c0 = 0;            // columns [c0, c0 + width)
  int64_t width = 0;         // ≤ kCols
  int64_t block_col = 0;     // FP8: the scale column the chunk lies in
};

// kernel.template operator()<V>(chunk) for every chunk of every block of V ≤ kMax vectors. A vector's
// sums do not depend on which block it is in or how many share it (callers rely on it: the result
// must not depend on how heads are grouped).
template <int kMax, int64_t kCols, class Kernel>
void gemv_t_walk(const GemvTArgs& a, Kernel&& kernel) {
  const WeightMatrix& w = *a.w;
  const int64_t ldx = gemv_t_ldx(a), ldy = gemv_t_ldy(a);
  const int64_t seg = w.dtype == DType::kF8E4M3 ? w.block_cols : w.cols;
  for (int64_t v0 = 0; v0 < a.m; v0 += kMax) {
    const int64_t nv = std::min<int64_t>(kMax, a.m - v0);
    for (int64_t s0 = 0; s0 < w.cols; s0 += seg) {
      const int64_t s1 = std::min(w.cols, s0 + seg);
      for (int64_t c0 = s0; c0 < s1; c0 += kCols) {
        const GemvTChunk ch{.x = a.x + v0 * ldx, .y = a.y + v0 * ldy, .c0 = c0, .width = std::min(kCols, s1 - c0),
                            .block_col = s0 / w.block_cols};
        [&]<int... I>(std::integer_sequence<int, I...>) {
          ((nv == I + 1 ? (kernel.template operator()<I + 1>(ch), 0) : 0), ...);
        }(std::make_integer_sequence<int, kMax>{});
      }
    }
  }
}

}  // namespace radseek::kernels

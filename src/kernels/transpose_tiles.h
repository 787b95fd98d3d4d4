// The driver the ISA transposes share: whole kTile × kTile tiles by the ISA's register transpose,
// the edges by the scalar reference. In an anonymous namespace on purpose: each ISA unit compiles its
// own copy with its own flags, so the linker can never hand one ISA's copy to another.
#pragma once

#include "kernels/kernels.h"
#include "kernels/ref/ref_kernels.h"

namespace radseek::kernels {
namespace {

// tile(a, lda, out, ldo) transposes one kTile × kTile tile.
template <int64_t kTile, typename TileFn>
void transpose_by_tiles(const TransposeArgs& a, TileFn tile) {
  const int64_t whole_rows = a.rows / kTile * kTile, whole_cols = a.cols / kTile * kTile;
  for (int64_t i = 0; i < whole_rows; i += kTile)
    for (int64_t j = 0; j < whole_cols; j += kTile) tile(a.a + i * a.lda + j, a.lda, a.out + j * a.ldo + i, a.ldo);
  // The edges (a strip right of the whole tiles, the rows below them) element by element.
  ref::transpose_f32({.a = a.a + whole_cols, .lda = a.lda, .rows = whole_rows, .cols = a.cols - whole_cols,
                      .out = a.out + whole_cols * a.ldo, .ldo = a.ldo});
  ref::transpose_f32({.a = a.a + whole_rows * a.lda, .lda = a.lda, .rows = a.rows - whole_rows, .cols = a.cols,
                      .out = a.out + whole_rows, .ldo = a.ldo});
}

}  // namespace
}  // namespace radseek::kernels

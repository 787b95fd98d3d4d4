// The walk every fp8_flags kernel shares (KernelTable::fp8_flags): the rows of the range, each row's
// column blocks, one bit per block whose codes the level's test finds a subnormal or NaN code in.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/kernels.h"

namespace radseek::kernels {

// has_special(codes, n): whether codes[0 .. n) hold |code| in 1..7 or |code| == 127.
template <class BlockTest>
void fp8_flags_walk(const Fp8FlagsArgs& a, BlockTest has_special) {
  const WeightMatrix& w = *a.w;
  const int64_t scale_cols = (w.cols + w.block_cols - 1) / w.block_cols;
  for (int64_t r = a.row_begin; r < a.row_end; ++r) {
    const uint8_t* row = static_cast<const uint8_t*>(w.data) + r * w.cols;
    uint8_t* out = a.flags + (r / kFp8FlagRows) * scale_cols;
    if (r % kFp8FlagRows == 0) std::fill_n(out, scale_cols, uint8_t{0});
    for (int64_t b = 0; b < scale_cols; ++b) {
      const int64_t c0 = b * w.block_cols, c1 = std::min(w.cols, c0 + w.block_cols);
      if (has_special(row + c0, c1 - c0)) out[b] |= static_cast<uint8_t>(1u << (r % kFp8FlagRows));
    }
  }
}

}  // namespace radseek::kernels

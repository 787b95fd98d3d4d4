// Packing for the BF16 dot-product kernels (AVX512_BF16 vdpbf16ps and AMX tdpbf16ps), which share
// one layout. Included only from units compiled with -mavx512bf16 (x86_avx512/*bf16*, x86_amx/).
//
// Legend: m activation rows, k reduction length, n weight rows, kp = k / 2 (bf16 pairs).
// A chunk  ap[rows_padded][kPackK] bf16: activation rows, columns [k0, k1) rounded to bf16, zero
//          padded up to a multiple of 32 columns and up to rows_padded rows.
// B panel  bp[kPackK / 2][kPackN] u32: weight rows [n0, n0 + kPackN) × columns [k0, k1), each u32 a
//          pair of bf16 (k even, k odd) — the "VNNI" layout both instructions consume, so a 16-lane
//          vector (or an AMX tile row) holds one k-pair of 16 different weight rows. FP8 values are
//          stored / 256 (exact; see avx512_convert.h), so their scales are multiplied by kFp8Unscale.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/kernels.h"

namespace radseek::kernels::avx512 {

inline constexpr int64_t kPackK = 128;  // k per chunk: one FP8 scale block, so a chunk has one scale per row
inline constexpr int64_t kPackN = 32;   // weight rows per B panel (two 16-lane vectors / two AMX tiles)

// End of the chunk starting at k0: at most kPackK long and never crossing an FP8 scale block.
inline int64_t chunk_end(const WeightMatrix& w, int64_t k0) {
  int64_t k1 = std::min(w.cols, k0 + kPackK);
  if (w.dtype == DType::kF8E4M3) k1 = std::min(k1, (k0 / w.block_cols + 1) * w.block_cols);
  return k1;
}

// Columns of a chunk after padding to whole 32-column (16-pair) steps.
inline int64_t padded_k(int64_t k0, int64_t k1) { return (k1 - k0 + 31) / 32 * 32; }

void pack_a(const float* x, int64_t ldx, int64_t rows, int64_t rows_padded, int64_t k0, int64_t k1,
            uint16_t* ap);
// Weight dtype must be kBF16 or kF8E4M3; rows at or past n_end are zero.
void pack_b(const WeightMatrix& w, int64_t n0, int64_t n_end, int64_t k0, int64_t k1, uint32_t* bp);
// Per-row multiplier of the chunk at k0 for rows [n0, n0 + kPackN): FP8 block scale × kFp8Unscale,
// 1 for BF16, 0 past n_end.
void chunk_scales(const WeightMatrix& w, int64_t n0, int64_t n_end, int64_t k0, float* sv);

}  // namespace radseek::kernels::avx512

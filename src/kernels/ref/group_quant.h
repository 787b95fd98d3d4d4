// radseek's group-quantised integer weight formats (Q8, Q4; layouts in kernels.h WeightMatrix) and
// the int8 activation quantisation of ActPrecision::kBF16 products with them. Scalar, no
// intrinsics: the weight quantisers are what `radseek quantize` writes with, and the activation
// rule here is the one every SIMD variant reproduces bit for bit (so integer dot products match
// the reference exactly and only the float scaling order differs).
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/kernels.h"

namespace radseek::kernels::ref {

// Offsets that make stored codes unsigned for u8 × s8 dot products: Q8 codes XOR 0x80 are q + 128,
// Q4 nibbles are already q + 8. Σ (q + c)·xq − c·Σ xq recovers Σ q·xq.
inline constexpr int32_t kQ8Offset = 128;
inline constexpr int32_t kQ4Offset = 8;

// Multiplier 127/amax that maps a group's activations onto [-127, 127] (0 for an all-zero group).
// The division is scalar in every variant, so the multiplier is bit-identical everywhere.
inline float act_quant_mul(float amax) { return amax > 0.0f ? 127.0f / amax : 0.0f; }
// The dequantisation step of that group: xq · act_quant_step = x (up to half a step).
inline float act_quant_step(float amax) { return amax / 127.0f; }
// One activation code: nearest, ties to even (the default rounding mode, as cvtps2dq uses).
inline int8_t act_quant(float x, float mul) { return static_cast<int8_t>(std::nearbyint(x * mul)); }

// Quantise one row of n floats. Q8: codes [n] int8, scales [ceil(n/32)], symmetric, d = amax/127,
// codes in [-127, 127] (−128 never used, so |q| fits the u8 side of vpmaddubsw). Q4: packed
// [ceil(n/32)·16] bytes; per group the value of largest magnitude, vmax, maps to code −8 exactly
// (d = vmax / −8, as ggml's Q4_0), nibble = clamp(round(x/d) + 8, 0, 15); padding nibbles are 8 (0).
void quantize_row_q8(const float* x, int64_t n, int8_t* codes, float* scales);
void quantize_row_q4(const float* x, int64_t n, uint8_t* packed, float* scales);
// The signed code q of W[r, c] (W = q · group scale) of a Q8/Q4 matrix.
int32_t group_code(const WeightMatrix& w, int64_t r, int64_t c);
// Weight row r of a Q8/Q4 matrix as floats [w.cols].
void dequantize_row_group(const WeightMatrix& w, int64_t r, float* out);

// The reference products with kI8 / kU8 weights (both precisions); ref::gemm forwards here.
void gemm_group_quant(const GemmArgs& a);

}  // namespace radseek::kernels::ref

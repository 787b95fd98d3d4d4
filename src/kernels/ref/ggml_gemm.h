// Scalar reference products with ggml block weights (WeightMatrix::ggml; GGUF Q8_0, Q4_0, Q4_K,
// Q5_K, Q6_K): the oracle of the SIMD variants and their fallback. Also the activation quantiser
// every variant shares, so integer products see bit-identical codes everywhere.
//
// ActPrecision::kF32: y = Σ x·W with W dequantised exactly as ggml does (ref/ggml_quants).
// ActPrecision::kBF16: x is quantised per activation group (ggml_act_group: 32 for Q8_0/Q4_0, 256
// for the k-quants, as ggml's Q8_0/Q8_K activations) with group_quant.h's rule (d = amax/127,
// q = nearest(x·127/amax)); then y = Σ_groups d_g · Σ_{k∈g} q_k·W_k in f32.
#pragma once

#include <cstdint>

#include "kernels/kernels.h"

namespace radseek::kernels::ref {

// Columns per activation-quantisation group of kBF16 products with weights of type q.
int64_t ggml_act_group(GgmlQuant q);

// n elements (a multiple of the block) of one row of blocks, dequantised.
void dequantize_row_ggml(GgmlQuant q, const uint8_t* blocks, float* out, int64_t n);

// One activation row of k columns (k a multiple of `group`, itself a multiple of 16): codes[k],
// step[k / group] (dequantisation step of each group), bsum16[k / 16] (Σ codes per 16 columns, for
// the offset and min terms of the integer kernels).
void quantize_acts_ggml(const float* x, int64_t k, int64_t group, int8_t* codes, float* step, int32_t* bsum16);

void gemm_ggml(const GemmArgs& a);
// y[c] += Σ_i x[i] · W[row0 + i, c] with W dequantised row by row.
void gemv_t_ggml(const GemvTArgs& a);

}  // namespace radseek::kernels::ref

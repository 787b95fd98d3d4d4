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

// The quantised activations of a kBF16 product (GemmArgs::xq), a view of ggml_acts_bytes(m, k) bytes:
// for each of the m rows, codes in natural column order, the step of each activation group and the
// code sums the integer kernels' offset and min terms need.
struct GgmlActs {
  int64_t k = 0;
  int64_t group = 32;
  int8_t* q = nullptr;           // [m, k]
  float* step = nullptr;         // [m, k / group]
  int32_t* bsum16 = nullptr;     // [m, k / 16]
  int32_t* bsum32 = nullptr;     // [m, k / 32]
  float* step_bsum32 = nullptr;  // [m, k / 32]: step of the block's group · bsum32 (offset and min terms)
};
GgmlActs ggml_acts_view(void* buf, int64_t m, int64_t k, GgmlQuant type);
// Row i's 32-column sums (and step · sum for group 32) from its 16-column sums: the part of
// quantize_ggml every level shares once its row is quantised.
void ggml_block_sums(const GgmlActs& v, int64_t i);
// KernelTable::quantize_ggml of the reference: quantize_acts_ggml per row, then the derived sums.
void quantize_ggml(const GgmlQuantizeArgs& a);
// Buffer of at least `bytes` bytes owned by the calling thread, grown only when too small, for
// kernels called without GemmArgs::xq (no allocation per call once warm).
void* thread_acts_buffer(int64_t bytes);

void gemm_ggml(const GemmArgs& a);
// y[c] += Σ_i x[i] · W[row0 + i, c] with W dequantised row by row.
void gemv_t_ggml(const GemvTArgs& a);

}  // namespace radseek::kernels::ref

// Scalar reference (de)quantisation for the ggml block formats found in GGUF files. These are the
// oracles the SIMD kernels are tested against, so they follow ggml's ggml-quants.c reference code
// operation for operation (same float expressions, same rounding), not a faster reformulation.
//
// Layouts (ggml-common.h). A row of n elements is n / block_elems consecutive blocks:
//   Q4_0  32 elems, 18 B: f16 d; u8 qs[16]              x[j] = (lo4(qs[j]) - 8)·d, x[j+16] = (hi4(qs[j]) - 8)·d
//   Q5_0  32 elems, 22 B: f16 d; u32 qh (LE); u8 qs[16]  as Q4_0 with bit j of qh the 5th bit of x[j]: (q5 - 16)·d
//   Q4_1  32 elems, 20 B: f16 d, m; u8 qs[16]         x[j] = lo4(qs[j])·d + m, x[j+16] = hi4(qs[j])·d + m
//   Q5_1  32 elems, 24 B: f16 d, m; u32 qh; u8 qs[16]  as Q4_1 with Q5_0's fifth bits: q5·d + m
//   Q8_0  32 elems, 34 B: f16 d; i8 qs[32]              x[j] = qs[j]·d
//   Q4_K 256 elems, 144 B: f16 d, dmin; u8 scales[12]; u8 qs[128]        8 sub-blocks of 32, 6-bit scale/min
//   Q5_K 256 elems, 176 B: f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]   as Q4_K plus a 5th bit in qh
//   Q6_K 256 elems, 210 B: u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d   16 sub-blocks of 16, x = d·sc·(q - 32)
// Assumptions (checked by the callers, e.g. the GGUF reader): n is a multiple of the block size and
// the buffers hold n / block_elems blocks and n floats.
#pragma once

#include <cstddef>
#include <cstdint>

namespace radseek::kernels::ref {

inline constexpr int64_t kQK4_0 = 32;
inline constexpr int64_t kQK8_0 = 32;
inline constexpr int64_t kQK_K = 256;  // super-block of the k-quants

// Blocks are byte arrays with fixed offsets: no struct padding questions, any alignment accepted.
inline constexpr size_t kBlockBytesQ4_0 = 2 + 16;
inline constexpr size_t kBlockBytesQ5_0 = 2 + 4 + 16;
inline constexpr size_t kBlockBytesQ4_1 = 2 + 2 + 16;
inline constexpr size_t kBlockBytesQ5_1 = 2 + 2 + 4 + 16;
inline constexpr size_t kBlockBytesQ8_0 = 2 + 32;
inline constexpr size_t kBlockBytesQ4_K = 2 + 2 + 12 + 128;
inline constexpr size_t kBlockBytesQ5_K = 2 + 2 + 12 + 32 + 128;
inline constexpr size_t kBlockBytesQ6_K = 128 + 64 + 16 + 2;

// Dequantise n elements (n a multiple of the block size) from `blocks` into `out`.
void dequantize_row_q4_0(const uint8_t* blocks, float* out, int64_t n);
void dequantize_row_q5_0(const uint8_t* blocks, float* out, int64_t n);
void dequantize_row_q4_1(const uint8_t* blocks, float* out, int64_t n);
void dequantize_row_q5_1(const uint8_t* blocks, float* out, int64_t n);
void dequantize_row_q8_0(const uint8_t* blocks, float* out, int64_t n);
void dequantize_row_q4_k(const uint8_t* blocks, float* out, int64_t n);
void dequantize_row_q5_k(const uint8_t* blocks, float* out, int64_t n);
void dequantize_row_q6_k(const uint8_t* blocks, float* out, int64_t n);
// The unquantised storage types, for symmetry (n elements, any n).
void dequantize_row_f16(const uint8_t* data, float* out, int64_t n);
void dequantize_row_bf16(const uint8_t* data, float* out, int64_t n);
void dequantize_row_f32(const uint8_t* data, float* out, int64_t n);

// Quantise n floats (n a multiple of 32) as ggml's quantize_row_*_ref does; used to write GGUF test
// files and as the reference for faster quantisers.
void quantize_row_q4_0(const float* x, uint8_t* blocks, int64_t n);
void quantize_row_q5_0(const float* x, uint8_t* blocks, int64_t n);
void quantize_row_q4_1(const float* x, uint8_t* blocks, int64_t n);
void quantize_row_q5_1(const float* x, uint8_t* blocks, int64_t n);
void quantize_row_q8_0(const float* x, uint8_t* blocks, int64_t n);
// Q4_K, Q5_K and Q6_K writers (n a multiple of 256) for tests and conversions. Not ggml's
// search-based quantisers (make_qkx2_quants / make_qx_quants): plain min/max (Q4_K, Q5_K) and absmax
// (Q6_K) scales per sub-block, so the blocks are valid and decode with every reader but carry
// somewhat more error.
void quantize_row_q4_k(const float* x, uint8_t* blocks, int64_t n);
void quantize_row_q5_k(const float* x, uint8_t* blocks, int64_t n);
void quantize_row_q6_k(const float* x, uint8_t* blocks, int64_t n);

// ggml's 6-bit scale/min unpacking for Q4_K and Q5_K: sub-block j (0..7) of the 12 packed bytes.
void unpack_scale_min_k4(int j, const uint8_t* scales, uint8_t* scale, uint8_t* min);

}  // namespace radseek::kernels::ref

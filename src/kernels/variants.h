// Entry points of the ISA variants (kernels/x86_*), for dispatch.cpp only. Declarations carry no
// intrinsics, so this header is safe to include from translation units built without ISA flags;
// calling a variant on a CPU that lacks its ISA is undefined (dispatch.cpp checks first).
#pragma once

#include <cstdint>

#include "kernels/kernels.h"

namespace radseek::kernels {

namespace avx2 {
// FP32-arithmetic gemm for every weight dtype; kBF16 is emulated by rounding activations.
void gemm(const GemmArgs& a);
float dot_f32(const float* a, const float* b, int64_t n);
void axpy_f32(float alpha, const float* x, float* y, int64_t n);
void rmsnorm_f32(const float* x, const float* w, float eps, float* y, int64_t n);
void silu_mul_f32(const float* gate, const float* up, float* out, int64_t n);
void fp8_e4m3_to_f32(const uint8_t* src, float* dst, int64_t n);
}  // namespace avx2

namespace avx512 {
// AVX-512 F/BW/VL only: FP32 arithmetic for both precisions (kBF16 emulated by rounding).
void gemm(const GemmArgs& a);
// Internal to gemm(): ActPrecision::kF32 with m >= a few rows, on transposed f32 weight panels.
void gemm_f32_panels(const GemmArgs& a);
// Needs AVX512_BF16 too: kBF16 products with BF16/FP8 weights and m >= 4 use vdpbf16ps.
void gemm_bf16(const GemmArgs& a);
float dot_f32(const float* a, const float* b, int64_t n);
void axpy_f32(float alpha, const float* x, float* y, int64_t n);
void rmsnorm_f32(const float* x, const float* w, float eps, float* y, int64_t n);
void silu_mul_f32(const float* gate, const float* up, float* out, int64_t n);
void fp8_e4m3_to_f32(const uint8_t* src, float* dst, int64_t n);
}  // namespace avx512

namespace amx {
// Needs AMX-TILE/AMX-BF16 (with permission granted) and AVX512_BF16: kBF16 products with BF16/FP8
// weights and m >= kMinRows use BF16 tiles; everything else goes to avx512::gemm_bf16.
void gemm(const GemmArgs& a);
// Asks Linux for the AMX tile-data state (arch_prctl ARCH_REQ_XCOMP_PERM); false if refused.
bool request_permission();
}  // namespace amx

}  // namespace radseek::kernels

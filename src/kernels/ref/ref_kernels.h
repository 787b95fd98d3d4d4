// Scalar reference kernels (see kernels.h for the contracts).
#pragma once

#include "kernels/kernels.h"

namespace radseek::kernels::ref {
void gemm(const GemmArgs& a);
void gemv_t(const GemvTArgs& a);
float dot_f32(const float* a, const float* b, int64_t n);
void axpy_f32(float alpha, const float* x, float* y, int64_t n);
void rmsnorm_f32(const float* x, const float* w, float eps, float* y, int64_t n);
void silu_mul_f32(const float* gate, const float* up, float* out, int64_t n);
void fp8_e4m3_to_f32(const uint8_t* src, float* dst, int64_t n);
void fp8_flags(const Fp8FlagsArgs& a);
void transpose_f32(const TransposeArgs& a);
}  // namespace radseek::kernels::ref

// Entry points of the ISA variants (kernels/x86_*), for dispatch.cpp only. Declarations carry no
// intrinsics, so this header is safe to include from translation units built without ISA flags;
// calling a variant on a CPU that lacks its ISA is undefined (dispatch.cpp checks first).
#pragma once

#include <cstdint>

#include "kernels/kernels.h"

namespace radseek::kernels::ref {
struct GgmlActs;
}  // namespace radseek::kernels::ref

namespace radseek::kernels {

namespace avx2 {
// FP32-arithmetic gemm for every weight dtype; kBF16 is emulated by rounding activations.
void gemm(const GemmArgs& a);
// Q8 / Q4 weights: int8 activations with vpmaddubsw for kBF16, dequantised f32 for kF32.
void gemm_q(const GemmArgs& a);
// ggml block weights (GGUF): kBF16 with Q8_0/Q4_0/Q4_K/Q5_K/Q6_K on int8 activations (vpmaddubsw), the
// rest with rows dequantised by the reference and FMA dot products.
void gemm_ggml(const GemmArgs& a);
// KernelTable::quantize_ggml, bit-identical to ref::quantize_ggml.
void quantize_ggml(const GgmlQuantizeArgs& a);
void gemv_t(const GemvTArgs& a);
float dot_f32(const float* a, const float* b, int64_t n);
void axpy_f32(float alpha, const float* x, float* y, int64_t n);
void rmsnorm_f32(const float* x, const float* w, float eps, float* y, int64_t n);
void silu_mul_f32(const float* gate, const float* up, float* out, int64_t n);
void fp8_e4m3_to_f32(const uint8_t* src, float* dst, int64_t n);
void fp8_flags(const Fp8FlagsArgs& a);
void transpose_f32(const TransposeArgs& a);
}  // namespace avx2

namespace avx512 {
// AVX-512 F/BW/VL only: FP32 arithmetic for both precisions (kBF16 emulated by rounding); register
// tiles below kMinPanelRows activation rows, f32 weight panels from there on.
void gemm(const GemmArgs& a);
// Prefill-sized m, either precision, on transposed f32 weight panels (used by gemm and gemm_bf16).
void gemm_f32_panels(const GemmArgs& a);
// From this many activation rows on, gemm and gemm_bf16 use gemm_f32_panels. Measured (n = k = 2048,
// one core): the panels win from m ≈ 16 (BF16 134 vs 113 GFLOP/s at m = 32, FP8 77 vs 49) and lose
// below it (BF16 37 vs 79 at m = 4), where converting a panel is not amortised.
inline constexpr int64_t kMinPanelRows = 16;
// Needs AVX512_BF16 too: as gemm, except kBF16 products with BF16/FP8 weights and 12 <= m < 16 use
// vdpbf16ps (the only band where it measured faster than the FP32 kernels on this machine), and so
// does FP8 decode (m = 1, kBF16) through gemm_fp8_decode_bf16.
void gemm_bf16(const GemmArgs& a);
// Needs AVX512_BF16 too: decode (m = 1) with FP8 weights and kBF16 activations on vdpbf16ps, the
// e4m3 codes turned into bf16 by two shifts and a mask. Returns false, computing nothing, for other
// arguments and for the few it leaves to gemm (|x| ≥ 2^30 or NaN, k > 16384, FP8 scale blocks that
// are not whole 64-column steps).
bool gemm_fp8_decode_bf16(const GemmArgs& a);
// Needs AVX512_VNNI too: Q8 / Q4 weights, vpdpbusd on int8 activations for kBF16, dequantised f32 for
// kF32 (without VNNI the AVX-512 level keeps avx2::gemm_q).
void gemm_q_vnni(const GemmArgs& a);
// Needs AVX512_VNNI too: ggml block weights; kBF16 with Q8_0/Q4_0/Q4_K/Q5_K/Q6_K on the integer path,
// the rest through gemm_ggml_dequant (gemm_avx512_ggml.cpp).
void gemm_ggml_vnni(const GemmArgs& a);
// Needs AVX512_VNNI: kBF16 products of every ggml block type on 16-row repacked panels
// (gemm_avx512_ggml_panel.cpp) from kPanelMinRows activation rows (kernels.h), and for rows of <= 256
// columns of the 32-column types at any count; false when the product is not one of those.
// xq: the product's activations as quantize_ggml_vnni made them (with their panel-order copy).
bool gemm_ggml_panels(const GemmArgs& a, const void* xq);
// The same for radseek's Q8 / Q4 (kBF16, m >= kPanelMinRows, cols a multiple of 32), quantising the
// activations itself; false otherwise.
bool gemm_q_panels(const GemmArgs& a);
// Needs AVX512_VNNI's level flags: KernelTable::quantize_ggml, bit-identical to ref::quantize_ggml.
void quantize_ggml_vnni(const GgmlQuantizeArgs& a);
// The panel-order copy of buf's m quantised rows in buf's tail (kernels.h ggml_acts_bytes), which
// gemm_ggml_panels and gemm_q_panels read; quantize_ggml_vnni's last step.
void pack_panel_acts(void* buf, int64_t m, int64_t k, GgmlQuant type);
void gemm_ggml_dequant(const GemmArgs& a);
void gemv_t(const GemvTArgs& a);
float dot_f32(const float* a, const float* b, int64_t n);
void axpy_f32(float alpha, const float* x, float* y, int64_t n);
void rmsnorm_f32(const float* x, const float* w, float eps, float* y, int64_t n);
void silu_mul_f32(const float* gate, const float* up, float* out, int64_t n);
void fp8_e4m3_to_f32(const uint8_t* src, float* dst, int64_t n);
void fp8_flags(const Fp8FlagsArgs& a);
void transpose_f32(const TransposeArgs& a);
}  // namespace avx512

namespace amx {
// Needs AMX-TILE/AMX-BF16 (with permission granted) and AVX512_BF16: kBF16 products with BF16/FP8
// weights and m >= kMinRows use BF16 tiles; everything else goes to avx512::gemm_bf16.
void gemm(const GemmArgs& a);
// Asks Linux for the AMX tile-data state (arch_prctl ARCH_REQ_XCOMP_PERM); false if refused.
bool request_permission();
}  // namespace amx

}  // namespace radseek::kernels

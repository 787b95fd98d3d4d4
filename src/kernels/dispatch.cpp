// CPU feature detection (cpuid + OS XSAVE state) and the one-time choice of kernels.
#include <cpuid.h>

#include <algorithm>

#include "kernels/kernels.h"
#include "kernels/ref/ggml_gemm.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/variants.h"

namespace radseek::kernels {
namespace {

uint64_t xgetbv0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kAmx: return "amx";
  }
  return "?";
}

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = (c >> 27) & 1;
  const bool avx = (c >> 28) & 1;
  f.fma = (c >> 12) & 1;
  f.f16c = (c >> 29) & 1;
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = xgetbv0();
  const bool ymm_os = (xcr0 & 0x6) == 0x6;
  const bool zmm_os = (xcr0 & 0xe6) == 0xe6;
  const bool amx_os = (xcr0 & 0x60000) == 0x60000;
  __cpuid_count(7, 0, a, b, c, d);
  f.avx2 = ymm_os && ((b >> 5) & 1);
  f.avx512f = zmm_os && ((b >> 16) & 1);
  f.avx512bw = zmm_os && ((b >> 30) & 1);
  f.avx512vl = zmm_os && ((b >> 31) & 1);
  f.avx512_vnni = zmm_os && ((c >> 11) & 1);
  f.avx512_fp16 = zmm_os && ((d >> 23) & 1);
  f.amx_bf16 = amx_os && ((d >> 22) & 1);
  f.amx_tile = amx_os && ((d >> 24) & 1);
  f.amx_int8 = amx_os && ((d >> 25) & 1);
  __cpuid_count(7, 1, a, b, c, d);
  f.avx512_bf16 = zmm_os && ((a >> 5) & 1);
  return f;
}

Isa best_supported_isa(const CpuFeatures& f) {
  const bool avx512 = f.avx512f && f.avx512bw && f.avx512vl;
  if (avx512 && f.amx_tile && f.amx_bf16) return Isa::kAmx;
  if (avx512) return Isa::kAvx512;
  if (f.avx2 && f.fma && f.f16c) return Isa::kAvx2;
  return Isa::kScalar;
}

KernelTable reference_kernels() {
  KernelTable t;
  t.isa = Isa::kScalar;
  t.gemm = ref::gemm;
  t.gemm_q = ref::gemm;
  t.gemm_ggml = ref::gemm;
  t.quantize_ggml = ref::quantize_ggml;
  t.gemv_t = ref::gemv_t;
  t.dot_f32 = ref::dot_f32;
  t.axpy_f32 = ref::axpy_f32;
  t.rmsnorm_f32 = ref::rmsnorm_f32;
  t.silu_mul_f32 = ref::silu_mul_f32;
  t.fp8_e4m3_to_f32 = ref::fp8_e4m3_to_f32;
  t.fp8_flags = ref::fp8_flags;
  t.transpose_f32 = ref::transpose_f32;
  return t;
}

// Each level starts from the one below and replaces what it has; sub-features that a level does not
// imply (AVX512_BF16 under AVX-512, the kernel's permission for AMX tiles) are checked here, so a
// missing one leaves the lower level's entry in place.
KernelTable make_kernel_table(Isa isa) {
  KernelTable t = reference_kernels();
  t.isa = isa;
  if (isa >= Isa::kAvx2) {
    t.gemm = avx2::gemm;
    t.gemv_t = avx2::gemv_t;
    t.gemm_q = avx2::gemm_q;
    t.gemm_ggml = avx2::gemm_ggml;
    t.quantize_ggml = avx2::quantize_ggml;
    t.dot_f32 = avx2::dot_f32;
    t.axpy_f32 = avx2::axpy_f32;
    t.rmsnorm_f32 = avx2::rmsnorm_f32;
    t.silu_mul_f32 = avx2::silu_mul_f32;
    t.fp8_e4m3_to_f32 = avx2::fp8_e4m3_to_f32;
    t.fp8_flags = avx2::fp8_flags;
    t.transpose_f32 = avx2::transpose_f32;
  }
  const CpuFeatures f = detect_cpu_features();
  if (isa >= Isa::kAvx512) {
    t.gemm = f.avx512_bf16 ? avx512::gemm_bf16 : avx512::gemm;
    t.gemv_t = avx512::gemv_t;
    if (f.avx512_vnni) t.gemm_q = avx512::gemm_q_vnni;
    if (f.avx512_vnni) t.gemm_ggml = avx512::gemm_ggml_vnni;
    if (f.avx512_vnni) t.quantize_ggml = avx512::quantize_ggml_vnni;
    t.dot_f32 = avx512::dot_f32;
    t.axpy_f32 = avx512::axpy_f32;
    t.rmsnorm_f32 = avx512::rmsnorm_f32;
    t.silu_mul_f32 = avx512::silu_mul_f32;
    t.fp8_e4m3_to_f32 = avx512::fp8_e4m3_to_f32;
    t.fp8_flags = avx512::fp8_flags;
    t.gemm_reads_fp8_flags = f.avx512_bf16;  // gemm_fp8_decode_bf16
    t.transpose_f32 = avx512::transpose_f32;
  }
  // Linux keeps AMX tile data disabled per process until asked (arch_prctl ARCH_REQ_XCOMP_PERM);
  // the request is idempotent, so building several tables is fine.
  if (isa >= Isa::kAmx && f.avx512_bf16 && amx::request_permission()) t.gemm = amx::gemm;
  return t;
}

}  // namespace radseek::kernels

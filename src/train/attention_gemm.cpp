// The float attention head on the kernels' gemm (the plain loops of ops.cpp stay the reference and
// the double path of the gradient checks). Scalar loops over a head's t×t scores do not vectorise
// (float reductions keep their order), and at the radiology prompts' lengths they dominated a step.
// Each product is one y = x · Wᵀ call on contiguous copies; causal rows are computed in chunks whose
// score columns stop at the chunk's last row, so little of the masked half is computed.
#include <algorithm>
#include <cmath>
#include <vector>

#include "train/ops.h"

namespace radseek::train {
namespace {

constexpr int64_t kRowChunk = 64;

// y [m, ldy] (overwritten in columns [0, n)) = x [m, ldx] (first k used) · w [n, k]ᵀ, on one thread.
void gemm(const kernels::KernelTable& kt, const float* x, int64_t m, int64_t ldx, const float* w, int64_t n,
          int64_t k, float* y, int64_t ldy) {
  if (m == 0 || n == 0) return;
  const kernels::WeightMatrix wm{.dtype = DType::kF32, .data = w, .rows = n, .cols = k};
  kt.gemm(kernels::GemmArgs{.x = x, .m = m, .ldx = ldx, .w = &wm, .y = y, .ldy = ldy, .n_begin = 0, .n_end = n});
}

// out [cols, rows] = a [rows, lda]ᵀ (first cols columns).
void transpose(const float* a, int64_t rows, int64_t cols, int64_t lda, float* out) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) out[j * rows + i] = a[i * lda + j];
}

// Kc [t, dn+dr] = [k nope | k rope] of the head, contiguous.
std::vector<float> keys(const AttnHead<float>& a) {
  const int64_t dk = a.dn + a.dr;
  std::vector<float> kc(static_cast<size_t>(a.t * dk));
  for (int64_t j = 0; j < a.t; ++j) {
    std::copy_n(a.k + j * a.ldk, a.dn, kc.data() + j * dk);
    std::copy_n(a.kpe + j * a.ldpe, a.dr, kc.data() + j * dk + a.dn);
  }
  return kc;
}

}  // namespace

void attention_head_gemm(const kernels::KernelTable& kt, const AttnHead<float>& a) {
  const int64_t t = a.t, dk = a.dn + a.dr;
  const std::vector<float> kc = keys(a);
  for (int64_t r0 = 0; r0 < t; r0 += kRowChunk) {  // scores of rows r0.. against keys 0..r1
    const int64_t r1 = std::min(t, r0 + kRowChunk);
    gemm(kt, a.q + r0 * a.ldq, r1 - r0, a.ldq, kc.data(), r1, dk, a.p + r0 * t, t);
  }
  const float scale = static_cast<float>(a.scale);
  for (int64_t i = 0; i < t; ++i) {
    float* p = a.p + i * t;
    float mx = -INFINITY;
    for (int64_t j = 0; j <= i; ++j) mx = std::max(mx, p[j] *= scale);
    double sum = 0.0;
    for (int64_t j = 0; j <= i; ++j) sum += (p[j] = std::exp(p[j] - mx));
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t j = 0; j <= i; ++j) p[j] *= inv;
    std::fill(p + i + 1, p + t, 0.0f);
  }
  std::vector<float> vt(static_cast<size_t>(a.dv * t));  // [dv, t]
  transpose(a.v, t, a.dv, a.ldv, vt.data());
  gemm(kt, a.p, t, t, vt.data(), a.dv, t, a.o, a.ldo);
}

// dP = dO·Vᵀ; dV += Pᵀ·dO; dS = scale·P⊙(dP − Σ_j P⊙dP); dQ += dS·Kc; dKc = dSᵀ·Qc.
void attention_head_backward_gemm(const kernels::KernelTable& kt, const AttnHead<float>& a,
                                  const AttnHeadGrad<float>& g) {
  const int64_t t = a.t, dk = a.dn + a.dr, dv = a.dv;
  std::vector<float> vc(static_cast<size_t>(t * dv)), ds(static_cast<size_t>(t * t));
  for (int64_t j = 0; j < t; ++j) std::copy_n(a.v + j * a.ldv, dv, vc.data() + j * dv);
  gemm(kt, g.d_o, t, a.ldo, vc.data(), t, dv, ds.data(), t);  // ds holds dP for now
  std::vector<float> pt(static_cast<size_t>(t * t)), dot(static_cast<size_t>(dv * t)), tmp(static_cast<size_t>(t * dk));
  transpose(a.p, t, t, t, pt.data());
  transpose(g.d_o, t, dv, a.ldo, dot.data());
  gemm(kt, pt.data(), t, t, dot.data(), dv, t, tmp.data(), dv);  // dV
  for (int64_t j = 0; j < t; ++j)
    for (int64_t c = 0; c < dv; ++c) g.dv[j * a.ldv + c] += tmp[j * dv + c];
  const float scale = static_cast<float>(a.scale);
  for (int64_t i = 0; i < t; ++i) {
    const float* p = a.p + i * t;
    float* d = ds.data() + i * t;
    double pdp = 0.0;
    for (int64_t j = 0; j <= i; ++j) pdp += static_cast<double>(p[j]) * d[j];
    for (int64_t j = 0; j <= i; ++j) d[j] = scale * p[j] * (d[j] - static_cast<float>(pdp));
    std::fill(d + i + 1, d + t, 0.0f);
  }
  const std::vector<float> kc = keys(a);
  std::vector<float> kct(static_cast<size_t>(dk * t));
  transpose(kc.data(), t, dk, dk, kct.data());
  gemm(kt, ds.data(), t, t, kct.data(), dk, t, tmp.data(), dk);  // dQ [t, dk]
  for (int64_t i = 0; i < t; ++i) {
    float* dq = g.dq + i * a.ldq;
    for (int64_t c = 0; c < a.dn; ++c) dq[c] += tmp[i * dk + c];
    for (int64_t c = 0; c < a.dr; ++c) dq[a.q_pe_col + c] += tmp[i * dk + a.dn + c];
  }
  std::vector<float> qt(static_cast<size_t>(dk * t));  // Qcᵀ [dk, t]
  for (int64_t i = 0; i < t; ++i) {
    for (int64_t c = 0; c < a.dn; ++c) qt[c * t + i] = a.q[i * a.ldq + c];
    for (int64_t c = 0; c < a.dr; ++c) qt[(a.dn + c) * t + i] = a.q[i * a.ldq + a.q_pe_col + c];
  }
  transpose(ds.data(), t, t, t, pt.data());  // pt now holds dSᵀ
  gemm(kt, pt.data(), t, t, qt.data(), dk, t, tmp.data(), dk);  // dKc [t, dk]
  for (int64_t j = 0; j < t; ++j) {
    for (int64_t c = 0; c < a.dn; ++c) g.dk[j * a.ldk + c] += tmp[j * dk + c];
    for (int64_t c = 0; c < a.dr; ++c) g.dkpe[j * a.ldpe + c] += tmp[j * dk + a.dn + c];
  }
}

}  // namespace radseek::train

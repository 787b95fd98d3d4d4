// The operations of the DeepSeek-V3 forward pass with their backward passes, for training. Each is a
// pure function over row-major arrays, templated on the scalar: float for training (products go
// through the kernels' gemm), double for the finite-difference gradient checks (tests/train).
//
// Legend: m rows (tokens), k reduction length, n output columns; W is [n, k] as in the checkpoint
// (y = x · Wᵀ). Every backward ACCUMULATES into its gradient outputs (+=), because the residual
// stream and shared inputs (the norm output feeding q, kv and the router) sum several paths.
#pragma once

#include <cstdint>

#include "model/context.h"
#include "train/fp8_sim.h"

namespace radseek::train {

using model::Context;

// y [m, n] = x [m, k] · W [n, k]ᵀ (overwrites y). For float, ctx.train_gemm rounds the inputs of
// this product and of both backward products first (BF16 / FP8 training, train/fp8_sim.h).
template <typename T>
void matmul(const Context& ctx, const T* x, int64_t m, int64_t k, const T* w, int64_t n, T* y);

struct MatmulGrad {
  int64_t m = 0, k = 0, n = 0;
};
// dx [m, k] += dy [m, n] · W; dw [n, k] += dyᵀ · x. dx or dw may be null (not needed).
template <typename T>
void matmul_backward(const Context& ctx, const MatmulGrad& s, const T* x, const T* w, const T* dy, T* dx, T* dw);

// Row-wise RMSNorm (spec §3.2): y = w ⊙ x · r, r = 1/sqrt(mean(x²) + eps). rstd [m] keeps r.
template <typename T>
void rmsnorm(const T* x, const T* w, int64_t m, int64_t n, double eps, T* y, T* rstd);
template <typename T>
void rmsnorm_backward(const T* x, const T* w, const T* rstd, const T* dy, int64_t m, int64_t n, T* dx, T* dw);

// Interleaved rotation of pairs (x[2i], x[2i+1]) by cs = (cos, sin) pairs (model/rope.h layout),
// in place; the backward rotates the gradient by the transposed matrix.
template <typename T>
void rope_rotate(const float* cs, int64_t dim, T* x);
template <typename T>
void rope_rotate_backward(const float* cs, int64_t dim, T* dx);

// SwiGLU gate: h = silu(g) ⊙ u over n values; backward accumulates dg, du.
template <typename T>
void swiglu(const T* g, const T* u, int64_t n, T* h);
template <typename T>
void swiglu_backward(const T* g, const T* u, const T* dh, int64_t n, T* dg, T* du);

// Causal softmax attention of one head of one sequence (the naive MLA form, spec §3.5).
// q [t, ldq] and k [t, ldk] hold the nope part at column 0 and the rope part at `pe_col` (q) and in
// kpe [t, ldpe] (k's rope part, shared by heads); v [t, ldv]; o [t, ldo]; p [t, t] saves the softmax.
template <typename T>
struct AttnHead {
  int64_t t = 0, dn = 0, dr = 0, dv = 0;
  double scale = 0.0;
  const T* q = nullptr;   int64_t ldq = 0;  int64_t q_pe_col = 0;
  const T* k = nullptr;   int64_t ldk = 0;
  const T* kpe = nullptr; int64_t ldpe = 0;
  const T* v = nullptr;   int64_t ldv = 0;
  T* o = nullptr;         int64_t ldo = 0;
  T* p = nullptr;  // [t, t]
};
template <typename T>
void attention_head(const AttnHead<T>& a);
// Gradients of one head: dq, dk, dkpe, dv share the strides of q, k, kpe, v. `scratch` [t] per call.
template <typename T>
struct AttnHeadGrad {
  const T* d_o = nullptr;
  T* dq = nullptr;
  T* dk = nullptr;
  T* dkpe = nullptr;
  T* dv = nullptr;
  T* scratch = nullptr;
};
template <typename T>
void attention_head_backward(const AttnHead<T>& a, const AttnHeadGrad<T>& g);

// The same for float on the kernels' gemm, single-threaded (callers run heads in parallel);
// tests compare them with the loops above.
void attention_head_gemm(const kernels::KernelTable& kt, const AttnHead<float>& a);
void attention_head_backward_gemm(const kernels::KernelTable& kt, const AttnHead<float>& a,
                                  const AttnHeadGrad<float>& g);

// Mean cross-entropy over rows whose target is >= 0; dlogits (optional) gets its gradient (written).
// Returns the loss summed over counted rows; dlogits is scaled by inv_count (1 / rows counted).
template <typename T>
double cross_entropy(const T* logits, const int32_t* targets, int64_t m, int64_t vocab, double inv_count, T* dlogits);

}  // namespace radseek::train

#include "train/ops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "model/linear.h"
#include "train/fp8_sim.h"

namespace radseek::train {
namespace {

// Rows per parallel task for the plain loops (large enough that task overhead is negligible).
constexpr int64_t kRowsPerTask = 16;

// out [cols, rows] = aᵀ: the backward products transpose every activation and weight once per step,
// so the float case runs the kernels' register-tile transpose in bands of rows over the pool (the
// plain tiled loop took 14% of a step). Double (gradient checks only) keeps a plain loop.
template <typename T>
void transpose(const Context& ctx, const T* a, int64_t rows, int64_t cols, T* out) {
  constexpr int64_t kBand = 64;
  const int64_t bands = (rows + kBand - 1) / kBand;
  ctx.pool->parallel_for(bands, [&](int64_t b, int) {
    const int64_t r0 = b * kBand, nr = std::min(rows - r0, kBand);
    if constexpr (std::is_same_v<T, float>) {
      ctx.kernels->transpose_f32({.a = a + r0 * cols, .lda = cols, .rows = nr, .cols = cols, .out = out + r0, .ldo = rows});
    } else {
      for (int64_t i = r0; i < r0 + nr; ++i)
        for (int64_t j = 0; j < cols; ++j) out[j * rows + i] = a[i * cols + j];
    }
  });
}

// y [m, n] (+)= x [m, k] · w [n, k]ᵀ. Float: the kernels' FP32 gemm (SIMD, threads over n).
// Double: plain loops over rows (tests only).
void matmul_into(const Context& ctx, const float* x, int64_t m, int64_t k, const float* w, int64_t n, float* y) {
  const kernels::WeightMatrix wm{.dtype = DType::kF32, .data = w, .rows = n, .cols = k};
  model::linear_with(ctx, model::LinearArgs{.x = x, .m = m, .ldx = k, .w = &wm, .y = y, .ldy = n},
                     kernels::ActPrecision::kF32);
}

void matmul_into(const Context& ctx, const double* x, int64_t m, int64_t k, const double* w, int64_t n, double* y) {
  ctx.pool->parallel_for((m + kRowsPerTask - 1) / kRowsPerTask, [&](int64_t task, int) {
    for (int64_t i = task * kRowsPerTask; i < std::min(m, (task + 1) * kRowsPerTask); ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0.0;
        for (int64_t c = 0; c < k; ++c) s += x[i * k + c] * w[j * k + c];
        y[i * n + j] = s;
      }
  });
}

template <typename T>
void add_into(const std::vector<T>& src, T* dst) {
  for (size_t i = 0; i < src.size(); ++i) dst[i] += src[i];
}

// BF16/FP8 training (ctx.train_gemm): the product runs on rounded copies of its inputs, see
// train/fp8_sim.h. Float only: the double path is the exact reference of the gradient checks.
template <typename T>
bool rounds(const Context& ctx) {
  return std::is_same_v<T, float> && rounds_gemm_inputs(ctx);
}

template <typename T>
void round_input(const Context& ctx, GemmOperand op, T* a, int64_t rows, int64_t cols) {
  if constexpr (std::is_same_v<T, float>) round_gemm_input(ctx, op, a, rows, cols);
}

}  // namespace

template <typename T>
void matmul(const Context& ctx, const T* x, int64_t m, int64_t k, const T* w, int64_t n, T* y) {
  if (!rounds<T>(ctx)) return matmul_into(ctx, x, m, k, w, n, y);
  std::vector<T> xq(x, x + m * k), wq(w, w + n * k);  // [m, k], [n, k]
  round_input(ctx, GemmOperand::kActivation, xq.data(), m, k);
  round_input(ctx, GemmOperand::kWeight, wq.data(), n, k);
  matmul_into(ctx, xq.data(), m, k, wq.data(), n, y);
}

// Both products become y = x · Wᵀ products on transposed copies, so the one fast gemm serves:
// dx = dy · W = dy · (Wᵀ)ᵀ and dW = dyᵀ · x = dyᵀ · (xᵀ)ᵀ.
template <typename T>
void matmul_backward(const Context& ctx, const MatmulGrad& s, const T* x, const T* w, const T* dy, T* dx, T* dw) {
  std::vector<T> tmp;
  if (dx) {
    std::vector<T> wt(static_cast<size_t>(s.n * s.k));
    transpose(ctx, w, s.n, s.k, wt.data());  // [k, n]
    // Wᵀ's 128×128 blocks are W's, so this is the forward's quantised W, transposed; dy [m, n] is
    // an activation gradient (1×128 tiles along n, this product's reduction).
    round_input(ctx, GemmOperand::kWeight, wt.data(), s.k, s.n);
    std::vector<T> dyq;
    if (rounds<T>(ctx)) {
      dyq.assign(dy, dy + s.m * s.n);
      round_input(ctx, GemmOperand::kActivation, dyq.data(), s.m, s.n);
    }
    tmp.resize(static_cast<size_t>(s.m * s.k));
    matmul_into(ctx, dyq.empty() ? dy : dyq.data(), s.m, s.n, wt.data(), s.k, tmp.data());
    add_into(tmp, dx);
  }
  if (dw) {
    std::vector<T> dyt(static_cast<size_t>(s.n * s.m)), xt(static_cast<size_t>(s.k * s.m));
    transpose(ctx, dy, s.m, s.n, dyt.data());  // [n, m]
    transpose(ctx, x, s.m, s.k, xt.data());    // [k, m]
    // The weight gradient reduces over tokens: both inputs are activations, tiled 1×128 along m.
    round_input(ctx, GemmOperand::kActivation, dyt.data(), s.n, s.m);
    round_input(ctx, GemmOperand::kActivation, xt.data(), s.k, s.m);
    tmp.assign(static_cast<size_t>(s.n * s.k), T(0));
    matmul_into(ctx, dyt.data(), s.n, s.m, xt.data(), s.k, tmp.data());
    add_into(tmp, dw);
  }
}

template <typename T>
void rmsnorm(const T* x, const T* w, int64_t m, int64_t n, double eps, T* y, T* rstd) {
  for (int64_t i = 0; i < m; ++i) {
    const T* xr = x + i * n;
    double ss = 0.0;
    for (int64_t j = 0; j < n; ++j) ss += static_cast<double>(xr[j]) * xr[j];
    const T r = static_cast<T>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
    rstd[i] = r;
    for (int64_t j = 0; j < n; ++j) y[i * n + j] = w[j] * (xr[j] * r);
  }
}

// dx = r·(w⊙dy) − x·r³/n·Σ(w⊙dy⊙x); dw = Σ_rows dy⊙x·r.
template <typename T>
void rmsnorm_backward(const T* x, const T* w, const T* rstd, const T* dy, int64_t m, int64_t n, T* dx, T* dw) {
  for (int64_t i = 0; i < m; ++i) {
    const T* xr = x + i * n;
    const T* g = dy + i * n;
    const double r = rstd[i];
    double dot = 0.0;
    for (int64_t j = 0; j < n; ++j) dot += static_cast<double>(w[j]) * g[j] * xr[j];
    const T c = static_cast<T>(dot * r * r * r / static_cast<double>(n));
    for (int64_t j = 0; j < n; ++j) {
      dx[i * n + j] += static_cast<T>(r) * w[j] * g[j] - xr[j] * c;
      dw[j] += g[j] * xr[j] * static_cast<T>(r);
    }
  }
}

template <typename T>
void rope_rotate(const float* cs, int64_t dim, T* x) {
  for (int64_t i = 0; i < dim / 2; ++i) {
    const T c = cs[2 * i], s = cs[2 * i + 1];
    const T a = x[2 * i], b = x[2 * i + 1];
    x[2 * i] = a * c - b * s;
    x[2 * i + 1] = a * s + b * c;
  }
}

template <typename T>
void rope_rotate_backward(const float* cs, int64_t dim, T* dx) {
  for (int64_t i = 0; i < dim / 2; ++i) {
    const T c = cs[2 * i], s = cs[2 * i + 1];
    const T a = dx[2 * i], b = dx[2 * i + 1];
    dx[2 * i] = a * c + b * s;
    dx[2 * i + 1] = -a * s + b * c;
  }
}

template <typename T>
void swiglu(const T* g, const T* u, int64_t n, T* h) {
  for (int64_t i = 0; i < n; ++i) h[i] = g[i] / (T(1) + std::exp(-g[i])) * u[i];
}

// silu'(g) = σ(g)·(1 + g·(1 − σ(g))).
template <typename T>
void swiglu_backward(const T* g, const T* u, const T* dh, int64_t n, T* dg, T* du) {
  for (int64_t i = 0; i < n; ++i) {
    const T sg = T(1) / (T(1) + std::exp(-g[i]));
    du[i] += dh[i] * g[i] * sg;
    dg[i] += dh[i] * u[i] * sg * (T(1) + g[i] * (T(1) - sg));
  }
}

template <typename T>
void attention_head(const AttnHead<T>& a) {
  for (int64_t i = 0; i < a.t; ++i) {
    const T* qi = a.q + i * a.ldq;
    T* p = a.p + i * a.t;
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j <= i; ++j) {
      T s = 0;
      for (int64_t c = 0; c < a.dn; ++c) s += qi[c] * a.k[j * a.ldk + c];
      for (int64_t c = 0; c < a.dr; ++c) s += qi[a.q_pe_col + c] * a.kpe[j * a.ldpe + c];
      p[j] = static_cast<T>(a.scale) * s;
      mx = std::max(mx, static_cast<double>(p[j]));
    }
    double sum = 0.0;
    for (int64_t j = 0; j <= i; ++j) sum += (p[j] = static_cast<T>(std::exp(p[j] - mx)));
    for (int64_t j = 0; j <= i; ++j) p[j] = static_cast<T>(p[j] / sum);
    std::fill(p + i + 1, p + a.t, T(0));
    T* o = a.o + i * a.ldo;
    std::fill(o, o + a.dv, T(0));
    for (int64_t j = 0; j <= i; ++j)
      for (int64_t c = 0; c < a.dv; ++c) o[c] += p[j] * a.v[j * a.ldv + c];
  }
}

// dP = dO·vᵀ, dv += Pᵀ·dO, dS = P ⊙ (dP − Σ P⊙dP), then the score's two dot products.
template <typename T>
void attention_head_backward(const AttnHead<T>& a, const AttnHeadGrad<T>& g) {
  T* ds = g.scratch;
  for (int64_t i = 0; i < a.t; ++i) {
    const T* p = a.p + i * a.t;
    const T* d_o = g.d_o + i * a.ldo;
    double pdp = 0.0;
    for (int64_t j = 0; j <= i; ++j) {
      T dp = 0;
      for (int64_t c = 0; c < a.dv; ++c) {
        dp += d_o[c] * a.v[j * a.ldv + c];
        g.dv[j * a.ldv + c] += p[j] * d_o[c];
      }
      ds[j] = dp;
      pdp += static_cast<double>(p[j]) * dp;
    }
    const T* qi = a.q + i * a.ldq;
    T* dqi = g.dq + i * a.ldq;
    for (int64_t j = 0; j <= i; ++j) {
      const T d = static_cast<T>(a.scale) * p[j] * (ds[j] - static_cast<T>(pdp));
      for (int64_t c = 0; c < a.dn; ++c) {
        dqi[c] += d * a.k[j * a.ldk + c];
        g.dk[j * a.ldk + c] += d * qi[c];
      }
      for (int64_t c = 0; c < a.dr; ++c) {
        dqi[a.q_pe_col + c] += d * a.kpe[j * a.ldpe + c];
        g.dkpe[j * a.ldpe + c] += d * qi[a.q_pe_col + c];
      }
    }
  }
}

template <typename T>
double cross_entropy(const T* logits, const int32_t* targets, int64_t m, int64_t vocab, double inv_count, T* dlogits) {
  double total = 0.0;
  for (int64_t i = 0; i < m; ++i) {
    const T* z = logits + i * vocab;
    T* dz = dlogits ? dlogits + i * vocab : nullptr;
    if (targets[i] < 0) {
      if (dz) std::fill(dz, dz + vocab, T(0));
      continue;
    }
    const double mx = static_cast<double>(*std::max_element(z, z + vocab));
    double sum = 0.0;
    for (int64_t j = 0; j < vocab; ++j) sum += std::exp(static_cast<double>(z[j]) - mx);
    const double lse = mx + std::log(sum);
    total += lse - static_cast<double>(z[targets[i]]);
    if (!dz) continue;
    for (int64_t j = 0; j < vocab; ++j) dz[j] = static_cast<T>(std::exp(static_cast<double>(z[j]) - lse) * inv_count);
    dz[targets[i]] -= static_cast<T>(inv_count);
  }
  return total;
}

#define RADSEEK_TRAIN_OPS(T)                                                                                     \
  template void matmul<T>(const Context&, const T*, int64_t, int64_t, const T*, int64_t, T*);                    \
  template void matmul_backward<T>(const Context&, const MatmulGrad&, const T*, const T*, const T*, T*, T*);     \
  template void rmsnorm<T>(const T*, const T*, int64_t, int64_t, double, T*, T*);                                \
  template void rmsnorm_backward<T>(const T*, const T*, const T*, const T*, int64_t, int64_t, T*, T*);           \
  template void rope_rotate<T>(const float*, int64_t, T*);                                                       \
  template void rope_rotate_backward<T>(const float*, int64_t, T*);                                              \
  template void swiglu<T>(const T*, const T*, int64_t, T*);                                                      \
  template void swiglu_backward<T>(const T*, const T*, const T*, int64_t, T*, T*);                               \
  template void attention_head<T>(const AttnHead<T>&);                                                           \
  template void attention_head_backward<T>(const AttnHead<T>&, const AttnHeadGrad<T>&);                          \
  template double cross_entropy<T>(const T*, const int32_t*, int64_t, int64_t, double, T*);
RADSEEK_TRAIN_OPS(float)
RADSEEK_TRAIN_OPS(double)
#undef RADSEEK_TRAIN_OPS

}  // namespace radseek::train

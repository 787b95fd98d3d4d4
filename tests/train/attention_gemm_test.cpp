// The gemm attention head (training's float path) against the plain-loop reference in float64.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "train/ops.h"

namespace radseek::train {
namespace {

struct HeadData {
  int64_t t, dn, dr, dv, ldq, ldk, ldv;
  std::vector<double> q, k, kpe, v, d_o;
};

HeadData random_head(int64_t t) {
  // Strided like the model's buffers (other heads' columns around), rope part after nope.
  HeadData h{.t = t, .dn = 6, .dr = 4, .dv = 5, .ldq = 13, .ldk = 14, .ldv = 14, .q = {}, .k = {}, .kpe = {}, .v = {}, .d_o = {}};
  std::mt19937 rng(7);
  std::normal_distribution<double> n(0.0, 1.0);
  auto fill = [&](std::vector<double>& x, int64_t size) { for (x.resize(size); double& e : x) e = n(rng); };
  fill(h.q, t * h.ldq);
  fill(h.k, t * h.ldk);
  fill(h.kpe, t * h.dr);
  fill(h.v, t * h.ldv);
  fill(h.d_o, t * h.dv);
  return h;
}

template <typename T>
struct HeadRun {
  std::vector<T> q, k, kpe, v, d_o, o, p, dq, dk, dkpe, dv, scratch;
};

template <typename T>
HeadRun<T> make_run(const HeadData& h) {
  auto cast = [](const std::vector<double>& x) { return std::vector<T>(x.begin(), x.end()); };
  HeadRun<T> r{cast(h.q), cast(h.k), cast(h.kpe), cast(h.v), cast(h.d_o), std::vector<T>(h.t * h.dv),
           std::vector<T>(h.t * h.t), std::vector<T>(h.q.size()), std::vector<T>(h.k.size()),
           std::vector<T>(h.kpe.size()), std::vector<T>(h.v.size()), std::vector<T>(h.t)};
  return r;
}

template <typename T>
AttnHead<T> head_of(const HeadData& h, HeadRun<T>& r) {
  return AttnHead<T>{.t = h.t, .dn = h.dn, .dr = h.dr, .dv = h.dv, .scale = 0.37,
                     .q = r.q.data(), .ldq = h.ldq, .q_pe_col = h.dn, .k = r.k.data(), .ldk = h.ldk,
                     .kpe = r.kpe.data(), .ldpe = h.dr, .v = r.v.data() + h.dn, .ldv = h.ldv,
                     .o = r.o.data(), .ldo = h.dv, .p = r.p.data()};
}

template <typename T>
AttnHeadGrad<T> grad_of(const HeadData& h, HeadRun<T>& r) {
  return AttnHeadGrad<T>{.d_o = r.d_o.data(), .dq = r.dq.data(), .dk = r.dk.data(), .dkpe = r.dkpe.data(),
                         .dv = r.dv.data() + h.dn, .scratch = r.scratch.data()};
}

void expect_near(const std::vector<float>& got, const std::vector<double>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  double worst = 0.0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]) / (1.0 + std::abs(want[i])));
  EXPECT_LT(worst, 2e-5) << what;
}

TEST(AttentionGemm, MatchesTheLoopReferenceForwardAndBackward) {
  const kernels::KernelTable kt = kernels::make_kernel_table(kernels::best_supported_isa(kernels::detect_cpu_features()));
  for (int64_t t : {1, 7, 64, 150}) {  // single row, under one chunk, one chunk, several chunks
    const HeadData h = random_head(t);
    HeadRun<double> ref = make_run<double>(h);
    HeadRun<float> fast = make_run<float>(h);
    attention_head(head_of(h, ref));
    attention_head_backward(head_of(h, ref), grad_of(h, ref));
    attention_head_gemm(kt, head_of(h, fast));
    attention_head_backward_gemm(kt, head_of(h, fast), grad_of(h, fast));
    SCOPED_TRACE(t);
    expect_near(fast.o, ref.o, "o");
    expect_near(fast.p, ref.p, "p");
    expect_near(fast.dq, ref.dq, "dq");
    expect_near(fast.dk, ref.dk, "dk");
    expect_near(fast.dkpe, ref.dkpe, "dkpe");
    expect_near(fast.dv, ref.dv, "dv");
  }
}

}  // namespace
}  // namespace radseek::train

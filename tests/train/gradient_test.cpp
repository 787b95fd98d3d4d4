// Backward passes against central finite differences, in double precision: each operation alone,
// then every parameter tensor of a whole tiny DeepSeek-V3 model (MLA with q-LoRA and RoPE, dense
// layer, sigmoid router with bias-corrected selection, routed + shared experts, lm_head, CE).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <random>

#include "train/ops.h"
#include "train/train_model.h"
#include "test_config.h"
#include "train_test_support.h"

namespace radseek::train {
namespace {

// Central differences in double: truncation error ~h²·|f'''| and rounding ~1e-16·|f|/h, both far
// below 1e-8 at h = 1e-5 for these O(1) losses, so a correct gradient matches to ~1e-8 absolute.
constexpr double kStep = 1e-5;
constexpr double kAbsTol = 1e-7;
constexpr double kRelTol = 1e-5;

struct Fixture {
  ThreadPool pool{2};
  kernels::KernelTable kt = kernels::reference_kernels();
  Context ctx{.pool = &pool, .kernels = &kt};
};

std::vector<double> randoms(size_t n, uint32_t seed, double scale = 1.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-scale, scale);
  std::vector<double> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Checks grad against finite differences of loss() over every element of x.
void expect_matches_fd(std::vector<double>& x, const std::vector<double>& grad, const std::function<double()>& loss,
                       const char* what) {
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double keep = x[i];
    x[i] = keep + kStep;
    const double up = loss();
    x[i] = keep - kStep;
    const double down = loss();
    x[i] = keep;
    const double fd = (up - down) / (2 * kStep);
    const double err = std::fabs(fd - grad[i]);
    worst = std::max(worst, err);
    ASSERT_LE(err, kAbsTol + kRelTol * std::fabs(fd)) << what << "[" << i << "]: analytic " << grad[i] << " fd " << fd;
  }
  ::testing::Test::RecordProperty(what, std::to_string(worst));
}

TEST(OpGradients, Matmul) {
  Fixture f;
  const int64_t m = 3, k = 5, n = 4;
  auto x = randoms(m * k, 1), w = randoms(n * k, 2), r = randoms(m * n, 3);
  auto loss = [&] {
    std::vector<double> y(m * n);
    matmul(f.ctx, x.data(), m, k, w.data(), n, y.data());
    return dot(y, r);
  };
  std::vector<double> dx(m * k), dw(n * k);
  matmul_backward(f.ctx, MatmulGrad{.m = m, .k = k, .n = n}, x.data(), w.data(), r.data(), dx.data(), dw.data());
  expect_matches_fd(x, dx, loss, "matmul.dx");
  expect_matches_fd(w, dw, loss, "matmul.dw");
}

TEST(OpGradients, RmsNorm) {
  const int64_t m = 3, n = 7;
  auto x = randoms(m * n, 4), w = randoms(n, 5), r = randoms(m * n, 6);
  auto loss = [&] {
    std::vector<double> y(m * n), rs(m);
    rmsnorm(x.data(), w.data(), m, n, 1e-6, y.data(), rs.data());
    return dot(y, r);
  };
  std::vector<double> y(m * n), rs(m), dx(m * n), dw(n);
  rmsnorm(x.data(), w.data(), m, n, 1e-6, y.data(), rs.data());
  rmsnorm_backward(x.data(), w.data(), rs.data(), r.data(), m, n, dx.data(), dw.data());
  expect_matches_fd(x, dx, loss, "rmsnorm.dx");
  expect_matches_fd(w, dw, loss, "rmsnorm.dw");
}

TEST(OpGradients, RopeAndSwiglu) {
  const std::vector<float> cs = {0.8f, 0.6f, -0.28f, 0.96f};  // (cos, sin) pairs, |·| = 1
  auto x = randoms(4, 7), r = randoms(4, 8);
  auto rope_loss = [&] {
    auto y = x;
    rope_rotate(cs.data(), 4, y.data());
    return dot(y, r);
  };
  auto dx = r;
  rope_rotate_backward(cs.data(), 4, dx.data());
  expect_matches_fd(x, dx, rope_loss, "rope.dx");
  auto g = randoms(6, 9, 3.0), u = randoms(6, 10), r2 = randoms(6, 11);
  auto swiglu_loss = [&] {
    std::vector<double> h(6);
    swiglu(g.data(), u.data(), 6, h.data());
    return dot(h, r2);
  };
  std::vector<double> dg(6), du(6);
  swiglu_backward(g.data(), u.data(), r2.data(), 6, dg.data(), du.data());
  expect_matches_fd(g, dg, swiglu_loss, "swiglu.dg");
  expect_matches_fd(u, du, swiglu_loss, "swiglu.du");
}

TEST(OpGradients, CausalAttentionHead) {
  const int64_t t = 4, dn = 3, dr = 2, dv = 3, ldq = dn + dr + 1;  // one spare column: strides are honoured
  auto q = randoms(t * ldq, 12), k = randoms(t * dn, 13), kpe = randoms(t * dr, 14), v = randoms(t * dv, 15);
  auto r = randoms(t * dv, 16);
  auto head = [&](std::vector<double>& o, std::vector<double>& p) {
    return AttnHead<double>{.t = t, .dn = dn, .dr = dr, .dv = dv, .scale = 0.7, .q = q.data(), .ldq = ldq, .q_pe_col = dn,
                            .k = k.data(), .ldk = dn, .kpe = kpe.data(), .ldpe = dr, .v = v.data(), .ldv = dv,
                            .o = o.data(), .ldo = dv, .p = p.data()};
  };
  auto loss = [&] {
    std::vector<double> o(t * dv), p(t * t);
    attention_head(head(o, p));
    return dot(o, r);
  };
  std::vector<double> o(t * dv), p(t * t), dq(t * ldq), dk(t * dn), dkpe(t * dr), dv_(t * dv), scratch(t);
  attention_head(head(o, p));
  attention_head_backward(head(o, p), AttnHeadGrad<double>{.d_o = r.data(), .dq = dq.data(), .dk = dk.data(),
                                                           .dkpe = dkpe.data(), .dv = dv_.data(), .scratch = scratch.data()});
  expect_matches_fd(q, dq, loss, "attn.dq");
  expect_matches_fd(k, dk, loss, "attn.dk");
  expect_matches_fd(kpe, dkpe, loss, "attn.dkpe");
  expect_matches_fd(v, dv_, loss, "attn.dv");
  // Causality: the last key cannot influence the first query's output.
  EXPECT_EQ(p[0 * t + t - 1], 0.0);
}

TEST(OpGradients, CrossEntropy) {
  const int64_t m = 3, V = 5;
  auto z = randoms(m * V, 17, 3.0);
  const std::vector<int32_t> tgt = {2, -1, 4};
  auto loss = [&] { return cross_entropy<double>(z.data(), tgt.data(), m, V, 0.5, nullptr) * 0.5; };
  std::vector<double> dz(m * V);
  cross_entropy(z.data(), tgt.data(), m, V, 0.5, dz.data());
  expect_matches_fd(z, dz, loss, "ce.dz");
  for (int64_t j = 0; j < V; ++j) EXPECT_EQ(dz[V + j], 0.0);  // the ignored row
}

struct ModelCase {
  format::ModelConfig cfg = testing::tiny_train_config();
  ParamLayout layout = make_param_layout(cfg, false);
  Batch batch;
  std::vector<double> params;

  ModelCase() {
    const auto init = init_params(layout, cfg.num_hidden_layers, 3, 0.4);
    params.assign(init.begin(), init.end());
    // Non-zero correction bias and norm weights away from 1, so both paths are exercised.
    auto noise = randoms(static_cast<size_t>(layout.total), 21, 0.3);
    for (const ParamSlot& s : layout.slots)
      if (s.entry.kind == model::TensorKind::kRouterBias || s.entry.kind == model::TensorKind::kNorm)
        for (int64_t i = 0; i < s.numel; ++i) params[s.offset + i] += noise[s.offset + i];
    batch = Batch{.B = 2, .S = 5, .tokens = {}, .targets = {}};
    std::mt19937 rng(5);
    for (int i = 0; i < 10; ++i) {
      batch.tokens.push_back(static_cast<int32_t>(rng() % cfg.vocab_size));
      batch.targets.push_back(i == 3 ? -1 : static_cast<int32_t>(rng() % cfg.vocab_size));
    }
  }
};

TEST(ModelGradients, EveryParameterTensorMatchesFiniteDifferences) {
  Fixture f;
  ModelCase mc;
  TrainModel<double> model(mc.cfg, mc.layout);
  const ForwardResult base = model.forward(f.ctx, mc.params.data(), mc.batch);
  EXPECT_EQ(base.counted, 9);
  const auto routes = testing::routing_of(model);
  std::vector<double> grads(mc.layout.total, 0.0);
  model.backward(f.ctx, mc.params.data(), grads.data());
  std::mt19937 pick(9);
  int checked = 0, skipped = 0;
  double worst = 0;
  for (const ParamSlot& s : mc.layout.slots) {
    if (s.entry.kind == model::TensorKind::kRouterBias) continue;  // selection only: no gradient by design
    double norm = 0;
    for (int64_t i = 0; i < s.numel; ++i) norm += grads[s.offset + i] * grads[s.offset + i];
    EXPECT_GT(norm, 0.0) << s.entry.name << " receives no gradient";
    for (int trial = 0; trial < 4; ++trial) {
      const int64_t i = s.offset + static_cast<int64_t>(pick() % s.numel);
      const auto fd = testing::central_difference(mc.params, i, kStep, [&] {
        return std::pair{model.forward(f.ctx, mc.params.data(), mc.batch).loss, testing::routing_of(model) == routes};
      });
      if (!fd) {
        ++skipped;
        continue;
      }
      worst = std::max(worst, std::fabs(*fd - grads[i]));
      EXPECT_LE(std::fabs(*fd - grads[i]), kAbsTol + kRelTol * std::fabs(*fd))
          << s.entry.name << " element " << i - s.offset << ": analytic " << grads[i] << " fd " << *fd;
      ++checked;
    }
  }
  EXPECT_LE(skipped, 2);
  EXPECT_GT(checked, 100);
  std::printf("checked %d elements (%d skipped at routing flips), worst |analytic - fd| = %.3g\n", checked, skipped, worst);
}

// The float model (kernels' gemm) computes the same loss and gradients as the double one.
TEST(ModelGradients, FloatPathAgreesWithDouble) {
  Fixture f;
  ModelCase mc;
  TrainModel<double> md(mc.cfg, mc.layout);
  TrainModel<float> mf(mc.cfg, mc.layout);
  std::vector<float> pf(mc.params.begin(), mc.params.end());
  const double ld = md.forward(f.ctx, mc.params.data(), mc.batch).loss;
  const double lf = mf.forward(f.ctx, pf.data(), mc.batch).loss;
  // FP32 forward of O(1) values through ~10 products of length <= 20: relative error ~1e-6.
  constexpr double kLossTol = 1e-5;
  EXPECT_NEAR(lf, ld, kLossTol * std::fabs(ld));
  std::vector<double> gd(mc.layout.total, 0.0);
  std::vector<float> gf(mc.layout.total, 0.0f);
  md.backward(f.ctx, mc.params.data(), gd.data());
  mf.backward(f.ctx, pf.data(), gf.data());
  double num = 0, den = 0;
  for (int64_t i = 0; i < mc.layout.total; ++i) {
    num += (gf[i] - gd[i]) * (gf[i] - gd[i]);
    den += gd[i] * gd[i];
  }
  // Whole-vector relative error of FP32 backprop (cancellations in softmax/norm backward): ~1e-6.
  constexpr double kGradRelTol = 1e-4;
  EXPECT_LT(std::sqrt(num / den), kGradRelTol);
  std::printf("float vs double: loss rel %.3g, gradient rel %.3g\n", std::fabs(lf - ld) / std::fabs(ld), std::sqrt(num / den));
}

}  // namespace
}  // namespace radseek::train

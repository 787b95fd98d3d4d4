// The MTP objective's gradients against central finite differences in double precision: every MTP
// tensor (enorm, hnorm, eh_proj, the block, shared_head.norm) and every main-model tensor, whose
// gradient now also carries the MTP loss through h_i, the shared embedding and the shared head.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "train/train_model.h"
#include "test_config.h"
#include "train_test_support.h"

namespace radseek::train {
namespace {

constexpr double kStep = 1e-5;
constexpr double kAbsTol = 1e-7;  // as gradient_test.cpp: central differences of O(1) losses in double
constexpr double kRelTol = 1e-5;
constexpr double kLambda = 0.3;

struct Fixture {
  ThreadPool pool{2};
  kernels::KernelTable kt = kernels::reference_kernels();
  Context ctx{.pool = &pool, .kernels = &kt};
};

// first_dense: first_k_dense_replace; 1 makes the MTP block (layer 2) MoE, 3 makes it dense.
format::ModelConfig mtp_config(int first_dense) {
  auto j = testing::tiny_train_config_json();
  j["num_nextn_predict_layers"] = 1;
  j["first_k_dense_replace"] = first_dense;
  return format::parse_model_config(j.dump(), "tiny mtp config").value();
}

struct MtpCase {
  format::ModelConfig cfg;
  ParamLayout layout;
  Batch batch;
  std::vector<double> params;

  explicit MtpCase(int first_dense) : cfg(mtp_config(first_dense)), layout(make_param_layout(cfg, true)) {
    const auto init = init_params(layout, cfg.num_hidden_layers, 3, 0.4);
    params.assign(init.begin(), init.end());
    // Norm weights away from 1 and a non-zero correction bias, so every path is exercised.
    std::mt19937 rng(21);
    std::uniform_real_distribution<double> u(-0.3, 0.3);
    for (const ParamSlot& s : layout.slots)
      if (s.entry.kind == model::TensorKind::kRouterBias || s.entry.kind == model::TensorKind::kNorm)
        for (int64_t i = 0; i < s.numel; ++i) params[s.offset + i] += u(rng);
    batch = Batch{.B = 2, .S = 5, .tokens = {}, .targets = {}};
    std::mt19937 pick(5);
    for (int i = 0; i < 10; ++i) {
      batch.tokens.push_back(static_cast<int32_t>(pick() % cfg.vocab_size));
      batch.targets.push_back(i == 3 ? -1 : static_cast<int32_t>(pick() % cfg.vocab_size));
    }
  }
};

void check_every_tensor(int first_dense) {
  Fixture f;
  MtpCase mc(first_dense);
  TrainModel<double> model(mc.cfg, mc.layout, {.mtp_weight = kLambda});
  ASSERT_TRUE(model.has_mtp());
  const ForwardResult base = model.forward(f.ctx, mc.params.data(), mc.batch);
  // MTP row i counts when row i+1 of the same sequence has a target: rows 0, 1, 3 (row 3 has none,
  // row 4 is last) and 5-8 of the second sequence.
  EXPECT_EQ(base.mtp_counted, 7);
  EXPECT_NEAR(base.objective, base.loss + kLambda * base.mtp_loss, 1e-12);
  const auto routes = testing::routing_of(model);
  std::vector<double> grads(mc.layout.total, 0.0);
  model.backward(f.ctx, mc.params.data(), grads.data());
  std::mt19937 pick(9);
  int checked = 0, skipped = 0, mtp_checked = 0, experts_with_gradient = 0;
  double worst = 0;
  const std::string mtp = mtp_prefix(mc.cfg);
  for (const ParamSlot& s : mc.layout.slots) {
    if (s.entry.kind == model::TensorKind::kRouterBias) continue;  // selection only: no gradient by design
    double norm = 0;
    for (int64_t i = 0; i < s.numel; ++i) norm += grads[s.offset + i] * grads[s.offset + i];
    // A routed expert that no gradient-carrying row selected has none (10 rows, 8 experts, and the
    // MTP block's last rows have no target); the finite differences below check those zeros too.
    if (s.entry.name.find(".mlp.experts.") != std::string::npos) experts_with_gradient += norm > 0.0;
    else EXPECT_GT(norm, 0.0) << s.entry.name << " receives no gradient";
    for (int trial = 0; trial < 4; ++trial) {
      const int64_t i = s.offset + static_cast<int64_t>(pick() % s.numel);
      const auto fd = testing::central_difference(mc.params, i, kStep, [&] {
        return std::pair{model.forward(f.ctx, mc.params.data(), mc.batch).objective, testing::routing_of(model) == routes};
      });
      if (!fd) {
        ++skipped;
        continue;
      }
      worst = std::max(worst, std::fabs(*fd - grads[i]));
      EXPECT_LE(std::fabs(*fd - grads[i]), kAbsTol + kRelTol * std::fabs(*fd))
          << s.entry.name << " element " << i - s.offset << ": analytic " << grads[i] << " fd " << *fd;
      ++checked;
      if (s.entry.name.starts_with(mtp)) ++mtp_checked;
    }
  }
  EXPECT_LE(skipped, 3);
  const int expert_tensors = first_dense == 1 ? 2 * 8 * 3 : 0;  // main layer 1 and the MTP block, 3 each
  EXPECT_GE(experts_with_gradient, expert_tensors / 2);
  EXPECT_GT(mtp_checked, first_dense == 1 ? 80 : 40);
  std::printf("first_k_dense_replace %d: checked %d elements (%d in the MTP module, %d skipped at routing flips), "
              "worst |analytic - fd| = %.3g\n", first_dense, checked, mtp_checked, skipped, worst);
}

TEST(MtpGradients, EveryTensorMatchesFiniteDifferencesMoeBlock) { check_every_tensor(1); }
TEST(MtpGradients, EveryTensorMatchesFiniteDifferencesDenseBlock) { check_every_tensor(3); }

// The MTP term really reaches the main model: the gradient at λ minus the one at λ = 0 is non-zero
// for the shared embedding and head, the final norm and the first layer, and it is λ-linear.
TEST(MtpGradients, MtpTermReachesTheMainModel) {
  Fixture f;
  MtpCase mc(1);
  auto grad_at = [&](double lambda) {
    TrainModel<double> m(mc.cfg, mc.layout, {.mtp_weight = lambda});
    m.forward(f.ctx, mc.params.data(), mc.batch);
    std::vector<double> g(mc.layout.total, 0.0);
    m.backward(f.ctx, mc.params.data(), g.data());
    return g;
  };
  const auto g0 = grad_at(0.0), g1 = grad_at(kLambda), g2 = grad_at(2 * kLambda);
  for (const char* name : {"model.embed_tokens.weight", "lm_head.weight", "model.norm.weight",
                           "model.layers.0.self_attn.q_a_proj.weight", "model.layers.0.mlp.up_proj.weight"}) {
    const ParamSlot& s = mc.layout.at(name);
    double diff = 0, lin = 0;
    for (int64_t i = s.offset; i < s.offset + s.numel; ++i) {
      diff += (g1[i] - g0[i]) * (g1[i] - g0[i]);
      const double twice = 2 * (g1[i] - g0[i]) - (g2[i] - g0[i]);
      lin += twice * twice;
    }
    EXPECT_GT(std::sqrt(diff), 1e-6) << name;
    EXPECT_LT(std::sqrt(lin), 1e-12 + 1e-9 * std::sqrt(diff)) << name;
  }
}

// The main model's loss does not depend on whether the layout holds the MTP module: the MTP tensors
// are appended, so the main tensors keep their offsets and seeded values.
TEST(MtpGradients, MainLossUnchangedByTheMtpModule) {
  Fixture f;
  MtpCase mc(1);
  const ParamLayout plain = make_param_layout(mc.cfg, false);
  ASSERT_LT(plain.total, mc.layout.total);
  for (const ParamSlot& s : plain.slots) EXPECT_EQ(s.offset, mc.layout.at(s.entry.name).offset) << s.entry.name;
  const std::vector<double> prefix(mc.params.begin(), mc.params.begin() + plain.total);
  TrainModel<double> with(mc.cfg, mc.layout, {.mtp_weight = kLambda}), without(mc.cfg, plain);
  EXPECT_FALSE(without.has_mtp());
  const ForwardResult a = with.forward(f.ctx, mc.params.data(), mc.batch);
  const ForwardResult b = without.forward(f.ctx, prefix.data(), mc.batch);
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_EQ(b.mtp_counted, 0);
  EXPECT_GT(a.mtp_loss, 0.0);
  EXPECT_EQ(a.expert_load.size(), b.expert_load.size() + static_cast<size_t>(mc.cfg.n_routed_experts));
}

// The float model (kernels' gemm) computes the same objective and gradients as the double one.
TEST(MtpGradients, FloatPathAgreesWithDouble) {
  Fixture f;
  MtpCase mc(1);
  TrainModel<double> md(mc.cfg, mc.layout, {.mtp_weight = kLambda});
  TrainModel<float> mf(mc.cfg, mc.layout, {.mtp_weight = kLambda});
  std::vector<float> pf(mc.params.begin(), mc.params.end());
  const ForwardResult rd = md.forward(f.ctx, mc.params.data(), mc.batch);
  const ForwardResult rf = mf.forward(f.ctx, pf.data(), mc.batch);
  constexpr double kLossTol = 1e-5;  // FP32 through ~15 products of length <= 32: ~1e-6 relative
  EXPECT_NEAR(rf.mtp_loss, rd.mtp_loss, kLossTol * std::fabs(rd.mtp_loss));
  std::vector<double> gd(mc.layout.total, 0.0);
  std::vector<float> gf(mc.layout.total, 0.0f);
  md.backward(f.ctx, mc.params.data(), gd.data());
  mf.backward(f.ctx, pf.data(), gf.data());
  double num = 0, den = 0;
  for (int64_t i = 0; i < mc.layout.total; ++i) {
    num += (gf[i] - gd[i]) * (gf[i] - gd[i]);
    den += gd[i] * gd[i];
  }
  EXPECT_LT(std::sqrt(num / den), 1e-4);
  std::printf("float vs double with MTP: mtp loss rel %.3g, gradient rel %.3g\n",
              std::fabs(rf.mtp_loss - rd.mtp_loss) / rd.mtp_loss, std::sqrt(num / den));
}

}  // namespace
}  // namespace radseek::train

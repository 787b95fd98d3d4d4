// The MTP objective end to end: the engine's MTP module computes on an exported checkpoint what the
// trainer's does; a short run with --mtp-weight lowers the MTP loss and exports a module the engine
// loads and drafts with (output identical to plain greedy decoding); --init-from fills the MTP module
// from the checkpoint when it has one and initialises it fresh when not; resume matches a whole run.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "base/numeric.h"
#include "engine/engine.h"
#include "model/model.h"
#include "radiology/synth.h"
#include "train/checkpoint_io.h"
#include "train/tokenizer_files.h"
#include "train/train_model.h"
#include "train/trainer.h"
#include "test_config.h"
#include "train_test_support.h"

namespace radseek::train {
namespace {

std::string temp_dir(const std::string& name) { return testing::scratch_dir("radseek_mtp_", name); }

nlohmann::json mtp_config_json() {
  auto j = testing::tiny_train_config_json();
  j["num_nextn_predict_layers"] = 1;
  return j;
}

// The engine's MTP logits (main forward's hidden_out, then mtp_forward one token at a time, the way
// speculative decoding feeds it) equal the trainer's MTP logits at every position.
TEST(MtpCheckpoint, EngineMtpLogitsEqualTrainerForward) {
  const auto cfgj = mtp_config_json();
  const auto cfg = format::parse_model_config(cfgj.dump(), "mtp config").value();
  const ParamLayout layout = make_param_layout(cfg, true);
  const auto params = init_params(layout, cfg.num_hidden_layers, 11, 0.3);
  const std::string dir = temp_dir("f32");
  ASSERT_TRUE(export_hf_checkpoint({.dir = dir, .config = cfgj, .format = model::WeightFormat::kF32, .layout = &layout,
                                    .params = params.data()}).ok());
  ThreadPool pool(2);
  const kernels::KernelTable kt = kernels::make_kernel_table(kernels::best_supported_isa(kernels::detect_cpu_features()));
  const model::Context ctx{.pool = &pool, .kernels = &kt, .precision = kernels::ActPrecision::kF32,
                           .attention = model::AttentionMode::kNaive};
  auto m = model::Model::load(dir);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_TRUE((*m)->has_mtp());
  const std::vector<int32_t> ids = {0, 5, 9, 3, 17, 23, 2, 8, 8, 1};
  const int64_t T = static_cast<int64_t>(ids.size()), d = cfg.hidden_size, V = cfg.vocab_size;
  auto cache = (*m)->make_cache(32);
  model::Scratch scratch, mtp_scratch;
  std::vector<float> logits(T * V), hidden(T * d), draft(V);
  ASSERT_TRUE((*m)->forward(ctx, {.tokens = ids, .cache = &cache, .scratch = &scratch, .logits = logits.data(),
                                  .rows = model::LogitsRows::kAll, .hidden_out = hidden.data()}).ok());
  TrainModel<float> tm(cfg, layout, {.mtp_weight = 0.3});
  tm.forward(ctx, params.data(), {.B = 1, .S = T, .tokens = ids, .targets = std::vector<int32_t>(ids.size(), 0)});
  ASSERT_EQ(tm.mtp_logits().size(), static_cast<size_t>((T - 1) * V));  // every row but the last predicts i+2
  auto mtp_cache = (*m)->make_mtp_cache(32);
  double worst = 0, scale = 0;
  for (int64_t t = 0; t + 1 < T; ++t) {
    ASSERT_TRUE((*m)->mtp_forward(ctx, {.hidden = hidden.data() + t * d, .tokens = std::span(ids).subspan(t + 1, 1),
                                        .cache = &mtp_cache, .scratch = &mtp_scratch, .logits = draft.data()}).ok());
    for (int64_t v = 0; v < V; ++v) {
      worst = std::max(worst, std::fabs(static_cast<double>(draft[v]) - tm.mtp_logits()[t * V + v]));
      scale = std::max(scale, std::fabs(static_cast<double>(draft[v])));
    }
  }
  constexpr double kF32Tol = 1e-5;  // same FP32 values, different summation order: ~1e-7
  EXPECT_LT(worst / scale, kF32Tol);
  std::printf("engine vs trainer MTP logits, max rel diff %.3g\n", worst / scale);
}

// A byte-level tokenizer and a synthetic-report corpus (as training_test.cpp), with MTP on.
struct MtpRun {
  std::string dir = temp_dir("run");
  nlohmann::json cfg = testing::small_run_config();
  MtpRun() { testing::write_run_corpus(dir); }
  TrainRunOptions options(Stage stage, const std::string& out, int64_t steps, double mtp_weight) const {
    return {.stage = stage, .data = dir + (stage == Stage::kPretrain ? "/pretrain.jsonl" : "/sft.jsonl"),
            .tokenizer_dir = dir + "/tok", .out_dir = out, .config = cfg, .steps = steps, .batch = 4,
            .seq_len = stage == Stage::kPretrain ? 48 : 320,
            .lr = {.peak = 3e-3, .warmup_steps = 3, .total_steps = steps, .min_ratio = 0.1}, .init_std = 0.05,
            .mtp_weight = mtp_weight, .seed = 7, .threads = 2};
  }
};

double mean(const std::vector<double>& v, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += v[i];
  return s / static_cast<double>(to - from);
}

TEST(MtpTraining, MtpLossFallsAndTheEngineDraftsWithTheModule) {
  MtpRun fx;
  auto run = run_training(fx.options(Stage::kPretrain, fx.dir + "/pre", 40, 0.3));
  ASSERT_TRUE(run.ok()) << run.error().message;
  ASSERT_EQ(run->mtp_losses.size(), 40u);
  // Uniform over 264 ids is 5.58 nats; byte statistics two tokens ahead are worth well over a nat.
  EXPECT_GT(run->mtp_losses.front(), 5.0);
  EXPECT_LT(mean(run->mtp_losses, 35, 40), run->mtp_losses.front() - 1.0);
  EXPECT_LT(mean(run->losses, 35, 40), run->losses.front() - 2.0);  // the main objective still trains
  auto e = engine::Engine::load({.model_dir = fx.dir + "/pre", .threads = 2, .isa = {}});
  ASSERT_TRUE(e.ok()) << e.error().message;
  ASSERT_TRUE((*e)->has_mtp());
  auto ids = (*e)->tokenizer()->encode("FINDINGS: The lungs are clear. There is no pleural");
  ASSERT_TRUE(ids.ok());
  const std::vector<int32_t> prompt = *ids;
  engine::GenerateParams p;
  p.max_new_tokens = 40;
  p.ignore_eos = true;
  engine::Session a((*e)->model(), 128), b((*e)->model(), 128);
  auto plain = (*e)->generate(a, prompt, p);
  p.speculation = engine::GenerateParams::Speculation::kMtp;
  auto spec = (*e)->generate(b, prompt, p);
  ASSERT_TRUE(plain.ok() && spec.ok()) << (spec.ok() ? "" : spec.error().message);
  EXPECT_EQ(spec->ids, plain->ids);
  EXPECT_GT(spec->drafted, 0);
  std::printf("mtp loss %.3f -> %.3f, main loss %.3f -> %.3f; engine MTP drafts accepted %lld/%lld\n",
              run->mtp_losses.front(), mean(run->mtp_losses, 35, 40), run->losses.front(), mean(run->losses, 35, 40),
              static_cast<long long>(spec->accepted), static_cast<long long>(spec->drafted));
}

// With a zero learning rate and no bias updates the run exports what it started from, which shows
// where each tensor came from.
TEST(MtpTraining, InitFromLoadsTheMtpModuleWhenPresentAndInitialisesItFreshWhenNot) {
  MtpRun fx;
  ASSERT_TRUE(run_training(fx.options(Stage::kPretrain, fx.dir + "/plain", 2, 0.0)).ok());
  ASSERT_TRUE(run_training(fx.options(Stage::kPretrain, fx.dir + "/with", 2, 0.3)).ok());
  auto frozen = [&](const std::string& from, const std::string& out) {
    auto o = fx.options(Stage::kSft, out, 1, 0.3);
    o.init_from = from;
    o.lr.peak = 0.0;
    o.bias_update_speed = 0.0;
    return run_training(o);
  };
  const auto cfg = format::load_model_config(fx.dir + "/with").value();
  const ParamLayout layout = make_param_layout(cfg, true), plain = make_param_layout(cfg, false);
  // From a checkpoint with a module: every tensor, the module's included, comes from it.
  ASSERT_TRUE(frozen(fx.dir + "/with", fx.dir + "/sft_with").ok());
  EXPECT_EQ(load_hf_params(fx.dir + "/sft_with", layout).value(), load_hf_params(fx.dir + "/with", layout).value());
  // From one without: the main tensors come from it, the module from the seeded initialisation.
  auto r = frozen(fx.dir + "/plain", fx.dir + "/sft_plain");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto got = load_hf_params(fx.dir + "/sft_plain", layout).value();
  const auto main = load_hf_params(fx.dir + "/plain", plain).value();
  EXPECT_TRUE(std::equal(main.begin(), main.end(), got.begin()));
  const auto seeded = init_params(layout, cfg.num_hidden_layers, 7, 0.05);
  for (int64_t i = plain.total; i < layout.total; ++i) ASSERT_EQ(got[i], bf16_round(seeded[i])) << i;
  EXPECT_EQ(r->mtp_losses.size(), 1u);
}

TEST(MtpTraining, ResumedRunMatchesAnUninterruptedOne) {
  MtpRun fx;
  auto whole = run_training(fx.options(Stage::kPretrain, fx.dir + "/whole", 6, 0.3));
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  auto o = fx.options(Stage::kPretrain, fx.dir + "/parts", 6, 0.3);
  o.stop_at = 3;
  ASSERT_TRUE(run_training(o).ok());
  o.stop_at = 0;
  o.resume = true;
  o.config = nlohmann::json();  // as `radseek train --resume`: the architecture comes from the saved run
  auto off = o;
  off.mtp_weight = 0.0;
  EXPECT_FALSE(run_training(off).ok()) << "resuming an MTP run without MTP would drop the module";
  auto rest = run_training(o);
  ASSERT_TRUE(rest.ok()) << rest.error().message;
  ASSERT_EQ(rest->mtp_losses.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(rest->losses[i], whole->losses[3 + i]) << "step " << 4 + i;
    EXPECT_EQ(rest->mtp_losses[i], whole->mtp_losses[3 + i]) << "step " << 4 + i;
  }
  const auto cfg = format::load_model_config(fx.dir + "/whole").value();
  EXPECT_EQ(cfg.num_nextn_predict_layers, 1);
  const ParamLayout layout = make_param_layout(cfg, true);
  EXPECT_EQ(load_trainer_state(fx.dir + "/whole", layout)->params, load_trainer_state(fx.dir + "/parts", layout)->params);
}

}  // namespace
}  // namespace radseek::train

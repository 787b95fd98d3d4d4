// Trained checkpoints through the engine, and short training runs: the engine's logits on an
// exported checkpoint equal the trainer's forward; pretraining and SFT lower the loss; SFT targets
// only the assistant tokens; an interrupted run resumed from its state matches an uninterrupted one.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "base/numeric.h"
#include "model/model.h"
#include "radiology/synth.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint_io.h"
#include "train/data.h"
#include "train/tokenizer_files.h"
#include "train/trainer.h"
#include "test_config.h"
#include "train_test_support.h"

namespace radseek::train {
namespace {

std::string temp_dir(const std::string& name) { return testing::scratch_dir("radseek_training_", name); }

struct Engine {
  ThreadPool pool{2};
  kernels::KernelTable kt = kernels::make_kernel_table(kernels::best_supported_isa(kernels::detect_cpu_features()));
  model::Context ctx{.pool = &pool, .kernels = &kt, .precision = kernels::ActPrecision::kF32,
                     .attention = model::AttentionMode::kNaive};
};

// Max |engine − trainer| over all logits, relative to the largest |logit|.
double engine_vs_trainer(const std::string& dir, const std::vector<float>& params, const ParamLayout& layout,
                         const format::ModelConfig& cfg, const std::vector<int32_t>& ids) {
  Engine e;
  auto m = model::Model::load(dir);
  EXPECT_TRUE(m.ok()) << m.error().message;
  if (!m.ok()) return 1e9;
  auto cache = (*m)->make_cache(64);
  model::Scratch scratch;
  std::vector<float> got(ids.size() * cfg.vocab_size);
  EXPECT_TRUE((*m)->forward(e.ctx, {.tokens = ids, .cache = &cache, .scratch = &scratch, .logits = got.data(),
                                    .rows = model::LogitsRows::kAll, .hidden_out = nullptr}).ok());
  TrainModel<float> tm(cfg, layout);
  const Batch b{.B = 1, .S = static_cast<int64_t>(ids.size()), .tokens = ids, .targets = std::vector<int32_t>(ids.size(), 0)};
  tm.forward(e.ctx, params.data(), b);
  double worst = 0, scale = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    worst = std::max(worst, std::fabs(static_cast<double>(got[i]) - tm.logits()[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(got[i])));
  }
  return worst / scale;
}

TEST(TrainedCheckpoint, EngineLogitsEqualTrainerForward) {
  const auto cfgj = testing::tiny_train_config_json();
  const auto cfg = testing::tiny_train_config();
  const ParamLayout layout = make_param_layout(cfg, false);
  auto params = init_params(layout, cfg.num_hidden_layers, 11, 0.3);
  for (const ParamSlot& s : layout.slots)  // a non-zero bias, so the bias reaches the engine too
    if (s.entry.kind == model::TensorKind::kRouterBias)
      for (int64_t i = 0; i < s.numel; ++i) params[s.offset + i] = 0.05f * static_cast<float>(i % 3);
  const std::vector<int32_t> ids = {0, 5, 9, 3, 17, 23, 2, 8, 8, 1};
  const std::string f32 = temp_dir("f32");
  ASSERT_TRUE(export_hf_checkpoint({.dir = f32, .config = cfgj, .format = model::WeightFormat::kF32, .layout = &layout,
                                    .params = params.data()}).ok());
  // Same FP32 values, different summation order (SIMD gemm, absorbed vs naive is not involved): ~1e-7.
  constexpr double kF32Tol = 1e-5;
  const double f32_err = engine_vs_trainer(f32, params, layout, cfg, ids);
  EXPECT_LT(f32_err, kF32Tol);
  // BF16 export: the engine reads exactly the bf16-rounded values, so compare with those.
  const std::string bf16 = temp_dir("bf16");
  ASSERT_TRUE(export_hf_checkpoint({.dir = bf16, .config = cfgj, .format = model::WeightFormat::kBF16, .layout = &layout,
                                    .params = params.data()}).ok());
  auto rounded = params;  // every tensor is stored in BF16 except the F32 correction bias
  for (const ParamSlot& s : layout.slots)
    if (s.entry.kind != model::TensorKind::kRouterBias)
      for (int64_t i = 0; i < s.numel; ++i) rounded[s.offset + i] = bf16_round(params[s.offset + i]);
  const double bf16_err = engine_vs_trainer(bf16, rounded, layout, cfg, ids);
  EXPECT_LT(bf16_err, kF32Tol);
  // And the checkpoint reads back into the trainer's layout exactly.
  auto back = load_hf_params(bf16, layout);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, rounded);
  std::printf("engine vs trainer logits, max rel diff: f32 %.3g, bf16 %.3g\n", f32_err, bf16_err);
}

// A byte-level tokenizer, a synthetic-report corpus and a small V3 config sized to it.
struct RunFixture {
  std::string dir = temp_dir("run");
  nlohmann::json cfg = testing::small_run_config();
  RunFixture() { testing::write_run_corpus(dir); }
  TrainRunOptions options(Stage stage, const std::string& out, int64_t steps) const {
    return {.stage = stage, .data = dir + (stage == Stage::kPretrain ? "/pretrain.jsonl" : "/sft.jsonl"),
            .tokenizer_dir = dir + "/tok", .out_dir = out, .config = cfg, .steps = steps, .batch = 4, .seq_len = 48,
            .lr = {.peak = 3e-3, .warmup_steps = 3, .total_steps = steps, .min_ratio = 0.1}, .init_std = 0.05,
            .seed = 7, .threads = 2};
  }
};

double mean(const std::vector<double>& v, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += v[i];
  return s / static_cast<double>(to - from);
}

TEST(TrainingRun, PretrainThenSftLowerTheLossAndTheResultLoads) {
  RunFixture fx;
  auto pre = run_training(fx.options(Stage::kPretrain, fx.dir + "/pre", 40));
  ASSERT_TRUE(pre.ok()) << pre.error().message;
  // Uniform guess over 264 ids is ln 264 = 5.58; byte statistics of English-like text alone are
  // worth > 2 nats, reached within these 40 steps.
  EXPECT_GT(pre->losses.front(), 5.0);
  EXPECT_LT(mean(pre->losses, 35, 40), pre->losses.front() - 2.0);
  auto tok = tokenizer::Tokenizer::load(fx.dir + "/pre");  // tokenizer files travel with the checkpoint
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  ASSERT_TRUE(model::Model::load(fx.dir + "/pre").ok());
  auto o = fx.options(Stage::kSft, fx.dir + "/sft", 20);
  o.init_from = fx.dir + "/pre";
  o.seq_len = 320;  // byte-level ids: question + reasoning + answer of a synthetic report
  auto sft = run_training(o);
  ASSERT_TRUE(sft.ok()) << sft.error().message;
  EXPECT_LT(mean(sft->losses, 15, 20), mean(sft->losses, 0, 5));
  std::printf("pretrain loss %.3f -> %.3f; sft loss %.3f -> %.3f\n", pre->losses.front(), mean(pre->losses, 35, 40),
              mean(sft->losses, 0, 5), mean(sft->losses, 15, 20));
}

TEST(TrainingRun, SftTargetsOnlyTheAssistantTokens) {
  RunFixture fx;
  auto tok = tokenizer::Tokenizer::load(fx.dir + "/tok");
  ASSERT_TRUE(tok.ok());
  auto data = load_sft_data(fx.dir + "/sft.jsonl", *tok);
  ASSERT_TRUE(data.ok()) << data.error().message;
  const Example& ex = data->front();
  const int32_t assistant = *tok->token_to_id("<｜Assistant｜>"), think = *tok->token_to_id("<think>");
  const auto a = std::find(ex.tokens.begin(), ex.tokens.end(), assistant) - ex.tokens.begin();
  // The prompt ends "<｜Assistant｜><think>\n"; the first target is the reasoning's first token.
  ASSERT_EQ(ex.tokens[a + 1], think);
  for (int64_t i = 0; i < static_cast<int64_t>(ex.tokens.size()); ++i) EXPECT_EQ(ex.predicted[i], i > a + 2) << i;
  EXPECT_EQ(std::count(ex.tokens.begin(), ex.tokens.end(), think), 1);  // the opener is not repeated
  EXPECT_EQ(ex.tokens.back(), *tok->eos_id());
}

TEST(TrainingRun, SftAnswerTargetsStartAfterTheReasoning) {
  RunFixture fx;
  auto tok = tokenizer::Tokenizer::load(fx.dir + "/tok");
  ASSERT_TRUE(tok.ok());
  auto all = load_sft_data(fx.dir + "/sft.jsonl", *tok);
  auto answer = load_sft_data(fx.dir + "/sft.jsonl", *tok, SftTargets::kAnswer);
  ASSERT_TRUE(all.ok() && answer.ok());
  const int32_t close = *tok->token_to_id("</think>");
  for (size_t n = 0; n < all->size(); ++n) {
    const Example& a = (*all)[n];
    const Example& b = (*answer)[n];
    ASSERT_EQ(a.tokens, b.tokens) << "the cut at </think> must not change the tokenization";
    const auto at = std::find(b.tokens.begin(), b.tokens.end(), close) - b.tokens.begin();
    for (int64_t i = 0; i < static_cast<int64_t>(b.tokens.size()); ++i)
      EXPECT_EQ(b.predicted[i], a.predicted[i] && i > at) << n << " " << i;
  }
}

TEST(TrainingRun, ResumedRunMatchesAnUninterruptedOne) {
  RunFixture fx;
  auto whole = run_training(fx.options(Stage::kPretrain, fx.dir + "/whole", 8));
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  auto o = fx.options(Stage::kPretrain, fx.dir + "/parts", 8);
  o.stop_at = 4;
  ASSERT_TRUE(run_training(o).ok());
  o.stop_at = 0;
  o.resume = true;
  o.config = nlohmann::json();  // as `radseek train --resume`: the architecture comes from the saved run
  auto rest = run_training(o);
  ASSERT_TRUE(rest.ok()) << rest.error().message;
  ASSERT_EQ(rest->losses.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(rest->losses[i], whole->losses[4 + i]) << "step " << 5 + i;
  const auto cfg = format::load_model_config(fx.dir + "/whole").value();
  const ParamLayout layout = make_param_layout(cfg, false);
  EXPECT_EQ(load_trainer_state(fx.dir + "/whole", layout)->params, load_trainer_state(fx.dir + "/parts", layout)->params);
}

}  // namespace
}  // namespace radseek::train

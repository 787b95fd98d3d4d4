// Oracle: tiny random checkpoints written in the official layout by the test itself; the model is
// checked against itself in forms that must agree (absorbed vs naive MLA, cached decode vs full
// recompute, sharded vs single file, FP8 vs the BF16 values it was quantised from).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

#include "engine/engine.h"
#include "model/causal_lm.h"
#include "model/checkpoint_gen.h"
#include "model/manifest.h"

namespace radseek {
namespace {

namespace fs = std::filesystem;

// Absorbed and naive MLA are the same math in a different order of f32 operations.
constexpr double kFormAgreementTol = 2e-4;
// A step through the cache repeats the same operations as the full recompute, up to summation order.
constexpr double kIncrementalTol = 2e-4;

std::string temp_dir(const std::string& name) {
  return (fs::temp_directory_path() / ("radseek_model_test_" + std::to_string(::getpid())) / name).string();
}

std::string make_checkpoint(const std::string& preset, model::WeightFormat f, size_t shard = size_t{4} << 30) {
  const std::string dir = temp_dir(preset + (f == model::WeightFormat::kFP8 ? "_fp8" : "_bf16") + std::to_string(shard));
  if (fs::exists(dir + "/config.json")) return dir;
  auto cfg = model::preset_config(preset);
  EXPECT_TRUE(cfg.ok());
  auto st = model::write_random_checkpoint({.dir = dir, .config = *cfg, .format = f, .seed = 7, .max_shard_bytes = shard});
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
  return dir;
}

std::unique_ptr<engine::Engine> load(const std::string& dir, model::AttentionMode m) {
  auto e = engine::Engine::load({.model_dir = dir, .threads = 2, .attention = m});
  EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().message);
  return e.ok() ? std::move(*e) : nullptr;
}

std::vector<float> all_logits(const engine::Engine& e, const std::vector<int32_t>& ids) {
  const int64_t V = e.model().config().vocab_size, T = static_cast<int64_t>(ids.size());
  engine::Session s(e.model(), T);
  std::vector<float> out(static_cast<size_t>(T * V));
  auto st = e.model().forward(e.context(), {.tokens = ids, .cache = &s.cache(), .scratch = &s.scratch(),
                                            .logits = out.data(), .rows = model::LogitsRows::kAll});
  EXPECT_TRUE(st.ok());
  return out;
}

std::vector<int32_t> some_ids(int n, int vocab) {
  std::vector<int32_t> ids;
  for (int i = 0; i < n; ++i) ids.push_back((i * 37 + 11) % vocab);
  return ids;
}

// Removes this process's generated checkpoints when the tests end.
class TempDirCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(fs::path(temp_dir("")).parent_path(), ec);
  }
};
const ::testing::Environment* const kCleanup = ::testing::AddGlobalTestEnvironment(new TempDirCleanup);

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, static_cast<double>(std::fabs(a[i] - b[i])));
  return m;
}

class TinyModelTest : public ::testing::TestWithParam<std::tuple<std::string, model::WeightFormat>> {
 protected:
  std::string dir() { return make_checkpoint(std::get<0>(GetParam()), std::get<1>(GetParam())); }
};

TEST_P(TinyModelTest, AbsorbedAndNaiveMlaAgree) {
  auto a = load(dir(), model::AttentionMode::kAbsorbed), n = load(dir(), model::AttentionMode::kNaive);
  ASSERT_TRUE(a && n);
  const auto ids = some_ids(40, 512);
  EXPECT_LE(max_abs_diff(all_logits(*a, ids), all_logits(*n, ids)), kFormAgreementTol);
}

TEST_P(TinyModelTest, IncrementalDecodeEqualsFullRecompute) {
  for (auto mode : {model::AttentionMode::kAbsorbed, model::AttentionMode::kNaive}) {
    auto e = load(dir(), mode);
    ASSERT_TRUE(e);
    const auto ids = some_ids(30, 512);
    const auto full = all_logits(*e, ids);
    const int64_t V = 512;
    engine::Session s(e->model(), 30);
    // Prefill 17 tokens in one step, then one token per step through the cache.
    ASSERT_TRUE(e->feed(s, std::span(ids).first(17)).ok());
    std::vector<float> last(s.last_logits(), s.last_logits() + V);
    std::vector<float> want(full.begin() + 16 * V, full.begin() + 17 * V);
    EXPECT_LE(max_abs_diff(last, want), kIncrementalTol);
    for (int t = 17; t < 30; ++t) {
      ASSERT_TRUE(e->feed(s, std::span(ids).subspan(t, 1)).ok());
      std::vector<float> got(s.last_logits(), s.last_logits() + V);
      std::vector<float> ref(full.begin() + t * V, full.begin() + (t + 1) * V);
      ASSERT_LE(max_abs_diff(got, ref), kIncrementalTol) << "position " << t;
    }
  }
}

// The decompressed form runs blocks of model::kAttnQueryBlock queries per head: a prompt of 45 tokens
// after 20 cached ones takes two blocks (the second partial) whose causal lengths start past the
// cache; its last row must equal the absorbed form's full recomputation (the absorbed form as the
// reference, so a fault the naive form would repeat in both runs still shows).
TEST_P(TinyModelTest, NaiveBlocksAfterACachedPrefixEqualFullRecompute) {
  auto e = load(dir(), model::AttentionMode::kNaive), ref = load(dir(), model::AttentionMode::kAbsorbed);
  ASSERT_TRUE(e && ref);
  constexpr int64_t kPrefix = 20, kLen = 65, V = 512;
  static_assert(kLen - kPrefix > model::kAttnQueryBlock);
  const auto ids = some_ids(kLen, V);
  const auto full = all_logits(*ref, ids);
  engine::Session s(e->model(), kLen);
  ASSERT_TRUE(e->feed(s, std::span(ids).first(kPrefix)).ok());
  ASSERT_TRUE(e->feed(s, std::span(ids).subspan(kPrefix)).ok());
  std::vector<float> last(s.last_logits(), s.last_logits() + V);
  std::vector<float> want(full.end() - V, full.end());
  EXPECT_LE(max_abs_diff(last, want), kFormAgreementTol);
}

// A prompt longer than model::kMoeBatchMaxTokens runs its routed experts one at a time, shorter
// steps batch them all (Model::experts_batched); both reuse the gathered-input rows for the expert
// outputs. The same tokens in one long step and in two batched steps give the same last logits.
TEST_P(TinyModelTest, LongPromptExpertsEqualBatchedSteps) {
  auto e = load(dir(), model::AttentionMode::kAuto);
  ASSERT_TRUE(e);
  constexpr int64_t kLen = model::kMoeBatchMaxTokens + 40, kFirst = kLen / 2, V = 512;
  const auto ids = some_ids(kLen, V);
  engine::Session one(e->model(), kLen), two(e->model(), kLen);
  ASSERT_TRUE(e->feed(one, ids).ok());
  ASSERT_TRUE(e->feed(two, std::span(ids).first(kFirst)).ok());
  ASSERT_TRUE(e->feed(two, std::span(ids).subspan(kFirst)).ok());
  const std::vector<float> a(one.last_logits(), one.last_logits() + V), b(two.last_logits(), two.last_logits() + V);
  EXPECT_LE(max_abs_diff(a, b), kIncrementalTol);
}

// Absorbed attention reads bf16/fp8 cache rows in place: a small cache layer whole per query vector,
// a larger one (past model::kFusedMaxBytes) in chunks merged afterwards; the decompressed form
// decodes the same stored rows to f32. From the same cache contents, both forms give the same logits
// for every cache type, on both paths (the tiny models' rows are 448/224/112 bytes in f32/bf16/fp8:
// chunked from 586/1171/2341 rows), for multi-row steps (as speculative verification feeds) and single
// rows; and the chunks merge to the same bits with one thread as with two. Each check starts from one
// stored prefix: run separately, the forms' ~1e-6 differences move some values across a bf16/fp8
// rounding boundary, and later tokens read those (seen: 2e-4 to 3e-3 in every later logit).
TEST_P(TinyModelTest, AbsorbedReadsEveryCacheTypeInPlace) {
  constexpr int64_t kLen = 2400;
  const auto ids = some_ids(kLen, 512);
  const int64_t V = 512;
  for (model::KvDtype d : {model::KvDtype::kF32, model::KvDtype::kBF16, model::KvDtype::kFP8}) {
    std::vector<std::unique_ptr<engine::Engine>> engines;  // absorbed, naive, absorbed on one thread
    for (auto [mode, threads] : {std::pair{model::AttentionMode::kAbsorbed, 2}, std::pair{model::AttentionMode::kNaive, 2},
                                 std::pair{model::AttentionMode::kAbsorbed, 1}}) {
      auto e = engine::Engine::load({.model_dir = dir(), .threads = threads, .attention = mode, .kv_cache = d});
      ASSERT_TRUE(e.ok()) << e.error().message;
      engines.push_back(std::move(*e));
    }
    engine::Session prefix(engines[1]->model(), kLen);
    ASSERT_TRUE(engines[1]->feed(prefix, std::span(ids).first(kLen - 4)).ok());
    for (auto [p, step] : {std::pair{40, 3}, std::pair{100, 1}, std::pair{1300, 3}, std::pair{2350, 1}, std::pair{2390, 3}}) {
      std::vector<std::vector<float>> out;
      for (const auto& e : engines) {
        engine::Session s(e->model(), kLen);
        ASSERT_TRUE(s.copy_prefix_from(prefix, p).ok());
        std::vector<float> rows(static_cast<size_t>(step * V));  // every row of the step: each sees its own prefix
        ASSERT_TRUE(e->model().forward(e->context(), {.tokens = std::span(ids).subspan(p, step), .cache = &s.cache(),
                                                      .scratch = &s.scratch(), .logits = rows.data(),
                                                      .rows = model::LogitsRows::kAll}).ok());
        out.push_back(std::move(rows));
      }
      EXPECT_LE(max_abs_diff(out[0], out[1]), kFormAgreementTol) << model::kv_dtype_name(d) << " at " << p;
      EXPECT_EQ(out[0], out[2]) << model::kv_dtype_name(d) << " at " << p << ": the result depends on the thread count";
    }
  }
}

TEST_P(TinyModelTest, LoaderConsumesExactlyTheManifest) {
  auto cfg = format::load_model_config(dir());
  ASSERT_TRUE(cfg.ok());
  auto ck = format::Checkpoint::open(dir());
  ASSERT_TRUE(ck.ok());
  std::set<std::string> names;
  for (const auto& e : model::tensor_manifest(*cfg, true)) names.insert(e.name);
  for (const auto& [name, t] : ck->tensors())
    if (name.find("_scale_inv") == std::string::npos) {
      EXPECT_TRUE(names.count(name)) << name;
    }
  auto w = model::load_weights(*ck, *cfg);
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(static_cast<int64_t>(w->mtp.size()), cfg->num_nextn_predict_layers);
}

INSTANTIATE_TEST_SUITE_P(Presets, TinyModelTest,
                         ::testing::Combine(::testing::Values("tiny-v3", "tiny-v2"),
                                            ::testing::Values(model::WeightFormat::kBF16, model::WeightFormat::kFP8)));

TEST(TinyModel, ShardedCheckpointGivesTheSameLogits) {
  const std::string one = make_checkpoint("tiny-v3", model::WeightFormat::kFP8);
  const std::string many = make_checkpoint("tiny-v3", model::WeightFormat::kFP8, 200000);
  ASSERT_TRUE(fs::exists(many + "/model.safetensors.index.json"));
  auto a = load(one, model::AttentionMode::kAuto), b = load(many, model::AttentionMode::kAuto);
  ASSERT_TRUE(a && b);
  const auto ids = some_ids(12, 512);
  EXPECT_EQ(max_abs_diff(all_logits(*a, ids), all_logits(*b, ids)), 0.0);
}

TEST(TinyModel, Fp8WeightsStayOneBytePerParameter) {
  auto e = load(make_checkpoint("tiny-v3", model::WeightFormat::kFP8), model::AttentionMode::kAuto);
  ASSERT_TRUE(e);
  const auto* m = dynamic_cast<const model::Model*>(&e->model());
  ASSERT_TRUE(m);
  const auto& w = m->weights();
  EXPECT_EQ(w.layers[1].attn.q_b_proj->dtype, DType::kF8E4M3);
  EXPECT_EQ(w.layers[1].moe->experts[0].gate_proj.dtype, DType::kF8E4M3);
  EXPECT_EQ(w.layers[1].moe->gate.dtype, DType::kBF16);  // the router is not quantised
}

// Engine::load prepares the model: where the kernels read WeightMatrix::fp8_flags every FP8 matrix gets
// the reference's flags, and the logits equal those of the same checkpoint loaded without them.
TEST(TinyModel, PreparedFp8FlagsMatchTheReferenceAndChangeNoLogit) {
  const std::string dir = make_checkpoint("tiny-v3", model::WeightFormat::kFP8);
  auto e = load(dir, model::AttentionMode::kAuto);
  ASSERT_TRUE(e);
  if (!e->context().kernels->gemm_reads_fp8_flags) GTEST_SKIP() << "this CPU's gemm does not read fp8_flags";
  const auto* m = dynamic_cast<const model::Model*>(&e->model());
  ASSERT_TRUE(m);
  std::vector<const kernels::WeightMatrix*> fp8;
  for (const model::LayerWeights& l : m->weights().layers) {
    for (const auto* w : {&l.attn.kv_a_proj_with_mqa, &l.attn.kv_b_proj, &l.attn.o_proj}) fp8.push_back(w);
    if (l.attn.q_b_proj) fp8.push_back(&*l.attn.q_b_proj);
    if (l.moe)
      for (const model::MlpWeights& x : l.moe->experts) fp8.insert(fp8.end(), {&x.gate_proj, &x.up_proj, &x.down_proj});
  }
  int flagged = 0;
  for (const kernels::WeightMatrix* w : fp8) {
    ASSERT_EQ(w->dtype, DType::kF8E4M3);
    ASSERT_NE(w->fp8_flags, nullptr) << w->rows << "x" << w->cols;
    std::vector<uint8_t> want(static_cast<size_t>(kernels::fp8_flags_bytes(*w)));
    kernels::reference_kernels().fp8_flags({.w = w, .row_begin = 0, .row_end = w->rows, .flags = want.data()});
    EXPECT_TRUE(std::equal(want.begin(), want.end(), w->fp8_flags));
    ++flagged;
  }
  EXPECT_GT(flagged, 10);
  auto plain = model::load_causal_lm(dir);  // not prepared: the kernel tests every code itself
  ASSERT_TRUE(plain.ok());
  const auto ids = some_ids(6, 512);
  const int64_t V = 512, T = 6;
  engine::Session s(**plain, T);
  std::vector<float> got(static_cast<size_t>(T * V));
  ASSERT_TRUE((*plain)->forward(e->context(), {.tokens = ids, .cache = &s.cache(), .scratch = &s.scratch(),
                                                .logits = got.data(), .rows = model::LogitsRows::kAll}).ok());
  EXPECT_EQ(max_abs_diff(all_logits(*e, ids), got), 0.0);
}

// bench's matmul-rate probe multiplies CausalLM::representative_weight: a routed expert's matrix in
// the checkpoint's own format (a BF16 probe had rated integer prefill at 170-230% of "the" rate).
TEST(TinyModel, RepresentativeWeightIsARoutedExpertInTheStoredFormat) {
  for (auto fmt : {model::WeightFormat::kFP8, model::WeightFormat::kBF16}) {
    auto e = load(make_checkpoint("tiny-v3", fmt), model::AttentionMode::kAuto);
    ASSERT_TRUE(e);
    const auto* m = dynamic_cast<const model::Model*>(&e->model());
    ASSERT_TRUE(m);
    const kernels::WeightMatrix& w = m->representative_weight();
    EXPECT_EQ(&w, &m->weights().layers.back().moe->experts.front().gate_proj);
    EXPECT_EQ(w.dtype, fmt == model::WeightFormat::kFP8 ? DType::kF8E4M3 : DType::kBF16);
  }
}

TEST(TinyModel, Fp8IsCloseToTheValuesItWasQuantisedFrom) {
  auto b = load(make_checkpoint("tiny-v2", model::WeightFormat::kBF16), model::AttentionMode::kAuto);
  auto f = load(make_checkpoint("tiny-v2", model::WeightFormat::kFP8), model::AttentionMode::kAuto);
  ASSERT_TRUE(b && f);
  const auto ids = some_ids(8, 512);
  const auto lb = all_logits(*b, ids), lf = all_logits(*f, ids);
  double num = 0, den = 0;
  for (size_t i = 0; i < lb.size(); ++i) {
    num += (lb[i] - lf[i]) * (lb[i] - lf[i]);
    den += lb[i] * lb[i];
  }
  // e4m3 keeps 3 mantissa bits: a few percent relative error per weight, averaged over products.
  EXPECT_LT(std::sqrt(num / den), 0.15);
  EXPECT_GT(std::sqrt(num / den), 0.0);
}

}  // namespace
}  // namespace radseek

namespace radseek {
namespace {

// Speculative decoding must not change the output: every emitted token is the main model's choice.
TEST(MtpSpeculation, GreedyOutputEqualsPlainDecoding) {
  for (const char* c : {"v3_bf16", "v3_fp8"}) {
    auto e = engine::Engine::load({.model_dir = std::string(RADSEEK_TEST_DATA) + "/golden/" + c, .threads = 2});
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE((*e)->has_mtp());
    const std::vector<int32_t> prompt = {0, 17, 301, 5, 999, 42, 7};
    engine::GenerateParams p;
    p.max_new_tokens = 40;
    p.ignore_eos = true;
    engine::Session a((*e)->model(), 64), b((*e)->model(), 64);
    auto plain = (*e)->generate(a, prompt, p);
    p.speculation = engine::GenerateParams::Speculation::kMtp;
    auto spec = (*e)->generate(b, prompt, p);
    ASSERT_TRUE(plain.ok() && spec.ok()) << (spec.ok() ? "" : spec.error().message);
    EXPECT_EQ(spec->ids, plain->ids) << c;
    EXPECT_GT(spec->drafted, 0);
    EXPECT_EQ(b.length(), a.length()) << "the cache must hold exactly the accepted tokens";
  }
}

// Prompt-lookup drafts are often right once a random model falls into a loop, which exercises the
// accept path (two tokens per step) as well as the reject path.
TEST(MtpSpeculation, NgramDraftsAreAcceptedAndChangeNothing) {
  auto e = engine::Engine::load({.model_dir = std::string(RADSEEK_TEST_DATA) + "/golden/v2lite_bf16", .threads = 2});
  ASSERT_TRUE(e.ok());
  const std::vector<int32_t> prompt = {0, 17, 301, 5, 17, 301, 5, 17};
  engine::GenerateParams p;
  p.max_new_tokens = 60;
  p.ignore_eos = true;
  engine::Session a((*e)->model(), 80), b((*e)->model(), 80);
  auto plain = (*e)->generate(a, prompt, p);
  p.speculation = engine::GenerateParams::Speculation::kNgram;
  auto spec = (*e)->generate(b, prompt, p);
  ASSERT_TRUE(plain.ok() && spec.ok());
  EXPECT_EQ(spec->ids, plain->ids);
  EXPECT_GT(spec->accepted, 0) << "no draft accepted: the accept path went untested";
  EXPECT_LT(spec->forward_steps, static_cast<int64_t>(plain->ids.size()) - 1);
  EXPECT_EQ(b.length(), a.length());
}

// Stopped by the caller after any token (classify stops when its format is complete, then feeds
// the next phase): the cache then holds what plain decoding's would — the last emitted token not
// yet fed — whether that token was an accepted draft or a verified one.
TEST(MtpSpeculation, StoppingAfterAnyTokenLeavesTheCacheAsPlainDecodingDoes) {
  auto e = engine::Engine::load({.model_dir = std::string(RADSEEK_TEST_DATA) + "/golden/v2lite_bf16", .threads = 2});
  ASSERT_TRUE(e.ok());
  const std::vector<int32_t> prompt = {0, 17, 301, 5, 17, 301, 5, 17};
  int64_t accepted = 0;
  for (int stop_after = 1; stop_after <= 24; ++stop_after) {
    engine::GenerateParams p;
    p.max_new_tokens = 60;
    p.ignore_eos = true;
    int n = 0;
    p.on_token = [&](int32_t) { return ++n < stop_after; };
    engine::Session a((*e)->model(), 80), b((*e)->model(), 80);
    auto plain = (*e)->generate(a, prompt, p);
    n = 0;
    p.speculation = engine::GenerateParams::Speculation::kNgram;
    auto spec = (*e)->generate(b, prompt, p);
    ASSERT_TRUE(plain.ok() && spec.ok());
    EXPECT_EQ(spec->ids, plain->ids) << stop_after;
    EXPECT_EQ(b.length(), a.length()) << "stopped after " << stop_after << " tokens";
    accepted += spec->accepted;
  }
  EXPECT_GT(accepted, 0);
}

// A second generate on a session that already holds a turn (classify's answer after its
// reasoning): drafting starts from this call's tokens and the output is plain decoding's.
TEST(MtpSpeculation, ContinuingASessionEqualsPlainDecoding) {
  auto e = engine::Engine::load({.model_dir = std::string(RADSEEK_TEST_DATA) + "/golden/v3_fp8", .threads = 2});
  ASSERT_TRUE(e.ok());
  const std::vector<int32_t> first = {0, 17, 301, 5, 999, 42, 7, 8, 9, 10, 11}, second = {33, 44};
  engine::GenerateParams p;
  p.max_new_tokens = 24;
  p.ignore_eos = true;
  engine::Session a((*e)->model(), 64), b((*e)->model(), 64);
  ASSERT_TRUE((*e)->feed(a, first).ok());
  ASSERT_TRUE((*e)->feed(b, first).ok());
  auto plain = (*e)->generate(a, second, p);
  p.speculation = engine::GenerateParams::Speculation::kMtp;
  auto spec = (*e)->generate(b, second, p);
  ASSERT_TRUE(plain.ok() && spec.ok()) << (spec.ok() ? "" : spec.error().message);
  EXPECT_EQ(spec->ids, plain->ids);
  EXPECT_GT(spec->drafted, 0);
  EXPECT_EQ(b.length(), a.length());
}

TEST(MtpSpeculation, RefusedWithoutMtpModule) {
  auto e = engine::Engine::load({.model_dir = std::string(RADSEEK_TEST_DATA) + "/golden/v2lite_bf16", .threads = 1});
  ASSERT_TRUE(e.ok());
  engine::Session s((*e)->model(), 16);
  engine::GenerateParams p;
  p.speculation = engine::GenerateParams::Speculation::kMtp;
  const std::vector<int32_t> prompt = {0, 3};
  EXPECT_FALSE((*e)->generate(s, prompt, p).ok());
}

}  // namespace
}  // namespace radseek

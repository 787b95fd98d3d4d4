// A GGUF file and the safetensors folder of the same tiny random weights give the same logprobs
// (engine score) within the error of the GGUF weight type; the split kv_b form of deepseek2 and
// llama's q/k permutation are undone correctly; the GGUF tokenizer equals the folder's; malformed
// files get errors naming the key or tensor. The GGUF side is written by the test converter
// (gguf_convert.h), which mirrors llama.cpp's converter.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "format/gguf_model.h"
#include "gguf_convert.h"
#include "model/checkpoint_gen.h"
#include "base/mapped_file.h"
#include "train/tokenizer_files.h"

namespace radseek::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Max |Δ next-token logprob| over the scored positions, FP32 activations.
// Same values (GGUF F32 vs the BF16 folder: BF16 → F32 is exact; a quantised GGUF vs an F32 folder
// holding its dequantised values, gguf_roundtrip): only the kernels' summation order differs, so a
// few f32 ulps per product; 2e-4 on logprobs of ~−6 leaves margin for the 24-position attention.
constexpr double kTolSameValues = 2e-4;
// GGUF BF16 vs the BF16 folder: the very same values, so kTolSameValues.
// GGUF F16 vs the BF16 folder: BF16 values are exact in F16 except below F16's normal range (~6e-5),
// which random weights of std ~0.02 rarely reach.
constexpr double kTolF16 = 2e-3;
// int8 activations (bf16 precision: the integer kernels) vs the same weights at FP32 activations:
// 8-bit activation rounding per 32/256 columns, ~0.4% relative per product: measured ≤ 0.075 on
// these models except tiny-qwen3 (0.2), whose per-head q/k RMSNorms make random-weight attention
// scores large and the softmax sharp.
constexpr double kTolInt8Acts = 0.4;
// The same as a median over positions, for the MoE presets too: with kv_b_proj dequantised at load
// (exact), tiny-v3 Q8_0 measured max 0.50 at one position and median 0.031 — a near-tied expert
// choice flipping there; medians measured 0.006–0.067 (tiny-qwen3 the largest).
constexpr double kTolInt8ActsMedian = 0.15;

std::string temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("radseek_gguf_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

// A folder of random BF16 weights for a preset (with `overrides`) plus a byte-level tokenizer.
std::string make_folder(const std::string& preset, const json& overrides) {
  const std::string dir = temp_dir(preset + std::to_string(std::hash<std::string>()(overrides.dump()) % 10000));
  auto cfg = model::preset_config(preset);
  EXPECT_TRUE(cfg.ok());
  cfg->update(overrides);
  const Status st = model::write_random_checkpoint({.dir = dir, .config = *cfg, .seed = 7});
  EXPECT_TRUE(st.ok()) << st.error().message;
  const Status tk = train::write_byte_level_tokenizer(dir);
  EXPECT_TRUE(tk.ok()) << tk.error().message;
  return dir;
}

std::string make_gguf(const std::string& dir, GgufWeights w, bool split = false, const std::string& tag = "") {
  const std::string out = dir + "/model" + tag + "_" + std::to_string(static_cast<int>(w)) + (split ? "_split" : "") + ".gguf";
  const Status st = convert_to_gguf({.hf_dir = dir, .out_path = out, .weights = w, .split_kv_b = split});
  EXPECT_TRUE(st.ok()) << st.error().message;
  return out;
}

Expected<std::unique_ptr<engine::Engine>> load(const std::string& model, int threads,
                                               kernels::ActPrecision p = kernels::ActPrecision::kF32,
                                               model::AttentionMode attention = model::AttentionMode::kAuto) {
  engine::EngineOptions o;
  o.model_dir = model;
  o.threads = threads;
  o.precision = p;
  o.attention = attention;
  return engine::Engine::load(o);
}

// An F32 folder next to `dir` with exactly the weights a GGUF of type `w` decodes to.
std::string make_dequantised_folder(const std::string& dir, GgufWeights w) {
  const std::string out = dir + "_deq" + std::to_string(static_cast<int>(w));
  fs::remove_all(out);
  auto ck = format::Checkpoint::open(dir);
  EXPECT_TRUE(ck.ok());
  auto text = read_text_file(dir + "/config.json");
  EXPECT_TRUE(text.ok());
  const Status st = model::write_checkpoint_values(
      {.dir = out, .config = json::parse(*text), .format = model::WeightFormat::kF32, .include_mtp = true,
       .max_shard_bytes = size_t{4} << 30,
       .values = [&](size_t, const model::ManifestEntry& e, std::vector<float>& v) {
         const format::TensorInfo* t = ck->find(e.name);
         v = tensor_values(*t);
         const bool matrix = e.shape.size() == 2 && !e.name.ends_with("mlp.gate.weight");
         if (matrix) v = gguf_roundtrip(v, e.shape[1], w, true);
       },
       .progress = nullptr});
  EXPECT_TRUE(st.ok()) << st.error().message;
  return out;
}

std::vector<double> logprobs(const std::string& model, kernels::ActPrecision p = kernels::ActPrecision::kF32,
                             model::AttentionMode attention = model::AttentionMode::kAuto) {
  auto e = load(model, 2, p, attention);
  EXPECT_TRUE(e.ok()) << e.error().message;
  if (!e.ok()) return {};
  std::mt19937 rng(3);
  std::vector<int32_t> ids(24);
  for (int32_t& id : ids) id = static_cast<int32_t>(rng() % 256 + 2);
  auto s = (*e)->score(ids, 0);
  EXPECT_TRUE(s.ok()) << s.error().message;
  std::vector<double> out;
  for (const auto& ps : *s)
    if (ps.next_id) out.push_back(ps.next_logprob);
  return out;
}

// The median over positions of |a - b|: robust to the one position where a near-tied expert choice
// of a random MoE checkpoint flips under a small perturbation (a step of up to ~0.5 in logprob there).
double median_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  std::vector<double> d;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) d.push_back(std::fabs(a[i] - b[i]));
  if (d.empty()) return INFINITY;
  std::nth_element(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(d.size() / 2), d.end());
  return d[d.size() / 2];
}

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = a.size() == b.size() ? 0.0 : INFINITY;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

class GgufMatchesFolder : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufMatchesFolder, SameWeightsSameLogprobs) {
  const std::string dir = make_folder(GetParam(), json::object());
  const auto want = logprobs(dir);
  ASSERT_FALSE(want.empty());
  EXPECT_LE(max_diff(logprobs(make_gguf(dir, GgufWeights::kF32)), want), kTolSameValues) << "F32";
  EXPECT_LE(max_diff(logprobs(make_gguf(dir, GgufWeights::kF16)), want), kTolF16) << "F16";
  EXPECT_LE(max_diff(logprobs(make_gguf(dir, GgufWeights::kBF16)), want), kTolSameValues) << "BF16";
  for (GgufWeights w : {GgufWeights::kQ8_0, GgufWeights::kQ4_0, GgufWeights::kQ5_0, GgufWeights::kQ4_1, GgufWeights::kQ5_1}) {
    const std::string deq = make_dequantised_folder(dir, w);
    const std::string gguf = make_gguf(dir, w);
    const auto same = logprobs(deq), got = logprobs(gguf);
    const double d = max_diff(got, same), vs_bf16 = max_diff(got, want);
    const char* name = w == GgufWeights::kQ8_0   ? "Q8_0"
                       : w == GgufWeights::kQ4_0 ? "Q4_0"
                       : w == GgufWeights::kQ5_0 ? "Q5_0"
                       : w == GgufWeights::kQ4_1 ? "Q4_1"
                                                 : "Q5_1";
    EXPECT_LE(d, kTolSameValues) << name;
    const auto int8 = logprobs(gguf, kernels::ActPrecision::kBF16);
    const double di = max_diff(int8, same), dm = median_diff(int8, same);
    EXPECT_LE(dm, kTolInt8ActsMedian) << "int8 activations";
    std::printf("[ gguf ] %s %s: vs its dequantised weights %.3g (int8 acts max %.3g, median %.3g); vs the BF16 folder %.3g\n",
                GetParam().c_str(), name, d, di, dm, vs_bf16);
    fs::remove_all(deq);
  }
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Presets, GgufMatchesFolder,
                         ::testing::Values("tiny-llama", "tiny-qwen2", "tiny-qwen3", "tiny-v2", "tiny-v3"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& ch : s) if (ch == '-') ch = '_';
                           return s;
                         });

// k-quants need rows of 256: the dense tiny models widened.
TEST(GgufKQuants, Q4KQ5KAndQ6KOnWiderModels) {
  const json wide = {{"hidden_size", 256}, {"intermediate_size", 512}, {"num_attention_heads", 4}, {"num_key_value_heads", 2}};
  for (const char* preset : {"tiny-llama", "tiny-qwen2"}) {
    const std::string dir = make_folder(preset, wide);
    for (GgufWeights w : {GgufWeights::kQ4_K, GgufWeights::kQ5_K, GgufWeights::kQ6_K}) {
      const char* name = w == GgufWeights::kQ4_K ? "Q4_K" : w == GgufWeights::kQ5_K ? "Q5_K" : "Q6_K";
      const std::string deq = make_dequantised_folder(dir, w), gguf = make_gguf(dir, w);
      const auto same = logprobs(deq);
      const double d = max_diff(logprobs(gguf), same), di = max_diff(logprobs(gguf, kernels::ActPrecision::kBF16), same);
      EXPECT_LE(d, kTolSameValues) << preset << " " << name;
      EXPECT_LE(di, kTolInt8Acts) << preset << " " << name << " int8 activations";
      std::printf("[ gguf ] %s %s: vs its dequantised weights %.3g (int8 acts %.3g); vs BF16 %.3g\n", preset,
                  name, d, di, max_diff(logprobs(gguf), logprobs(dir)));
      fs::remove_all(deq);
    }
    fs::remove_all(dir);
  }
}

TEST(GgufDeepseek, SplitKvBMatchesFolder) {
  for (const char* preset : {"tiny-v3", "tiny-v2"}) {
    const std::string dir = make_folder(preset, json::object());
    const auto want = logprobs(dir);
    // F32 and BF16 only: the split stores W_UK transposed, so a quantised attn_k_b has other blocks than
    // the folder's rows (its kernels are covered by the unsplit tests and tests/kernels).
    const std::string split_f32 = make_gguf(dir, GgufWeights::kF32, true);
    const double f = max_diff(logprobs(split_f32), want);
    EXPECT_LE(f, kTolSameValues) << preset << " split F32";
    // Both MLA forms: decode reads attn_k_b / attn_v_b as stored (absorbed); a prompt decompresses the
    // cache through the kv_b_proj rebuilt from them at load (W_UK transposed back per head).
    for (auto mode : {model::AttentionMode::kAbsorbed, model::AttentionMode::kNaive}) {
      const double m = max_diff(logprobs(split_f32, kernels::ActPrecision::kF32, mode), want);
      EXPECT_LE(m, kTolSameValues) << preset << " split F32, " << (mode == model::AttentionMode::kNaive ? "naive" : "absorbed");
    }
    // BF16 keeps the folder's values exactly, transposed or not.
    const double b = max_diff(logprobs(make_gguf(dir, GgufWeights::kBF16, true)), want);
    EXPECT_LE(b, kTolSameValues) << preset << " split BF16";
    // Split and quantised: loads and runs; same model within Q8_0 error of the attention weights is
    // checked loosely (finite).
    const std::string q8 = make_gguf(dir, GgufWeights::kQ8_0, true);
    const auto q = logprobs(q8);
    ASSERT_EQ(q.size(), want.size());
    for (double v : q) EXPECT_TRUE(std::isfinite(v));
    // At kBF16 the absorbed form reads attn_k_b / attn_v_b as stored, with int8 activations; the naive
    // form still decompresses through the exact f32 copy. Both see the same int8 products elsewhere,
    // so they differ by the int8 rounding of q_nope and of the latent output alone.
    const auto qa = logprobs(q8, kernels::ActPrecision::kBF16, model::AttentionMode::kAbsorbed);
    const auto qn = logprobs(q8, kernels::ActPrecision::kBF16, model::AttentionMode::kNaive);
    // The median: tiny-v3's max (0.38) is one near-tied expert choice flipping, as in the unsplit tests.
    const double da = max_diff(qa, qn), dm = median_diff(qa, qn);
    EXPECT_LE(dm, kTolInt8ActsMedian) << preset << " split Q8_0, stored attn_k_b / attn_v_b";
    std::printf("[ gguf ] %s split Q8_0 at int8 activations, absorbed (stored k_b / v_b) vs naive (f32 copy): max %.3g, median %.3g\n",
                preset, da, dm);
    // Bench's bytes a token: the stored Q8_0 tensors at kBF16, the f32 copy at kF32.
    auto e = load(q8, 1);
    ASSERT_TRUE(e.ok());
    const auto cfg = (*e)->model().config();
    const int64_t H = cfg.num_attention_heads, C = cfg.kv_lora_rank, dn = cfg.qk_nope_head_dim, dv = cfg.v_head_dim;
    const int64_t per_layer = H * (dn + dv) * C * 4 - (H * C * dn + H * dv * C) / 32 * 34;
    const auto& m = (*e)->model();
    EXPECT_EQ(m.weight_bytes(kernels::ActPrecision::kF32).per_token - m.weight_bytes(kernels::ActPrecision::kBF16).per_token,
              cfg.num_hidden_layers * per_layer);
    fs::remove_all(dir);
  }
}

// The streamed file (tensor table first, then one tensor or expert at a time) is byte for byte the
// in-memory image serialize_gguf makes of the same tensors: offsets, padding and the stacking order
// of experts. tiny-v3 has experts and MTP layers, tiny-llama rope_freqs and permuted q/k rows.
TEST(GgufConvert, StreamedFileEqualsInMemoryImage) {
  for (const char* preset : {"tiny-v3", "tiny-llama"}) {
    const std::string dir = make_folder(preset, json::object());
    for (GgufWeights w : {GgufWeights::kQ8_0, GgufWeights::kBF16}) {
      std::vector<uint8_t> image;
      const GgufConvertArgs in_memory{.hf_dir = dir, .out_path = dir + "/edited.gguf", .weights = w, .split_kv_b = true,
                                      .edit = [&](format::GgufWriteArgs& a) {
                                        auto img = format::serialize_gguf(a);
                                        ASSERT_TRUE(img.ok()) << img.error().message;
                                        image = std::move(*img);
                                      }};
      ASSERT_TRUE(convert_to_gguf(in_memory).ok());
      const std::string streamed = make_gguf(dir, w, true);
      auto f = MappedFile::open(streamed);
      ASSERT_TRUE(f.ok());
      ASSERT_EQ(f->size(), image.size()) << preset;
      EXPECT_TRUE(std::equal(image.begin(), image.end(), f->data())) << preset;
    }
    fs::remove_all(dir);
  }
}

// Without the q/k un-permutation the RoPE pairs differ and logprobs move far beyond F32 error: this
// guards the permutation itself (a model whose q/k rows were not permuted must not match).
TEST(GgufLlama, PermutationIsUndone) {
  const std::string dir = make_folder("tiny-llama", json::object());
  const auto want = logprobs(dir);
  const std::string out = dir + "/unpermuted.gguf";
  // Undo the converter's permutation in the file: the rows are then in HF order under a llama label,
  // as if a converter had skipped llama.cpp's permute; the loader's un-permutation must then break it.
  ASSERT_TRUE(convert_to_gguf({.hf_dir = dir, .out_path = out, .weights = GgufWeights::kF32, .edit = [](format::GgufWriteArgs& w) {
    for (auto& t : w.tensors) {
      const bool q = t.name.ends_with("attn_q.weight");
      if (!q && !t.name.ends_with("attn_k.weight")) continue;
      const int64_t rows = t.shape[0], heads = q ? 4 : 2, hd = rows / heads, half = hd / 2;  // tiny-llama
      const size_t rb = t.bytes.size() / static_cast<size_t>(rows);
      std::vector<uint8_t> b(t.bytes.size());
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t j = 0; j < 2; ++j)
          for (int64_t i = 0; i < half; ++i)
            std::copy_n(t.bytes.begin() + (h * hd + 2 * i + j) * rb, rb, b.begin() + (h * hd + j * half + i) * rb);
      t.bytes = std::move(b);
    }
  }}).ok());
  EXPECT_GT(max_diff(logprobs(out), want), 100 * kTolSameValues);
  fs::remove_all(dir);
}

TEST(GgufTokenizer, SameIdsAsFolder) {
  const std::string dir = make_folder("tiny-v3", json::object());
  const std::string gguf = make_gguf(dir, GgufWeights::kQ8_0);
  auto a = load(dir, 1);
  auto b = load(gguf, 1);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_NE((*b)->tokenizer(), nullptr) << "the GGUF tokenizer was not loaded";
  for (const char* text : {"Hello, world! 123456 你好 <｜User｜>hi", "  spaces\n\nand\ttabs ünïcödé"}) {
    auto x = (*a)->tokenizer()->encode(text), y = (*b)->tokenizer()->encode(text);
    ASSERT_TRUE(x.ok() && y.ok());
    EXPECT_EQ(*x, *y) << text;
  }
  EXPECT_EQ((*a)->eos_ids(), (*b)->eos_ids());
  EXPECT_EQ((*a)->tokenizer()->bos_id(), (*b)->tokenizer()->bos_id());
  EXPECT_EQ((*a)->tokenizer()->add_bos_token(), (*b)->tokenizer()->add_bos_token());
  EXPECT_EQ((*a)->tokenizer()->chat_template(), (*b)->tokenizer()->chat_template());
  // Without the weights (radseek tokenize / detokenize -m FILE.gguf): the same tokenizer.
  auto t = engine::load_model_tokenizer(gguf);
  ASSERT_TRUE(t.ok()) << t.error().message;
  auto x = (*a)->tokenizer()->encode("Hello, world!"), y = t->encode("Hello, world!");
  ASSERT_TRUE(x.ok() && y.ok());
  EXPECT_EQ(*x, *y);
  fs::remove_all(dir);
}

// A GGUF file without tokenizer.ggml.* keys: the weights still load (ids only), but asking for its
// tokenizer names the file and what is missing.
TEST(GgufTokenizer, FileWithoutTokenizerSaysSo) {
  const std::string dir = make_folder("tiny-v3", json::object());
  fs::remove(dir + "/tokenizer.json");
  fs::remove(dir + "/tokenizer_config.json");
  const std::string gguf = make_gguf(dir, GgufWeights::kQ8_0);
  auto e = load(gguf, 1);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ((*e)->tokenizer(), nullptr);
  auto t = engine::load_model_tokenizer(gguf);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find(gguf), std::string::npos) << t.error().message;
  EXPECT_NE(t.error().message.find("tokenizer.ggml"), std::string::npos) << t.error().message;
  fs::remove_all(dir);
}

// config.json ids outside a generated tokenizer's 263 tokens (as for V2-Lite's 100000 beside the
// byte-level tokenizer): the converter takes the ids of tokenizer_config.json's bos/eos texts, as
// llama.cpp does, so the file loads and agrees with the folder.
TEST(GgufTokenizer, SpecialIdsFromTokenizerConfig) {
  const std::string dir = make_folder("tiny-v3", {{"bos_token_id", 300}, {"eos_token_id", 301}});
  auto a = load(dir, 1);
  auto b = load(make_gguf(dir, GgufWeights::kQ8_0), 1);
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ((*b)->tokenizer()->bos_id(), 0);
  EXPECT_EQ((*a)->tokenizer()->bos_id(), (*b)->tokenizer()->bos_id());
  // The folder keeps config.json's 301 beside the tokenizer's eos; the file has the tokenizer's only.
  ASSERT_EQ((*b)->eos_ids().size(), 1u);
  EXPECT_EQ((*b)->eos_ids()[0], 1);
  EXPECT_NE(std::ranges::find((*a)->eos_ids(), 1), (*a)->eos_ids().end());
  fs::remove_all(dir);
}

// Malformed files: the error names the GGUF key or tensor.
std::string load_error(const std::string& dir, const std::function<void(format::GgufWriteArgs&)>& edit) {
  const std::string out = dir + "/bad.gguf";
  EXPECT_TRUE(convert_to_gguf({.hf_dir = dir, .out_path = out, .weights = GgufWeights::kQ8_0, .edit = edit}).ok());
  auto e = load(out, 1);
  return e.ok() ? std::string("(loaded)") : e.error().message;
}

// A model path that is a file but not a GGUF one, or a missing .gguf: the GGUF reader's error, not a
// folder's ("FILE/config.json: Not a directory").
TEST(GgufErrors, ForeignOrMissingFileSaysWhat) {
  const std::string dir = temp_dir("foreign");
  const std::string junk = dir + "/junk.gguf", missing = dir + "/missing.gguf";
  { std::ofstream(junk) << "junk, not a model"; }
  for (const std::string& path : {junk, missing}) {
    auto e = load(path, 1);
    ASSERT_FALSE(e.ok()) << path;
    EXPECT_NE(e.error().message.find(path + ":"), std::string::npos) << e.error().message;
    EXPECT_EQ(e.error().message.find("config.json"), std::string::npos) << e.error().message;
    auto t = engine::load_model_tokenizer(path);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().message.find("config.json"), std::string::npos) << t.error().message;
  }
  auto e = load(junk, 1);
  EXPECT_NE(e.error().message.find("GGUF"), std::string::npos) << e.error().message;
  fs::remove_all(dir);
}

TEST(GgufErrors, NameTheKeyOrTensor) {
  const std::string dir = make_folder("tiny-qwen2", json::object());
  auto drop_key = [](const std::string& key) {
    return [key](format::GgufWriteArgs& w) {
      std::erase_if(w.metadata, [&](const auto& kv) { return kv.first == key; });
    };
  };
  EXPECT_NE(load_error(dir, drop_key("qwen2.embedding_length")).find("'qwen2.embedding_length'"), std::string::npos);
  EXPECT_NE(load_error(dir, drop_key("qwen2.attention.layer_norm_rms_epsilon")).find("layer_norm_rms_epsilon"), std::string::npos);
  EXPECT_NE(load_error(dir, drop_key("general.architecture")).find("general.architecture"), std::string::npos);
  const std::string shape = load_error(dir, [](format::GgufWriteArgs& w) {
    for (auto& t : w.tensors)
      if (t.name == "blk.1.attn_k.weight") t.shape = {t.shape[1], t.shape[0]};
  });
  EXPECT_NE(shape.find("blk.1.attn_k.weight"), std::string::npos) << shape;
  const std::string missing = load_error(dir, [](format::GgufWriteArgs& w) {
    std::erase_if(w.tensors, [](const auto& t) { return t.name == "blk.0.ffn_up.weight"; });
  });
  EXPECT_NE(missing.find("blk.0.ffn_up.weight"), std::string::npos) << missing;
  const std::string arch = load_error(dir, [](format::GgufWriteArgs& w) {
    for (auto& [k, v] : w.metadata)
      if (k == "general.architecture") v = format::GgufValue::of_string("mamba");
  });
  EXPECT_NE(arch.find("'mamba'"), std::string::npos) << arch;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace radseek::testing

// Generation stops at the end of a turn for the dense families: eos_ids() holds what config.json,
// generation_config.json, tokenizer_config.json, the chat template and GGUF metadata
// (tokenizer.ggml.eos/eot/eom_token_id) say, and a turn that emits <|eot_id|> / <|im_end|> ends
// there (chat: reasoning split, the answer, then the stop id, which is not part of the text).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "engine/chat.h"
#include "engine/engine.h"
#include "fixture.h"
#include "format/gguf_model.h"
#include "format/hf_config.h"
#include "gguf_convert.h"

namespace radseek::testing {
namespace {

namespace fs = std::filesystem;

std::string scratch(const std::string& name) {
  const fs::path p = fs::path(RADSEEK_BINARY_DIR) / "tests" / "dense" / "scratch" / (std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::unique_ptr<engine::Engine> load(const std::string& path) {
  auto e = engine::Engine::load({.model_dir = path, .threads = 1});
  EXPECT_TRUE(e.ok()) << e.error().message;
  return e.ok() ? std::move(*e) : nullptr;
}

bool has(const std::vector<int32_t>& ids, int32_t id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

TEST(DenseStopIds, Llama3FolderStopsAtEotAndEom) {
  const std::string dir = scratch("llama3");
  ASSERT_TRUE(write_dense_fixture({.dir = dir, .family = DenseFamily::kLlama3}).ok());
  auto e = load(dir);
  ASSERT_NE(e, nullptr);
  const auto f = DenseFamily::kLlama3;
  for (const char* t : {"<|end_of_text|>", "<|eot_id|>", "<|eom_id|>"})
    EXPECT_TRUE(has(e->eos_ids(), dense_special_id(f, t))) << t;
  EXPECT_FALSE(has(e->eos_ids(), dense_special_id(f, "<|start_header_id|>")));
  EXPECT_EQ(e->eos_ids().front(), dense_special_id(f, "<|end_of_text|>")) << "config.json's id comes first";
}

// generation_config.json is read on its own: without a template (a base folder), its ids still stop.
TEST(DenseStopIds, GenerationConfigAloneIsRead) {
  const std::string dir = scratch("qwen25_no_template");
  ASSERT_TRUE(write_dense_fixture({.dir = dir, .family = DenseFamily::kQwen25, .chat_template = false}).ok());
  auto ids = format::load_generation_eos_ids(dir, 512);
  ASSERT_TRUE(ids.ok()) << ids.error().message;
  EXPECT_EQ(*ids, (std::vector<int64_t>{dense_special_id(DenseFamily::kQwen25, "<|im_end|>"),
                                        dense_special_id(DenseFamily::kQwen25, "<|endoftext|>")}));
  std::ofstream(dir + "/generation_config.json") << R"({"eos_token_id": [1, 99999]})";
  auto bad = format::load_generation_eos_ids(dir, 512);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("generation_config.json"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("99999"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(engine::Engine::load({.model_dir = dir, .threads = 1}).ok()) << "a broken generation_config.json is an error";
}

TEST(DenseStopIds, QwenFoldersStopAtImEnd) {
  for (DenseFamily f : {DenseFamily::kQwen25, DenseFamily::kQwen3}) {
    const std::string dir = scratch(f == DenseFamily::kQwen3 ? "qwen3" : "qwen25");
    // No generation_config.json: the ChatML template's <|im_end|> still ends the turn.
    ASSERT_TRUE(write_dense_fixture({.dir = dir, .family = f, .generation_config = false}).ok());
    auto e = load(dir);
    ASSERT_NE(e, nullptr);
    EXPECT_TRUE(has(e->eos_ids(), dense_special_id(f, "<|im_end|>")));
    EXPECT_TRUE(has(e->eos_ids(), dense_special_id(f, "<|endoftext|>")));
    EXPECT_FALSE(has(e->eos_ids(), dense_special_id(f, "<|im_start|>")));
  }
}

TEST(DenseStopIds, GgufEotAndEomKeys) {
  const std::string dir = scratch("llama3_gguf");
  ASSERT_TRUE(write_dense_fixture({.dir = dir + "/hf", .family = DenseFamily::kLlama3}).ok());
  const auto f = DenseFamily::kLlama3;
  const int32_t eot = dense_special_id(f, "<|eot_id|>"), eom = dense_special_id(f, "<|eom_id|>");
  // llama.cpp writes eos (here the stale <|end_of_text|>) and, for Llama 3 instruct, eot/eom; no template.
  ASSERT_TRUE(convert_to_gguf({.hf_dir = dir + "/hf", .out_path = dir + "/m.gguf", .edit = [&](format::GgufWriteArgs& w) {
                                 w.metadata.emplace_back("tokenizer.ggml.eot_token_id", format::GgufValue::of_int(format::GgufType::kU32, eot));
                                 w.metadata.emplace_back("tokenizer.ggml.eom_token_id", format::GgufValue::of_int(format::GgufType::kU32, eom));
                                 std::erase_if(w.metadata, [](const auto& kv) { return kv.first == "tokenizer.chat_template"; });
                               }}).ok());
  auto g = format::open_gguf_model(dir + "/m.gguf");  // the keys themselves, before any template rule
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->config.eos_token_ids, (std::vector<int64_t>{dense_special_id(f, "<|end_of_text|>"), eot, eom}));
  auto e = load(dir + "/m.gguf");
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(has(e->eos_ids(), dense_special_id(f, "<|end_of_text|>")));
  EXPECT_TRUE(has(e->eos_ids(), eot));
  EXPECT_TRUE(has(e->eos_ids(), eom));
  // A GGUF with only eos and the template (as most Qwen/Llama conversions): the template's ids.
  ASSERT_TRUE(convert_to_gguf({.hf_dir = dir + "/hf", .out_path = dir + "/t.gguf"}).ok());
  auto t = load(dir + "/t.gguf");
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(has(t->eos_ids(), eot));
  EXPECT_TRUE(has(t->eos_ids(), eom));
}

// Forces a token sequence through the logits (the random weights decide nothing here).
std::function<void(std::span<const int32_t>, float*)> force(std::vector<int32_t> seq, std::size_t offset) {
  return [seq = std::move(seq), offset](std::span<const int32_t> ids, float* logits) {
    const std::size_t k = ids.size() - std::min(ids.size(), offset);
    const int32_t want = seq[std::min(k, seq.size() - 1)];
    for (int i = 0; i < 512; ++i) logits[i] = i == want ? 100.0f : -100.0f;
  };
}

TEST(DenseStopIds, GenerateEndsAtEotId) {
  const std::string dir = scratch("llama3_gen");
  ASSERT_TRUE(write_dense_fixture({.dir = dir, .family = DenseFamily::kLlama3}).ok());
  auto e = load(dir);
  ASSERT_NE(e, nullptr);
  const int32_t eot = dense_special_id(DenseFamily::kLlama3, "<|eot_id|>");
  engine::Session s(e->model(), 64);
  const std::vector<int32_t> prompt = {256, 'h', 'i'};
  auto r = e->generate(s, prompt, {.max_new_tokens = 20, .logits_hook = force({'o', 'k', eot, 'x'}, 0)});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->ids, (std::vector<int32_t>{'o', 'k', eot}));
  EXPECT_EQ(r->finish_reason, "stop");
}

// R1-Distill-Qwen: the prompt opens "<think>\n"; the budget closes it, the answer follows and the
// turn ends at <｜end▁of▁sentence｜>. Qwen3 ends at <|im_end|> although config.json names no other id.
TEST(DenseStopIds, ChatSplitsReasoningAndStopsAtEndOfTurn) {
  struct Case { DenseFamily f; const char* end; bool reasons; };
  for (const Case c : {Case{DenseFamily::kR1DistillQwen, "<｜end▁of▁sentence｜>", true},
                       Case{DenseFamily::kQwen3, "<|im_end|>", false}, Case{DenseFamily::kLlama3, "<|eot_id|>", false}}) {
    const std::string dir = scratch("chat_" + std::to_string(static_cast<int>(c.f)));
    ASSERT_TRUE(write_dense_fixture({.dir = dir, .family = c.f}).ok());
    auto e = load(dir);
    ASSERT_NE(e, nullptr);
    const int32_t end = dense_special_id(c.f, c.end);
    engine::ChatParams p;
    p.messages = {{.role = "user", .content = "Effusion?"}};
    p.gen.max_new_tokens = 40;
    p.max_reasoning_tokens = 3;
    std::size_t answer_start = 0;
    // The hook governs the answer only (after the forced "</think>" when the model reasons).
    p.gen.logits_hook = [&](std::span<const int32_t> ids, float* logits) {
      if (answer_start == 0) answer_start = ids.size() + 1;
      force({'N', 'o', end, 'x'}, answer_start - 1)(ids, logits);
    };
    engine::Session s(e->model(), 256);
    auto r = engine::chat(*e, s, p);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->finish_reason, "stop") << c.end;
    EXPECT_EQ(r->ids.back(), end) << c.end;
    const std::string content = r->content.substr(std::min(r->content.find_first_not_of('\n'), r->content.size()));
    EXPECT_EQ(content, "No") << c.end << ": the stop id's text is not part of the answer";
    EXPECT_EQ(r->reasoning_closed, c.reasons) << c.end;
    EXPECT_EQ(r->budget_forced, c.reasons) << c.end << ": the 3-token budget closed the reasoning";
  }
}

}  // namespace
}  // namespace radseek::testing

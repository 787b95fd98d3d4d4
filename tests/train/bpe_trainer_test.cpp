// The BPE trainer against the engine's tokenizer: files it writes load, encode/decode round-trips,
// merges shorten the encoding, special tokens stay whole, and the result is deterministic.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "model/checkpoint_gen.h"
#include "radiology/synth.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "train/bpe_trainer.h"

namespace radseek::train {
namespace {

std::vector<std::string> synth_corpus(int n) {
  std::vector<std::string> texts;
  for (int i = 0; i < n; ++i) {
    const auto r = radiology::synth_report({.seed = 7, .count = n}, i);
    texts.push_back(r["text"].get<std::string>());
    texts.push_back(r["reasoning"].get<std::string>());
  }
  return texts;
}

std::string temp_dir(const std::string& name) {
  const auto d = std::filesystem::temp_directory_path() / ("radseek_train_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(d);
  return d.string();
}

TEST(BpeTrainer, WritesATokenizerTheEngineLoadsAndRoundTrips) {
  const auto corpus = synth_corpus(60);
  auto r = train_bpe(corpus, {.vocab_size = 600});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_GT(r->merges.size(), 300u);
  const std::string dir = temp_dir("bpe");
  ASSERT_TRUE(write_tokenizer_files(dir, r->merges, 4096).ok());
  auto tok = tokenizer::Tokenizer::load(dir);
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  EXPECT_EQ(tok->vocab_size(), 600);
  EXPECT_EQ(tok->bos_id(), kBosId);
  EXPECT_EQ(tok->eos_id(), kEosId);
  const std::string unseen = "Unseen text: 12345 cm, ünïcödé 肺 and\ttabs\n\nnew lines.";
  for (const std::string& text : {corpus[0], corpus[1], unseen}) {
    auto ids = tok->encode(text);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(*tok->decode(*ids), text);
    // Merges learnt on this corpus shorten its texts well below one id per byte.
    if (text != unseen) {
      EXPECT_LT(ids->size() * 2, text.size());
    }
  }
}

TEST(BpeTrainer, ChatTemplateTokensStayWholeAndTemplateIsRecognised) {
  auto r = train_bpe(synth_corpus(10), {.vocab_size = 400});
  ASSERT_TRUE(r.ok());
  const std::string dir = temp_dir("bpe_chat");
  ASSERT_TRUE(write_tokenizer_files(dir, r->merges, 512).ok());
  auto tok = tokenizer::Tokenizer::load(dir);
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  auto kind = tokenizer::detect_chat_template(tok->chat_template());
  ASSERT_TRUE(kind.ok()) << kind.error().message;
  EXPECT_EQ(*kind, tokenizer::ChatTemplateKind::kDeepSeekR1Think);
  const std::vector<tokenizer::ChatMessage> msgs = {{.role = "user", .content = "Any effusion?"}};
  auto prompt = tokenizer::render_chat(*kind, msgs, {});
  ASSERT_TRUE(prompt.ok());
  auto ids = tok->encode(*prompt + "x</think>\n\nyes<｜end▁of▁sentence｜>");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->front(), kBosId);
  EXPECT_EQ(ids->back(), kEosId);
  for (int32_t id : {3, 4, 5, 6}) EXPECT_NE(std::find(ids->begin(), ids->end(), id), ids->end()) << id;
}

TEST(BpeTrainer, DeterministicAndRespectsVocabSize) {
  const auto corpus = synth_corpus(20);
  auto a = train_bpe(corpus, {.vocab_size = 350});
  auto b = train_bpe(corpus, {.vocab_size = 350});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->merges.size(), b->merges.size());
  for (size_t i = 0; i < a->merges.size(); ++i) {
    EXPECT_EQ(a->merges[i].left, b->merges[i].left);
    EXPECT_EQ(a->merges[i].right, b->merges[i].right);
  }
  EXPECT_EQ(tokenizer_json(a->merges)["model"]["vocab"].size() + kNumSpecialTokens, 350u);
  // The most frequent pair of this corpus is merged first: a space before a letter is the usual winner.
  EXPECT_FALSE(a->merges.empty());
  EXPECT_FALSE(train_bpe(corpus, {.vocab_size = 100}).ok());
}

TEST(BpeTrainer, TinyCorpusMergesTheMostFrequentPairFirst) {
  auto r = train_bpe({"ab ab ab ab cd cd"}, {.vocab_size = kFirstMergeId + 3});
  ASSERT_TRUE(r.ok());
  ASSERT_GE(r->merges.size(), 2u);
  // Pieces: "ab" ×1, " ab" ×3, " cd" ×2. Pair counts: (a,b) 4, (' ',a) 3, (' ',c) 2, (c,d) 2.
  EXPECT_EQ(r->merges[0].left, "a");
  EXPECT_EQ(r->merges[0].right, "b");
  EXPECT_EQ(r->merges[1].left, " ");
  EXPECT_EQ(r->merges[1].right, "ab");
}

TEST(ByteLevelTokenizer, WrittenIntoAGeneratedCheckpoint) {
  const std::string dir = temp_dir("bytelevel");
  auto cfg = model::preset_config("tiny-v3");
  ASSERT_TRUE(cfg.ok());
  ASSERT_TRUE(model::write_random_checkpoint({.dir = dir, .config = *cfg, .progress = {}}).ok());
  ASSERT_TRUE(write_byte_level_tokenizer(dir).ok());
  auto tok = tokenizer::Tokenizer::load(dir);
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  EXPECT_EQ(tok->vocab_size(), kFirstMergeId);
  auto ids = tok->encode("Hi", {.add_bos = true});
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{kBosId, byte_token_id('H'), byte_token_id('i')}));
  auto small = *cfg;
  small["vocab_size"] = 100;
  const std::string dir2 = temp_dir("bytelevel_small");
  ASSERT_TRUE(model::write_random_checkpoint({.dir = dir2, .config = small, .include_mtp = false, .progress = {}}).ok());
  auto st = write_byte_level_tokenizer(dir2);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("vocab_size"), std::string::npos);
}

}  // namespace
}  // namespace radseek::train

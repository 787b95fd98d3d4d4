// Constrained answers (engine/constrained.h). Oracles: the format's definition (hand-written accepted
// and rejected strings), a hand-computed restricted softmax on synthetic logits, and tiny random
// checkpoints: whatever the weights, the constrained answer is complete and parses.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "engine/constrained.h"
#include "engine/engine.h"
#include "tiny_model.h"

namespace radseek::engine {
namespace {

using radseek::radiology::testing::tiny_tokenizer_json;
using radseek::radiology::testing::write_tiny_model;

const std::string kReport = "The heart is enlarged. No effusion.";

FormatConstraint two_labels() {
  return label_lines(LabelLinesArgs{.names = {"Edema", "Cardiomegaly"},
                                    .values = {"present", "uncertain", "absent", "not mentioned"},
                                    .quoted_values = {"present", "uncertain"},
                                    .quote_source = kReport,
                                    .max_quote_bytes = 40,
                                    .prefix = "<answer>\n",
                                    .suffix = "</answer>",
                                    .leading_whitespace = 2});
}

TEST(Constrained, LabelLinesFormat) {
  const FormatConstraint c = two_labels();
  const std::string ok = "<answer>\nEdema: absent\nCardiomegaly: present \"heart is enlarged\"\n</answer>";
  EXPECT_TRUE(c.is_complete(ok));
  EXPECT_TRUE(c.is_complete("\n\n" + ok));
  EXPECT_FALSE(c.accepts_prefix("\n\n\n" + ok));  // at most 2 leading whitespace bytes
  for (size_t i = 0; i <= ok.size(); ++i) EXPECT_TRUE(c.accepts_prefix(ok.substr(0, i))) << i;
  EXPECT_FALSE(c.is_complete(ok.substr(0, ok.size() - 1)));
  EXPECT_FALSE(c.accepts_prefix("<answer>\nCardiomegaly"));            // labels in order
  EXPECT_FALSE(c.accepts_prefix("<answer>\nEdema: maybe"));            // unknown value
  EXPECT_FALSE(c.accepts_prefix("<answer>\nEdema: present \"heart is big"));  // not in the report
  EXPECT_TRUE(c.accepts_prefix("<answer>\nEdema: present \"No eff"));
  EXPECT_FALSE(c.accepts_prefix("<answer>\nEdema: present \"" + std::string(41, 'a')));
  EXPECT_TRUE(c.is_complete("<answer>\nEdema: uncertain \"\"\nCardiomegaly: not mentioned\n</answer>"));
}

TEST(Constrained, ChoicesAndCheapestCompletion) {
  const FormatConstraint c = two_labels();
  EXPECT_TRUE(c.choices("<answer>\nEd").empty());  // forced text
  const auto ch = c.choices("<answer>\nEdema:");
  ASSERT_EQ(ch.size(), 4u);
  EXPECT_EQ(ch[0], " present \"");
  EXPECT_EQ(ch[3], " not mentioned\n");
  // After the shared space the alternatives are still open; after "n" only one is left.
  EXPECT_EQ(c.choices("<answer>\nEdema: ").size(), 4u);
  EXPECT_TRUE(c.choices("<answer>\nEdema: n").empty());
  EXPECT_EQ(c.cheapest_completion(""), "<answer>\nEdema: absent\nCardiomegaly: absent\n</answer>");
  EXPECT_EQ(c.cheapest_completion("<answer>\nEdema: present \"The"), "\"\nCardiomegaly: absent\n</answer>");
  EXPECT_EQ(c.cheapest_completion("<answer>\nEdema: absent\nCardiomegaly: absent\n</answer>"), "");
  const FormatConstraint mc = one_of({.options = {"A", "B", "C"}, .prefix = "<answer>", .suffix = "</answer>"});
  EXPECT_EQ(mc.choices("<answer>"), (std::vector<std::string>{"A", "B", "C"}));
  EXPECT_TRUE(mc.is_complete("<answer>B</answer>"));
  EXPECT_FALSE(mc.accepts_prefix("<answer>D"));
}

tokenizer::Tokenizer tiny_tokenizer() {
  int n = 0;
  auto tok = tokenizer::Tokenizer::from_json(tiny_tokenizer_json({" present", "Edema"}, &n).dump(), "", "tiny");
  EXPECT_TRUE(tok.ok()) << (tok.ok() ? "" : tok.error().message);
  return std::move(*tok);
}

TEST(Constrained, ConfidenceIsTheRestrictedSoftmax) {
  const tokenizer::Tokenizer tok = tiny_tokenizer();
  const FormatConstraint mc = one_of({.options = {"A", "B", "C"}, .prefix = "<answer>", .suffix = "</answer>"});
  const int64_t vocab = 300;
  ConstrainedDecoder dec({.constraint = &mc, .tokenizer = &tok, .vocab_size = vocab, .first_acceptable_only = true});
  std::vector<int32_t> ids;
  std::vector<float> logits(vocab);
  for (int step = 0; step < 40 && !dec.complete(); ++step) {
    for (int64_t i = 0; i < vocab; ++i) logits[i] = static_cast<float>((i * 7919) % 13);  // arbitrary
    logits['A'] = 1.0f;
    logits['B'] = 3.0f;
    logits['C'] = 2.0f;
    dec.apply(ids, logits.data());
    const int32_t pick = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    ids.push_back(pick);
    dec.observe(pick);
  }
  EXPECT_EQ(dec.text(), "<answer>B</answer>");
  ASSERT_EQ(dec.decisions().size(), 1u);
  const double z = std::exp(1.0) + std::exp(3.0) + std::exp(2.0);
  const auto p = option_probabilities(dec.decisions(), dec.text(), 8, {"A", "B", "C"});
  EXPECT_NEAR(p[0], std::exp(1.0) / z, 1e-9);
  EXPECT_NEAR(p[1], std::exp(3.0) / z, 1e-9);
  EXPECT_NEAR(p[2], std::exp(2.0) / z, 1e-9);
  EXPECT_GT(dec.forced_steps(), 0);  // arbitrary logits never spell "<answer>" by themselves
}

TEST(Constrained, SharedFirstTokensAreDecidedInTwoSteps) {
  // With a byte tokenizer " absent" and " not mentioned" share the token " ": the first decision has
  // one group, the second splits it; the chosen value's probability is the product.
  const tokenizer::Tokenizer tok = tiny_tokenizer();
  const FormatConstraint c = two_labels();
  const int64_t vocab = 300;
  ConstrainedDecoder dec({.constraint = &c, .tokenizer = &tok, .vocab_size = vocab, .first_acceptable_only = true});
  std::vector<int32_t> ids;
  std::vector<float> logits(vocab);
  for (int step = 0; step < 200 && !dec.complete(); ++step) {
    std::fill(logits.begin(), logits.end(), 0.0f);
    logits['a'] = 2.0f;  // "absent" over "uncertain" (u: 0) and "not mentioned" (n: 0)
    logits['<'] = 1.0f;  // rather than the optional leading whitespace
    dec.apply(ids, logits.data());
    const int32_t pick = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    ids.push_back(pick);
    dec.observe(pick);
  }
  ASSERT_TRUE(dec.complete()) << dec.text();
  const std::string head = "<answer>\nEdema:";
  ASSERT_EQ(dec.text().substr(0, head.size()), head);
  const std::vector<std::string> values = {" present \"", " uncertain \"", " absent\n", " not mentioned\n"};
  const auto p = option_probabilities(dec.decisions(), dec.text(), head.size(), values);
  // " present" is one merged token in this vocabulary, so it is its own group at the first decision.
  const double first_space = 1.0 / (1.0 + 1.0);  // logits " " and " present" both 0
  const double z = std::exp(2.0) + 2.0;          // a, u, n after the space
  EXPECT_NEAR(p[2], first_space * std::exp(2.0) / z, 1e-9);
  EXPECT_NEAR(p[0], 0.5, 1e-9);
  EXPECT_NEAR(p[1], first_space / z, 1e-9);
  EXPECT_NEAR(p[0] + p[1] + p[2] + p[3], 1.0, 1e-9);
}

// BPE merges the forced ">" with the letter after it (">B", as in training text). When such a merged
// token is the model's best way forward, the decision is taken there, among ">A", ">B", ">C", with
// their restricted softmax as the confidence — not after a lone ">" the model never saw.
TEST(Constrained, DecidesAcrossAMergedTokenLikeTrainingText) {
  int n = 0;
  auto json = tiny_tokenizer_json({"<answer", ">A", ">B", ">C", "</answer>"}, &n);
  json["pre_tokenizer"]["use_regex"] = false;  // one pre-token, so the merges cross "<answer>" and the letter
  auto tok = tokenizer::Tokenizer::from_json(json.dump(), "", "merged");
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  auto id = [&](const std::string& s) {
    auto ids = tok->encode(s, {.add_bos = false});
    EXPECT_TRUE(ids.ok() && ids->size() == 1u) << s;
    return ids.ok() ? ids->front() : 0;
  };
  const int32_t gt = id(">"), a = id(">A"), b = id(">B"), c = id(">C"), open = id("<answer");
  const FormatConstraint mc = one_of({.options = {"A", "B", "C"}, .prefix = "<answer>", .suffix = "</answer>"});
  const int64_t vocab = n;
  ConstrainedDecoder dec({.constraint = &mc, .tokenizer = &*tok, .vocab_size = vocab, .first_acceptable_only = true});
  std::vector<int32_t> ids;
  std::vector<float> logits(vocab);
  for (int step = 0; step < 20 && !dec.complete(); ++step) {
    std::fill(logits.begin(), logits.end(), 0.0f);
    logits[open] = 5.0f;
    logits[gt] = 2.0f;  // a lone ">" is possible, but the merged tokens are likelier
    logits[a] = 1.0f;
    logits[b] = 4.0f;
    logits[c] = 3.0f;
    dec.apply(ids, logits.data());
    const int32_t pick = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    ids.push_back(pick);
    dec.observe(pick);
  }
  EXPECT_EQ(dec.text(), "<answer>B</answer>");
  ASSERT_GE(ids.size(), 2u);
  EXPECT_EQ(ids[1], b) << "the letter came with its '>'";
  ASSERT_EQ(dec.decisions().size(), 1u);
  EXPECT_EQ(dec.decisions()[0].pos, 8u);
  const double z = std::exp(1.0) + std::exp(4.0) + std::exp(3.0);
  const auto p = option_probabilities(dec.decisions(), dec.text(), 8, {"A", "B", "C"});
  EXPECT_NEAR(p[0], std::exp(1.0) / z, 1e-9);
  EXPECT_NEAR(p[1], std::exp(4.0) / z, 1e-9);
  EXPECT_NEAR(p[2], std::exp(3.0) / z, 1e-9);
}

TEST(Constrained, AlwaysParsesOnRandomWeightModels) {
  const std::string base = (std::filesystem::temp_directory_path() / ("radseek_constrained_" + std::to_string(::getpid()))).string();
  for (uint64_t seed : {3u, 11u}) {
    const std::string dir = write_tiny_model(base + "_" + std::to_string(seed), seed);
    ASSERT_FALSE(dir.empty());
    auto e = Engine::load({.model_dir = dir, .threads = 2});
    ASSERT_TRUE(e.ok()) << e.error().message;
    const tokenizer::Tokenizer& tok = *(*e)->tokenizer();
    const FormatConstraint c = two_labels();
    for (float temperature : {0.0f, 1.0f}) {
      const int64_t budget = static_cast<int64_t>(c.cheapest_completion("").size()) + 12;
      ConstrainedDecoder dec({.constraint = &c, .tokenizer = &tok, .vocab_size = (*e)->model().config().vocab_size,
                              .top_n = 8, .first_acceptable_only = temperature == 0.0f, .max_tokens = budget,
                              .end_ids = (*e)->eos_ids()});
      auto prompt = tok.encode("<｜User｜>Label this.<｜Assistant｜>");
      ASSERT_TRUE(prompt.ok());
      Session s((*e)->model(), static_cast<int64_t>(prompt->size()) + budget + 4);
      GenerateParams g{.max_new_tokens = budget, .sampling = {.temperature = temperature, .seed = seed}};
      g.logits_hook = dec.hook();
      g.on_token = [&](int32_t id) { return dec.observe(id); };
      auto r = (*e)->generate(s, *prompt, g);
      ASSERT_TRUE(r.ok()) << r.error().message;
      EXPECT_TRUE(c.is_complete(dec.text())) << "seed " << seed << " T " << temperature << ": " << dec.text();
      EXPECT_LE(static_cast<int64_t>(r->ids.size()), budget);
      ASSERT_EQ(dec.decisions().size() >= 2, true);
      for (const Decision& d : dec.decisions()) {
        double sum = 0;
        std::vector<std::string> seen;
        for (size_t i = 0; i < d.choices.size(); ++i) {
          if (std::find(seen.begin(), seen.end(), d.token_bytes[i]) != seen.end()) continue;
          seen.push_back(d.token_bytes[i]);
          sum += d.group_probability[i];
        }
        EXPECT_NEAR(sum, 1.0, 1e-6);
      }
    }
  }
}

}  // namespace
}  // namespace radseek::engine

// radseek train: tokenizer training now; pretrain / sft stages register here as they land.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "base/timer.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "train/bpe_trainer.h"

namespace radseek::cli {
namespace {

struct TokenizerFlags {
  std::vector<std::string> inputs;
  std::string out;
  int32_t vocab_size = 4096;
  int64_t min_frequency = 2;
  int64_t model_max_length = 4096;
};

int run_train_tokenizer(const TokenizerFlags& f) {
  std::vector<std::string> texts;
  for (const std::string& path : f.inputs) {
    auto t = train::read_corpus_texts(path);
    if (!t) {
      std::fprintf(stderr, "radseek train tokenizer: %s\n", t.error().message.c_str());
      return 2;
    }
    texts.insert(texts.end(), t->begin(), t->end());
  }
  Timer timer;
  Progress bar("merges", "merges");
  auto r = train::train_bpe(texts, {.vocab_size = f.vocab_size, .min_frequency = f.min_frequency,
                                    .progress = [&](int32_t done, int32_t total) { bar.update(done, total); }});
  bar.finish();
  if (!r) {
    std::fprintf(stderr, "radseek train tokenizer: %s\n", r.error().message.c_str());
    return 1;
  }
  auto st = train::write_tokenizer_files(f.out, r->merges, f.model_max_length);
  if (!st) {
    std::fprintf(stderr, "radseek train tokenizer: %s\n", st.error().message.c_str());
    return 1;
  }
  std::fprintf(stderr, "%zu texts, %lld pieces (%lld distinct), %zu merges in %.1f s -> %s/tokenizer.json\n",
               texts.size(), static_cast<long long>(r->corpus_pieces), static_cast<long long>(r->distinct_pieces),
               r->merges.size(), timer.seconds(), f.out.c_str());
  return 0;
}

void register_train_tokenizer(CLI::App& train) {
  auto f = std::make_shared<TokenizerFlags>();
  auto* cmd = train.add_subcommand("tokenizer", "Learn a byte-level BPE tokenizer (tokenizer.json + tokenizer_config.json)");
  cmd->add_option("-i,--input", f->inputs, "Corpus files: .jsonl (every string value) or plain text (one text a line)")
      ->required();
  cmd->add_option("-o,--out", f->out, "Output folder (a model folder, or one to copy from)")->required();
  cmd->add_option("--vocab-size", f->vocab_size, "Total ids including 7 special and 256 byte tokens")
      ->check(CLI::Range(263, 1 << 20))->capture_default_str();
  cmd->add_option("--min-frequency", f->min_frequency, "Never merge a pair seen fewer times")->capture_default_str();
  cmd->add_option("--model-max-length", f->model_max_length, "tokenizer_config.json model_max_length")->capture_default_str();
  cmd->footer("Example:\n  radseek synth --count 5000 --output /tmp/synth.jsonl\n"
              "  radseek train tokenizer -i /tmp/synth.jsonl --vocab-size 4096 -o /tmp/tok");
  cmd->callback([f] { std::exit(run_train_tokenizer(*f)); });
}

}  // namespace

void register_train(CLI::App& app) {
  auto* train = app.add_subcommand("train", "Train tokenizers and DeepSeek-V3-architecture models");
  train->require_subcommand(1);
  register_train_tokenizer(*train);
}

}  // namespace radseek::cli

// radseek train: tokenizer (BPE), pretrain and sft stages of the DeepSeek-V3-architecture trainer.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "base/timer.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "model/checkpoint_gen.h"
#include "tokenizer/tokenizer.h"
#include "train/bpe_trainer.h"
#include "train/trainer.h"

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

struct StageFlags {
  std::string data, tokenizer, out, config_file, preset = "tiny-v3", init_from, dtype = "bf16", precision = "f32", loss_log, loss_on = "assistant";
  int64_t steps = 200, batch = 8, seq_len = 128, warmup = 20, save_every = 0, log_every = 10;
  double lr = 1e-3, min_lr_ratio = 0.1, weight_decay = 0.1, clip = 1.0, init_std = 0.02, bias_speed = 1e-3;
  double mtp_weight = 0.0;
  uint64_t seed = 1;
  int threads = 0;
  bool resume = false;
};

// config.json for a fresh run: --config, else the preset; vocab_size grown to the tokenizer's.
Expected<nlohmann::json> stage_config(const StageFlags& f) {
  nlohmann::json cfg;
  if (!f.config_file.empty()) {
    std::ifstream in(f.config_file);
    cfg = nlohmann::json::parse(in, nullptr, false);
    if (!in || cfg.is_discarded()) return make_error(ErrorCode::kParse, f.config_file + ": not readable JSON");
  } else {
    auto p = model::preset_config(f.preset);
    if (!p) return p.error();
    cfg = *p;
  }
  auto tok = tokenizer::Tokenizer::load(f.tokenizer);
  if (!tok) return tok.error();
  cfg["vocab_size"] = std::max<int64_t>(cfg.value("vocab_size", int64_t{0}), tok->vocab_size());
  return cfg;
}

// One line per log_every steps: loss, lr, gradient norm, throughput, ETA, expert load spread.
void print_step(const train::StepReport& r, int64_t log_every) {
  if (r.step % log_every != 0 && r.step != r.total_steps) return;
  int64_t mx = 0, sum = 0;
  for (int64_t x : r.expert_load) {
    mx = std::max(mx, x);
    sum += x;
  }
  const double mean = r.expert_load.empty() ? 0.0 : static_cast<double>(sum) / static_cast<double>(r.expert_load.size());
  char mtp[32] = "";
  if (r.mtp_loss) std::snprintf(mtp, sizeof mtp, "  mtp %.4f", *r.mtp_loss);
  std::fprintf(stderr, "step %lld/%lld  loss %.4f%s  lr %.2e  |g| %.3f  %.0f tok/s  ETA %.0fs  expert load max/mean %.2f\n",
               static_cast<long long>(r.step), static_cast<long long>(r.total_steps), r.loss, mtp, r.lr, r.grad_norm,
               r.tokens_per_s, r.eta_s, mean > 0 ? static_cast<double>(mx) / mean : 0.0);
}

int run_stage(train::Stage stage, const StageFlags& f) {
  nlohmann::json cfg;
  if (f.init_from.empty() && !f.resume) {
    auto c = stage_config(f);
    if (!c) {
      std::fprintf(stderr, "radseek train: %s\n", c.error().message.c_str());
      return 2;
    }
    cfg = *c;
  }
  const auto fmt = f.dtype == "fp8" ? model::WeightFormat::kFP8 : f.dtype == "f32" ? model::WeightFormat::kF32
                                                                                  : model::WeightFormat::kBF16;
  auto r = train::run_training({.stage = stage, .data = f.data, .tokenizer_dir = f.tokenizer, .out_dir = f.out,
                                .config = cfg, .init_from = f.init_from, .resume = f.resume, .steps = f.steps,
                                .batch = f.batch, .seq_len = f.seq_len,
                                .lr = {.peak = f.lr, .warmup_steps = f.warmup, .total_steps = f.steps, .min_ratio = f.min_lr_ratio},
                                .adam = {.weight_decay = f.weight_decay}, .clip = f.clip, .init_std = f.init_std,
                                .bias_update_speed = f.bias_speed, .mtp_weight = f.mtp_weight, .seed = f.seed, .threads = f.threads,
                                .save_every = f.save_every, .stop_at = 0, .format = fmt,
                                .precision = f.precision == "fp8"    ? model::TrainGemmPrecision::kFP8
                                             : f.precision == "bf16" ? model::TrainGemmPrecision::kBF16
                                                                     : model::TrainGemmPrecision::kF32,
                                .loss_log = f.loss_log,
                                .sft_targets = f.loss_on == "answer" ? train::SftTargets::kAnswer : train::SftTargets::kAssistant,
                                .on_step = [&](const train::StepReport& rep) { print_step(rep, std::max<int64_t>(f.log_every, 1)); }});
  if (!r) {
    std::fprintf(stderr, "radseek train: %s\n", r.error().message.c_str());
    return 1;
  }
  std::fprintf(stderr, "wrote %s (step %lld)\n", f.out.c_str(), static_cast<long long>(r->final_step));
  return 0;
}

void register_stage(CLI::App& train, train::Stage stage) {
  auto f = std::make_shared<StageFlags>();
  const bool pre = stage == train::Stage::kPretrain;
  auto* cmd = train.add_subcommand(pre ? "pretrain" : "sft", pre ? "Next-token pretraining on {\"text\"} JSONL"
                                                                 : "Supervised fine-tuning on chat JSONL (loss on the assistant turn)");
  cmd->add_option("--data", f->data, pre ? "JSONL, one {\"text\": ...} a line" : "JSONL, one {\"messages\": [...]} a line")->required();
  cmd->add_option("--tokenizer", f->tokenizer, "Folder with tokenizer.json (+ tokenizer_config.json)")->required();
  cmd->add_option("-o,--out", f->out, "Output folder: HF checkpoint + trainer state")->required();
  cmd->add_option("--config", f->config_file, "Architecture config.json (fresh runs)");
  cmd->add_option("--preset", f->preset, "Architecture preset when no --config (tiny-v3, tiny-v2)")->capture_default_str();
  cmd->add_option("--init-from", f->init_from, "Start from this HF checkpoint (e.g. the pretrain output)");
  cmd->add_flag("--resume", f->resume, "Continue from the trainer state in --out");
  cmd->add_option("--steps", f->steps, "Optimizer steps")->capture_default_str();
  cmd->add_option("--batch", f->batch, "Sequences per step")->capture_default_str();
  cmd->add_option("--seq-len", f->seq_len, "Tokens per sequence")->capture_default_str();
  cmd->add_option("--lr", f->lr, "Peak learning rate")->capture_default_str();
  cmd->add_option("--warmup", f->warmup, "Linear warm-up steps")->capture_default_str();
  cmd->add_option("--min-lr-ratio", f->min_lr_ratio, "Cosine floor as a fraction of --lr")->capture_default_str();
  cmd->add_option("--weight-decay", f->weight_decay, "AdamW decoupled weight decay")->capture_default_str();
  cmd->add_option("--clip", f->clip, "Global gradient-norm clip (0: none)")->capture_default_str();
  cmd->add_option("--init-std", f->init_std, "Initial weight standard deviation")->capture_default_str();
  cmd->add_option("--bias-update-speed", f->bias_speed, "Aux-loss-free balancing step for e_score_correction_bias")->capture_default_str();
  cmd->add_option("--mtp-weight", f->mtp_weight,
                  "Multi-token prediction loss weight (DeepSeek-V3: 0.3, then 0.1; 0: off). > 0 trains an MTP module "
                  "(fresh, or from --init-from when it has one) that `generate --speculative mtp` uses")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--seed", f->seed, "Seed for initialisation and data order")->capture_default_str();
  cmd->add_option("-t,--threads", f->threads, "Threads (0: all cores)")->capture_default_str();
  cmd->add_option("--save-every", f->save_every, "Write trainer state + checkpoint every N steps")->capture_default_str();
  cmd->add_option("--log-every", f->log_every, "Progress line every N steps")->capture_default_str();
  if (!pre)
    cmd->add_option("--loss-on", f->loss_on, "Targets: the whole assistant turn, or only the answer after </think>")
        ->check(CLI::IsMember({"assistant", "answer"}))->capture_default_str();
  cmd->add_option("--dtype", f->dtype, "Checkpoint weights: bf16, f32 or fp8 (e4m3 128x128 blocks)")
      ->check(CLI::IsMember({"bf16", "f32", "fp8"}))->capture_default_str();
  cmd->add_option("--precision", f->precision,
                  "GEMM inputs: f32, bf16 (rounded), or fp8 (DeepSeek-V3 recipe: e4m3, 1x128 activation tiles, "
                  "128x128 weight blocks, forward and backward; head and router in bf16). Simulated: the inputs are "
                  "rounded, the products and master weights stay FP32")
      ->check(CLI::IsMember({"f32", "bf16", "fp8"}))->capture_default_str();
  cmd->add_option("--loss-log", f->loss_log, "Write step,loss,lr,grad_norm per step to this CSV (kept and appended on --resume)");
  cmd->callback([f, stage] { std::exit(run_stage(stage, *f)); });
}

}  // namespace

void register_train(CLI::App& app) {
  auto* train = app.add_subcommand("train", "Train tokenizers and DeepSeek-V3-architecture models");
  train->require_subcommand(1);
  register_train_tokenizer(*train);
  register_stage(*train, train::Stage::kPretrain);
  register_stage(*train, train::Stage::kSft);
  register_train_grpo(*train);
}

}  // namespace radseek::cli

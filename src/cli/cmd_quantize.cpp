// radseek quantize: an 8-bit or 4-bit copy of a checkpoint (formats in model/quantize.h), then the
// quality figure: KL divergence of the copy's next-token distributions from the original's.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "base/timer.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "engine/engine.h"
#include "model/quantize.h"

namespace radseek::cli {
namespace {

struct QuantizeFlags {
  std::string model;
  std::string out;
  int bits = 8;
  int64_t eval_tokens = 128;
  std::string eval_text;
  int threads = 0;
  std::string precision = "f32";
  double shard_gb = 4.0;
};

// Evaluation tokens: the text file through the model's tokenizer, else a fixed spread of ids (a
// random-weight model has no meaningful text; the KL figure compares distributions either way).
Expected<std::vector<int32_t>> eval_ids(const engine::Engine& e, const QuantizeFlags& f) {
  const int64_t V = e.model().config().vocab_size;
  std::vector<int32_t> ids;
  if (!f.eval_text.empty()) {
    if (!e.tokenizer()) return make_error(ErrorCode::kNotFound, f.model + ": no tokenizer.json for --eval-text");
    std::ifstream in(f.eval_text);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return make_error(ErrorCode::kIo, f.eval_text + ": cannot read");
    auto enc = e.tokenizer()->encode(text.str());
    if (!enc) return enc.error();
    ids = std::move(*enc);
    if (static_cast<int64_t>(ids.size()) > f.eval_tokens) ids.resize(static_cast<size_t>(f.eval_tokens));
  } else {
    for (int64_t i = 0; i < f.eval_tokens; ++i) ids.push_back(static_cast<int32_t>((i * 7919 + 13) % V));
  }
  if (ids.empty()) return make_error(ErrorCode::kInvalidArgument, "no evaluation tokens");
  return ids;
}

Expected<std::vector<float>> all_logits(const engine::Engine& e, const std::vector<int32_t>& ids) {
  const int64_t V = e.model().config().vocab_size, T = static_cast<int64_t>(ids.size());
  engine::Session s(e.model(), T);
  std::vector<float> out(static_cast<size_t>(T * V));
  RADSEEK_TRY(e.model().forward(e.context(), {.tokens = ids, .cache = &s.cache(), .scratch = &s.scratch(),
                                              .logits = out.data(), .rows = model::LogitsRows::kAll}));
  return out;
}

Expected<model::LogitComparison> evaluate(const QuantizeFlags& f) {
  const auto prec = f.precision == "bf16" ? kernels::ActPrecision::kBF16 : kernels::ActPrecision::kF32;
  auto ref = engine::Engine::load({.model_dir = f.model, .threads = f.threads, .precision = prec});
  if (!ref) return ref.error();
  auto q = engine::Engine::load({.model_dir = f.out, .threads = f.threads, .precision = prec});
  if (!q) return q.error();
  auto ids = eval_ids(**ref, f);
  if (!ids) return ids.error();
  auto lr = all_logits(**ref, *ids);
  if (!lr) return lr.error();
  auto lq = all_logits(**q, *ids);
  if (!lq) return lq.error();
  return model::compare_logits(lr->data(), lq->data(), static_cast<int64_t>(ids->size()),
                               (*ref)->model().config().vocab_size, *ids);
}

int run_quantize(const QuantizeFlags& f) {
  Progress bar("quantizing", /*unit=*/"MB");
  Timer t;
  auto rep = model::quantize_checkpoint({.src_dir = f.model, .dst_dir = f.out, .bits = f.bits,
                                         .max_shard_bytes = static_cast<size_t>(f.shard_gb * 1e9),
                                         .progress = [&](size_t done, size_t total) {
                                           bar.update(static_cast<double>(done) / 1e6, static_cast<double>(total) / 1e6);
                                         }});
  bar.finish();
  if (!rep) {
    std::fprintf(stderr, "radseek quantize: %s\n", rep.error().message.c_str());
    return 1;
  }
  std::printf("wrote %s in %.1f s: %lld tensors quantised to %d-bit (lm_head 8-bit), %lld kept float; %.1f MB -> %.1f MB\n",
              f.out.c_str(), t.seconds(), static_cast<long long>(rep->quantized_tensors), f.bits,
              static_cast<long long>(rep->float_tensors), static_cast<double>(rep->src_bytes) / 1e6,
              static_cast<double>(rep->dst_bytes) / 1e6);
  if (f.eval_tokens <= 0) return 0;
  auto c = evaluate(f);
  if (!c) {
    std::fprintf(stderr, "radseek quantize: evaluation: %s\n", c.error().message.c_str());
    return 1;
  }
  std::printf("quality over %lld tokens (%s activations): mean KL %.6f nats/position (max %.6f), top-1 agreement %.2f%%, "
              "perplexity original %.3f quantised %.3f\n",
              static_cast<long long>(f.eval_tokens), f.precision.c_str(), c->mean_kl, c->max_kl, 100.0 * c->top1_agreement,
              c->ppl_ref, c->ppl_q);
  return 0;
}

}  // namespace

void register_quantize(CLI::App& app) {
  auto f = std::make_shared<QuantizeFlags>();
  auto* cmd = app.add_subcommand("quantize", "Write an 8-bit or 4-bit copy of a checkpoint and measure its KL divergence");
  cmd->add_option("-m,--model", f->model, "Source model folder (BF16/F16/F32 or FP8)")->required();
  cmd->add_option("-o,--out", f->out, "Output folder")->required();
  cmd->add_option("--bits", f->bits, "8 (Q8) or 4 (Q4); one F32 scale per 32 columns")
      ->check(CLI::IsMember({8, 4}))->capture_default_str();
  cmd->add_option("--eval-tokens", f->eval_tokens, "Positions compared after writing (0: skip)")->capture_default_str();
  cmd->add_option("--eval-text", f->eval_text, "Text file for the comparison (default: a fixed spread of token ids)");
  cmd->add_option("--precision", f->precision, "Activations in the comparison: f32, or bf16 (int8 for Q8/Q4)")
      ->check(CLI::IsMember({"f32", "bf16"}))->capture_default_str();
  cmd->add_option("-t,--threads", f->threads, "Threads for the comparison (0: all cores)");
  cmd->add_option("--shard-gb", f->shard_gb, "Maximum shard size in GB")->capture_default_str();
  cmd->footer("Example:\n  radseek quantize -m /data/v2lite8-bf16 -o /data/v2lite8-q4 --bits 4 --eval-tokens 256");
  cmd->callback([f] { std::exit(run_quantize(*f)); });
}

}  // namespace radseek::cli

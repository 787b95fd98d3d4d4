// radseek train grpo: reinforcement learning with verifiable rewards (train/grpo.h) on the
// multi-label classification task. Prompts are exactly what `radseek classify --engine local` feeds
// with reasoning on (radiology/local.h local_prompt_ids); the reward is radiology/grpo_reward.h's.
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "engine/chat.h"
#include "engine/engine.h"
#include "radiology/grpo_reward.h"
#include "radiology/local.h"
#include "radiology/prompt.h"
#include "train/grpo.h"

namespace radseek::cli {
namespace {

namespace rad = radseek::radiology;

struct GrpoFlags {
  std::string data, labels = "chexpert", init_from, ref, out, family = "compact", dtype = "bf16";
  int64_t steps = 20, prompts_per_step = 4, group = 4, max_new_tokens = 384, limit = 0, warmup = 0, save_every = 0;
  double temperature = 1.0, kl_beta = 0.04, lr = 1e-5, min_lr_ratio = 1.0, weight_decay = 0.0, clip = 1.0;
  double format_bonus = 0.2;
  uint64_t seed = 1;
  int threads = 0;
  bool resume = false;
  bool free_reasoning = false;
};

// The task: prompts (token ids) and gold label values, one per report.
struct Task {
  rad::LabelSet labels;
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::vector<rad::LabelValue>> gold;
  std::vector<int32_t> no_text_ids;  // vocabulary padding: ids the tokenizer cannot print
  std::vector<std::shared_ptr<const engine::TextConstraint>> formats;  // per prompt, or empty (free)
};

Expected<Task> load_task(const GrpoFlags& f, const engine::Engine& eng) {
  Task t;
  auto labels = rad::resolve_label_set(f.labels);
  if (!labels) return labels.error();
  t.labels = std::move(*labels);
  auto family = rad::parse_model_family(f.family);
  if (!family) return family.error();
  const std::string field = "labels_" + f.labels;
  std::ifstream in(f.data);
  if (!in) return make_error(ErrorCode::kIo, f.data + ": cannot open");
  std::string line;
  for (int64_t n = 1; std::getline(in, line) && (f.limit <= 0 || static_cast<int64_t>(t.prompts.size()) < f.limit); ++n) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    const std::string where = f.data + ":" + std::to_string(n);
    if (j.is_discarded() || !j.is_object() || !j.contains("text") || !j["text"].is_string())
      return make_error(ErrorCode::kParse, where + ": expected a JSON object with \"text\"");
    auto gold = rad::gold_label_values(j, t.labels, field);
    if (!gold) return gold.error().with_context(where);
    // The same calls as the local backend: section filter (none), prompt builder, chat template + "<think>\n".
    const std::string report = rad::prompt_report_text(j["text"].get<std::string>(), {});
    auto messages = rad::build_multilabel_prompt(report, t.labels, *family);
    if (!messages) return messages.error().with_context(where);
    auto ids = rad::local_prompt_ids(eng, *messages, std::nullopt, true);
    if (!ids) return ids.error().with_context(where);
    t.prompts.push_back(std::move(*ids));
    // The compact family's rollouts follow classify --answer model: the walk, then the answer block.
    if (*family == rad::ModelFamily::kCompact && !f.free_reasoning) {
      auto held = rad::multilabel_rollout_format(report, t.labels);
      t.formats.push_back(held ? std::make_shared<const engine::FormatConstraint>(std::move(*held)) : nullptr);
    }
    t.gold.push_back(std::move(*gold));
  }
  if (t.prompts.empty()) return make_error(ErrorCode::kInvalidArgument, f.data + ": no reports");
  t.no_text_ids = eng.textless_ids();
  return t;
}

void print_step(const train::GrpoStepReport& r) {
  std::string comp;
  for (const auto& [name, v] : r.components) comp += " " + name + " " + std::to_string(v).substr(0, 5);
  std::fprintf(stderr,
               "step %lld/%lld  reward %.3f (%s)  zero-adv groups %.2f  kl %.4f  len %.0f  lr %.2e  |g| %.3f  "
               "export %.1fs sample %.1fs update %.1fs  ETA %.0fs\n",
               static_cast<long long>(r.step), static_cast<long long>(r.total_steps), r.mean_reward,
               comp.empty() ? "" : comp.c_str() + 1, r.zero_advantage_groups, r.kl, r.completion_tokens, r.lr, r.grad_norm,
               r.export_s, r.sample_s, r.update_s, r.eta_s);
}

int run_grpo_cmd(const GrpoFlags& f) {
  auto fail = [](const Error& e) {
    std::fprintf(stderr, "radseek train grpo: %s\n", e.message.c_str());
    return 1;
  };
  if (f.labels != "chexpert" && f.labels != "chestxray14")
    return fail(make_error(ErrorCode::kInvalidArgument, "--labels: chexpert or chestxray14"));
  auto eng = engine::Engine::load({.model_dir = f.init_from, .threads = 1, .precision = kernels::ActPrecision::kF32,
                                   .attention = model::AttentionMode::kAuto, .isa = std::nullopt});
  if (!eng) return fail(eng.error());
  if (!(*eng)->tokenizer()) return fail(make_error(ErrorCode::kNotFound, f.init_from + ": no tokenizer.json"));
  auto task = load_task(f, **eng);
  if (!task) return fail(task.error());
  // The loaded engine stays for its tokenizer (the trainer loads its own model copies; this one is small).
  const tokenizer::Tokenizer& tok = *(*eng)->tokenizer();
  std::fprintf(stderr, "%zu prompts from %s (%s labels)\n", task->prompts.size(), f.data.c_str(), f.labels.c_str());
  auto reward = [&](int64_t prompt, std::span<const int32_t> completion) -> train::RewardValue {
    auto text = tok.decode(completion);
    const rad::ClassificationReward r =
        text ? rad::multilabel_reward(*text, task->labels, task->gold[prompt], f.format_bonus) : rad::ClassificationReward{};
    return {.total = r.total, .components = {{"f1", r.f1}, {"format", r.formatted ? 1.0 : 0.0}}};
  };
  const auto fmt = f.dtype == "fp8" ? model::WeightFormat::kFP8 : f.dtype == "f32" ? model::WeightFormat::kF32
                                                                                  : model::WeightFormat::kBF16;
  auto r = train::run_grpo({.init_from = f.init_from, .ref = f.ref, .out_dir = f.out, .resume = f.resume,
                            .prompts = task->prompts, .reward = reward, .banned_ids = task->no_text_ids,
                            .formats = task->formats,
                            .steps = f.steps, .prompts_per_step = f.prompts_per_step, .group = f.group,
                            .max_new_tokens = f.max_new_tokens, .temperature = static_cast<float>(f.temperature),
                            .kl_beta = f.kl_beta, .adv_eps = 1e-4,
                            .lr = {.peak = f.lr, .warmup_steps = f.warmup, .total_steps = f.steps, .min_ratio = f.min_lr_ratio},
                            .adam = {.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = f.weight_decay},
                            .clip = f.clip, .seed = f.seed, .threads = f.threads, .save_every = f.save_every, .stop_at = 0,
                            .format = fmt, .on_step = print_step});
  if (!r) return fail(r.error());
  std::fprintf(stderr, "wrote %s (step %lld)\n", f.out.c_str(), static_cast<long long>(r->final_step));
  return 0;
}

}  // namespace

void register_train_grpo(CLI::App& train) {
  auto f = std::make_shared<GrpoFlags>();
  auto* cmd = train.add_subcommand("grpo", "Reinforcement learning on classification rewards (GRPO, DeepSeekMath/R1)");
  cmd->add_option("--data", f->data, "JSONL reports with \"text\" and gold \"labels_chexpert\"/\"labels_chestxray14\" (radseek synth)")
      ->required();
  cmd->add_option("--labels", f->labels, "Label set and gold field: chexpert or chestxray14")->capture_default_str();
  cmd->add_option("--init-from", f->init_from, "HF checkpoint to start from (the SFT output; its tokenizer and chat template)")
      ->required();
  cmd->add_option("--ref", f->ref, "Frozen reference model for the KL penalty (default: --init-from)");
  cmd->add_option("-o,--out", f->out, "Output folder: HF checkpoint + trainer state")->required();
  cmd->add_option("--family", f->family, "Prompt family (as classify --family): compact, r1 or generic")->capture_default_str();
  cmd->add_option("--limit", f->limit, "Use the first N reports (0: all)")->capture_default_str();
  cmd->add_flag("--resume", f->resume, "Continue from the trainer state in --out");
  cmd->add_flag("--free-reasoning", f->free_reasoning,
                "Compact family: sample the reasoning freely instead of holding each rollout to the walk and the\n"
                "answer format (as classify --answer model does)");
  cmd->add_option("--steps", f->steps, "Policy updates")->capture_default_str();
  cmd->add_option("--prompts-per-step", f->prompts_per_step, "Reports per step (P)")->capture_default_str();
  cmd->add_option("--group", f->group, "Completions sampled per report (G >= 2)")->capture_default_str();
  cmd->add_option("--temperature", f->temperature, "Sampling temperature")->capture_default_str();
  cmd->add_option("--max-new-tokens", f->max_new_tokens, "Longest completion (reasoning + answer)")->capture_default_str();
  cmd->add_option("--kl-beta", f->kl_beta, "Weight β of the KL penalty to the reference (k3 estimator)")->capture_default_str();
  cmd->add_option("--format-bonus", f->format_bonus, "Reward added when the answer parses")->capture_default_str();
  cmd->add_option("--lr", f->lr, "Peak learning rate")->capture_default_str();
  cmd->add_option("--warmup", f->warmup, "Linear warm-up steps")->capture_default_str();
  cmd->add_option("--min-lr-ratio", f->min_lr_ratio, "Cosine floor as a fraction of --lr (1: constant)")->capture_default_str();
  cmd->add_option("--weight-decay", f->weight_decay, "AdamW decoupled weight decay")->capture_default_str();
  cmd->add_option("--clip", f->clip, "Global gradient-norm clip (0: none)")->capture_default_str();
  cmd->add_option("--seed", f->seed, "Seed for the report order and sampling")->capture_default_str();
  cmd->add_option("-t,--threads", f->threads, "Threads (0: all cores)")->capture_default_str();
  cmd->add_option("--save-every", f->save_every, "Write trainer state + checkpoint every N steps")->capture_default_str();
  cmd->add_option("--dtype", f->dtype, "Checkpoint weights: bf16, f32 or fp8 (e4m3 128x128 blocks)")
      ->check(CLI::IsMember({"bf16", "f32", "fp8"}))->capture_default_str();
  cmd->footer(
      "Each step samples --group completions for each of --prompts-per-step reports from the current policy\n"
      "(the prompt `radseek classify --engine local` uses with reasoning on: chat template + \"<think>\\n\"),\n"
      "scores them, and makes one update on  -A*log pi(o_t) + beta*KL_k3(pi || ref)  per completion token,\n"
      "with A = (reward - group mean) / group std (groups whose rewards are all equal are skipped).\n"
      "With the compact family each rollout is held, while sampling, to what classify --answer model\n"
      "decodes: the walk through the report (sentences forced, verdicts sampled), \"</think>\", and the\n"
      "constrained answer block (values and quotes sampled), so the reward judges the model's own answer.\n"
      "Reward: when the text after the last \"</think>\" is an <answer> block that parses,\n"
      "  micro-F1 of the predicted present labels vs the gold present labels (uncertain and blank count as\n"
      "  absent, as radseek eval's default; no gold and no predicted positives: F1 = 1) + --format-bonus;\n"
      "  otherwise 0.\n"
      "Example:\n  radseek train grpo --data reports.jsonl --labels chexpert --init-from sft -o grpo \\\n"
      "    --steps 20 --prompts-per-step 4 --group 4 --max-new-tokens 384 --kl-beta 0.04 --lr 1e-5");
  cmd->callback([f] { std::exit(run_grpo_cmd(*f)); });
}

}  // namespace radseek::cli

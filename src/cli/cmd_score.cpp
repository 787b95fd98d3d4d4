// radseek score / generate: the two outputs an independent check reads (see README "Contracts").
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/engine_options.h"

namespace radseek::cli {
namespace {

using nlohmann::json;

struct ScoreFlags {
  ModelFlags model;
  std::string text;
  std::string ids;
  int top_k = 10;
  bool bos = false;
};

struct GenerateFlags {
  ModelFlags model;
  std::string prompt;
  std::string ids;
  int64_t n = 128;
  float temperature = 0.0f;
  float top_p = 1.0f;
  int top_k = 0;
  float min_p = 0.0f;
  uint64_t seed = 0;
  bool ignore_eos = false;
  bool json_out = false;
};

int run_score(const ScoreFlags& f) {
  std::vector<int32_t> ids;
  if (!f.ids.empty()) {
    if (!parse_id_list(f.ids, ids)) return 2;
  } else {
    std::fprintf(stderr, "radseek score: give --ids (text input needs the model's tokenizer.json)\n");
    return 2;
  }
  auto eng = load_engine_or_report(f.model);
  if (!eng) return 1;
  auto scores = eng->score(ids, f.top_k);
  if (!scores) {
    std::fprintf(stderr, "radseek score: %s\n", scores.error().message.c_str());
    return 1;
  }
  json out;
  out["ids"] = ids;
  json positions = json::array();
  for (const auto& p : *scores) {
    json jp{{"pos", p.pos}};
    if (p.next_id) {
      jp["next_id"] = *p.next_id;
      jp["logprob"] = p.next_logprob;
    }
    json top = json::array();
    for (const auto& t : p.top) top.push_back(json::array({t.id, t.logprob}));
    jp["top"] = std::move(top);
    positions.push_back(std::move(jp));
  }
  out["positions"] = std::move(positions);
  std::cout << out.dump() << "\n";
  return 0;
}

int run_generate(const GenerateFlags& f) {
  std::vector<int32_t> ids;
  if (!f.ids.empty()) {
    if (!parse_id_list(f.ids, ids)) return 2;
  } else {
    std::fprintf(stderr, "radseek generate: give --ids (text prompts need the model's tokenizer.json)\n");
    return 2;
  }
  auto eng = load_engine_or_report(f.model);
  if (!eng) return 1;
  engine::Session session(eng->model(), static_cast<int64_t>(ids.size()) + f.n);
  engine::GenerateParams p;
  p.max_new_tokens = f.n;
  p.sampling = engine::SamplingParams{.temperature = f.temperature, .top_k = f.top_k, .top_p = f.top_p,
                                      .min_p = f.min_p, .seed = f.seed};
  p.ignore_eos = f.ignore_eos;
  if (!f.json_out) {
    p.on_token = [](int32_t id) {
      std::printf("%d ", id);
      std::fflush(stdout);
      return true;
    };
  }
  auto r = eng->generate(session, ids, p);
  if (!r) {
    std::fprintf(stderr, "radseek generate: %s\n", r.error().message.c_str());
    return 1;
  }
  const double pp = r->prompt_tokens / std::max(r->prefill_seconds, 1e-9);
  const double tg = r->ids.size() > 1 ? (r->ids.size() - 1) / std::max(r->decode_seconds, 1e-9) : 0.0;
  if (f.json_out) {
    json out{{"ids", r->ids}, {"text", ""}, {"reasoning", ""}, {"finish_reason", r->finish_reason},
             {"prompt_tokens", r->prompt_tokens}, {"prefill_tokens_per_s", pp}, {"decode_tokens_per_s", tg}};
    std::cout << out.dump() << "\n";
  } else {
    std::printf("\n");
    std::fprintf(stderr, "prefill %.1f tok/s, decode %.1f tok/s, finish: %s\n", pp, tg, r->finish_reason.c_str());
  }
  return 0;
}

}  // namespace

void register_score(CLI::App& app) {
  auto f = std::make_shared<ScoreFlags>();
  auto* cmd = app.add_subcommand("score", "Log-probabilities of every position of a sequence (JSON, FP32 by default)");
  add_model_flags(*cmd, f->model, "f32");
  cmd->add_option("--text", f->text, "Text to encode with the model's tokenizer");
  cmd->add_option("--ids", f->ids, "Comma-separated token ids, e.g. 0,17,42");
  cmd->add_option("--top-k", f->top_k, "How many best tokens to list per position")->capture_default_str();
  cmd->add_flag("--bos", f->bos, "Prepend BOS when encoding --text");
  cmd->footer("Example: radseek score -m tests/data/golden/v3_bf16 --ids 0,5,9 --top-k 5");
  cmd->callback([f] { std::exit(run_score(*f)); });
}

void register_generate(CLI::App& app) {
  auto f = std::make_shared<GenerateFlags>();
  auto* cmd = app.add_subcommand("generate", "Generate tokens through the KV cache, one at a time");
  add_model_flags(*cmd, f->model, "f32");
  cmd->add_option("--prompt", f->prompt, "Prompt text");
  cmd->add_option("--ids", f->ids, "Prompt as comma-separated token ids");
  cmd->add_option("-n,--max-tokens", f->n, "Tokens to generate")->capture_default_str();
  cmd->add_option("--temperature", f->temperature, "0 = greedy")->capture_default_str();
  cmd->add_option("--top-p", f->top_p, "Nucleus sampling mass")->capture_default_str();
  cmd->add_option("--top-k", f->top_k, "Keep the k most likely tokens (0 = off)")->capture_default_str();
  cmd->add_option("--min-p", f->min_p, "Drop tokens below min_p x p(best)")->capture_default_str();
  cmd->add_option("--seed", f->seed, "Sampling seed")->capture_default_str();
  cmd->add_flag("--ignore-eos", f->ignore_eos, "Keep generating past end-of-sequence");
  cmd->add_flag("--json", f->json_out, "Print one JSON object {ids, text, reasoning, ...}");
  cmd->footer("Example: radseek generate -m tests/data/golden/v3_fp8 --ids 0,5,9 -n 16 --temperature 0 --json");
  cmd->callback([f] { std::exit(run_generate(*f)); });
}

}  // namespace radseek::cli

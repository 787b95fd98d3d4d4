// radseek score: per-position log-probabilities (a contract read by an independent check; see README).
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

int run_score(const ScoreFlags& f) {
  if (f.ids.empty() == f.text.empty()) {
    std::fprintf(stderr, "radseek score: give exactly one of --text or --ids\n");
    return 2;
  }
  auto eng = load_engine_or_report(f.model);
  if (!eng) return 1;
  std::vector<int32_t> ids;
  if (!input_ids(*eng, {.ids_flag = f.ids, .text = f.text, .add_bos = f.bos}, ids)) return 2;
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

}  // namespace radseek::cli

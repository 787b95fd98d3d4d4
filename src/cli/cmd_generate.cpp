// radseek generate: one completion, raw (--prompt / --ids) or as a chat turn (--chat). With --json it
// prints the contract object {"ids", "text", "reasoning", ...} (see README "Contracts").
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/engine_options.h"
#include "engine/chat.h"
#include "tokenizer/reasoning.h"
#include "tokenizer/stream_decoder.h"

namespace radseek::cli {
namespace {

using nlohmann::json;

struct GenerateFlags {
  ModelFlags model;
  SamplingFlags sampling;
  std::string prompt, ids, system, chat_template;
  int64_t n = 128;
  int64_t max_thinking = -1;
  bool ignore_eos = false, json_out = false, chat = false, thinking = false;
  std::string speculative = "none";
};

json speed_fields(int64_t prompt_tokens, size_t generated, double prefill_s, double decode_s) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", generated},
          {"prefill_tokens_per_s", prompt_tokens / std::max(prefill_s, 1e-9)},
          {"decode_tokens_per_s", generated > 1 ? (generated - 1) / std::max(decode_s, 1e-9) : 0.0}};
}

engine::GenerateParams::Speculation speculation(const std::string& name) {
  using S = engine::GenerateParams::Speculation;
  return name == "mtp" ? S::kMtp : name == "ngram" ? S::kNgram : S::kNone;
}

json speculative_fields(int64_t drafted, int64_t accepted) {
  return {{"drafted", drafted}, {"accepted", accepted},
          {"acceptance_rate", drafted > 0 ? static_cast<double>(accepted) / static_cast<double>(drafted) : 0.0}};
}

int run_chat_generate(const engine::Engine& eng, const GenerateFlags& f) {
  engine::ChatParams p;
  if (!f.system.empty()) p.messages.push_back({.role = "system", .content = f.system});
  p.messages.push_back({.role = "user", .content = f.prompt});
  if (!f.chat_template.empty()) {
    auto k = tokenizer::chat_template_from_name(f.chat_template);
    if (!k) {
      std::fprintf(stderr, "radseek generate: %s\n", k.error().message.c_str());
      return 2;
    }
    p.chat_template = *k;
  }
  p.thinking = f.thinking;
  p.gen.max_new_tokens = f.n;
  p.gen.sampling = resolve_sampling(eng, f.sampling);
  p.gen.ignore_eos = f.ignore_eos;
  if (f.max_thinking >= 0) p.max_reasoning_tokens = f.max_thinking;
  p.gen.speculation = speculation(f.speculative);
  if (!f.json_out)
    p.on_delta = [](const std::string& r, const std::string& c) {
      if (!r.empty()) std::fputs(r.c_str(), stderr);
      if (!c.empty()) std::fputs(c.c_str(), stdout);
      std::fflush(stdout);
    };
  engine::Session s(eng.model(), eng.model().config().max_position_embeddings > 0
                                     ? std::min<int64_t>(eng.model().config().max_position_embeddings, 8192 + f.n)
                                     : 8192 + f.n);
  auto r = engine::chat(eng, s, p);
  if (!r) {
    std::fprintf(stderr, "radseek generate: %s\n", r.error().message.c_str());
    return 1;
  }
  json out{{"ids", r->ids}, {"text", r->content}, {"reasoning", r->reasoning}, {"finish_reason", r->finish_reason},
           {"reasoning_tokens", r->reasoning_tokens}};
  out.update(speed_fields(r->prompt_tokens, r->ids.size(), r->prefill_seconds, r->decode_seconds));
  if (p.gen.speculation != engine::GenerateParams::Speculation::kNone)
    out["speculative"] = speculative_fields(r->drafted, r->accepted);
  if (f.json_out) std::cout << out.dump() << "\n";
  else std::fprintf(stderr, "\n[%s]\n", out.dump().c_str());
  return 0;
}

int run_generate(const GenerateFlags& f) {
  if (f.ids.empty() == f.prompt.empty()) {
    std::fprintf(stderr, "radseek generate: give exactly one of --prompt or --ids\n");
    return 2;
  }
  auto eng = load_engine_or_report(f.model);
  if (!eng) return 1;
  if (f.chat && !f.prompt.empty()) return run_chat_generate(*eng, f);
  std::vector<int32_t> ids;
  const bool bos = eng->tokenizer() && eng->tokenizer()->add_bos_token();
  if (!input_ids(*eng, {.ids_flag = f.ids, .text = f.prompt, .add_bos = bos}, ids)) return 2;
  engine::Session session(eng->model(), static_cast<int64_t>(ids.size()) + f.n);
  engine::GenerateParams p;
  p.max_new_tokens = f.n;
  p.sampling = resolve_sampling(*eng, f.sampling);
  p.ignore_eos = f.ignore_eos;
  p.speculation = speculation(f.speculative);
  std::optional<tokenizer::StreamDecoder> dec;
  if (eng->tokenizer()) dec.emplace(*eng->tokenizer());
  if (!f.json_out)
    p.on_token = [&](int32_t id) {
      if (dec) {
        if (auto t = dec->push(id); t.ok()) std::fputs(t->c_str(), stdout);
      } else {
        std::printf("%d ", id);
      }
      std::fflush(stdout);
      return true;
    };
  auto r = eng->generate(session, ids, p);
  if (!r) {
    std::fprintf(stderr, "radseek generate: %s\n", r.error().message.c_str());
    return 1;
  }
  std::string text;
  if (eng->tokenizer())
    if (auto t = eng->tokenizer()->decode(r->ids); t.ok()) text = *t;
  const auto split = tokenizer::split_reasoning(text);
  json out{{"ids", r->ids}, {"text", split.content}, {"reasoning", split.reasoning}, {"finish_reason", r->finish_reason}};
  out.update(speed_fields(r->prompt_tokens, r->ids.size(), r->prefill_seconds, r->decode_seconds));
  if (p.speculation != engine::GenerateParams::Speculation::kNone) {
    out["speculative"] = speculative_fields(r->drafted, r->accepted);
    out["speculative"]["forward_steps"] = r->forward_steps;
  }
  if (f.json_out) std::cout << out.dump() << "\n";
  else std::fprintf(stderr, "\n[%s]\n", out.dump().c_str());
  return 0;
}

}  // namespace

void register_generate(CLI::App& app) {
  auto f = std::make_shared<GenerateFlags>();
  auto* cmd = app.add_subcommand("generate", "Generate tokens through the KV cache, one at a time");
  add_model_flags(*cmd, f->model, "f32");
  add_sampling_flags(*cmd, f->sampling);
  cmd->add_option("--prompt", f->prompt, "Prompt text (raw; with --chat: one user message)");
  cmd->add_option("--ids", f->ids, "Prompt as comma-separated token ids");
  cmd->add_option("-n,--max-tokens", f->n, "Tokens to generate")->capture_default_str();
  cmd->add_flag("--ignore-eos", f->ignore_eos, "Keep generating past end-of-sequence");
  cmd->add_flag("--json", f->json_out, "Print one JSON object {ids, text, reasoning, ...}");
  cmd->add_flag("--chat", f->chat, "Render --prompt as a user turn with the model's chat template");
  cmd->add_option("--system", f->system, "System message (with --chat)");
  cmd->add_option("--chat-template", f->chat_template, "deepseek-v3, deepseek-r1, deepseek-r1-think, deepseek-v3.1, ...");
  cmd->add_flag("--thinking", f->thinking, "Hybrid models (V3.1, Qwen3): thinking mode");
  cmd->add_option("--max-thinking-tokens", f->max_thinking, "Close the reasoning after this many tokens (with --chat)");
  cmd->add_option("--speculative", f->speculative, "none; mtp: the model's MTP module drafts a token that the next step verifies; ngram: prompt lookup")
      ->check(CLI::IsMember({"none", "mtp", "ngram"}))->capture_default_str();
  cmd->footer("Examples:\n  radseek generate -m tests/data/golden/v3_fp8 --ids 0,5,9 -n 16 --temperature 0 --json\n"
              "  radseek generate -m MODEL --chat --prompt \"Is there a pleural effusion? ...\" --max-thinking-tokens 256");
  cmd->callback([f] { std::exit(run_generate(*f)); });
}

}  // namespace radseek::cli

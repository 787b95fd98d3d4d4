// radseek chat: an interactive conversation; reasoning is streamed dimmed, apart from the answer.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/engine_options.h"
#include "engine/chat.h"

namespace radseek::cli {
namespace {

struct ChatFlags {
  ModelFlags model;
  SamplingFlags sampling;
  std::string system, chat_template;
  int64_t n = 2048;
  int64_t max_thinking = -1;
  int64_t context = 8192;
  bool thinking = false;
  std::string speculative = "none";
};

int run_chat(const ChatFlags& f) {
  auto eng = load_engine_or_report(f.model);
  if (!eng) return 1;
  const bool tty = ::isatty(STDOUT_FILENO);
  engine::ChatParams p;
  if (!f.system.empty()) p.messages.push_back({.role = "system", .content = f.system});
  if (!f.chat_template.empty()) {
    auto k = tokenizer::chat_template_from_name(f.chat_template);
    if (!k) {
      std::fprintf(stderr, "radseek chat: %s\n", k.error().message.c_str());
      return 2;
    }
    p.chat_template = *k;
  }
  p.thinking = f.thinking;
  p.gen.max_new_tokens = f.n;
  p.gen.sampling = resolve_sampling(*eng, f.sampling);
  if (f.max_thinking >= 0) p.max_reasoning_tokens = f.max_thinking;
  using Spec = engine::GenerateParams::Speculation;
  p.gen.speculation = f.speculative == "mtp" ? Spec::kMtp : f.speculative == "ngram" ? Spec::kNgram : Spec::kNone;
  bool in_reasoning = false;
  p.on_delta = [&](const std::string& r, const std::string& c) {
    if (!r.empty()) {
      if (!in_reasoning && tty) std::fputs("\x1b[2m", stdout);
      in_reasoning = true;
      std::fputs(r.c_str(), stdout);
    }
    if (!c.empty()) {
      if (in_reasoning && tty) std::fputs("\x1b[0m\n", stdout);
      in_reasoning = false;
      std::fputs(c.c_str(), stdout);
    }
    std::fflush(stdout);
  };
  std::fprintf(stderr, "radseek chat: /reset clears the conversation, /exit or Ctrl-D quits\n");
  std::string line;
  while (true) {
    std::fputs(tty ? "\n\x1b[1m> \x1b[0m" : "\n> ", stdout);
    std::fflush(stdout);
    if (!std::getline(std::cin, line) || line == "/exit") break;
    if (line == "/reset") {
      p.messages.erase(std::remove_if(p.messages.begin(), p.messages.end(), [](auto& m) { return m.role != "system"; }),
                       p.messages.end());
      continue;
    }
    if (line.empty()) continue;
    p.messages.push_back({.role = "user", .content = line});
    engine::Session s(eng->model(), f.context);
    auto r = engine::chat(*eng, s, p);
    if (in_reasoning && tty) std::fputs("\x1b[0m", stdout);
    in_reasoning = false;
    if (!r) {
      std::fprintf(stderr, "\nradseek chat: %s\n", r.error().message.c_str());
      p.messages.pop_back();
      continue;
    }
    std::fprintf(stderr, "\n[%lld reasoning tokens, %zu total, %.1f tok/s", (long long)r->reasoning_tokens,
                 r->ids.size(), r->ids.size() / std::max(r->decode_seconds, 1e-9));
    if (r->drafted > 0) std::fprintf(stderr, ", %lld of %lld drafts accepted", (long long)r->accepted, (long long)r->drafted);
    std::fputs("]\n", stderr);
    p.messages.push_back({.role = "assistant", .content = r->content, .reasoning = r->reasoning});
  }
  return 0;
}

}  // namespace

void register_chat(CLI::App& app) {
  auto f = std::make_shared<ChatFlags>();
  auto* cmd = app.add_subcommand("chat", "Interactive chat; reasoning is shown apart from the answer");
  add_model_flags(*cmd, f->model, "bf16");
  add_sampling_flags(*cmd, f->sampling);
  cmd->add_option("--system", f->system, "System message (R1 recommends none)");
  cmd->add_option("--chat-template", f->chat_template, "Override the template (see generate --help)");
  cmd->add_option("-n,--max-tokens", f->n, "Tokens per answer")->capture_default_str();
  cmd->add_option("--max-thinking-tokens", f->max_thinking, "Thinking budget per turn");
  cmd->add_option("-c,--context", f->context, "KV-cache capacity in tokens")->capture_default_str();
  cmd->add_flag("--thinking", f->thinking, "Hybrid models (V3.1, Qwen3): thinking mode");
  cmd->add_option("--speculative", f->speculative,
                  "none; mtp: the model's MTP module drafts a token that the next step verifies (same output); ngram")
      ->check(CLI::IsMember({"none", "mtp", "ngram"}))->capture_default_str();
  cmd->footer("Example: radseek chat -m MODEL --max-thinking-tokens 512");
  cmd->callback([f] { std::exit(run_chat(*f)); });
}

}  // namespace radseek::cli

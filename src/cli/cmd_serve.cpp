// radseek serve: the OpenAI-compatible server (src/server). Binds first (so /health can answer
// "loading"), loads the model, then serves until SIGTERM/SIGINT, which starts a graceful shutdown.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "cli/engine_options.h"
#include "server/server.h"

namespace radseek::cli {
namespace {

struct ServeFlags {
  ModelFlags model;
  server::ServerOptions opts;
  std::vector<std::string> api_keys;
  std::string api_key_file;
  std::string api_key_env = "RADSEEK_SERVER_API_KEYS";
  std::string audit_log = "-";
  std::string chat_template;
  double grace_s = 30;
  int prefix_entries = 8;
  std::string speculative = "none";
};

// The signal handler's only state: the write end of a self-pipe. A handler may only call
// async-signal-safe functions, so it writes one byte and the watcher thread does the rest. The fd
// is set once before the handlers are installed (a lock-free atomic, safe to read in a handler).
std::atomic<int>& signal_pipe_fd() {
  static std::atomic<int> fd{-1};
  return fd;
}
extern "C" void on_stop_signal(int) {
  const char b = 1;
  [[maybe_unused]] const ssize_t n = ::write(signal_pipe_fd().load(), &b, 1);
}

bool install_signal_pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  signal_pipe_fd().store(fds[1]);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a vanished client must not kill the server
  return true;
}

int fail(const std::string& msg) {
  std::fprintf(stderr, "radseek serve: %s\n", msg.c_str());
  return 1;
}

int run_serve(ServeFlags& f) {
  // First of all, so a SIGTERM that arrives while the server is still being set up (e.g. a supervisor
  // stopping a starting service) takes the graceful path instead of the default action.
  int fds[2];
  if (!install_signal_pipe(fds)) return fail("cannot create the signal pipe");
  auto keys = server::KeyStore::load({.flags = f.api_keys, .file = f.api_key_file, .env_var = f.api_key_env});
  if (!keys) return fail(keys.error().message);
  auto audit = server::AuditLog::open(f.audit_log);
  if (!audit) return fail(audit.error().message);
  if (!f.chat_template.empty()) {
    auto k = tokenizer::chat_template_from_name(f.chat_template);
    if (!k) return fail(k.error().message);
    f.opts.chat_template = *k;
  }
  f.opts.scheduler.prefix_cache.max_entries = f.prefix_entries;
  if (f.speculative == "mtp") f.opts.scheduler.speculation = engine::GenerateParams::Speculation::kMtp;
  const size_t n_keys = keys->size();
  auto srv = server::Server::create(f.opts, std::move(*keys), std::move(*audit));
  if (!srv) return fail(srv.error().message);
  if (auto st = (*srv)->bind(); !st) return fail(st.error().message);
  std::fprintf(stderr, "radseek serve: listening on http://%s:%d (%zu API key%s); loading %s\n", f.opts.host.c_str(),
               (*srv)->port(), n_keys, n_keys == 1 ? "" : "s", f.model.model_dir.c_str());
  std::thread http([&] { (*srv)->listen(); });
  std::thread watcher([&] {
    char b;
    while (::read(fds[0], &b, 1) < 0 && errno == EINTR) {
    }
    std::fprintf(stderr, "radseek serve: shutting down (grace %.0f s)\n", f.grace_s);
    (*srv)->shutdown(std::chrono::milliseconds(static_cast<int64_t>(f.grace_s * 1000)));
  });
  int rc = 0;
  if (auto eng = load_engine_or_report(f.model); !eng) {
    rc = 1;
    on_stop_signal(SIGTERM);
  } else if (auto st = (*srv)->set_engine(std::move(eng)); !st) {
    rc = fail(st.error().message);
    on_stop_signal(SIGTERM);
  } else {
    std::fprintf(stderr, "radseek serve: ready (model '%s')\n", f.opts.model_name.c_str());
  }
  http.join();
  watcher.join();
  std::fprintf(stderr, "radseek serve: stopped\n");
  return rc;
}

}  // namespace

void register_serve(CLI::App& app) {
  auto f = std::make_shared<ServeFlags>();
  auto* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server (chat, completions, radiology classify)");
  add_model_flags(*cmd, f->model, "f32");
  server::ServerOptions& o = f->opts;
  cmd->add_option("--host", o.host, "Address to bind; anything but loopback requires API keys")->capture_default_str();
  cmd->add_option("--port", o.port, "Port (0: any free port, printed at start)")->capture_default_str();
  cmd->add_option("--model-name", o.model_name, "Model id reported by /v1/models")->capture_default_str();
  cmd->add_option("-c,--ctx-size", o.context_size,
                  "Tokens per request (prompt + completion); 0: the model's max_position_embeddings, at most 4096")
      ->capture_default_str();
  cmd->add_option("--default-max-tokens", o.default_max_tokens, "Completion tokens when a request sets none")->capture_default_str();
  cmd->add_option("--parallel", o.scheduler.max_batch, "Sequences decoded together in one batch")->capture_default_str();
  cmd->add_option("--queue", o.scheduler.max_queue, "Requests that may wait for a slot; more get 429")->capture_default_str();
  cmd->add_option("--prefill-chunk", o.scheduler.prefill_chunk, "Prompt tokens per sequence per step")->capture_default_str();
  cmd->add_option("--step-tokens", o.scheduler.step_token_budget, "Tokens per batched forward pass")->capture_default_str();
  cmd->add_option("--speculative", f->speculative,
                  "none; mtp: each decoding sequence feeds its token and the MTP module's draft of the next, kept "
                  "when the model agrees (same output; /metrics counts drafts)")
      ->check(CLI::IsMember({"none", "mtp"}))->capture_default_str();
  cmd->add_option("--prefix-cache", f->prefix_entries, "Recent prompts kept for prefix reuse (0: off)")->capture_default_str();
  cmd->add_option("--timeout", o.request_timeout_s, "Seconds a request may run; then it ends with finish_reason length")->capture_default_str();
  cmd->add_option("--max-body-bytes", o.max_body_bytes, "Largest request body (413 beyond)")->capture_default_str();
  cmd->add_option("--chat-template", f->chat_template, "Override the chat template (deepseek-v3, deepseek-r1, ...)");
  cmd->add_option("--api-key", f->api_keys, "API key, NAME:KEY or KEY (repeatable; prefer --api-key-file)");
  cmd->add_option("--api-key-file", f->api_key_file, "File with one NAME:KEY (or KEY) a line");
  cmd->add_option("--api-key-env", f->api_key_env, "Environment variable with comma-separated NAME:KEY entries")->capture_default_str();
  cmd->add_option("--audit-log", f->audit_log, "Audit log (metadata only): a file, '-' for stderr, '' for none")->capture_default_str();
  cmd->add_option("--shutdown-grace", f->grace_s, "Seconds running requests may finish after SIGTERM")->capture_default_str();
  cmd->footer(
      "Examples:\n"
      "  radseek serve -m MODEL --port 8080\n"
      "  curl -s localhost:8080/v1/chat/completions -H 'Content-Type: application/json' \\\n"
      "       -d '{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":64}'\n"
      "  RADSEEK_SERVER_API_KEYS=ward7:$(openssl rand -hex 24) radseek serve -m MODEL --host 0.0.0.0\n"
      "Prompt and output text are never logged; the audit log holds metadata only.");
  cmd->callback([f] { std::exit(run_serve(*f)); });
}

}  // namespace radseek::cli

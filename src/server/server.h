// `radseek serve`: an OpenAI-compatible HTTP server over one engine (cpp-httplib).
//   POST /v1/chat/completions, POST /v1/completions (SSE streaming or not), GET /v1/models,
//   GET /health (200 only once the model is loaded), GET /metrics (Prometheus),
//   POST /v1/radiology/classify (the JSON records of `radseek classify`).
// Generation requests go through the Scheduler (continuous batching). The server binds to
// 127.0.0.1 unless told otherwise, and refuses a non-loopback address without API keys.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "base/status.h"
#include "engine/engine.h"
#include "server/auth.h"
#include "server/openai_schema.h"
#include "server/scheduler.h"
#include "tokenizer/chat_template.h"

namespace radseek::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                          // 0: any free port (see Server::port())
  std::string model_name = "radseek";       // the id /v1/models reports
  // Prompt + completion tokens per request; 0: the model's max_position_embeddings, at most 4096.
  int64_t context_size = 0;
  int64_t default_max_tokens = 1024;        // when a request gives none (capped by the context)
  size_t max_body_bytes = size_t{1} << 20;  // larger bodies get 413
  int max_json_depth = 64;                  // deeper nesting gets 400 before parsing
  double request_timeout_s = 600;           // a request still running then ends with "length"
  int http_threads = 0;                     // 0: max_batch + max_queue + 8
  int read_timeout_s = 10;                  // slow clients (headers or body) get cut off
  RequestLimits limits = {};
  ReasoningBudgets budgets = {};
  SchedulerOptions scheduler = {};
  std::optional<tokenizer::ChatTemplateKind> chat_template = {};
};

struct ServerState;

class Server {
 public:
  // Fails when the options are unsafe (a non-loopback host without keys) or inconsistent.
  static Expected<std::unique_ptr<Server>> create(ServerOptions opts, KeyStore keys, std::unique_ptr<AuditLog> audit);
  ~Server();

  // Binds the socket; /health answers 503 "loading" until set_engine().
  Status bind();
  int port() const;
  // Serves on the calling thread until shutdown() has completed.
  void listen();
  // Makes the server ready: generation requests are accepted from now on.
  Status set_engine(std::unique_ptr<engine::Engine> e);
  // Graceful stop (any thread): new work gets 503, running requests may finish until `grace`
  // has passed and are cancelled after it, then the listener stops.
  void shutdown(std::chrono::milliseconds grace);

 private:
  explicit Server(std::unique_ptr<ServerState> s);
  void register_routes();
  std::unique_ptr<ServerState> s_;
};

}  // namespace radseek::server

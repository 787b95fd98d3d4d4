// Internal to the server target: the state the route handlers share, and the handlers. Each
// handler validates its input, talks to the scheduler or a radiology backend, and writes the
// response; transport details (threads, body limits, timeouts) are set up in server.cpp.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "radiology/backend.h"
#include "server/auth.h"
#include "server/json_schema.h"
#include "server/metrics.h"
#include "server/scheduler.h"
#include "server/server.h"

namespace radseek::server {

struct ServerState {
  ServerOptions opts;
  KeyStore keys;
  std::unique_ptr<AuditLog> audit;
  Metrics metrics;
  httplib::Server http;
  std::time_t created = std::time(nullptr);
  std::atomic<uint64_t> next_request{1};
  std::atomic<bool> ready{false}, stopping{false};
  std::atomic<int> open_streams{0};  // responses still being written (shutdown waits for them)

  // Set once by set_engine() before `ready` turns true, then only read.
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<Scheduler> scheduler;
  std::shared_ptr<const TokenBytes> token_bytes;  // null without a tokenizer
  std::optional<tokenizer::ChatTemplateKind> template_kind;
  std::string template_error;  // why chat is unavailable, when template_kind is empty

  std::mutex classify_mu;  // the rules backend caches labelers per label set
  std::unique_ptr<radiology::ClassifierBackend> rules;
};

// One request's bookkeeping, for the audit log and the metrics.
struct RequestContext {
  std::string id;
  std::string key_name;
  std::string endpoint;
  Clock::time_point start = Clock::now();
};

// Writes an OpenAI error response, and records it.
void send_error(ServerState& s, const RequestContext& ctx, const httplib::Request& req, httplib::Response& res,
                const ApiError& e);
// Audit log + metrics for a finished request.
void record_request(ServerState& s, const RequestContext& ctx, const httplib::Request& req, const Outcome* o, int status);
// Authentication and readiness; false when an error response was written.
bool admit_request(ServerState& s, RequestContext& ctx, const httplib::Request& req, httplib::Response& res,
                   bool needs_model);
// Parses a request body as JSON: 400 for invalid JSON or nesting deeper than the limit.
std::optional<nlohmann::json> parse_body(ServerState& s, const RequestContext& ctx, const httplib::Request& req,
                                         httplib::Response& res);

void handle_generation(ServerState& s, Endpoint ep, const httplib::Request& req, httplib::Response& res);
void handle_classify(ServerState& s, const httplib::Request& req, httplib::Response& res);

// JSON text that tolerates invalid UTF-8 in model output (replaced by U+FFFD).
std::string dump_json(const nlohmann::json& j);

}  // namespace radseek::server

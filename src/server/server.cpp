#include "server/server.h"

#include <cstdio>
#include <thread>

#include "engine/chat.h"
#include "radiology/endpoint.h"
#include "server/routes.h"

namespace radseek::server {

using nlohmann::json;

std::string dump_json(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

namespace {

// Nesting depth of a JSON text outside strings, computed before parsing so a hostile
// "[[[[..." cannot exhaust the stack of a recursive consumer.
int json_depth(const std::string& body) {
  int depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') max_depth = std::max(max_depth, ++depth);
    else if (c == ']' || c == '}') --depth;
  }
  return max_depth;
}

std::string status_text(int status) {
  switch (status) {
    case 400: return "bad request";
    case 401: return "a valid API key is required (Authorization: Bearer KEY)";
    case 404: return "no such endpoint";
    case 405: return "method not allowed";
    case 413: return "the request body is too large";
    default: return "request failed";
  }
}

}  // namespace

void record_request(ServerState& s, const RequestContext& ctx, const httplib::Request& req, const Outcome* o,
                    int status) {
  const double latency = std::chrono::duration<double>(Clock::now() - ctx.start).count();
  RequestRecord m{.endpoint = ctx.endpoint.empty() ? "other" : ctx.endpoint, .status = status, .latency_s = latency};
  AuditRecord a{.request_id = ctx.id, .key_name = ctx.key_name, .method = req.method, .path = ctx.endpoint.empty() ? "other" : req.path,
                .status = status, .latency_ms = latency * 1000.0, .remote_addr = req.remote_addr};
  if (o) {
    m.prompt_tokens = a.prompt_tokens = o->prompt_tokens;
    m.completion_tokens = a.completion_tokens = o->completion_tokens;
    m.reasoning_tokens = a.reasoning_tokens = o->reasoning_tokens;
    m.cached_tokens = o->cached_tokens;
    m.ttft_s = o->first_token_seconds;
    a.ttft_ms = o->first_token_seconds >= 0 ? o->first_token_seconds * 1000.0 : -1;
    a.finish_reason = o->timed_out ? "timeout" : o->finish_reason;
  }
  s.metrics.record(m);
  if (s.audit) s.audit->write(a);
}

void send_error(ServerState& s, const RequestContext& ctx, const httplib::Request& req, httplib::Response& res,
                const ApiError& e) {
  res.status = e.status;
  if (e.retry_after_s > 0) res.set_header("Retry-After", std::to_string(e.retry_after_s));
  res.set_content(dump_json(error_json(e)), "application/json");
  record_request(s, ctx, req, nullptr, e.status);
}

bool admit_request(ServerState& s, RequestContext& ctx, const httplib::Request& req, httplib::Response& res,
                   bool needs_model) {
  ctx.id = std::to_string(s.next_request.fetch_add(1));
  if (!s.keys.empty()) {
    auto name = s.keys.match(bearer_token(req.get_header_value("Authorization")));
    if (!name) {
      send_error(s, ctx, req, res,
                 ApiError{.status = 401, .message = status_text(401), .type = "authentication_error", .code = "invalid_api_key"});
      return false;
    }
    ctx.key_name = *name;
  }
  if (needs_model && s.stopping.load()) {
    send_error(s, ctx, req, res, ApiError{.status = 503, .message = "the server is shutting down", .type = "server_error",
                                          .retry_after_s = 5});
    return false;
  }
  if (needs_model && !s.ready.load()) {
    send_error(s, ctx, req, res, ApiError{.status = 503, .message = "the model is still loading", .type = "server_error",
                                          .code = "model_loading", .retry_after_s = 5});
    return false;
  }
  return true;
}

std::optional<json> parse_body(ServerState& s, const RequestContext& ctx, const httplib::Request& req,
                               httplib::Response& res) {
  if (json_depth(req.body) > s.opts.max_json_depth) {
    send_error(s, ctx, req, res, bad_request("", "JSON nested deeper than " + std::to_string(s.opts.max_json_depth) + " levels"));
    return std::nullopt;
  }
  try {
    return json::parse(req.body);
  } catch (const json::parse_error& e) {
    send_error(s, ctx, req, res, bad_request("", "the body is not valid JSON (byte " + std::to_string(e.byte) + ")"));
    return std::nullopt;
  }
}

Expected<std::unique_ptr<Server>> Server::create(ServerOptions opts, KeyStore keys, std::unique_ptr<AuditLog> audit) {
  if (!radiology::is_loopback_host(opts.host) && keys.empty())
    return make_error(ErrorCode::kInvalidArgument,
                      "--host " + opts.host + " is not a loopback address: serving beyond this machine requires API keys "
                      "(--api-key, --api-key-file or --api-key-env)");
  if (opts.context_size != 0 && opts.context_size < 2)
    return make_error(ErrorCode::kInvalidArgument, "--ctx-size must be at least 2 (or 0: from the model)");
  if (opts.scheduler.max_batch < 1 || opts.scheduler.max_queue < 0)
    return make_error(ErrorCode::kInvalidArgument, "--parallel must be >= 1 and --queue >= 0");
  auto st = std::make_unique<ServerState>();
  st->opts = std::move(opts);
  st->keys = std::move(keys);
  st->audit = std::move(audit);
  st->rules = radiology::make_rules_backend();
  auto srv = std::unique_ptr<Server>(new Server(std::move(st)));
  srv->register_routes();
  return srv;
}

Server::Server(std::unique_ptr<ServerState> s) : s_(std::move(s)) {}

Server::~Server() {
  if (s_->scheduler) s_->scheduler->shutdown(Clock::now());
}

Status Server::bind() {
  ServerState& s = *s_;
  const int threads = s.opts.http_threads > 0 ? s.opts.http_threads
                                              : s.opts.scheduler.max_batch + s.opts.scheduler.max_queue + 8;
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.http.set_payload_max_length(s.opts.max_body_bytes);
  s.http.set_read_timeout(s.opts.read_timeout_s, 0);
  s.http.set_write_timeout(s.opts.read_timeout_s, 0);
  s.http.set_keep_alive_timeout(5);
  const bool ok = s.opts.port == 0 ? (s.opts.port = s.http.bind_to_any_port(s.opts.host)) > 0
                                   : s.http.bind_to_port(s.opts.host, s.opts.port);
  if (!ok) return make_error(ErrorCode::kIo, "cannot listen on " + s.opts.host + ":" + std::to_string(s.opts.port));
  return {};
}

int Server::port() const { return s_->opts.port; }

void Server::listen() { s_->http.listen_after_bind(); }

Status Server::set_engine(std::unique_ptr<engine::Engine> e) {
  ServerState& s = *s_;
  const int64_t max_pos = e->model().config().max_position_embeddings;
  if (s.opts.context_size == 0) s.opts.context_size = max_pos > 0 ? std::min<int64_t>(max_pos, 4096) : 4096;
  if (s.opts.context_size > max_pos && max_pos > 0)
    return make_error(ErrorCode::kInvalidArgument, "--ctx-size " + std::to_string(s.opts.context_size) +
                                                       " exceeds the model's max_position_embeddings");
  if (e->tokenizer()) {
    s.token_bytes = TokenBytes::build(*e->tokenizer(), e->model().config().vocab_size);
    auto kind = engine::resolve_chat_template(*e, s.opts.chat_template);
    if (kind) s.template_kind = *kind;
    else s.template_error = kind.error().message;
  } else {
    s.template_error = "the model folder has no tokenizer.json: use /v1/completions with token ids";
  }
  if (s.opts.scheduler.speculation == engine::GenerateParams::Speculation::kMtp && !e->has_mtp())
    return make_error(ErrorCode::kInvalidArgument, "--speculative mtp: " + e->model().checkpoint().dir() +
                                                       " has no MTP module (num_nextn_predict_layers)");
  s.engine = std::move(e);
  s.scheduler = std::make_unique<Scheduler>(*s.engine, s.opts.scheduler);
  s.ready.store(true);
  return {};
}

void Server::shutdown(std::chrono::milliseconds grace) {
  ServerState& s = *s_;
  const auto deadline = Clock::now() + grace;
  s.stopping.store(true);
  if (s.scheduler) s.scheduler->shutdown(deadline);
  // The scheduler has ended every request; give their responses a moment to be written.
  const auto flush_until = Clock::now() + std::chrono::seconds(2);
  while (s.open_streams.load() > 0 && Clock::now() < flush_until) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  s.http.stop();
}

void Server::register_routes() {
  ServerState& s = *s_;
  s.http.Post("/v1/chat/completions", [&s](const httplib::Request& q, httplib::Response& r) {
    handle_generation(s, Endpoint::kChat, q, r);
  });
  s.http.Post("/v1/completions", [&s](const httplib::Request& q, httplib::Response& r) {
    handle_generation(s, Endpoint::kCompletion, q, r);
  });
  s.http.Post("/v1/radiology/classify", [&s](const httplib::Request& q, httplib::Response& r) { handle_classify(s, q, r); });
  s.http.Get("/v1/models", [&s](const httplib::Request& q, httplib::Response& r) {
    RequestContext ctx{.endpoint = "/v1/models"};
    if (!admit_request(s, ctx, q, r, false)) return;
    json m{{"id", s.opts.model_name}, {"object", "model"}, {"created", s.created}, {"owned_by", "radseek"}};
    r.set_content(dump_json(json{{"object", "list"}, {"data", json::array({m})}}), "application/json");
    record_request(s, ctx, q, nullptr, 200);
  });
  // Readiness probe: no key needed, no detail beyond the state.
  s.http.Get("/health", [&s](const httplib::Request&, httplib::Response& r) {
    const char* state = s.stopping.load() ? "shutting_down" : s.ready.load() ? "ok" : "loading";
    r.status = std::string(state) == "ok" ? 200 : 503;
    r.set_content(json{{"status", state}}.dump(), "application/json");
  });
  s.http.Get("/metrics", [&s](const httplib::Request& q, httplib::Response& r) {
    RequestContext ctx{.endpoint = "/metrics"};
    if (!admit_request(s, ctx, q, r, false)) return;
    r.set_content(s.metrics.render(s.scheduler && s.ready.load() ? s.scheduler->stats() : SchedulerStats{}, s.ready.load()),
                  "text/plain; version=0.0.4");
  });
  // Transport-level errors (404, 405, 413, 400 from the HTTP parser) in the OpenAI error shape.
  s.http.set_error_handler([&s](const httplib::Request& q, httplib::Response& r) {
    if (!r.body.empty()) return;
    RequestContext ctx{.id = std::to_string(s.next_request.fetch_add(1))};
    const std::string type = r.status == 404 ? "not_found_error" : "invalid_request_error";
    send_error(s, ctx, q, r, ApiError{.status = r.status, .message = status_text(r.status), .type = type});
  });
  s.http.set_exception_handler([&s](const httplib::Request& q, httplib::Response& r, std::exception_ptr) {
    RequestContext ctx{.id = std::to_string(s.next_request.fetch_add(1))};
    send_error(s, ctx, q, r, ApiError{.status = 500, .message = "internal error", .type = "server_error"});
  });
}

}  // namespace radseek::server

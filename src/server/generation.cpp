// POST /v1/chat/completions and /v1/completions: request -> prompt ids and per-sequence options,
// submission to the scheduler, and the response (one JSON object, or SSE chunks as tokens come).
#include <random>

#include "engine/chat.h"
#include "server/routes.h"

namespace radseek::server {

using nlohmann::json;

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(100);  // how often a silent stream checks its client

struct Prepared {
  std::vector<int32_t> prompt;
  engine::SequenceOptions seq;
};

std::variant<std::pair<std::vector<int32_t>, bool>, ApiError> encode_prompt(const ServerState& s,
                                                                            const GenerationRequest& r) {
  const tokenizer::Tokenizer* tok = s.engine->tokenizer();
  if (r.endpoint == Endpoint::kChat) {
    if (!s.template_kind) return ApiError{.status = 400, .message = "chat is unavailable: " + s.template_error};
    engine::ChatParams cp{.messages = r.messages, .chat_template = s.template_kind, .thinking = r.thinking};
    bool opened = false;
    auto ids = engine::encode_chat_prompt(*s.engine, cp, &opened);
    if (!ids) return bad_request("messages", ids.error().message);
    return std::make_pair(std::move(*ids), opened);
  }
  if (!r.prompt_ids.empty()) {
    const int64_t vocab = s.engine->model().config().vocab_size;
    for (size_t i = 0; i < r.prompt_ids.size(); ++i)
      if (r.prompt_ids[i] >= vocab)
        return bad_request("prompt", "token id " + std::to_string(r.prompt_ids[i]) + " at index " + std::to_string(i) +
                                         " is outside the vocabulary (" + std::to_string(vocab) + ")");
    return std::make_pair(r.prompt_ids, false);
  }
  if (!tok) return bad_request("prompt", "the model has no tokenizer.json: give the prompt as an array of token ids");
  auto ids = tok->encode(*r.prompt_text, tokenizer::EncodeOptions{.add_bos = tok->add_bos_token()});
  if (!ids) return bad_request("prompt", ids.error().message);
  if (ids->empty()) return bad_request("prompt", "the prompt encodes to no tokens");
  return std::make_pair(std::move(*ids), false);
}

engine::SamplingParams sampling_for(const ServerState& s, const GenerationRequest& r) {
  using K = tokenizer::ChatTemplateKind;
  engine::SamplingParams p{.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 0};  // OpenAI defaults
  const auto k = s.template_kind;
  if (k && (*k == K::kDeepSeekR1 || *k == K::kDeepSeekR1Think || *k == K::kDeepSeekR1Distill || *k == K::kDeepSeekR1_0528))
    p = engine::r1_recommended_sampling();
  if (r.temperature) p.temperature = *r.temperature;
  if (r.top_p) p.top_p = *r.top_p;
  if (r.top_k) p.top_k = *r.top_k;
  if (r.min_p) p.min_p = *r.min_p;
  p.seed = r.seed ? *r.seed : std::random_device{}();
  return p;
}

std::variant<Prepared, ApiError> prepare(const ServerState& s, const GenerationRequest& r) {
  auto enc = encode_prompt(s, r);
  if (auto* e = std::get_if<ApiError>(&enc)) return *e;
  auto& [prompt, opened] = std::get<0>(enc);
  const auto n = static_cast<int64_t>(prompt.size());
  const int64_t room = s.opts.context_size - n;
  if (room < 1 || (r.max_tokens && *r.max_tokens > room))
    return ApiError{.status = 400,
                    .message = "the prompt has " + std::to_string(n) + " tokens" +
                               (r.max_tokens ? " and max_tokens is " + std::to_string(*r.max_tokens) : "") +
                               "; this server's context is " + std::to_string(s.opts.context_size) + " tokens",
                    .param = r.max_tokens && room >= 1 ? "max_tokens" : "messages",
                    .code = "context_length_exceeded"};
  const engine::Engine& e = *s.engine;
  std::vector<int32_t> stop_ids;
  if (!r.ignore_eos) stop_ids = e.eos_ids();
  engine::SequenceOptions so{.tokenizer = e.tokenizer(),
                             .vocab = e.model().config().vocab_size,
                             .max_new_tokens = r.max_tokens.value_or(std::min(s.opts.default_max_tokens, room)),
                             .sampling = sampling_for(s, r),
                             .stop_ids = std::move(stop_ids),
                             .banned_ids = e.textless_ids(),
                             .stop = r.stop,
                             .split_reasoning = r.endpoint == Endpoint::kChat,
                             .think_opened_by_prompt = opened,
                             .max_reasoning_tokens = reasoning_budget(r, s.opts.budgets),
                             .top_logprobs = r.logprobs ? r.top_logprobs : -1};
  if (!r.stop.empty() && !e.tokenizer()) return bad_request("stop", "stop strings need a model with a tokenizer.json");
  if (r.json_schema) {
    if (!s.token_bytes) return bad_request("response_format", "constrained answers need a model with a tokenizer.json");
    auto schema = compile_schema(*r.json_schema, "response_format.json_schema.schema");
    if (!schema) return bad_request("response_format", schema.error().message);
    so.answer_constraint = std::make_shared<JsonSchemaConstraint>(JsonConstraintArgs{
        .schema = *schema, .tokens = s.token_bytes, .eos_ids = e.eos_ids(),
        .want_valid = so.sampling.temperature <= 0.0f ? 1 : 64});
  }
  return Prepared{.prompt = std::move(prompt), .seq = std::move(so)};
}

// ---------------------------------------------------------------------------------------------
// Response bodies

json token_logprob_json(const ServerState& s, int32_t id, double logprob) {
  std::string text;
  if (s.token_bytes && id >= 0 && id < static_cast<int32_t>(s.token_bytes->bytes.size())) text = s.token_bytes->bytes[id];
  else if (auto t = s.engine->tokenizer() ? s.engine->tokenizer()->token_bytes(id) : std::nullopt) text = std::string(*t);
  json bytes = json::array();
  for (unsigned char c : text) bytes.push_back(static_cast<int>(c));
  return {{"token", text.empty() ? "<" + std::to_string(id) + ">" : text}, {"logprob", logprob}, {"bytes", bytes}};
}

json chat_logprobs(const ServerState& s, const std::vector<engine::SequenceStep>& steps) {
  json content = json::array();
  for (const auto& st : steps) {
    if (!st.logprob || !st.in_answer) continue;
    json one = token_logprob_json(s, st.logprob->id, st.logprob->logprob);
    one["top_logprobs"] = json::array();
    for (const auto& t : st.logprob->top) one["top_logprobs"].push_back(token_logprob_json(s, t.id, t.logprob));
    content.push_back(std::move(one));
  }
  return {{"content", content}};
}

json completion_logprobs(const ServerState& s, const std::vector<engine::SequenceStep>& steps) {
  json tokens = json::array(), lps = json::array(), tops = json::array();
  for (const auto& st : steps) {
    if (!st.logprob) continue;
    tokens.push_back(token_logprob_json(s, st.id, 0)["token"]);
    lps.push_back(st.logprob->logprob);
    json top = json::object();
    for (const auto& t : st.logprob->top) top[token_logprob_json(s, t.id, 0)["token"].get<std::string>()] = t.logprob;
    tops.push_back(std::move(top));
  }
  return {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}};
}

json usage_json(const Outcome& o) {
  return {{"prompt_tokens", o.prompt_tokens},
          {"completion_tokens", o.completion_tokens},
          {"total_tokens", o.prompt_tokens + o.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", o.cached_tokens}}},
          {"completion_tokens_details", {{"reasoning_tokens", o.reasoning_tokens}}}};
}

struct StreamInfo {
  std::string id;
  std::string model;
  std::time_t created = 0;
  Endpoint endpoint = Endpoint::kChat;
  bool include_usage = false;
  bool logprobs = false;
  bool return_token_ids = false;
  std::vector<int32_t> prompt_ids;
};

json envelope(const StreamInfo& info, bool chunk) {
  const char* object = info.endpoint == Endpoint::kChat ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                                        : "text_completion";
  return {{"id", info.id}, {"object", object}, {"created", info.created}, {"model", info.model}};
}

json full_response(const ServerState& s, const StreamInfo& info, const std::vector<engine::SequenceStep>& steps,
                   const Outcome& o) {
  std::string reasoning, content;
  for (const auto& st : steps) reasoning += st.reasoning_delta, content += st.content_delta;
  json choice{{"index", 0}, {"finish_reason", o.finish_reason}};
  if (info.endpoint == Endpoint::kChat) {
    choice["message"] = {{"role", "assistant"}, {"content", content},
                         {"reasoning_content", reasoning.empty() ? json(nullptr) : json(reasoning)}};
    choice["logprobs"] = info.logprobs ? chat_logprobs(s, steps) : json(nullptr);
  } else {
    choice["text"] = content;
    choice["logprobs"] = info.logprobs ? completion_logprobs(s, steps) : json(nullptr);
  }
  if (info.return_token_ids) choice["token_ids"] = o.ids;
  json out = envelope(info, false);
  out["choices"] = json::array({choice});
  out["usage"] = usage_json(o);
  if (info.return_token_ids) out["prompt_token_ids"] = info.prompt_ids;
  return out;
}

// One SSE event holding the pieces that arrived since the last one (nullopt: nothing to say).
std::optional<json> stream_chunk(const ServerState& s, const StreamInfo& info, const std::vector<engine::SequenceStep>& steps,
                                 bool first) {
  std::string reasoning, content;
  std::vector<int32_t> ids;
  for (const auto& st : steps) {
    reasoning += st.reasoning_delta, content += st.content_delta;
    if (st.id >= 0) ids.push_back(st.id);
  }
  if (!first && reasoning.empty() && content.empty() && !(info.logprobs && !ids.empty()) && !info.return_token_ids) return std::nullopt;
  json choice{{"index", 0}, {"finish_reason", nullptr}};
  if (info.endpoint == Endpoint::kChat) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!reasoning.empty()) delta["reasoning_content"] = reasoning;
    if (!content.empty() || first) delta["content"] = content;
    choice["delta"] = delta;
    choice["logprobs"] = info.logprobs ? chat_logprobs(s, steps) : json(nullptr);
  } else {
    choice["text"] = content;
    choice["logprobs"] = info.logprobs ? completion_logprobs(s, steps) : json(nullptr);
  }
  if (info.return_token_ids) choice["token_ids"] = ids;
  json out = envelope(info, true);
  out["choices"] = json::array({choice});
  if (info.include_usage) out["usage"] = nullptr;
  return out;
}

bool write_event(httplib::DataSink& sink, const json& j) {
  const std::string e = "data: " + dump_json(j) + "\n\n";
  return sink.write(e.data(), e.size());
}

bool write_stream_end(httplib::DataSink& sink, const StreamInfo& info, const Outcome& o) {
  json last = envelope(info, true);
  json choice{{"index", 0}, {"finish_reason", o.finish_reason}, {"logprobs", nullptr}};
  if (info.endpoint == Endpoint::kChat) choice["delta"] = json::object();
  else choice["text"] = "";
  last["choices"] = json::array({choice});
  if (info.include_usage) last["usage"] = nullptr;
  bool ok = write_event(sink, last);
  if (ok && info.include_usage) {
    json u = envelope(info, true);
    u["choices"] = json::array();
    u["usage"] = usage_json(o);
    ok = write_event(sink, u);
  }
  static constexpr std::string_view kDone = "data: [DONE]\n\n";
  return ok && sink.write(kDone.data(), kDone.size());
}

// Follows the request to its end, writing SSE events (stream) or the final object. A client that
// went away (a failed write, or a closed socket seen while waiting) cancels the generation; the
// result is false then.
bool follow(ServerState& s, const StreamInfo& info, RequestHandle& h, httplib::DataSink& sink, bool stream) {
  std::vector<engine::SequenceStep> all, fresh;
  bool first = true;
  for (;;) {
    fresh.clear();
    const bool finished = h.wait(fresh, kPollInterval);
    if (fresh.empty() && !finished && !sink.is_writable()) return h.cancel(), false;
    if (stream) {
      auto chunk = stream_chunk(s, info, fresh, first);
      if (chunk && !write_event(sink, *chunk)) return h.cancel(), false;
      if (chunk) first = false;
    } else {
      for (auto& p : fresh) all.push_back(std::move(p));
    }
    if (!finished) continue;
    const Outcome o = h.outcome();
    if (o.finish_reason == "error") {
      ApiError e{.status = 500, .message = "generation failed: " + o.error, .type = "server_error"};
      const std::string body = stream ? "data: " + dump_json(error_json(e)) + "\n\n" : dump_json(error_json(e));
      return sink.write(body.data(), body.size());
    }
    if (o.finish_reason == "cancelled") return false;
    if (stream) return write_stream_end(sink, info, o);
    const std::string body = dump_json(full_response(s, info, all, o));
    return sink.write(body.data(), body.size());
  }
}

}  // namespace

void handle_generation(ServerState& s, Endpoint ep, const httplib::Request& req, httplib::Response& res) {
  RequestContext ctx{.endpoint = ep == Endpoint::kChat ? "/v1/chat/completions" : "/v1/completions"};
  if (!admit_request(s, ctx, req, res, true)) return;
  auto body = parse_body(s, ctx, req, res);
  if (!body) return;
  ParsedRequest parsed = ep == Endpoint::kChat ? parse_chat_request(*body, s.opts.limits)
                                               : parse_completion_request(*body, s.opts.limits);
  if (auto* e = std::get_if<ApiError>(&parsed)) return send_error(s, ctx, req, res, *e);
  const GenerationRequest& r = std::get<GenerationRequest>(parsed);
  auto prep = prepare(s, r);
  if (auto* e = std::get_if<ApiError>(&prep)) return send_error(s, ctx, req, res, *e);
  Prepared& p = std::get<Prepared>(prep);
  auto info = std::make_shared<StreamInfo>(StreamInfo{
      .id = (ep == Endpoint::kChat ? "chatcmpl-" : "cmpl-") + ctx.id, .model = s.opts.model_name, .created = std::time(nullptr),
      .endpoint = ep, .include_usage = r.include_usage, .logprobs = r.logprobs, .return_token_ids = r.return_token_ids,
      .prompt_ids = r.return_token_ids ? p.prompt : std::vector<int32_t>{}});
  const auto timeout = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s.opts.request_timeout_s));
  auto submitted = s.scheduler->submit(SequenceRequest{.prompt = std::move(p.prompt), .seq = std::move(p.seq),
                                                       .deadline = ctx.start + timeout});
  if (auto* e = std::get_if<ApiError>(&submitted)) return send_error(s, ctx, req, res, *e);
  auto handle = std::get<std::shared_ptr<RequestHandle>>(submitted);
  const bool stream = r.stream;
  s.open_streams.fetch_add(1);
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      stream ? "text/event-stream" : "application/json",
      [&s, info, handle, stream](size_t, httplib::DataSink& sink) {
        // false drops the connection: the client is gone, or the response could not be written.
        if (!follow(s, *info, *handle, sink, stream)) return false;
        sink.done();
        return true;
      },
      [&s, ctx, handle, method = req.method, path = req.path, remote = req.remote_addr](bool success) {
        handle->cancel();  // no-op when already finished; stops generation for a vanished client
        const Outcome o = handle->outcome();
        httplib::Request meta;
        meta.method = method, meta.path = path, meta.remote_addr = remote;
        // 499: the client closed the connection before the response was complete (nginx's code).
        const int status = o.finish_reason == "error" ? 500 : (!success || o.finish_reason == "cancelled") ? 499 : 200;
        record_request(s, ctx, meta, &o, status);
        s.open_streams.fetch_sub(1);
      });
}

}  // namespace radseek::server

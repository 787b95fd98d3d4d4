#include "server/openai_schema.h"

#include <cmath>
#include <limits>

namespace radseek::server {

using nlohmann::json;

json error_json(const ApiError& e) {
  return {{"error",
           {{"message", e.message},
            {"type", e.type},
            {"param", e.param.empty() ? json(nullptr) : json(e.param)},
            {"code", e.code.empty() ? json(nullptr) : json(e.code)}}}};
}

ApiError bad_request(const std::string& param, const std::string& message) {
  return ApiError{.status = 400, .message = param.empty() ? message : param + ": " + message, .param = param};
}

namespace {

// Reads typed optional fields of one JSON object; the first problem is kept, naming its field.
// JSON null counts as absent (the official clients send null for unset options).
class FieldReader {
 public:
  explicit FieldReader(const json& body) : b_(body) {}
  std::optional<ApiError> error;

  const json* get(const char* key) const {
    auto it = b_.find(key);
    return it == b_.end() || it->is_null() ? nullptr : &*it;
  }
  void fail(const std::string& param, const std::string& msg) {
    if (!error) error = bad_request(param, msg);
  }
  std::optional<double> number(const char* key, double lo, double hi) {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_number()) return fail(key, "expected a number"), std::nullopt;
    const double d = v->get<double>();
    if (!(d >= lo && d <= hi)) return fail(key, "must be between " + fmt(lo) + " and " + fmt(hi)), std::nullopt;
    return d;
  }
  std::optional<int64_t> integer(const char* key, int64_t lo, int64_t hi) {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_number_integer()) return fail(key, "expected an integer"), std::nullopt;
    const auto d = v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)
                       ? INT64_MAX : v->get<int64_t>();
    if (d < lo || d > hi) return fail(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi)), std::nullopt;
    return d;
  }
  bool boolean(const char* key) {
    const json* v = get(key);
    if (!v) return false;
    if (!v->is_boolean()) return fail(key, "expected true or false"), false;
    return v->get<bool>();
  }
  std::optional<std::string> string(const char* key) {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) return fail(key, "expected a string"), std::nullopt;
    return v->get<std::string>();
  }

 private:
  static std::string fmt(double d) {
    if (d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string(static_cast<int64_t>(d));
    return std::to_string(d);
  }
  const json& b_;
};

// Message content: a string, or an array of {"type": "text", "text": ...} parts.
std::optional<std::string> message_content(const json& c, const std::string& param, FieldReader& r) {
  if (c.is_null()) return std::string();
  if (c.is_string()) return c.get<std::string>();
  if (!c.is_array()) return r.fail(param, "expected a string or an array of text parts"), std::nullopt;
  std::string out;
  for (size_t i = 0; i < c.size(); ++i) {
    const std::string p = param + "[" + std::to_string(i) + "]";
    if (!c[i].is_object() || c[i].value("type", json()) != "text" || !c[i].contains("text") || !c[i]["text"].is_string())
      return r.fail(p, "only {\"type\": \"text\", \"text\": STRING} parts are supported"), std::nullopt;
    out += c[i]["text"].get<std::string>();
  }
  return out;
}

void parse_messages(const json* m, const RequestLimits& lim, FieldReader& r, GenerationRequest& out) {
  if (!m) return r.fail("messages", "required");
  if (!m->is_array() || m->empty()) return r.fail("messages", "expected a non-empty array");
  if (static_cast<int64_t>(m->size()) > lim.max_messages)
    return r.fail("messages", "at most " + std::to_string(lim.max_messages) + " messages");
  int64_t chars = 0;
  for (size_t i = 0; i < m->size() && !r.error; ++i) {
    const std::string p = "messages[" + std::to_string(i) + "]";
    const json& msg = (*m)[i];
    if (!msg.is_object()) return r.fail(p, "expected an object");
    auto role = msg.find("role");
    if (role == msg.end() || !role->is_string()) return r.fail(p + ".role", "required string");
    std::string rs = role->get<std::string>();
    if (rs == "developer") rs = "system";  // OpenAI's newer name for the system role
    if (rs != "system" && rs != "user" && rs != "assistant")
      return r.fail(p + ".role", "'" + rs + "' is not one of system, developer, user, assistant");
    auto content = message_content(msg.value("content", json()), p + ".content", r);
    if (!content) return;
    chars += static_cast<int64_t>(content->size());
    tokenizer::ChatMessage cm{.role = rs, .content = std::move(*content)};
    if (auto rc = msg.find("reasoning_content"); rc != msg.end() && rc->is_string()) cm.reasoning = rc->get<std::string>();
    out.messages.push_back(std::move(cm));
  }
  if (chars > lim.max_prompt_chars)
    r.fail("messages", "the messages hold " + std::to_string(chars) + " characters; the limit is " +
                           std::to_string(lim.max_prompt_chars));
}

void parse_stop(FieldReader& r, const RequestLimits& lim, GenerationRequest& out) {
  const json* s = r.get("stop");
  if (!s) return;
  if (s->is_string()) {
    out.stop = {s->get<std::string>()};
  } else if (s->is_array() && static_cast<int64_t>(s->size()) <= lim.max_stop) {
    for (const json& one : *s) {
      if (!one.is_string()) return r.fail("stop", "expected a string or an array of strings");
      out.stop.push_back(one.get<std::string>());
    }
  } else {
    return r.fail("stop", "expected a string or an array of at most " + std::to_string(lim.max_stop) + " strings");
  }
  for (const auto& st : out.stop)
    if (st.empty()) return r.fail("stop", "stop strings must not be empty");
}

void parse_response_format(FieldReader& r, GenerationRequest& out) {
  const json* f = r.get("response_format");
  if (!f) return;
  if (!f->is_object() || !f->contains("type") || !(*f)["type"].is_string())
    return r.fail("response_format", "expected an object with a string 'type'");
  const std::string type = (*f)["type"];
  if (type == "text") return;
  if (type == "json_object") {
    out.json_schema = json{{"type", "object"}};
    return;
  }
  if (type != "json_schema") return r.fail("response_format.type", "'" + type + "' is not one of text, json_object, json_schema");
  auto js = f->find("json_schema");
  if (js == f->end() || !js->is_object() || !js->contains("schema"))
    return r.fail("response_format.json_schema", "expected an object with 'name' and 'schema'");
  out.json_schema = (*js)["schema"];
}

// Options common to chat and completions.
void parse_common(FieldReader& r, const RequestLimits& lim, GenerationRequest& out) {
  if (auto m = r.string("model")) out.model = *m;
  if (auto t = r.number("temperature", 0.0, 2.0)) out.temperature = static_cast<float>(*t);
  if (auto p = r.number("top_p", 0.0, 1.0)) out.top_p = static_cast<float>(*p);
  if (auto p = r.number("min_p", 0.0, 1.0)) out.min_p = static_cast<float>(*p);
  if (auto k = r.integer("top_k", -1, 1 << 20)) out.top_k = static_cast<int32_t>(std::max<int64_t>(*k, 0));
  if (auto n = r.integer("n", 1, 1); !n && r.get("n") && !r.error) r.fail("n", "only n = 1 is supported");
  for (const char* penalty : {"presence_penalty", "frequency_penalty"})
    if (auto p = r.number(penalty, -2.0, 2.0); p && *p != 0.0) r.fail(penalty, "penalties are not supported (use 0)");
  if (r.get("tools") || r.get("functions")) r.fail(r.get("tools") ? "tools" : "functions", "tool calls are not supported");
  auto mt = r.integer("max_tokens", 1, INT32_MAX);
  auto mct = r.integer("max_completion_tokens", 1, INT32_MAX);
  out.max_tokens = mct ? mct : mt;
  parse_stop(r, lim, out);
  if (auto s = r.integer("seed", INT64_MIN, INT64_MAX)) out.seed = static_cast<uint64_t>(*s);
  out.stream = r.boolean("stream");
  if (const json* so = r.get("stream_options")) {
    if (!so->is_object()) r.fail("stream_options", "expected an object");
    else if (so->contains("include_usage") && !(*so)["include_usage"].is_boolean())
      r.fail("stream_options.include_usage", "expected true or false");
    else out.include_usage = so->value("include_usage", false);
  }
  if (auto e = r.string("reasoning_effort")) {
    if (*e != "low" && *e != "medium" && *e != "high") r.fail("reasoning_effort", "'" + *e + "' is not one of low, medium, high");
    out.reasoning_effort = e;
  }
  out.max_reasoning_tokens = r.integer("max_reasoning_tokens", 0, INT32_MAX);
  out.ignore_eos = r.boolean("ignore_eos");
  out.return_token_ids = r.boolean("return_token_ids");
  parse_response_format(r, out);
}

ParsedRequest finish(FieldReader& r, GenerationRequest out) {
  if (r.error) return *r.error;
  return out;
}

}  // namespace

ParsedRequest parse_chat_request(const json& body, const RequestLimits& limits) {
  if (!body.is_object()) return bad_request("", "the request body must be a JSON object");
  FieldReader r(body);
  GenerationRequest out;
  out.endpoint = Endpoint::kChat;
  parse_messages(r.get("messages"), limits, r, out);
  parse_common(r, limits, out);
  out.logprobs = r.boolean("logprobs");
  if (auto t = r.integer("top_logprobs", 0, limits.max_top_logprobs)) {
    if (!out.logprobs && !r.error) r.fail("top_logprobs", "requires logprobs: true");
    out.top_logprobs = static_cast<int>(*t);
  }
  out.thinking = r.boolean("thinking");
  return finish(r, std::move(out));
}

ParsedRequest parse_completion_request(const json& body, const RequestLimits& limits) {
  if (!body.is_object()) return bad_request("", "the request body must be a JSON object");
  FieldReader r(body);
  GenerationRequest out;
  out.endpoint = Endpoint::kCompletion;
  const json* p = r.get("prompt");
  if (!p) {
    r.fail("prompt", "required");
  } else if (p->is_string()) {
    out.prompt_text = p->get<std::string>();
    if (static_cast<int64_t>(out.prompt_text->size()) > limits.max_prompt_chars)
      r.fail("prompt", "longer than " + std::to_string(limits.max_prompt_chars) + " characters");
  } else if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) {
    out.prompt_text = (*p)[0].get<std::string>();
  } else if (p->is_array() && !p->empty() && static_cast<int64_t>(p->size()) <= limits.max_prompt_chars) {
    for (const json& id : *p) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
        return bad_request("prompt", "expected a string or an array of token ids (non-negative integers)");
      out.prompt_ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
    }
  } else {
    r.fail("prompt", "expected a string or a non-empty array of token ids (one prompt per request)");
  }
  parse_common(r, limits, out);
  if (auto lp = r.integer("logprobs", 0, limits.max_top_logprobs)) {
    out.logprobs = true;
    out.top_logprobs = static_cast<int>(*lp);
  }
  if (r.boolean("echo")) r.fail("echo", "echo is not supported");
  if (r.get("suffix")) r.fail("suffix", "suffix is not supported");
  return finish(r, std::move(out));
}

std::optional<int64_t> reasoning_budget(const GenerationRequest& r, const ReasoningBudgets& b) {
  if (r.max_reasoning_tokens) return r.max_reasoning_tokens;
  if (!r.reasoning_effort) return std::nullopt;
  if (*r.reasoning_effort == "low") return b.low;
  if (*r.reasoning_effort == "medium") return b.medium;
  return b.high;
}

}  // namespace radseek::server

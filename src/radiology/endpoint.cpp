#include "radiology/endpoint.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "radiology/evidence.h"

namespace radseek::radiology {
namespace {

bool parse_ipv4(const std::string& s, int* first_octet) {
  int parts = 0;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find('.', i);
    if (j == std::string::npos) j = s.size();
    const std::string p = s.substr(i, j - i);
    if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), ::isdigit) || std::stoi(p) > 255) return false;
    if (parts == 0) *first_octet = std::stoi(p);
    ++parts;
    i = j + 1;
  }
  return parts == 4;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

class EndpointBackend final : public ClassifierBackend {
 public:
  EndpointBackend(EndpointOptions o, std::string full_url) : o_(std::move(o)), url_(std::move(full_url)) {}
  std::string name() const override { return "endpoint"; }

  int max_concurrency() const override { return std::max(1, o_.concurrency); }

  Expected<BackendAnswer> classify(const MultiLabelRequest& req) override {
    const std::string report = prompt_report_text(req.report->text, *req.sections);
    auto messages = build_multilabel_prompt(report, *req.labels, o_.family);
    if (!messages) return messages.error();
    auto out = complete(*messages);
    if (!out) return out.error();
    auto parsed = parse_multilabel_answer(out->split.answer, *req.labels);
    if (!parsed) return parsed.error();
    auto finder = evidence_finder(*req.labels);
    if (!finder) return finder.error();
    BackendAnswer a = base_answer(*out);
    a.labels = LabelOutput{.values = parsed->values,
                           .evidence = (*finder)->find(req.report->text, *req.sections, parsed->values, parsed->quotes),
                           .confidence = {}};
    return a;
  }

  Expected<BackendAnswer> choose(const McRequest& req) override {
    const std::string report = prompt_report_text(req.report->text, *req.sections);
    auto out = complete(build_mc_prompt(*req.report, report, o_.family));
    if (!out) return out.error();
    auto parsed = parse_mc_answer(out->split.answer, *req.report);
    if (!parsed) return parsed.error();
    auto scorer = mc_scorer();
    if (!scorer) return scorer.error();
    BackendAnswer a = base_answer(*out);
    a.mc = McOutput{.answer = parsed->letter,
                    .confidence = -1,
                    .evidence = mc_evidence(*req.report, *req.sections, parsed->letter, parsed->quote, **scorer),
                    .scores = {}};
    return a;
  }

 private:
  struct Completion {
    SplitOutput split;
    int64_t reasoning_tokens = -1;
  };

  static BackendAnswer base_answer(const Completion& c) {
    BackendAnswer a;
    a.reasoning = c.split.reasoning;
    a.reasoning_tokens = c.reasoning_tokens;
    return a;
  }

  Expected<std::string> post(const std::string& body) {
    CURL* curl = curl_easy_init();
    if (curl == nullptr) return make_error(ErrorCode::kInternal, "libcurl init failed");
    std::string response;
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    const char* key = std::getenv(o_.api_key_env.c_str());
    if (key != nullptr && *key != '\0') headers = curl_slist_append(headers, ("Authorization: Bearer " + std::string(key)).c_str());
    curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(o_.timeout_s * 1000));
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect could leave loopback
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    const CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) return make_error(ErrorCode::kIo, "endpoint " + url_ + ": " + curl_easy_strerror(rc));
    if (status != 200) return make_error(ErrorCode::kIo, "endpoint " + url_ + ": HTTP status " + std::to_string(status));
    return response;
  }

  Expected<Completion> complete(const std::vector<ChatMessage>& messages) {
    nlohmann::json req = {{"model", o_.model}, {"temperature", o_.temperature}, {"top_p", o_.top_p},
                          {"max_tokens", o_.max_tokens}, {"messages", nlohmann::json::array()}};
    for (const ChatMessage& m : messages) req["messages"].push_back({{"role", m.role}, {"content", m.content}});
    auto body = post(req.dump());
    if (!body) return body.error();
    const auto j = nlohmann::json::parse(*body, nullptr, false);
    if (j.is_discarded() || !j.contains("choices") || !j["choices"].is_array() || j["choices"].empty() ||
        !j["choices"][0].contains("message") || !j["choices"][0]["message"].contains("content") ||
        !j["choices"][0]["message"]["content"].is_string()) {
      return make_error(ErrorCode::kParse, "endpoint " + url_ + ": response has no choices[0].message.content");
    }
    const auto& msg = j["choices"][0]["message"];
    Completion c;
    c.split = split_reasoning(msg["content"].get<std::string>());
    if (c.split.reasoning.empty() && msg.contains("reasoning_content") && msg["reasoning_content"].is_string()) {
      c.split.reasoning = msg["reasoning_content"].get<std::string>();  // servers that split it already
    }
    if (j.contains("usage") && j["usage"].contains("completion_tokens_details") &&
        j["usage"]["completion_tokens_details"].contains("reasoning_tokens")) {
      c.reasoning_tokens = j["usage"]["completion_tokens_details"]["reasoning_tokens"].get<int64_t>();
    }
    return c;
  }

  // Shared by concurrent requests: built once under the lock, then only read.
  Expected<const EvidenceFinder*> evidence_finder(const LabelSet& labels) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = finders_.find(labels.name);
    if (it == finders_.end()) {
      auto f = EvidenceFinder::create(labels);
      if (!f) return f.error();
      it = finders_.emplace(labels.name, std::make_unique<EvidenceFinder>(std::move(*f))).first;
    }
    return it->second.get();
  }

  Expected<const McScorer*> mc_scorer() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!scorer_) {
      auto s = McScorer::create();
      if (!s) return s.error();
      scorer_ = std::make_unique<McScorer>(std::move(*s));
    }
    return scorer_.get();
  }

  EndpointOptions o_;
  std::string url_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<EvidenceFinder>> finders_;
  std::unique_ptr<McScorer> scorer_;
};

}  // namespace

Expected<ParsedUrl> parse_url(const std::string& url) {
  ParsedUrl u;
  const size_t sep = url.find("://");
  if (sep == std::string::npos) return make_error(ErrorCode::kInvalidArgument, "--endpoint '" + url + "': no scheme (want http://host:port)");
  u.scheme = url.substr(0, sep);
  for (char& c : u.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (u.scheme != "http" && u.scheme != "https") {
    return make_error(ErrorCode::kInvalidArgument, "--endpoint '" + url + "': scheme must be http or https");
  }
  std::string rest = url.substr(sep + 3);
  const size_t slash = rest.find_first_of("/?#");
  u.path = slash == std::string::npos ? "" : rest.substr(slash);
  std::string authority = rest.substr(0, slash);
  const size_t at = authority.rfind('@');
  if (at != std::string::npos) authority = authority.substr(at + 1);
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) return make_error(ErrorCode::kInvalidArgument, "--endpoint '" + url + "': unclosed '['");
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port = authority.substr(close + 2);
  } else {
    const size_t colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  for (char& c : u.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (u.host.empty()) return make_error(ErrorCode::kInvalidArgument, "--endpoint '" + url + "': no host");
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit) || std::stoi(port) > 65535) {
      return make_error(ErrorCode::kInvalidArgument, "--endpoint '" + url + "': bad port '" + port + "'");
    }
    u.port = std::stoi(port);
  }
  return u;
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1") return true;
  int first = -1;
  return parse_ipv4(host, &first) && first == 127;
}

Status check_endpoint_allowed(const std::string& url, bool allow_remote) {
  auto u = parse_url(url);
  if (!u) return u.error();
  if (is_loopback_host(u->host) || allow_remote) return {};
  return make_error(ErrorCode::kInvalidArgument,
                    "--endpoint host '" + u->host +
                        "' is not loopback: reports would leave this machine. Pass --allow-remote if this is intended");
}

Expected<std::unique_ptr<ClassifierBackend>> make_endpoint_backend(const EndpointOptions& opts) {
  RADSEEK_TRY(check_endpoint_allowed(opts.url, opts.allow_remote));
  std::string full = opts.url;
  if (full.find("/chat/completions") == std::string::npos) {
    while (!full.empty() && full.back() == '/') full.pop_back();
    full += full.size() >= 3 && full.compare(full.size() - 3, 3, "/v1") == 0 ? "/chat/completions" : "/v1/chat/completions";
  }
  return std::unique_ptr<ClassifierBackend>(new EndpointBackend(opts, full));
}

}  // namespace radseek::radiology

// OpenAI-compatible chat-completions backend (llama.cpp server, vLLM, a hosted model) over libcurl.
// Reports must not leave the hospital by accident: a URL whose host is not loopback (localhost,
// 127.0.0.0/8, ::1) is refused before any connection is made, unless allow_remote is set. Host names
// are never resolved to decide this. The API key comes from an environment variable, never a flag.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "radiology/backend.h"
#include "radiology/prompt.h"

namespace radseek::radiology {

struct ParsedUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6
  int port = 0;        // 0 when absent
  std::string path;    // starts with '/' or is empty
};
Expected<ParsedUrl> parse_url(const std::string& url);
bool is_loopback_host(const std::string& host);
// Ok when the endpoint may be used: loopback, or any host when allow_remote.
Status check_endpoint_allowed(const std::string& url, bool allow_remote);

struct EndpointOptions {
  std::string url;                        // e.g. http://127.0.0.1:8080 (…/v1/chat/completions added)
  std::string model = "deepseek-r1";
  std::string api_key_env = "RADSEEK_API_KEY";
  bool allow_remote = false;
  ModelFamily family = ModelFamily::kR1;
  double temperature = 0.6;               // DeepSeek-R1 guidance: 0.5-0.7, top-p 0.95
  double top_p = 0.95;
  int max_tokens = 4096;
  double timeout_s = 300;
  int concurrency = 1;                    // requests in flight at once (the server's parallel slots)
};

// Fails (without connecting) when the URL is malformed or refused.
Expected<std::unique_ptr<ClassifierBackend>> make_endpoint_backend(const EndpointOptions& opts);

}  // namespace radseek::radiology

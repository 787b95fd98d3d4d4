// API keys and the audit log.
//
// Keys have names (for the audit log; the key itself is never logged or echoed). Sources, all
// optional and combined: --api-key flags, a key file, and an environment variable. Each entry is
// "NAME:KEY" or a bare "KEY" (named key1, key2, ...). A presented key is checked against every
// stored key by comparing SHA-256 digests with CRYPTO_memcmp, so the time taken does not depend
// on how much of a key matched nor on which key matched.
//
// The audit log holds metadata only, one JSON object a line: time, request id, key name, method,
// path, status, token counts, latency, time to first token, finish reason. Never text.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace radseek::server {

struct KeySources {
  std::vector<std::string> flags;  // --api-key values
  std::string file;                // --api-key-file: one entry a line, '#' comments
  std::string env_var;             // name of an environment variable: entries separated by commas
};

class KeyStore {
 public:
  // Errors name the source and line (never the key).
  static Expected<KeyStore> load(const KeySources& src);
  static Expected<KeyStore> from_entries(const std::vector<std::string>& entries, const std::string& origin);
  bool empty() const { return keys_.empty(); }
  size_t size() const { return keys_.size(); }
  // The name of the key `presented` equals, if any.
  std::optional<std::string> match(std::string_view presented) const;

 private:
  Status add(std::string_view entry, const std::string& where);
  struct Key {
    std::string name;
    std::array<unsigned char, 32> digest;
  };
  std::vector<Key> keys_;
};

// "Authorization: Bearer KEY" -> KEY; "" when the header is missing or not a bearer token.
std::string bearer_token(std::string_view authorization_header);

struct AuditRecord {
  std::string request_id;
  std::string key_name;  // "" without authentication
  std::string method, path;
  int status = 0;
  int64_t prompt_tokens = 0, completion_tokens = 0, reasoning_tokens = 0;
  double latency_ms = 0, ttft_ms = -1;
  std::string finish_reason;
  std::string remote_addr;
};

class AuditLog {
 public:
  // path "" : no audit log; "-": standard error; otherwise appended to the file (created 0600).
  static Expected<std::unique_ptr<AuditLog>> open(const std::string& path);
  ~AuditLog();
  void write(const AuditRecord& r);

 private:
  std::mutex mu_;
  std::FILE* f_ = nullptr;
  bool owned_ = false;
};

}  // namespace radseek::server

#include "server/auth.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

namespace radseek::server {

namespace {

std::array<unsigned char, 32> sha256(std::string_view s) {
  std::array<unsigned char, 32> d{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

}  // namespace

Status KeyStore::add(std::string_view entry, const std::string& where) {
  entry = trim(entry);
  std::string name = "key" + std::to_string(keys_.size() + 1);
  std::string_view key = entry;
  if (const size_t colon = entry.find(':'); colon != std::string_view::npos && valid_name(entry.substr(0, colon))) {
    name = std::string(entry.substr(0, colon));
    key = entry.substr(colon + 1);
  }
  if (key.size() < 16)
    return make_error(ErrorCode::kInvalidArgument, where + ": API key '" + name + "' is shorter than 16 characters");
  for (const Key& k : keys_)
    if (k.name == name) return make_error(ErrorCode::kInvalidArgument, where + ": key name '" + name + "' is used twice");
  keys_.push_back(Key{.name = name, .digest = sha256(key)});
  return {};
}

Expected<KeyStore> KeyStore::from_entries(const std::vector<std::string>& entries, const std::string& origin) {
  KeyStore ks;
  for (size_t i = 0; i < entries.size(); ++i) RADSEEK_TRY(ks.add(entries[i], origin + " #" + std::to_string(i + 1)));
  return ks;
}

Expected<KeyStore> KeyStore::load(const KeySources& src) {
  KeyStore ks;
  for (size_t i = 0; i < src.flags.size(); ++i) RADSEEK_TRY(ks.add(src.flags[i], "--api-key #" + std::to_string(i + 1)));
  if (!src.file.empty()) {
    std::ifstream in(src.file);
    if (!in) return make_error(ErrorCode::kIo, "--api-key-file " + src.file + ": cannot be read");
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      const std::string_view t = trim(line);
      if (t.empty() || t.front() == '#') continue;
      RADSEEK_TRY(ks.add(t, src.file + ":" + std::to_string(n)));
    }
  }
  if (!src.env_var.empty()) {
    if (const char* v = std::getenv(src.env_var.c_str()); v && *v) {
      std::string_view all = v;
      for (int n = 1; !all.empty(); ++n) {
        const size_t comma = all.find(',');
        const std::string_view one = all.substr(0, comma);
        if (!trim(one).empty()) RADSEEK_TRY(ks.add(one, "$" + src.env_var + " entry " + std::to_string(n)));
        all = comma == std::string_view::npos ? std::string_view() : all.substr(comma + 1);
      }
    }
  }
  return ks;
}

std::optional<std::string> KeyStore::match(std::string_view presented) const {
  const auto d = sha256(presented);
  const Key* found = nullptr;
  for (const Key& k : keys_) {  // no early exit: every key is compared
    const bool eq = CRYPTO_memcmp(d.data(), k.digest.data(), d.size()) == 0;
    if (eq && !found) found = &k;
  }
  if (!found || presented.empty()) return std::nullopt;
  return found->name;
}

std::string bearer_token(std::string_view h) {
  h = trim(h);
  constexpr std::string_view kBearer = "Bearer ";
  if (h.size() <= kBearer.size()) return {};
  for (size_t i = 0; i < kBearer.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(h[i])) != std::tolower(static_cast<unsigned char>(kBearer[i]))) return {};
  return std::string(trim(h.substr(kBearer.size())));
}

Expected<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path) {
  auto log = std::make_unique<AuditLog>();
  if (path.empty()) return log;
  if (path == "-") {
    log->f_ = stderr;
    return log;
  }
  // 0600: the log names keys and clients, which is nobody else's business.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(ErrorCode::kIo, "--audit-log " + path + ": cannot be opened for appending");
  log->f_ = ::fdopen(fd, "a");
  log->owned_ = true;
  return log;
}

AuditLog::~AuditLog() {
  if (owned_ && f_) std::fclose(f_);
}

void AuditLog::write(const AuditRecord& r) {
  if (!f_) return;
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[80];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  nlohmann::json j{{"time", ts},          {"request_id", r.request_id},   {"key", r.key_name},
                   {"method", r.method},  {"path", r.path},               {"status", r.status},
                   {"prompt_tokens", r.prompt_tokens}, {"completion_tokens", r.completion_tokens},
                   {"reasoning_tokens", r.reasoning_tokens}, {"latency_ms", r.latency_ms},
                   {"remote", r.remote_addr}};
  if (r.ttft_ms >= 0) j["ttft_ms"] = r.ttft_ms;
  if (!r.finish_reason.empty()) j["finish_reason"] = r.finish_reason;
  const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard lock(mu_);
  std::fputs(line.c_str(), f_);
  std::fflush(f_);
}

}  // namespace radseek::server

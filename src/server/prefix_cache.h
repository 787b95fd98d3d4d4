// Keeps the KV cache of recent prompts so a new prompt that starts with the same tokens (a shared
// system or instruction prefix, such as the radiology prompt) copies those positions instead of
// recomputing them. Owned and used by the scheduler thread only, so it has no lock.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/engine.h"

namespace radseek::server {

struct PrefixCacheOptions {
  int max_entries = 8;
  int64_t min_tokens = 16;  // shorter shared prefixes are cheaper to recompute than to copy
};

class PrefixCache {
 public:
  PrefixCache(const engine::Engine& e, PrefixCacheOptions o) : e_(e), o_(o) {}

  // Copies the longest cached prefix of `prompt` (at most prompt.size() - 1 tokens, so the last
  // prompt token is fed and yields logits) into `dst`, which must be empty; returns the tokens copied.
  int64_t reuse(std::span<const int32_t> prompt, engine::Session& dst);
  // Remembers prompt[0, n) from `src` (whose cache holds at least those n positions).
  void remember(std::span<const int32_t> prompt, const engine::Session& src);

  int64_t hits() const { return hits_; }
  int64_t reused_tokens() const { return reused_tokens_; }

 private:
  struct Entry {
    std::vector<int32_t> tokens;
    std::unique_ptr<engine::Session> session;
    uint64_t last_used = 0;
  };
  Entry* longest(std::span<const int32_t> prompt, int64_t* common);

  const engine::Engine& e_;
  PrefixCacheOptions o_;
  std::vector<Entry> entries_;
  uint64_t clock_ = 0;
  int64_t hits_ = 0, reused_tokens_ = 0;
};

}  // namespace radseek::server

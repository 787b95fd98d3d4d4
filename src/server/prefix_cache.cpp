#include "server/prefix_cache.h"

#include <algorithm>

namespace radseek::server {

PrefixCache::Entry* PrefixCache::longest(std::span<const int32_t> prompt, int64_t* common) {
  Entry* best = nullptr;
  *common = 0;
  for (Entry& e : entries_) {
    const size_t n = std::min(e.tokens.size(), prompt.size());
    const auto diff = std::mismatch(e.tokens.begin(), e.tokens.begin() + static_cast<std::ptrdiff_t>(n), prompt.begin());
    const auto lcp = static_cast<int64_t>(diff.first - e.tokens.begin());
    if (lcp > *common) {
      *common = lcp;
      best = &e;
    }
  }
  return best;
}

int64_t PrefixCache::reuse(std::span<const int32_t> prompt, engine::Session& dst) {
  if (o_.max_entries <= 0 || prompt.size() < 2) return 0;
  int64_t common = 0;
  Entry* e = longest(prompt, &common);
  const int64_t n = std::min<int64_t>(common, static_cast<int64_t>(prompt.size()) - 1);
  if (!e || n < o_.min_tokens) return 0;
  if (!dst.copy_prefix_from(*e->session, n).ok()) return 0;
  e->last_used = ++clock_;
  ++hits_;
  reused_tokens_ += n;
  return n;
}

void PrefixCache::remember(std::span<const int32_t> prompt, const engine::Session& src) {
  const auto n = static_cast<int64_t>(prompt.size());
  if (o_.max_entries <= 0 || n < o_.min_tokens || src.length() < n) return;
  int64_t common = 0;
  if (Entry* e = longest(prompt, &common); e && common == n) {  // already held (maybe inside a longer one)
    e->last_used = ++clock_;
    return;
  }
  auto session = std::make_unique<engine::Session>(e_.model(), n);
  if (!session->copy_prefix_from(src, n).ok()) return;
  Entry fresh{.tokens = std::vector<int32_t>(prompt.begin(), prompt.end()), .session = std::move(session),
              .last_used = ++clock_};
  if (static_cast<int>(entries_.size()) < o_.max_entries) {
    entries_.push_back(std::move(fresh));
    return;
  }
  auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                 [](const Entry& a, const Entry& b) { return a.last_used < b.last_used; });
  *oldest = std::move(fresh);
}

}  // namespace radseek::server

#include "tokenizer/added_tokens.h"

#include <algorithm>

#include "tokenizer/utf8.h"

namespace radseek::tokenizer {
namespace {

// Rust's char::is_whitespace (Unicode White_Space), which HF uses for lstrip/rstrip.
bool is_white_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

// Length of the text once trailing white space is removed.
size_t trimmed_end(std::string_view s) {
  size_t pos = 0;
  size_t end = 0;
  while (pos < s.size()) {
    const uint32_t cp = next_code_point(s, pos);
    if (!is_white_space(cp)) end = pos;
  }
  return end;
}

// Number of leading white-space bytes.
size_t leading_space(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t next = pos;
    if (!is_white_space(next_code_point(s, next))) break;
    pos = next;
  }
  return pos;
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens) {
  nodes_.emplace_back();
  for (size_t t = 0; t < tokens.size(); ++t) {
    strip_.emplace_back(tokens[t].lstrip, tokens[t].rstrip);
    if (tokens[t].content.empty()) continue;
    int32_t node = 0;
    for (char c : tokens[t].content) {
      const auto b = static_cast<uint8_t>(c);
      int32_t next = child(node, b);
      if (next < 0) {
        next = static_cast<int32_t>(nodes_.size());
        auto& kids = nodes_[node].children;
        kids.insert(std::lower_bound(kids.begin(), kids.end(), std::make_pair(b, int32_t{0})),
                    {b, next});
        nodes_.emplace_back();
      }
      node = next;
    }
    nodes_[node].token = static_cast<int32_t>(t);
  }
}

int32_t AddedTokenMatcher::child(int32_t node, uint8_t byte) const {
  const auto& kids = nodes_[node].children;
  auto it = std::lower_bound(kids.begin(), kids.end(), std::make_pair(byte, int32_t{0}));
  return it != kids.end() && it->first == byte ? it->second : -1;
}

std::pair<int32_t, size_t> AddedTokenMatcher::longest_at(std::string_view text, size_t pos) const {
  std::pair<int32_t, size_t> best{-1, 0};
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    node = child(node, static_cast<uint8_t>(text[i]));
    if (node < 0) break;
    if (nodes_[node].token >= 0) best = {nodes_[node].token, i + 1 - pos};
  }
  return best;
}

std::vector<TextSegment> AddedTokenMatcher::split(std::string_view text) const {
  std::vector<TextSegment> segs;
  if (nodes_.size() <= 1) {
    if (!text.empty()) segs.push_back({text, -1});
    return segs;
  }
  size_t start = 0;  // start of the pending plain run
  size_t pos = 0;
  while (pos < text.size()) {
    const auto [token, len] = longest_at(text, pos);
    if (token < 0) {
      ++pos;
      continue;
    }
    std::string_view plain = text.substr(start, pos - start);
    if (strip_[token].first) plain = plain.substr(0, trimmed_end(plain));
    if (!plain.empty()) segs.push_back({plain, -1});
    segs.push_back({text.substr(pos, len), token});
    pos += len;
    if (strip_[token].second) pos += leading_space(text.substr(pos));
    start = pos;
  }
  if (start < text.size()) segs.push_back({text.substr(start), -1});
  return segs;
}

}  // namespace radseek::tokenizer

#include "radiology/pattern.h"

#include <algorithm>
#include <cctype>

namespace radseek::radiology {
namespace {

bool alt_matches(const PatternAlt& a, std::string_view word) {
  if (a.prefix) return word.size() >= a.text.size() && word.compare(0, a.text.size(), a.text) == 0;
  return word == a.text;
}

bool slot_matches(const PatternSlot& s, std::string_view word) {
  for (const PatternAlt& a : s.alts) {
    if (alt_matches(a, word)) return true;
  }
  return false;
}

std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

Expected<PatternSlot> parse_slot(std::string_view item, std::string_view source) {
  PatternSlot slot;
  size_t i = 0;
  while (i <= item.size()) {
    size_t j = item.find('|', i);
    if (j == std::string_view::npos) j = item.size();
    std::string_view alt = item.substr(i, j - i);
    PatternAlt a;
    if (!alt.empty() && alt.back() == '*') {
      a.prefix = true;
      alt.remove_suffix(1);
    }
    if (alt.empty()) {
      return make_error(ErrorCode::kParse, "pattern \"" + std::string(source) + "\": empty alternative");
    }
    for (char c : alt) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '\'') {
        return make_error(ErrorCode::kParse, "pattern \"" + std::string(source) +
                                                 "\": character '" + std::string(1, c) +
                                                 "' cannot appear in a word");
      }
    }
    a.text = std::string(alt);
    slot.alts.push_back(std::move(a));
    i = j + 1;
  }
  return slot;
}

}  // namespace

Expected<Pattern> compile_pattern(std::string_view source) {
  Pattern p;
  p.source = std::string(source);
  std::string lowered(source);
  for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  uint8_t pending_gap = 0;
  for (std::string_view item : split_ws(lowered)) {
    if (item[0] == '~') {
      const std::string num(item.substr(1));
      if (num.empty() || num.size() > 2 || !std::all_of(num.begin(), num.end(), ::isdigit)) {
        return make_error(ErrorCode::kParse, "pattern \"" + p.source + "\": bad gap '" +
                                                 std::string(item) + "' (want ~N, N < 100)");
      }
      pending_gap = static_cast<uint8_t>(std::stoi(num));
      continue;
    }
    auto slot = parse_slot(item, source);
    if (!slot) return slot.error();
    slot->gap_before = pending_gap;
    pending_gap = 0;
    p.slots.push_back(std::move(*slot));
  }
  if (p.slots.empty()) return make_error(ErrorCode::kParse, "pattern \"" + p.source + "\" is empty");
  if (pending_gap != 0) {
    return make_error(ErrorCode::kParse, "pattern \"" + p.source + "\" ends with a gap");
  }
  return p;
}

uint32_t match_at(const Pattern& p, const AnalyzedText& t, uint32_t at, uint32_t limit) {
  if (at >= limit || t.tokens[at].kind != TokenKind::kWord) return 0;
  if (!slot_matches(p.slots[0], t.token_text(at))) return 0;
  uint32_t pos = at + 1;
  for (size_t k = 1; k < p.slots.size(); ++k) {
    const PatternSlot& slot = p.slots[k];
    bool found = false;
    for (uint32_t skip = 0; skip <= slot.gap_before && pos < limit; ++skip, ++pos) {
      if (t.tokens[pos].kind != TokenKind::kWord) break;  // gaps never cross punctuation
      if (slot_matches(slot, t.token_text(pos))) {
        found = true;
        break;
      }
    }
    if (!found) return 0;
    ++pos;
  }
  return pos;
}

Status PatternSet::add(std::string_view source, int tag) {
  auto p = compile_pattern(source);
  if (!p) return p.error();
  const auto index = static_cast<uint32_t>(patterns_.size());
  bool any_prefix = false;
  for (const PatternAlt& a : p->slots[0].alts) {
    if (a.prefix) {
      any_prefix = true;
    } else {
      by_exact_first_[a.text].push_back(index);
    }
  }
  if (any_prefix) prefix_first_.push_back(index);
  patterns_.push_back(std::move(*p));
  tags_.push_back(tag);
  return {};
}

void PatternSet::candidates(std::string_view word, std::vector<uint32_t>& out) const {
  out.clear();
  auto it = by_exact_first_.find(std::string(word));
  if (it != by_exact_first_.end()) out.insert(out.end(), it->second.begin(), it->second.end());
  for (uint32_t idx : prefix_first_) {
    for (const PatternAlt& a : patterns_[idx].slots[0].alts) {
      if (a.prefix && alt_matches(a, word)) {
        out.push_back(idx);
        break;
      }
    }
  }
}

void PatternSet::find_all(const AnalyzedText& t, uint32_t begin, uint32_t end,
                          std::vector<Hit>& out) const {
  std::vector<uint32_t> cands;
  for (uint32_t i = begin; i < end; ++i) {
    if (t.tokens[i].kind != TokenKind::kWord) continue;
    candidates(t.token_text(i), cands);
    const size_t first_hit = out.size();
    for (uint32_t idx : cands) {
      const uint32_t e = match_at(patterns_[idx], t, i, end);
      if (e == 0) continue;
      bool replaced = false;
      for (size_t h = first_hit; h < out.size(); ++h) {
        if (out[h].tag != tags_[idx]) continue;
        if (e > out[h].span.end) out[h] = Hit{{i, e}, tags_[idx], idx};
        replaced = true;
      }
      if (!replaced) out.push_back(Hit{{i, e}, tags_[idx], idx});
    }
  }
}

}  // namespace radseek::radiology

#include "radiology/text.h"

#include <array>
#include <cctype>

namespace radseek::radiology {
namespace {

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// Punctuation that matters to scope rules; other symbols (quotes, '/', '-', '*') just separate words.
bool is_scope_punct(char c) {
  return c == ',' || c == ';' || c == ':' || c == '.' || c == '?' || c == '!' || c == '(' ||
         c == ')';
}

struct HeadingName {
  std::string_view word;
  std::string_view canonical;
};
constexpr std::array<HeadingName, 16> kHeadings{{
    {"findings", "findings"},       {"finding", "findings"},
    {"impression", "impression"},   {"impressions", "impression"},
    {"conclusion", "impression"},   {"conclusions", "impression"},
    {"indication", "indication"},   {"indications", "indication"},
    {"history", "indication"},      {"technique", "technique"},
    {"comparison", "comparison"},   {"comparisons", "comparison"},
    {"examination", "examination"}, {"exam", "examination"},
    {"summary", "impression"},      {"opinion", "impression"},
}};

// True if position i (a '.') ends a sentence: not a decimal point ("1.5") and not inside "e.g.".
bool period_ends_sentence(std::string_view s, size_t i) {
  const bool digit_before = i > 0 && std::isdigit(static_cast<unsigned char>(s[i - 1]));
  const bool digit_after = i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]));
  if (digit_before && digit_after) return false;
  const bool alpha_after = i + 1 < s.size() && std::isalpha(static_cast<unsigned char>(s[i + 1]));
  const bool short_abbrev = i >= 2 && std::isalpha(static_cast<unsigned char>(s[i - 1])) &&
                            s[i - 2] == '.';  // "e.g." / "i.e."
  return !(alpha_after && short_abbrev);
}

void tokenize(std::string_view lower, std::vector<Token>& out) {
  size_t i = 0;
  while (i < lower.size()) {
    const char c = lower[i];
    if (is_word_char(c)) {
      size_t j = i;
      while (j < lower.size() && (is_word_char(lower[j]) || lower[j] == '\'')) ++j;
      out.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(j), TokenKind::kWord});
      i = j;
    } else {
      if (is_scope_punct(c)) {
        out.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(i + 1), TokenKind::kPunct});
      }
      ++i;
    }
  }
}

// A heading is a known section word followed by ':' (or at line start in capitals followed by
// a newline). Returns the canonical name and the offset just after the heading, or "" if none.
std::string_view heading_at(std::string_view text, std::string_view lower, size_t pos,
                            size_t* after) {
  for (const auto& h : kHeadings) {
    if (lower.compare(pos, h.word.size(), h.word) != 0) continue;
    size_t j = pos + h.word.size();
    if (j < lower.size() && is_word_char(lower[j])) continue;
    while (j < lower.size() && lower[j] == ' ') ++j;
    const bool colon = j < lower.size() && (lower[j] == ':' || lower[j] == '-');
    const bool upper_line = std::isupper(static_cast<unsigned char>(text[pos + 1])) &&
                            (j >= lower.size() || lower[j] == '\n' || lower[j] == '\r');
    if (!colon && !upper_line) continue;
    *after = colon ? j + 1 : j;
    return h.canonical;
  }
  return {};
}

void find_sections(std::string_view text, std::string_view lower, std::vector<Section>& out) {
  for (size_t i = 0; i < lower.size(); ++i) {
    if (!std::isalpha(static_cast<unsigned char>(lower[i]))) continue;
    if (i > 0 && is_word_char(lower[i - 1])) continue;
    size_t after = 0;
    const std::string_view name = heading_at(text, lower, i, &after);
    if (name.empty()) continue;
    if (!out.empty()) out.back().end = static_cast<uint32_t>(i);
    out.push_back({std::string(name), static_cast<uint32_t>(i), static_cast<uint32_t>(after),
                   static_cast<uint32_t>(lower.size())});
    i = after;
  }
}

int section_of(const std::vector<Section>& sections, uint32_t pos) {
  int found = -1;
  for (size_t k = 0; k < sections.size(); ++k) {
    if (sections[k].start <= pos) found = static_cast<int>(k);
  }
  return found;
}

bool starts_new_sentence(const AnalyzedText& t, uint32_t i, std::string_view text) {
  const Token& prev = t.tokens[i - 1];
  if (prev.kind != TokenKind::kPunct) return false;
  const char c = text[prev.start];
  if (c == '?' || c == '!' || c == ';') return c != ';';
  if (c == '.') return period_ends_sentence(text, prev.start);
  return false;
}

void split_sentences(std::string_view text, AnalyzedText& t) {
  const auto n = static_cast<uint32_t>(t.tokens.size());
  uint32_t begin = 0;
  auto close = [&](uint32_t end_tok) {
    if (end_tok <= begin) return;
    Sentence s;
    s.first_token = begin;
    s.last_token = end_tok;
    s.start = t.tokens[begin].start;
    s.end = t.tokens[end_tok - 1].end;
    s.section = section_of(t.sections, s.start);
    t.sentences.push_back(s);
    begin = end_tok;
  };
  for (uint32_t i = 1; i < n; ++i) {
    bool boundary = starts_new_sentence(t, i, text);
    // A section heading or a blank line also ends a sentence.
    for (const Section& sec : t.sections) {
      if (t.tokens[i - 1].end <= sec.start && t.tokens[i].start >= sec.start) boundary = true;
    }
    const std::string_view gap = text.substr(t.tokens[i - 1].end, t.tokens[i].start - t.tokens[i - 1].end);
    if (gap.find("\n\n") != std::string_view::npos || gap.find("\r\n\r\n") != std::string_view::npos) {
      boundary = true;
    }
    if (boundary) close(i);
  }
  close(n);
}

}  // namespace

std::string canonical_section(std::string_view heading_lower) {
  for (const auto& h : kHeadings) {
    if (h.word == heading_lower) return std::string(h.canonical);
  }
  return {};
}

AnalyzedText analyze_text(std::string_view text) {
  AnalyzedText t;
  t.lower.assign(text);
  for (char& c : t.lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  t.tokens.reserve(text.size() / 4 + 4);
  tokenize(t.lower, t.tokens);
  find_sections(text, t.lower, t.sections);
  // Heading words themselves are not report content: drop the tokens of each heading.
  std::vector<Token> kept;
  kept.reserve(t.tokens.size());
  for (const Token& tok : t.tokens) {
    bool in_heading = false;
    for (const Section& sec : t.sections) {
      if (tok.start >= sec.heading_start && tok.end <= sec.start) in_heading = true;
    }
    if (!in_heading) kept.push_back(tok);
  }
  t.tokens.swap(kept);
  split_sentences(text, t);
  return t;
}

bool sentence_in_sections(const AnalyzedText& t, const Sentence& s,
                          const std::vector<std::string>& wanted) {
  if (wanted.empty()) return true;
  if (s.section < 0) {
    for (const auto& w : wanted) {
      if (w == "body") return true;
    }
    return t.sections.empty();
  }
  for (const auto& w : wanted) {
    if (w == t.sections[s.section].name) return true;
  }
  return false;
}

}  // namespace radseek::radiology

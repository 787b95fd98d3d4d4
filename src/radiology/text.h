// Report text as the rule labeler sees it: lower-cased tokens with character offsets into the
// original input, sentences, and report sections (INDICATION, FINDINGS, IMPRESSION, ...).
// Offsets are byte offsets into the text given to analyze_text(), so evidence can point back to it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace radseek::radiology {

enum class TokenKind : uint8_t { kWord, kPunct };

struct Token {
  uint32_t start = 0;  // byte offset in the original text
  uint32_t end = 0;    // one past the last byte
  TokenKind kind = TokenKind::kWord;
};

struct Sentence {
  uint32_t start = 0;        // byte offsets of the sentence in the original text
  uint32_t end = 0;
  uint32_t first_token = 0;  // [first_token, last_token) into AnalyzedText::tokens
  uint32_t last_token = 0;
  int section = -1;          // index into AnalyzedText::sections, -1 when before any heading
};

struct Section {
  std::string name;  // canonical lower-case name: "findings", "impression", "indication", ...
  uint32_t heading_start = 0;  // offset of the heading word itself
  uint32_t start = 0;          // first byte after the heading (and its ':')
  uint32_t end = 0;
};

struct AnalyzedText {
  std::string lower;  // lower-cased copy of the input (same length, ASCII folding only)
  std::vector<Token> tokens;
  std::vector<Sentence> sentences;
  std::vector<Section> sections;

  std::string_view token_text(uint32_t i) const {
    return std::string_view(lower).substr(tokens[i].start, tokens[i].end - tokens[i].start);
  }
};

// Tokenizes, splits sentences and finds section headings ("FINDINGS:", "Impression -", ...).
AnalyzedText analyze_text(std::string_view text);

// Canonical section name for a heading word ("impressions" -> "impression"), or "" if not a heading.
std::string canonical_section(std::string_view heading_lower);

// True when the sentence belongs to one of the wanted sections. An empty wanted list keeps all;
// text before any heading is kept when the report has no headings at all, or when "body" is wanted.
bool sentence_in_sections(const AnalyzedText& t, const Sentence& s,
                          const std::vector<std::string>& wanted);

}  // namespace radseek::radiology

// Token patterns for mention phrases and negation/uncertainty cues.
//
// Syntax (one pattern per string, matched against lower-cased word tokens of one sentence):
//   word          the token equals "word"
//   word*         the token starts with "word" ("effusion*" matches "effusions")
//   a|b|c*        any of the alternatives
//   ~N            up to N other word tokens may stand before the next slot (never a , ; : . ( ))
// Examples: "pleural effusion*", "heart|cardiac ~3 enlarg*|large", "hiatal|hiatus hernia*".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "radiology/text.h"

namespace radseek::radiology {

struct PatternAlt {
  std::string text;
  bool prefix = false;
};

struct PatternSlot {
  std::vector<PatternAlt> alts;
  uint8_t gap_before = 0;  // how many word tokens may be skipped before this slot
};

struct Pattern {
  std::string source;  // the pattern as written, for error messages and evidence
  std::vector<PatternSlot> slots;
};

Expected<Pattern> compile_pattern(std::string_view source);

// Token range [begin, end) of a match.
struct TokenSpan {
  uint32_t begin = 0;
  uint32_t end = 0;
};

// Tries to match `p` starting exactly at token `at`, not past `limit`; returns the end token
// (one past the last matched) or 0 when it does not match.
uint32_t match_at(const Pattern& p, const AnalyzedText& t, uint32_t at, uint32_t limit);

// A set of patterns, each tagged with an integer (label index, cue kind, ...). Indexed by the
// first slot's words so a sentence is scanned once.
class PatternSet {
 public:
  // Adds a pattern; returns an error naming the pattern if its syntax is wrong.
  Status add(std::string_view source, int tag);

  struct Hit {
    TokenSpan span;
    int tag = 0;
    uint32_t pattern = 0;  // index into patterns()
  };
  // All matches starting at every token in [begin, end). At one start only the longest match per
  // tag is kept.
  void find_all(const AnalyzedText& t, uint32_t begin, uint32_t end, std::vector<Hit>& out) const;

  const std::vector<Pattern>& patterns() const { return patterns_; }
  const std::vector<int>& tags() const { return tags_; }

 private:
  void candidates(std::string_view word, std::vector<uint32_t>& out) const;

  std::vector<Pattern> patterns_;
  std::vector<int> tags_;
  std::unordered_map<std::string, std::vector<uint32_t>> by_exact_first_;
  std::vector<uint32_t> prefix_first_;  // patterns whose first slot has a prefix alternative
};

}  // namespace radseek::radiology

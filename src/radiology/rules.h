// The rule-based labeler (`--engine rules`): mention phrases per label, then NegEx / CheXpert-labeler
// style negation and uncertainty cues with scope. Deterministic; no model needed.
//
// Scope rules, in order:
//  * cues are matched longest-first; a cue inside a longer cue does not count ("cannot exclude" is an
//    uncertainty cue, its "not" is not a negation; "no change" is a pseudo-negation and negates nothing);
//  * a pre-cue ("no", "without", "may", "possible") covers the words after it up to a terminator
//    ("but", "however", "except", "other than", ";", a new clause after a comma such as ", mild ...")
//    or the end of the sentence, at most kPreScopeWords words;
//  * a post-cue ("is not seen", "has resolved", "cannot be excluded") covers at most kPostScopeWords
//    words before it, not across punctuation;
//  * a cue inside the mention itself counts ("the heart is not enlarged");
//  * negation wins over uncertainty when both cover a mention ("no opacity to suggest pneumonia").
// A label's value is 1 if any mention is positive, else -1 if any is uncertain, else 0 if any is
// negated, else blank. Then the set's aggregation rules (No Finding, heart failure) apply.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "radiology/labels.h"
#include "radiology/pattern.h"
#include "radiology/text.h"

namespace radseek::radiology {

inline constexpr uint32_t kPreScopeWords = 15;
inline constexpr uint32_t kPostScopeWords = 6;

enum class CueKind : int { kPreNeg, kPostNeg, kPreUnc, kPostUnc, kPseudo, kTerminator };

// The cue vocabulary, compiled once and then const.
class CueRules {
 public:
  static Expected<CueRules> create();

  // Cue hits of one sentence, overlapping shorter hits removed.
  std::vector<PatternSet::Hit> find(const AnalyzedText& t, const Sentence& s) const;

  // Assertion of a mention given the sentence's cue hits: kPositive, kNegative or kUncertain.
  LabelValue assertion(const AnalyzedText& t, const Sentence& s,
                       const std::vector<PatternSet::Hit>& cues, TokenSpan mention) const;

 private:
  PatternSet set_;
};

struct Evidence {
  int label = -1;
  LabelValue value = LabelValue::kBlank;
  uint32_t sentence_start = 0;  // byte offsets into the input text
  uint32_t sentence_end = 0;
  uint32_t mention_start = 0;
  uint32_t mention_end = 0;
};

struct LabelResult {
  std::vector<LabelValue> values;  // one per label of the set
  std::vector<Evidence> evidence;  // sentences supporting each positive or uncertain value
};

// One mention found in the report, with its assertion (used by the multiple-choice scorer).
struct MentionHit {
  int label = -1;
  LabelValue value = LabelValue::kBlank;
  uint32_t sentence = 0;  // index into AnalyzedText::sentences
  TokenSpan span;
};

class RuleLabeler {
 public:
  static Expected<RuleLabeler> create(const LabelSet& set);

  const LabelSet& label_set() const { return set_; }
  const CueRules& cues() const { return cues_; }

  // `sections`: canonical section names to read (empty: the whole report).
  LabelResult label(std::string_view text, const std::vector<std::string>& sections) const;

  // Every mention with its assertion, before aggregation.
  std::vector<MentionHit> mentions(const AnalyzedText& t, const std::vector<std::string>& sections) const;

 private:
  LabelResult aggregate(const AnalyzedText& t, const std::vector<MentionHit>& hits) const;
  void apply_set_rules(const AnalyzedText& t, const std::vector<std::string>& sections,
                       LabelResult& r) const;

  LabelSet set_;
  CueRules cues_;
  PatternSet mentions_;    // tag = label index
  PatternSet exclusions_;  // tag = label index
  PatternSet hedges_;      // tag = label index
  PatternSet heart_failure_;
};

}  // namespace radseek::radiology

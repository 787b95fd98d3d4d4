// Evidence for LLM answers: the report sentence(s) supporting each positive or uncertain finding,
// with byte offsets into the input. The model's quote is matched back to the report (exactly, then
// ignoring case and spacing, since endpoint models paraphrase whitespace); when it cannot be found
// (no quote, a random-weight model, a paraphrase) the rule labeler's mention finder supplies it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "radiology/backend.h"
#include "radiology/rules.h"

namespace radseek::radiology {

struct TextSpan {
  uint32_t start = 0;
  uint32_t end = 0;
};

// Where `quote` occurs in `text`: exact match first, then case- and whitespace-insensitive.
// Quotes shorter than 3 non-space characters are not matched (too ambiguous).
std::optional<TextSpan> find_quote(std::string_view text, std::string_view quote);

// Evidence for a span of the report: the sentences it covers and the span itself as the mention.
Evidence evidence_for_span(const AnalyzedText& t, TextSpan span, int label, LabelValue value);

class EvidenceFinder {
 public:
  static Expected<EvidenceFinder> create(const LabelSet& set);

  // One evidence entry per positive or uncertain label; labels with neither a matching quote nor a
  // rule mention get none.
  std::vector<Evidence> find(std::string_view text, const std::vector<std::string>& sections,
                             const std::vector<LabelValue>& values, const std::vector<std::string>& quotes) const;

 private:
  std::unique_ptr<RuleLabeler> rules_;
};

// Evidence for the chosen option of a multiple-choice answer: the quote, else the rule scorer's
// supporting sentence for that option.
std::vector<Evidence> mc_evidence(const ReportRecord& r, const std::vector<std::string>& sections,
                                  const std::string& letter, const std::string& quote, const McScorer& scorer);

}  // namespace radseek::radiology

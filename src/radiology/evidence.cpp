#include "radiology/evidence.h"

#include <algorithm>
#include <cctype>

namespace radseek::radiology {
namespace {

bool space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Lower-cased text with whitespace runs collapsed to one space, and where each byte came from.
struct Folded {
  std::string text;
  std::vector<uint32_t> origin;
};

Folded fold(std::string_view s) {
  Folded f;
  for (uint32_t i = 0; i < s.size(); ++i) {
    if (space(s[i])) {
      if (!f.text.empty() && f.text.back() == ' ') continue;
      f.text += ' ';
    } else {
      f.text += static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
    }
    f.origin.push_back(i);
  }
  return f;
}

std::string_view trim_quote(std::string_view q) {
  // Models often wrap the quote in its own punctuation or ellipses.
  auto junk = [](char c) { return space(c) || c == '.' || c == ',' || c == ';' || c == '\'' || c == '"'; };
  while (!q.empty() && junk(q.front())) q.remove_prefix(1);
  while (!q.empty() && junk(q.back())) q.remove_suffix(1);
  return q;
}

}  // namespace

std::optional<TextSpan> find_quote(std::string_view text, std::string_view quote) {
  quote = trim_quote(quote);
  if (std::count_if(quote.begin(), quote.end(), [](char c) { return !space(c); }) < 3) return std::nullopt;
  const size_t exact = text.find(quote);
  if (exact != std::string_view::npos)
    return TextSpan{static_cast<uint32_t>(exact), static_cast<uint32_t>(exact + quote.size())};
  const Folded t = fold(text);
  Folded q = fold(quote);
  const size_t at = t.text.find(q.text);
  if (at == std::string::npos) return std::nullopt;
  const uint32_t last = t.origin[at + q.text.size() - 1];
  return TextSpan{t.origin[at], last + 1};
}

Evidence evidence_for_span(const AnalyzedText& t, TextSpan span, int label, LabelValue value) {
  Evidence e{.label = label, .value = value, .sentence_start = span.start, .sentence_end = span.end,
             .mention_start = span.start, .mention_end = span.end};
  for (const Sentence& s : t.sentences) {
    if (s.end > span.start && s.start < span.end) {
      e.sentence_start = std::min(e.sentence_start, s.start);
      e.sentence_end = std::max(e.sentence_end, s.end);
    }
  }
  return e;
}

Expected<EvidenceFinder> EvidenceFinder::create(const LabelSet& set) {
  auto lab = RuleLabeler::create(set);
  if (!lab) return lab.error();
  EvidenceFinder f;
  f.rules_ = std::make_unique<RuleLabeler>(std::move(*lab));
  return f;
}

std::vector<Evidence> EvidenceFinder::find(std::string_view text, const std::vector<std::string>& sections,
                                           const std::vector<LabelValue>& values,
                                           const std::vector<std::string>& quotes) const {
  const AnalyzedText t = analyze_text(text);
  std::vector<MentionHit> hits;
  bool hits_ready = false;
  std::vector<Evidence> out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] != LabelValue::kPositive && values[i] != LabelValue::kUncertain) continue;
    const int label = static_cast<int>(i);
    if (auto span = find_quote(text, i < quotes.size() ? quotes[i] : std::string())) {
      out.push_back(evidence_for_span(t, *span, label, values[i]));
      continue;
    }
    if (!hits_ready) hits = rules_->mentions(t, sections), hits_ready = true;
    // Prefer a mention the rules read the same way, else any mention of the label.
    const MentionHit* best = nullptr;
    for (const MentionHit& h : hits) {
      if (h.label != label) continue;
      if (best == nullptr || (h.value == values[i] && best->value != values[i])) best = &h;
    }
    if (best == nullptr) continue;
    const TextSpan span{t.tokens[best->span.begin].start, t.tokens[best->span.end - 1].end};
    out.push_back(evidence_for_span(t, span, label, values[i]));
  }
  return out;
}

std::vector<Evidence> mc_evidence(const ReportRecord& r, const std::vector<std::string>& sections,
                                  const std::string& letter, const std::string& quote, const McScorer& scorer) {
  if (auto span = find_quote(r.text, quote)) {
    return {evidence_for_span(analyze_text(r.text), *span, -1, LabelValue::kPositive)};
  }
  ReportRecord only = r;
  only.options.clear();
  for (const auto& o : r.options)
    if (o.first == letter) only.options.push_back(o);
  return scorer.choose(only, sections).evidence;
}

}  // namespace radseek::radiology

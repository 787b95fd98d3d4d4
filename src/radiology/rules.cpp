#include "radiology/rules.h"

#include <algorithm>
#include <array>

namespace radseek::radiology {
namespace {

struct CueEntry {
  CueKind kind;
  const char* pattern;
};

// NegEx (Chapman 2001) and CheXpert-labeler cue families, written for chest radiograph prose.
constexpr std::array kCues = {
    // Pre-negation.
    CueEntry{CueKind::kPreNeg, "no|not|without|nor|neither|never|absent"},
    CueEntry{CueKind::kPreNeg, "negative for"},
    CueEntry{CueKind::kPreNeg, "negative"},
    CueEntry{CueKind::kPreNeg, "free|clear ~1 of"},
    CueEntry{CueKind::kPreNeg, "absence of"},
    CueEntry{CueKind::kPreNeg, "resolution|resolved|removal|removed"},
    CueEntry{CueKind::kPreNeg, "no longer"},
    CueEntry{CueKind::kPreNeg, "rather than"},
    CueEntry{CueKind::kPreNeg, "fails to reveal|show|demonstrate"},
    CueEntry{CueKind::kPreNeg, "normal ~2 without"},
    // Post-negation.
    CueEntry{CueKind::kPostNeg, "is|are|was|were|has|have ~1 not ~1 seen|identified|present|evident|"
                                "demonstrated|visualized|appreciated|noted|detected|apparent|visible"},
    CueEntry{CueKind::kPostNeg, "not ~1 seen|identified|present|evident|demonstrated|visualized|"
                                "appreciated|noted|detected|apparent|visible"},
    CueEntry{CueKind::kPostNeg, "has|have ~1 resolved|cleared|disappeared"},
    CueEntry{CueKind::kPostNeg, "resolved|cleared|absent|removed"},
    CueEntry{CueKind::kPostNeg, "is|are|was|were ~1 ruled out|excluded"},
    CueEntry{CueKind::kPostNeg, "no longer ~2 seen|visualized|present|evident|identified"},
    // Pre-uncertainty.
    CueEntry{CueKind::kPreUnc, "may|might|could|possible|possibly|probable|probably|likely|"
                               "questionable|question|equivocal|indeterminate|uncertain|presumed|"
                               "presumably|suspected|suspect|suspicious|suspicion|worrisome|concern|"
                               "concerning|versus|vs|differential|consider|considered|considerations"},
    CueEntry{CueKind::kPreUnc, "suggest|suggests|suggested|suggesting|suggestive|suggestion"},
    CueEntry{CueKind::kPreUnc, "cannot|can't|cant ~2 exclude|excluded|rule|ruled|be"},
    CueEntry{CueKind::kPreUnc, "can not|cannot ~2 exclude|excluded|rule|ruled"},
    CueEntry{CueKind::kPreUnc, "difficult|hard|unable ~2 exclude|excluded"},
    CueEntry{CueKind::kPreUnc, "not ~1 excluded|exclude|ruled"},
    CueEntry{CueKind::kPreUnc, "rule|rules out"},
    CueEntry{CueKind::kPreUnc, "r o"},
    CueEntry{CueKind::kPreUnc, "evaluate|evaluation ~1 for"},
    CueEntry{CueKind::kPreUnc, "correlate ~3 for"},
    CueEntry{CueKind::kPreUnc, "not ~1 definitely|clearly|certainly"},
    CueEntry{CueKind::kPreUnc, "not ~2 be ~1 excluded|ruled"},
    // Post-uncertainty.
    CueEntry{CueKind::kPostUnc, "is|are ~1 possible|suspected|questioned|uncertain"},
    CueEntry{CueKind::kPostUnc, "cannot|can ~2 be ~1 excluded|ruled"},
    CueEntry{CueKind::kPostUnc, "not ~1 excluded"},
    CueEntry{CueKind::kPostUnc, "not ~1 ruled out"},
    CueEntry{CueKind::kPostUnc, "versus|vs"},
    CueEntry{CueKind::kPostUnc, "is|are ~1 not ~1 excluded"},
    // Pseudo-cues: look like a negation but negate nothing.
    CueEntry{CueKind::kPseudo, "no|without|not ~2 change|changed|increase|increased|decrease|decreased|"
                               "worsening|improvement|progression"},
    CueEntry{CueKind::kPseudo, "no|without|not ~1 significant|interval|definite ~1 change|changed"},
    CueEntry{CueKind::kPseudo, "not only|necessarily"},
    CueEntry{CueKind::kPseudo, "no further"},
    CueEntry{CueKind::kPseudo, "not ~1 well ~1 seen|visualized|evaluated"},
    CueEntry{CueKind::kPseudo, "no ~1 other"},
    CueEntry{CueKind::kPseudo, "may|could ~1 be|represent ~1 due|related|secondary"},
    // Scope terminators.
    CueEntry{CueKind::kTerminator, "but|however|although|though|except|aside|apart|whereas|while|"
                                   "yet|nevertheless|which|besides|otherwise"},
    CueEntry{CueKind::kTerminator, "other than"},
    CueEntry{CueKind::kTerminator, "with the exception"},
    CueEntry{CueKind::kTerminator, "there is|are|has|have|remains|remain"},
};

// After a comma, these words open a new clause ("No pneumothorax, mild cardiomegaly"), which ends
// the scope of a pre-cue.
constexpr std::array<std::string_view, 34> kClauseStarters = {
    "mild", "mildly", "moderate", "moderately", "severe", "small", "stable", "persistent",
    "persistently", "new", "increased", "increasing", "decreased", "decreasing", "improved",
    "improving", "worsening", "worsened", "minimal", "unchanged", "again", "trace", "residual",
    "chronic", "there", "which", "markedly", "slightly", "continued", "redemonstrated", "interval",
    "stably", "enlarged", "borderline"};

bool is_clause_starter(std::string_view w) {
  return std::find(kClauseStarters.begin(), kClauseStarters.end(), w) != kClauseStarters.end();
}

bool is_terminator_punct(const AnalyzedText& t, uint32_t i) {
  if (t.tokens[i].kind != TokenKind::kPunct) return false;
  const char c = t.lower[t.tokens[i].start];
  return c == ';' || c == ':' || c == '(' || c == ')' || c == '.' || c == '?' || c == '!';
}

}  // namespace

Expected<CueRules> CueRules::create() {
  CueRules r;
  for (const CueEntry& c : kCues) {
    RADSEEK_TRY(r.set_.add(c.pattern, static_cast<int>(c.kind)));
  }
  return r;
}

std::vector<PatternSet::Hit> CueRules::find(const AnalyzedText& t, const Sentence& s) const {
  std::vector<PatternSet::Hit> hits;
  set_.find_all(t, s.first_token, s.last_token, hits);
  // Longest-first: drop a hit contained in a longer (or earlier equal) one.
  std::vector<PatternSet::Hit> kept;
  kept.reserve(hits.size());
  for (size_t i = 0; i < hits.size(); ++i) {
    bool contained = false;
    for (size_t j = 0; j < hits.size() && !contained; ++j) {
      if (i == j) continue;
      const TokenSpan a = hits[i].span;
      const TokenSpan b = hits[j].span;
      const bool inside = b.begin <= a.begin && a.end <= b.end;
      const bool longer = (b.end - b.begin) > (a.end - a.begin) || j < i;
      contained = inside && longer;
    }
    if (!contained) kept.push_back(hits[i]);
  }
  return kept;
}

LabelValue CueRules::assertion(const AnalyzedText& t, const Sentence& s,
                               const std::vector<PatternSet::Hit>& cues, TokenSpan m) const {
  // Is anything between token a (exclusive) and b (exclusive) a scope terminator?
  auto blocked = [&](uint32_t a, uint32_t b) {
    for (uint32_t i = a; i < b; ++i) {
      if (is_terminator_punct(t, i)) return true;
      if (t.tokens[i].kind == TokenKind::kPunct && t.lower[t.tokens[i].start] == ',' && i + 1 < b &&
          is_clause_starter(t.token_text(i + 1))) {
        return true;
      }
    }
    for (const auto& c : cues) {
      if (static_cast<CueKind>(c.tag) == CueKind::kTerminator && c.span.begin >= a && c.span.end <= b) {
        return true;
      }
    }
    return false;
  };
  auto words_between = [&](uint32_t a, uint32_t b) {
    uint32_t n = 0;
    for (uint32_t i = a; i < b; ++i) n += t.tokens[i].kind == TokenKind::kWord ? 1 : 0;
    return n;
  };
  bool negated = false;
  bool uncertain = false;
  for (const auto& c : cues) {
    const auto kind = static_cast<CueKind>(c.tag);
    const bool pre = kind == CueKind::kPreNeg || kind == CueKind::kPreUnc;
    const bool post = kind == CueKind::kPostNeg || kind == CueKind::kPostUnc;
    bool applies = false;
    if (pre && c.span.begin >= m.begin && c.span.end <= m.end) {
      applies = true;  // inside the mention: "heart is not enlarged"
    } else if (pre && c.span.end <= m.begin) {
      applies = !blocked(c.span.end, m.begin) && words_between(c.span.end, m.begin) <= kPreScopeWords;
    } else if (post && c.span.begin >= m.end) {
      bool punct = false;
      for (uint32_t i = m.end; i < c.span.begin; ++i) punct |= t.tokens[i].kind == TokenKind::kPunct;
      applies = !punct && words_between(m.end, c.span.begin) <= kPostScopeWords;
    }
    if (!applies) continue;
    if (kind == CueKind::kPreNeg || kind == CueKind::kPostNeg) negated = true;
    if (kind == CueKind::kPreUnc || kind == CueKind::kPostUnc) uncertain = true;
  }
  (void)s;
  if (negated) return LabelValue::kNegative;
  if (uncertain) return LabelValue::kUncertain;
  return LabelValue::kPositive;
}

Expected<RuleLabeler> RuleLabeler::create(const LabelSet& set) {
  RuleLabeler r;
  r.set_ = set;
  auto cues = CueRules::create();
  if (!cues) return cues.error().with_context("built-in cue table");
  r.cues_ = std::move(*cues);
  for (size_t i = 0; i < set.labels.size(); ++i) {
    const LabelDef& d = set.labels[i];
    for (const auto& p : d.mentions) {
      auto st = r.mentions_.add(p, static_cast<int>(i));
      if (!st) return st.error().with_context("label set " + set.name + ", label " + d.name);
    }
    for (const auto& p : d.exclusions) {
      auto st = r.exclusions_.add(p, static_cast<int>(i));
      if (!st) return st.error().with_context("label set " + set.name + ", label " + d.name);
    }
    for (const auto& p : d.hedges) {
      auto st = r.hedges_.add(p, static_cast<int>(i));
      if (!st) return st.error().with_context("label set " + set.name + ", label " + d.name + " (hedge)");
    }
  }
  for (const auto& p : set.heart_failure_mentions) RADSEEK_TRY(r.heart_failure_.add(p, 0));
  return r;
}

std::vector<MentionHit> RuleLabeler::mentions(const AnalyzedText& t,
                                              const std::vector<std::string>& sections) const {
  std::vector<MentionHit> out;
  std::vector<PatternSet::Hit> hits;
  std::vector<PatternSet::Hit> excl;
  std::vector<PatternSet::Hit> hedge;
  for (uint32_t si = 0; si < t.sentences.size(); ++si) {
    const Sentence& s = t.sentences[si];
    if (!sentence_in_sections(t, s, sections)) continue;
    hits.clear();
    mentions_.find_all(t, s.first_token, s.last_token, hits);
    if (hits.empty()) continue;
    excl.clear();
    exclusions_.find_all(t, s.first_token, s.last_token, excl);
    hedge.clear();
    hedges_.find_all(t, s.first_token, s.last_token, hedge);
    const auto cue_hits = cues_.find(t, s);
    auto overlaps = [](const std::vector<PatternSet::Hit>& v, const PatternSet::Hit& h) {
      return std::any_of(v.begin(), v.end(), [&](const PatternSet::Hit& e) {
        return e.tag == h.tag && e.span.begin < h.span.end && h.span.begin < e.span.end;
      });
    };
    for (const auto& h : hits) {
      if (overlaps(excl, h)) continue;
      LabelValue v = cues_.assertion(t, s, cue_hits, h.span);
      if (v == LabelValue::kPositive && overlaps(hedge, h)) v = LabelValue::kUncertain;
      out.push_back(MentionHit{.label = h.tag, .value = v, .sentence = si, .span = h.span});
    }
  }
  return out;
}

LabelResult RuleLabeler::aggregate(const AnalyzedText& t, const std::vector<MentionHit>& hits) const {
  LabelResult r;
  r.values.assign(set_.labels.size(), LabelValue::kBlank);
  auto rank = [](LabelValue v) {
    switch (v) {
      case LabelValue::kPositive: return 3;
      case LabelValue::kUncertain: return 2;
      case LabelValue::kNegative: return 1;
      case LabelValue::kBlank: return 0;
    }
    return 0;
  };
  for (const auto& h : hits) {
    if (rank(h.value) > rank(r.values[h.label])) r.values[h.label] = h.value;
  }
  for (const auto& h : hits) {
    if (h.value != r.values[h.label] || h.value == LabelValue::kNegative) continue;
    const Sentence& s = t.sentences[h.sentence];
    const bool dup = std::any_of(r.evidence.begin(), r.evidence.end(), [&](const Evidence& e) {
      return e.label == h.label && e.sentence_start == s.start;
    });
    if (dup) continue;
    r.evidence.push_back(Evidence{.label = h.label,
                                  .value = h.value,
                                  .sentence_start = s.start,
                                  .sentence_end = s.end,
                                  .mention_start = t.tokens[h.span.begin].start,
                                  .mention_end = t.tokens[h.span.end - 1].end});
  }
  return r;
}

void RuleLabeler::apply_set_rules(const AnalyzedText& t, const std::vector<std::string>& sections,
                                  LabelResult& r) const {
  if (set_.heart_failure_target >= 0 && r.values[set_.heart_failure_target] == LabelValue::kBlank) {
    std::vector<PatternSet::Hit> hits;
    for (const Sentence& s : t.sentences) {
      if (!sentence_in_sections(t, s, sections)) continue;
      hits.clear();
      heart_failure_.find_all(t, s.first_token, s.last_token, hits);
      const auto cue_hits = hits.empty() ? std::vector<PatternSet::Hit>{} : cues_.find(t, s);
      for (const auto& h : hits) {
        if (cues_.assertion(t, s, cue_hits, h.span) == LabelValue::kNegative) continue;
        r.values[set_.heart_failure_target] = LabelValue::kUncertain;
        r.evidence.push_back(Evidence{.label = set_.heart_failure_target,
                                      .value = LabelValue::kUncertain,
                                      .sentence_start = s.start,
                                      .sentence_end = s.end,
                                      .mention_start = t.tokens[h.span.begin].start,
                                      .mention_end = t.tokens[h.span.end - 1].end});
        break;
      }
      if (r.values[set_.heart_failure_target] != LabelValue::kBlank) break;
    }
  }
  if (set_.no_finding >= 0) {
    bool any = false;
    for (size_t i = 0; i < r.values.size(); ++i) {
      if (static_cast<int>(i) == set_.no_finding) continue;
      if (std::find(set_.no_finding_ignores.begin(), set_.no_finding_ignores.end(),
                    static_cast<int>(i)) != set_.no_finding_ignores.end()) {
        continue;
      }
      any |= r.values[i] == LabelValue::kPositive || r.values[i] == LabelValue::kUncertain;
    }
    r.values[set_.no_finding] = any ? LabelValue::kBlank : LabelValue::kPositive;
  }
}

LabelResult RuleLabeler::label(std::string_view text, const std::vector<std::string>& sections) const {
  const AnalyzedText t = analyze_text(text);
  LabelResult r = aggregate(t, mentions(t, sections));
  apply_set_rules(t, sections, r);
  return r;
}

}  // namespace radseek::radiology

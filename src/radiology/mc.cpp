// Multiple-choice answering with rules (see McScorer in backend.h).
#include <algorithm>
#include <array>

#include "radiology/backend.h"

namespace radseek::radiology {
namespace {

constexpr std::array<std::string_view, 24> kStopWords = {
    "the", "and", "with", "without", "of", "in", "on", "at", "for", "from", "to", "or",
    "a", "an", "is", "are", "be", "by", "as", "its", "this", "that", "which", "finding"};

// "No acute abnormality", "Normal study": an option saying the report is normal.
bool is_normal_option(std::string_view lower) {
  for (std::string_view k : {"no acute", "normal", "no abnormal", "unremarkable", "no finding", "negative study"}) {
    if (lower.find(k) != std::string_view::npos) return true;
  }
  return false;
}

bool is_stop(std::string_view w) {
  return w.size() < 3 || std::find(kStopWords.begin(), kStopWords.end(), w) != kStopWords.end();
}

// Stems compare on their first five letters ("effusions" ~ "effusion", "fractured" ~ "fracture").
bool same_stem(std::string_view a, std::string_view b) {
  const size_t n = std::min<size_t>(5, std::min(a.size(), b.size()));
  if (a.size() < 5 || b.size() < 5) return a == b;
  return a.compare(0, n, b, 0, n) == 0;
}

double value_score(LabelValue v) {
  switch (v) {
    case LabelValue::kPositive: return 3.0;
    case LabelValue::kUncertain: return 2.0;
    case LabelValue::kNegative: return -1.0;
    case LabelValue::kBlank: return 0.0;
  }
  return 0.0;
}

LabelSet mc_vocabulary() {
  LabelSet v;
  v.name = "mc-vocabulary";
  // The specific ChestX-ray14 findings, plus the CheXpert observations they lack. CheXpert's broad
  // classes (Lung Opacity, Lung Lesion) would let "fibrosis" match any opacity, so they stay out.
  v.labels = builtin_chestxray14().labels;
  const LabelSet chexpert = builtin_chexpert14();
  for (const char* name : {"Enlarged Cardiomediastinum", "Fracture", "Support Devices"}) {
    v.labels.push_back(chexpert.labels[chexpert.index_of(name)]);
  }
  return v;
}

struct Lexical {
  double score = 0;
  int sentence = -1;
  TokenSpan span;
};

// Best sentence for the option's content words, signed by the sentence's assertion.
Lexical lexical_match(const AnalyzedText& report, const std::vector<std::string_view>& words,
                      const CueRules& cues, const std::vector<std::string>& sections) {
  Lexical best;
  if (words.empty()) return best;
  for (uint32_t si = 0; si < report.sentences.size(); ++si) {
    const Sentence& s = report.sentences[si];
    if (!sentence_in_sections(report, s, sections)) continue;
    size_t found = 0;
    uint32_t lo = s.last_token;
    uint32_t hi = s.first_token;
    for (std::string_view w : words) {
      for (uint32_t i = s.first_token; i < s.last_token; ++i) {
        if (report.tokens[i].kind != TokenKind::kWord || !same_stem(w, report.token_text(i))) continue;
        ++found;
        lo = std::min(lo, i);
        hi = std::max(hi, i + 1);
        break;
      }
    }
    if (found == 0) continue;
    const double coverage = static_cast<double>(found) / static_cast<double>(words.size());
    const LabelValue v = cues.assertion(report, s, cues.find(report, s), TokenSpan{lo, hi});
    const double sign = v == LabelValue::kNegative ? -1.0 : (v == LabelValue::kUncertain ? 0.6 : 1.0);
    const double score = coverage * sign;
    if (best.sentence < 0 || score > best.score) best = Lexical{score, static_cast<int>(si), {lo, hi}};
  }
  return best;
}

}  // namespace

Expected<McScorer> McScorer::create() {
  McScorer s;
  s.vocab_ = mc_vocabulary();
  auto lab = RuleLabeler::create(s.vocab_);
  if (!lab) return lab.error().with_context("multiple-choice vocabulary");
  s.labeler_ = std::make_unique<RuleLabeler>(std::move(*lab));
  return s;
}

McOutput McScorer::choose(const ReportRecord& r, const std::vector<std::string>& sections) const {
  const AnalyzedText report = analyze_text(r.text);
  const std::vector<MentionHit> hits = labeler_->mentions(report, sections);
  const bool any_finding = std::any_of(hits.begin(), hits.end(), [](const MentionHit& h) {
    return h.value == LabelValue::kPositive || h.value == LabelValue::kUncertain;
  });
  McOutput out;
  double best_score = -1e9;
  for (const auto& [letter, option] : r.options) {
    const AnalyzedText opt = analyze_text(option);
    if (is_normal_option(opt.lower)) {
      // Below a positive finding (3) and above an uncertain one (2) only when nothing is found.
      const double total = any_finding ? -1.0 : 2.5;
      out.scores.emplace_back(letter, total);
      if (total > best_score) {
        best_score = total;
        out.answer = letter;
        out.evidence.clear();
      }
      continue;
    }
    double label_score = 0;
    const MentionHit* support = nullptr;
    for (const MentionHit& oh : labeler_->mentions(opt, {})) {
      if (oh.value == LabelValue::kNegative) continue;
      for (const MentionHit& h : hits) {
        if (vocab_.labels[h.label].name != vocab_.labels[oh.label].name) continue;
        if (support == nullptr || value_score(h.value) > label_score) {
          label_score = value_score(h.value);
          support = &h;
        }
      }
    }
    std::vector<std::string_view> words;
    for (uint32_t i = 0; i < opt.tokens.size(); ++i) {
      if (opt.tokens[i].kind == TokenKind::kWord && !is_stop(opt.token_text(i))) words.push_back(opt.token_text(i));
    }
    const Lexical lex = lexical_match(report, words, labeler_->cues(), sections);
    const int sent = support != nullptr ? static_cast<int>(support->sentence) : lex.sentence;
    const bool in_impression = sent >= 0 && report.sentences[sent].section >= 0 &&
                               report.sections[report.sentences[sent].section].name == "impression";
    const double total = label_score + lex.score + (in_impression && label_score + lex.score > 0 ? 0.25 : 0);
    out.scores.emplace_back(letter, total);
    if (total > best_score) {
      best_score = total;
      out.answer = letter;
      out.evidence.clear();
      if (sent >= 0) {
        const Sentence& s = report.sentences[sent];
        const TokenSpan span = support != nullptr ? support->span : lex.span;
        out.evidence.push_back(Evidence{.label = -1,
                                        .value = support != nullptr ? support->value : LabelValue::kPositive,
                                        .sentence_start = s.start,
                                        .sentence_end = s.end,
                                        .mention_start = report.tokens[span.begin].start,
                                        .mention_end = report.tokens[span.end - 1].end});
      }
    }
  }
  return out;
}

}  // namespace radseek::radiology

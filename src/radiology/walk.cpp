#include "radiology/walk.h"

#include "radiology/text.h"

namespace radseek::radiology {
namespace {

std::string_view trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \n\t\r");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \n\t\r") - b + 1);
}

int section_index(const AnalyzedText& t, std::string_view name) {
  for (size_t i = 0; i < t.sections.size(); ++i)
    if (t.sections[i].name == name) return static_cast<int>(i);
  return -1;
}

// The space before a verdict belongs to the verdict: byte-level BPE attaches it to the next word
// (" Fracture"), and a forced lone space would leave the model a tokenization it never saw.
std::vector<std::string> verdicts_for(const std::vector<std::string>& names) {
  std::vector<std::string> v{" " + std::string(kWalkNothing)};
  for (const std::string& n : names)
    for (const char* w : {"present", "absent", "uncertain"}) v.push_back(" " + n + ": " + w);
  return v;
}

// One forced sentence and the choice of verdict after it, per sentence of the plan.
std::vector<engine::FormatNode> sentence_lines(const std::vector<std::string>& verdict_texts, const WalkPlan& plan) {
  using namespace engine::fmt;
  std::vector<engine::FormatNode> verdicts;
  for (const std::string& v : verdict_texts) verdicts.push_back(lit(v));
  std::vector<engine::FormatNode> parts;
  for (const std::string& s : plan.sentences) parts.push_back(seq({lit("\"" + s + "\""), alt(verdicts), lit("\n")}));
  return parts;
}

}  // namespace

WalkPlan plan_walk(std::string_view report) {
  const AnalyzedText t = analyze_text(report);
  const int findings = section_index(t, "findings");
  WalkPlan plan;
  for (const Sentence& s : t.sentences) {
    if (findings >= 0 && s.section != findings) continue;
    const std::string_view text = trim(report.substr(s.start, s.end - s.start));
    // A quote never holds '"' or a line break (the walk line would not parse back).
    if (!text.empty() && text.find_first_of("\"\n") == std::string_view::npos) plan.sentences.emplace_back(text);
  }
  if (const int imp = section_index(t, "impression"); imp >= 0) {
    const Section& s = t.sections[imp];
    const std::string_view text = trim(report.substr(s.start, s.end - s.start));
    if (text.find_first_of("\"\n") == std::string_view::npos) plan.impression = std::string(text);
  }
  return plan;
}

std::string walk_line(std::string_view sentence, std::string_view verdict) {
  return "\"" + std::string(sentence) + "\" " + std::string(verdict) + "\n";
}

std::vector<std::string> walk_verdicts(const LabelSet& labels) {
  std::vector<std::string> names;
  for (const LabelDef& d : labels.labels) names.push_back(d.name);
  return verdicts_for(names);
}

WalkReading read_walk(std::string_view walk, const LabelSet& labels) {
  const size_t n = labels.labels.size();
  WalkReading r{.values = std::vector<LabelValue>(n, LabelValue::kBlank), .quotes = std::vector<std::string>(n),
                .verdict_pos = std::vector<size_t>(n, std::string_view::npos), .line_verdict_pos = {}, .line_start = {}};
  auto rank = [](LabelValue v) {
    return v == LabelValue::kPositive ? 3 : v == LabelValue::kUncertain ? 2 : v == LabelValue::kNegative ? 1 : 0;
  };
  for (size_t at = 0; at < walk.size();) {
    const size_t end = std::min(walk.find('\n', at), walk.size());
    const std::string_view line = walk.substr(at, end - at);
    const size_t close = line.size() > 1 && line[0] == '"' ? line.find("\" ", 1) : std::string_view::npos;
    if (close != std::string_view::npos) {
      const std::string_view verdict = line.substr(close + 1);  // " <label>: <value>"
      r.line_verdict_pos.push_back(at + close + 1);
      r.line_start.push_back(at);
      for (size_t i = 0; i < n; ++i) {
        const std::string head = " " + labels.labels[i].name + ": ";
        if (!verdict.starts_with(head)) continue;
        const std::string_view word = verdict.substr(head.size());
        const LabelValue v = word == "present" ? LabelValue::kPositive : word == "uncertain" ? LabelValue::kUncertain
                             : word == "absent"  ? LabelValue::kNegative : LabelValue::kBlank;
        if (rank(v) > rank(r.values[i])) {
          r.values[i] = v;
          r.quotes[i] = std::string(line.substr(1, close - 1));
          r.verdict_pos[i] = at + close + 1;
        }
      }
    }
    at = end + 1;
  }
  return r;
}

engine::FormatConstraint walk_constraint(const LabelSet& labels, const WalkPlan& plan) {
  return engine::FormatConstraint(walk_format(labels, plan), "");
}

engine::FormatNode walk_format(const LabelSet& labels, const WalkPlan& plan) {
  using namespace engine::fmt;
  std::vector<engine::FormatNode> parts = sentence_lines(walk_verdicts(labels), plan);
  if (labels.no_finding >= 0 && !plan.impression.empty()) {
    const std::string nf = walk_line(plan.impression, labels.labels[labels.no_finding].name + ": present");
    parts.push_back(alt({lit(nf), lit("")}));
  }
  // The closing line's "\n" belongs to the walk: the model writes ".\n" as one token before
  // "</think>" (as in training), and a walk cut at "." would hand it a "." + "\n" it never saw.
  parts.push_back(lit(std::string(kWalkClosing) + "\n"));
  return seq(std::move(parts));
}

std::string mc_walk_choice(std::string_view letter, std::string_view option) {
  return " " + std::string(option) + " (" + std::string(letter) + ").";
}

engine::FormatConstraint mc_walk_constraint(const std::vector<std::pair<std::string, std::string>>& options,
                                            const WalkPlan& plan) {
  using namespace engine::fmt;
  std::vector<std::string> names;
  for (const auto& o : options) names.push_back(o.second);
  std::vector<engine::FormatNode> parts = sentence_lines(verdicts_for(names), plan);
  std::vector<engine::FormatNode> choices;
  // ".\n" is one token in training ("... (D).\n</think>"), so the line break belongs here. The
  // option's name comes first: the model decides by naming what its walk found, and the letter
  // then follows from the alternatives (it is forced once the name is chosen).
  for (const auto& [letter, text] : options) choices.push_back(lit(mc_walk_choice(letter, text) + "\n"));
  parts.push_back(lit(std::string(kMcWalkClosing)));
  parts.push_back(alt(std::move(choices)));
  return engine::FormatConstraint(seq(std::move(parts)), "");
}

}  // namespace radseek::radiology

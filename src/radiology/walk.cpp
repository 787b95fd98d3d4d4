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

engine::FormatConstraint walk_constraint(const LabelSet& labels, const WalkPlan& plan) {
  using namespace engine::fmt;
  // The space before a verdict belongs to the verdict: byte-level BPE attaches it to the next word
  // (" Fracture"), and a forced lone space would leave the model a tokenization it never saw.
  std::vector<engine::FormatNode> verdicts{lit(" " + std::string(kWalkNothing))};
  for (const LabelDef& d : labels.labels)
    for (const char* v : {"present", "absent", "uncertain"}) verdicts.push_back(lit(" " + d.name + ": " + v));
  std::vector<engine::FormatNode> parts;
  for (const std::string& s : plan.sentences)
    parts.push_back(seq({lit("\"" + s + "\""), alt(verdicts), lit("\n")}));
  if (labels.no_finding >= 0 && !plan.impression.empty()) {
    const std::string nf = walk_line(plan.impression, labels.labels[labels.no_finding].name + ": present");
    parts.push_back(alt({lit(nf), lit("")}));
  }
  parts.push_back(lit(std::string(kWalkClosing)));
  return engine::FormatConstraint(seq(std::move(parts)), "");
}

}  // namespace radseek::radiology

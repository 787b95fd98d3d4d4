// The compact family's reasoning shape, a walk through the report: one line per sentence of the
// FINDINGS section (the whole report when it has none), in order,
//   "<the sentence, verbatim>" <Label>: present|absent|uncertain     or
//   "<the sentence, verbatim>" nothing on the list
// then, for label sets with a No Finding label, an optional line quoting the impression
//   "<impression>" No Finding: present
// and the closing line "Every other finding is not mentioned.\n" (the reasoning then closes with
// "</think>").
//
// sft.cpp writes this reasoning as training data; the local backend can hold the model to it while
// it reasons (walk_constraint): the sentences are forced verbatim and in order — as the answer's
// label names are — and the model decides what each sentence states. Why: a small model that reads
// well sentence by sentence still drifts when it has to copy long quotes by itself (it repeats or
// invents a sentence), and an invented quote is exactly what a reader cannot check.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/constrained.h"
#include "radiology/labels.h"

namespace radseek::radiology {

inline constexpr std::string_view kWalkNothing = "nothing on the list";
inline constexpr std::string_view kWalkClosing = "Every other finding is not mentioned.";
// Multiple choice closes its walk with the chosen option: "So the answer is <option> (<letter>).\n"
// (the space before the option belongs to the choice, as a verdict's does: see walk_verdicts).
inline constexpr std::string_view kMcWalkClosing = "So the answer is";

struct WalkPlan {
  std::vector<std::string> sentences;  // verbatim, in report order
  std::string impression;              // the IMPRESSION section's text, trimmed ("" when none)
};

// The sentences to walk in `report` (the text exactly as the prompt shows it).
WalkPlan plan_walk(std::string_view report);

// One walk line: "\"<sentence>\" <verdict>\n" where verdict is "<label>: <value>" or kWalkNothing.
std::string walk_line(std::string_view sentence, std::string_view verdict);

// The walk as a format: forced sentences, a choice of verdict per sentence, the optional impression
// line when `labels` has No Finding, then kWalkClosing and its line break.
engine::FormatConstraint walk_constraint(const LabelSet& labels, const WalkPlan& plan);
engine::FormatNode walk_format(const LabelSet& labels, const WalkPlan& plan);  // the same, as a node

// The multiple-choice walk: the same sentence lines, verdicts over the options' names
// (" nothing on the list", " <option>: present|absent|uncertain"), then kMcWalkClosing and one of
// " <option> (<letter>).\n" — the model picks the option after walking the report.
// options: (letter, text) pairs as in ReportRecord::options.
engine::FormatConstraint mc_walk_constraint(const std::vector<std::pair<std::string, std::string>>& options,
                                            const WalkPlan& plan);

// The closing of an MC walk for one option: " <option> (<letter>)." (the line break follows).
std::string mc_walk_choice(std::string_view letter, std::string_view option);

// The report-level labels a walk states, aggregated over its lines the way mention-level labelers
// (NegBio, the CheXpert labeler) aggregate mentions: present > uncertain > absent, a label on no line
// is not mentioned. `verdict_pos[i]` is the byte offset in `walk` of the verdict that decided label i
// (npos when not mentioned), where its probability was recorded; `quotes[i]` that line's sentence.
struct WalkReading {
  std::vector<LabelValue> values;
  std::vector<std::string> quotes;
  std::vector<size_t> verdict_pos;
  std::vector<size_t> line_verdict_pos;  // every line's verdict offset, in order
  std::vector<size_t> line_start;        // and where each of those lines starts
};
WalkReading read_walk(std::string_view walk, const LabelSet& labels);

// The verdict alternatives walk_constraint offers after each sentence, in its order (for
// engine::option_probabilities): " nothing on the list", then " <label>: present|absent|uncertain".
std::vector<std::string> walk_verdicts(const LabelSet& labels);

}  // namespace radseek::radiology

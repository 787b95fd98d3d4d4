// Prompts per model family, the answer format, its constraint and its parser, shared by every LLM
// backend (the local engine and OpenAI-compatible endpoints), so both ask and parse the same way.
//  * DeepSeek-R1 family: no system prompt, all instructions in the user turn, no few-shot examples
//    (R1 README "Usage Recommendations").
//  * generic family: a system prompt with the instructions and one worked example (user + assistant
//    turns), then the report in the user turn.
//  * compact family: R1's shape with one-line instructions and the label names only, for small
//    models trained on these prompts (radseek train, radiology/sft.h): short prompts train faster.
// Multi-label answer (after the LAST "</think>"), one line per label in the set's order:
//   <answer>
//   Cardiomegaly: present "the heart is enlarged"
//   Edema: absent
//   Pneumonia: uncertain "cannot exclude pneumonia"
//   Mass: not mentioned
//   </answer>
// Multiple choice:  <answer>B</answer>
//                   Evidence: "quoted words"
// The local engine constrains its answer to exactly this (quotes must be substrings of the report);
// endpoint answers are parsed with some tolerance (case, spacing, bullets), anything else is an error.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/constrained.h"
#include "radiology/labels.h"
#include "radiology/record.h"

namespace radseek::radiology {

enum class ModelFamily { kR1, kGeneric, kCompact };
Expected<ModelFamily> parse_model_family(const std::string& s);

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant" (the few-shot example)
  std::string content;
};

// The report as the model sees it: the chosen sections (whole text when none), with chat-control
// strings ("<｜User｜>", "<think>") defused so report text cannot forge turns or end the reasoning.
std::string prompt_report_text(std::string_view text, const std::vector<std::string>& sections);

Expected<std::vector<ChatMessage>> build_multilabel_prompt(const std::string& report, const LabelSet& labels,
                                                           ModelFamily family);
std::vector<ChatMessage> build_mc_prompt(const ReportRecord& r, const std::string& report, ModelFamily family);

// Value words of the multi-label answer, in the order the constraint offers them.
inline constexpr std::array<const char*, 4> kValueWords = {"present", "uncertain", "absent", "not mentioned"};
inline constexpr std::array<LabelValue, 4> kValueOf = {LabelValue::kPositive, LabelValue::kUncertain,
                                                       LabelValue::kNegative, LabelValue::kBlank};
inline constexpr int kMaxQuoteBytes = 160;

// The format above as constraint arguments (quotes restricted to substrings of `report`).
engine::LabelLinesArgs multilabel_format(const LabelSet& labels, const std::string& report);
engine::FormatConstraint mc_constraint(const ReportRecord& r, const std::string& report);

// The format text for given values and quotes (few-shot examples, tests).
std::string render_multilabel_answer(const LabelSet& labels, const std::vector<LabelValue>& values,
                                     const std::vector<std::string>& quotes);

struct SplitOutput {
  std::string reasoning;  // before the last </think> (a leading <think> removed)
  std::string answer;     // after it
};
SplitOutput split_reasoning(const std::string& completion);

struct LabelAnswer {
  std::vector<LabelValue> values;   // one per label
  std::vector<std::string> quotes;  // per label, "" when none
  std::vector<size_t> value_pos;    // byte offset in the answer just after "<name>:"
};
// Errors name what was wrong (missing block, unknown label, bad value, missing label).
Expected<LabelAnswer> parse_multilabel_answer(std::string_view answer, const LabelSet& labels);

struct McAnswer {
  std::string letter;
  std::string quote;
  size_t letter_pos = 0;  // byte offset in the answer of the letter
};
Expected<McAnswer> parse_mc_answer(std::string_view answer, const ReportRecord& r);

}  // namespace radseek::radiology

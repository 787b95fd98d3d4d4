// Prompts per model family and the strict answer parser shared by every LLM backend (the
// OpenAI-compatible endpoint now, the local engine next).
//  * DeepSeek-R1 family: no system prompt, all instructions in the user turn, no few-shot examples.
//  * generic family: a system prompt with the instructions, the report in the user turn.
// The answer follows the reasoning: the text after the LAST "</think>" must hold
// <answer>...</answer>; multi-label answers are a JSON object {label: 1|0|-1|null} naming every
// label, multiple-choice answers one letter among the options. Anything else is a typed error.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "radiology/labels.h"
#include "radiology/record.h"

namespace radseek::radiology {

enum class ModelFamily { kR1, kGeneric };
Expected<ModelFamily> parse_model_family(const std::string& s);

struct ChatMessage {
  std::string role;  // "system" or "user"
  std::string content;
};

std::vector<ChatMessage> build_multilabel_prompt(const std::string& report, const LabelSet& labels,
                                                 ModelFamily family);
std::vector<ChatMessage> build_mc_prompt(const ReportRecord& r, ModelFamily family);

struct SplitOutput {
  std::string reasoning;  // before the last </think> (a leading <think> removed)
  std::string answer;     // after it
};
SplitOutput split_reasoning(const std::string& completion);

// Parses the <answer> block; errors name what was wrong (missing block, unknown label, bad value).
Expected<std::vector<LabelValue>> parse_multilabel_answer(const std::string& answer, const LabelSet& labels);
Expected<std::string> parse_mc_answer(const std::string& answer, const ReportRecord& r);

}  // namespace radseek::radiology

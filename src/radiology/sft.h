// Synthetic reports (synth.h) as supervised fine-tuning examples in exactly the shape the local
// backend (local.h) asks and parses: the user turn(s) come from prompt.h's builders, the assistant
// turn is "<think>\n" + a short reasoning quoting the report + "\n</think>\n\n" + the answer in the
// constrained format (multi-label lines, or the option letter with its evidence). One report gives
// up to three examples: CheXpert-14 labels, ChestX-ray14 labels and its multiple-choice question.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "radiology/labels.h"
#include "radiology/prompt.h"

namespace radseek::radiology {

struct SftOptions {
  ModelFamily family = ModelFamily::kCompact;
  bool chexpert = true;     // a CheXpert-14 example (gold from "labels_chexpert")
  bool chestxray14 = true;  // a ChestX-ray14 example (gold from "labels_chestxray14")
  bool mc = true;           // the multiple-choice example
};

struct SftTurn {
  std::vector<ChatMessage> prompt;  // what the backend sends before the assistant turn
  std::string reasoning;            // between <think> and </think>
  std::string answer;               // after </think>, parseable by parse_multilabel_answer / parse_mc_answer
  std::string assistant() const { return "<think>\n" + reasoning + "\n</think>\n\n" + answer; }
};

// The multi-label turn for `labels` with gold from report[gold_field]. Errors name the record id
// and the label when the gold is malformed or a present/uncertain label has no stated sentence.
Expected<SftTurn> multilabel_sft_turn(const nlohmann::json& report, const LabelSet& labels,
                                      const std::string& gold_field, ModelFamily family);
Expected<SftTurn> mc_sft_turn(const nlohmann::json& report, ModelFamily family);

// {"id", "task": "chexpert"|"chestxray14"|"mc", "messages": [..., {"role": "assistant", ...}]} lines,
// the format `radseek train sft` reads.
Expected<std::vector<nlohmann::json>> synth_sft_examples(const nlohmann::json& report, const SftOptions& opts);

// The record's multiple-choice fields as the backend reads them (question, options, gold letter).
ReportRecord mc_record(const nlohmann::json& report);

}  // namespace radseek::radiology

// The verifiable reward of `radseek train grpo` for multi-label classification: the sampled turn is
// scored against the report's gold labels (DeepSeek-R1 §2.2.2: an accuracy reward plus a format
// reward, both rule-based, no reward model).
//  * format: the completion closes its reasoning with "</think>" and the text after the last
//    "</think>" is an answer block parse_multilabel_answer accepts;
//  * accuracy: micro-F1 of the predicted positive labels against the gold positives, with the
//    evaluation's default uncertainty policy (only 1 counts as present; -1 and blank as absent); a
//    report with neither gold nor predicted positives scores 1.
// total = F1 + format_bonus when the answer parses, else 0.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "engine/constrained.h"
#include "radiology/labels.h"

namespace radseek::radiology {

struct ClassificationReward {
  double total = 0.0;
  double f1 = 0.0;         // 0 when the answer does not parse
  bool formatted = false;  // "</think>" then a parseable answer block
};

// completion: the model's turn after the prompt's "<think>\n" opener (reasoning, "</think>", answer).
ClassificationReward multilabel_reward(std::string_view completion, const LabelSet& labels,
                                       const std::vector<LabelValue>& gold, double format_bonus);

// The whole turn a rollout writes when it is held to the format classify uses (--answer model):
// the walk through `report` (walk.h), "</think>\n\n", then the constrained answer block, its quotes
// taken from `report` (the report text exactly as the prompt shows it). nullopt when the report has
// no sentence to walk (the rollout then reasons freely).
std::optional<engine::FormatConstraint> multilabel_rollout_format(const std::string& report, const LabelSet& labels);

// One value per label of `labels` from report[field] ({"name": 1|0|-1|null}, absent names blank).
// Errors name the record id, the field and the label.
Expected<std::vector<LabelValue>> gold_label_values(const nlohmann::json& report, const LabelSet& labels,
                                                    const std::string& field);

}  // namespace radseek::radiology

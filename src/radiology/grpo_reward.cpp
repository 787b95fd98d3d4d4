#include "radiology/grpo_reward.h"

#include "radiology/prompt.h"
#include "radiology/record.h"
#include "radiology/walk.h"

namespace radseek::radiology {
namespace {

bool present(LabelValue v) { return apply_policy(v, UncertainPolicy::kNegative) == LabelValue::kPositive; }

}  // namespace

std::optional<engine::FormatConstraint> multilabel_rollout_format(const std::string& report, const LabelSet& labels) {
  const WalkPlan plan = plan_walk(report);
  if (plan.sentences.empty()) return std::nullopt;
  using namespace engine::fmt;
  // As local.cpp's answer lead after a walk: the walk ends with its own line break.
  return engine::FormatConstraint(
      seq({walk_format(labels, plan), lit("</think>\n\n"), engine::label_lines_format(multilabel_format(labels, report))}),
      report);
}

ClassificationReward multilabel_reward(std::string_view completion, const LabelSet& labels,
                                       const std::vector<LabelValue>& gold, double format_bonus) {
  ClassificationReward r;
  if (completion.find("</think>") == std::string_view::npos) return r;
  const SplitOutput split = split_reasoning(std::string(completion));
  auto parsed = parse_multilabel_answer(split.answer, labels);
  if (!parsed) return r;
  r.formatted = true;
  int64_t tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < gold.size() && i < parsed->values.size(); ++i) {
    const bool g = present(gold[i]), p = present(parsed->values[i]);
    tp += g && p;
    fp += !g && p;
    fn += g && !p;
  }
  r.f1 = tp + fp + fn == 0 ? 1.0 : 2.0 * static_cast<double>(tp) / static_cast<double>(2 * tp + fp + fn);
  r.total = r.f1 + format_bonus;
  return r;
}

Expected<std::vector<LabelValue>> gold_label_values(const nlohmann::json& report, const LabelSet& labels,
                                                    const std::string& field) {
  const std::string id = report.contains("id") && report["id"].is_string() ? report["id"].get<std::string>() : "(no id)";
  if (!report.contains(field) || !report[field].is_object())
    return make_error(ErrorCode::kParse, id + ": " + field + ": expected an object of label values");
  std::vector<LabelValue> out;
  for (const LabelDef& l : labels.labels) {
    const nlohmann::json& g = report[field].contains(l.name) ? report[field][l.name] : nlohmann::json();
    const auto v = label_value_from_json(g);
    if (!v) return make_error(ErrorCode::kParse, id + ": " + field + "." + l.name + ": not 1, 0, -1 or null");
    out.push_back(*v);
  }
  return out;
}

}  // namespace radseek::radiology

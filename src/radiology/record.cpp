#include "radiology/record.h"

#include <cmath>

namespace radseek::radiology {

Expected<UncertainPolicy> parse_uncertain_policy(const std::string& s) {
  if (s == "keep") return UncertainPolicy::kKeep;
  if (s == "positive" || s == "ones" || s == "u-ones") return UncertainPolicy::kPositive;
  if (s == "negative" || s == "zeros" || s == "u-zeros") return UncertainPolicy::kNegative;
  return make_error(ErrorCode::kInvalidArgument,
                    "--uncertain: '" + s + "' is not one of keep, positive, negative");
}

const char* uncertain_policy_name(UncertainPolicy p) {
  switch (p) {
    case UncertainPolicy::kKeep: return "keep";
    case UncertainPolicy::kPositive: return "positive";
    case UncertainPolicy::kNegative: return "negative";
  }
  return "keep";
}

LabelValue apply_policy(LabelValue v, UncertainPolicy p) {
  if (v != LabelValue::kUncertain) return v;
  switch (p) {
    case UncertainPolicy::kKeep: return v;
    case UncertainPolicy::kPositive: return LabelValue::kPositive;
    case UncertainPolicy::kNegative: return LabelValue::kNegative;
  }
  return v;
}

nlohmann::json label_value_json(LabelValue v) {
  switch (v) {
    case LabelValue::kPositive: return 1;
    case LabelValue::kNegative: return 0;
    case LabelValue::kUncertain: return -1;
    case LabelValue::kBlank: return nullptr;
  }
  return nullptr;
}

std::optional<LabelValue> label_value_from_json(const nlohmann::json& j) {
  if (j.is_null()) return LabelValue::kBlank;
  if (j.is_boolean()) return j.get<bool>() ? LabelValue::kPositive : LabelValue::kNegative;
  double d = 0;
  if (j.is_number()) {
    d = j.get<double>();
  } else if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s.empty()) return LabelValue::kBlank;
    try {
      size_t used = 0;
      d = std::stod(s, &used);
      if (used != s.size()) return std::nullopt;
    } catch (...) {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  if (d == 1.0) return LabelValue::kPositive;
  if (d == 0.0) return LabelValue::kNegative;
  if (d == -1.0) return LabelValue::kUncertain;
  return std::nullopt;
}

namespace {

nlohmann::json evidence_json(const std::vector<Evidence>& ev, const LabelSet* set,
                             const std::string& text) {
  nlohmann::json out = nlohmann::json::array();
  for (const Evidence& e : ev) {
    nlohmann::json j;
    if (set != nullptr && e.label >= 0 && e.label < static_cast<int>(set->labels.size())) {
      j["label"] = set->labels[e.label].name;
    }
    j["value"] = label_value_json(e.value);
    j["start"] = e.sentence_start;
    j["end"] = e.sentence_end;
    if (e.sentence_end <= text.size()) {
      j["text"] = text.substr(e.sentence_start, e.sentence_end - e.sentence_start);
    }
    j["mention"] = {{"start", e.mention_start}, {"end", e.mention_end}};
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

nlohmann::json result_to_json(const ResultRecord& r, const LabelSet* set, const std::string& text) {
  nlohmann::json j;
  j["id"] = r.id;
  if (r.error) {
    j["error"] = *r.error;
    j["engine"] = r.engine;
    return j;
  }
  if (r.labels && set != nullptr) {
    nlohmann::json labels = nlohmann::json::object();
    for (size_t i = 0; i < set->labels.size(); ++i) {
      labels[set->labels[i].name] = label_value_json(r.labels->values[i]);
    }
    j["labels"] = std::move(labels);
    if (!r.labels->confidence.empty()) {
      nlohmann::json conf = nlohmann::json::object();
      for (size_t i = 0; i < set->labels.size(); ++i) conf[set->labels[i].name] = r.labels->confidence[i];
      j["confidence"] = std::move(conf);
    }
    j["evidence"] = evidence_json(r.labels->evidence, set, text);
  }
  if (r.mc) {
    j["answer"] = r.mc->answer;
    if (r.mc->confidence >= 0) j["confidence"] = r.mc->confidence;
    nlohmann::json scores = nlohmann::json::object();
    for (const auto& [letter, score] : r.mc->scores) scores[letter] = score;
    j["scores"] = std::move(scores);
    j["evidence"] = evidence_json(r.mc->evidence, set, text);
  }
  j["engine"] = r.engine;
  if (!r.reasoning.empty()) j["reasoning"] = r.reasoning;
  if (r.reasoning_tokens >= 0) j["reasoning_tokens"] = r.reasoning_tokens;
  if (!r.reasoning_end.empty()) j["reasoning_end"] = r.reasoning_end;
  if (r.prompt_tokens >= 0) j["prompt_tokens"] = r.prompt_tokens;
  if (r.answer_tokens >= 0) j["answer_tokens"] = r.answer_tokens;
  j["timings"] = {{"total_ms", std::round(r.timings.total_ms * 1000.0) / 1000.0}};
  return j;
}

}  // namespace radseek::radiology

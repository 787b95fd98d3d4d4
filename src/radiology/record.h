// One report as read from any input format, and one result as written to any output format.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "radiology/labels.h"
#include "radiology/rules.h"

namespace radseek::radiology {

struct ReportRecord {
  std::string id;
  std::string text;
  std::string where;                  // "reports.jsonl:12", for messages (never the text itself)
  std::optional<std::string> error;   // set when the record is malformed; the run goes on
  nlohmann::json gold;                // optional gold labels: {"label name": 1|0|-1|null}
  // Multiple choice.
  std::string question;
  std::vector<std::pair<std::string, std::string>> options;  // letter -> candidate answer
  std::string gold_answer;                                   // optional gold letter
};

struct Timings {
  double total_ms = 0;
};

struct LabelOutput {
  std::vector<LabelValue> values;  // one per label of the set, after the uncertainty policy
  std::vector<Evidence> evidence;
  std::vector<double> confidence;  // per label, empty when the backend has none
};

struct McOutput {
  std::string answer;  // a letter
  double confidence = -1;
  std::vector<Evidence> evidence;
  std::vector<std::pair<std::string, double>> scores;  // per letter, backend-specific scale
};

struct ResultRecord {
  std::string id;
  std::string engine;
  std::optional<std::string> error;
  std::optional<LabelOutput> labels;
  std::optional<McOutput> mc;
  std::string reasoning;      // empty for the rule engine
  int64_t reasoning_tokens = -1;
  std::string reasoning_end;  // why the reasoning ended (LLM backends)
  int64_t prompt_tokens = -1;
  int64_t answer_tokens = -1;
  int64_t drafted = 0, accepted = 0;  // speculative decoding (LLM backends with --speculative)
  Timings timings;
};

// What to do with an uncertain (-1) label, on output and in evaluation.
enum class UncertainPolicy { kKeep, kPositive, kNegative };
Expected<UncertainPolicy> parse_uncertain_policy(const std::string& s);
const char* uncertain_policy_name(UncertainPolicy p);
LabelValue apply_policy(LabelValue v, UncertainPolicy p);

// JSON for a label value: 1, 0, -1 or null.
nlohmann::json label_value_json(LabelValue v);
// Reads 1/0/-1/null (also "1", "1.0", "", "-1.0" and booleans) into a LabelValue; nullopt if not one.
std::optional<LabelValue> label_value_from_json(const nlohmann::json& j);

// The JSONL output record. `text` is the analysed input, used for evidence snippets.
nlohmann::json result_to_json(const ResultRecord& r, const LabelSet* set, const std::string& text);

}  // namespace radseek::radiology

#include "radiology/prompt.h"

#include <cctype>
#include <nlohmann/json.hpp>

namespace radseek::radiology {
namespace {

std::string label_instructions(const LabelSet& labels) {
  std::string s =
      "Read the radiology report below and decide, for each finding in the list, whether the report "
      "states it as present (1), absent (0), uncertain (-1), or does not mention it (null).\n"
      "Think step by step and quote the report phrases that support each present or uncertain finding.\n"
      "Findings:\n";
  for (const LabelDef& d : labels.labels) {
    s += "- " + d.name;
    if (!d.description.empty()) s += ": " + d.description;
    s += "\n";
  }
  s += "After your reasoning, answer with exactly one line: <answer>{JSON object mapping every finding "
       "name above to 1, 0, -1 or null}</answer>\n";
  return s;
}

std::string mc_instructions(const ReportRecord& r) {
  std::string s = r.question.empty() ? "Which diagnosis does this radiology report support?" : r.question;
  s += "\nOptions:\n";
  for (const auto& [letter, text] : r.options) s += letter + ". " + text + "\n";
  s += "Think step by step, quoting the report, then answer with exactly one line: <answer>LETTER</answer>\n";
  return s;
}

std::vector<ChatMessage> assemble(const std::string& instructions, const std::string& report, ModelFamily f) {
  if (f == ModelFamily::kR1) {
    return {ChatMessage{"user", instructions + "\nReport:\n" + report}};
  }
  return {ChatMessage{"system", "You are a careful radiologist.\n" + instructions},
          ChatMessage{"user", "Report:\n" + report}};
}

Expected<std::string> answer_block(const std::string& answer) {
  const size_t open = answer.rfind("<answer>");
  if (open == std::string::npos) return make_error(ErrorCode::kParse, "model answer has no <answer> block");
  const size_t close = answer.find("</answer>", open);
  if (close == std::string::npos) return make_error(ErrorCode::kParse, "model answer: <answer> is not closed");
  std::string body = answer.substr(open + 8, close - open - 8);
  const size_t b = body.find_first_not_of(" \t\r\n");
  const size_t e = body.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : body.substr(b, e - b + 1);
}

}  // namespace

Expected<ModelFamily> parse_model_family(const std::string& s) {
  if (s == "r1" || s == "deepseek-r1") return ModelFamily::kR1;
  if (s == "generic" || s == "chat") return ModelFamily::kGeneric;
  return make_error(ErrorCode::kInvalidArgument, "--family: '" + s + "' is not one of r1, generic");
}

std::vector<ChatMessage> build_multilabel_prompt(const std::string& report, const LabelSet& labels,
                                                 ModelFamily family) {
  return assemble(label_instructions(labels), report, family);
}

std::vector<ChatMessage> build_mc_prompt(const ReportRecord& r, ModelFamily family) {
  return assemble(mc_instructions(r), r.text, family);
}

SplitOutput split_reasoning(const std::string& completion) {
  SplitOutput out;
  const size_t close = completion.rfind("</think>");
  if (close == std::string::npos) {
    out.answer = completion;
    return out;
  }
  out.reasoning = completion.substr(0, close);
  const size_t open = out.reasoning.find("<think>");
  if (open != std::string::npos) out.reasoning.erase(0, open + 7);
  out.answer = completion.substr(close + 8);
  return out;
}

Expected<std::vector<LabelValue>> parse_multilabel_answer(const std::string& answer, const LabelSet& labels) {
  auto body = answer_block(answer);
  if (!body) return body.error();
  const nlohmann::json j = nlohmann::json::parse(*body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(ErrorCode::kParse, "model answer: <answer> does not hold a JSON object");
  }
  std::vector<LabelValue> values(labels.labels.size(), LabelValue::kBlank);
  std::vector<bool> seen(labels.labels.size(), false);
  for (auto it = j.begin(); it != j.end(); ++it) {
    const int idx = labels.index_of(it.key());
    if (idx < 0) return make_error(ErrorCode::kParse, "model answer: unknown label '" + it.key() + "'");
    auto v = label_value_from_json(it.value());
    if (!v) return make_error(ErrorCode::kParse, "model answer: label '" + it.key() + "' has value " +
                                                     it.value().dump() + " (want 1, 0, -1 or null)");
    values[idx] = *v;
    seen[idx] = true;
  }
  for (size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i]) return make_error(ErrorCode::kParse, "model answer: label '" + labels.labels[i].name + "' missing");
  }
  return values;
}

Expected<std::string> parse_mc_answer(const std::string& answer, const ReportRecord& r) {
  auto body = answer_block(answer);
  if (!body) return body.error();
  std::string letter = *body;
  if (letter.size() > 1 && (letter.back() == '.' || letter.back() == ')')) letter.pop_back();
  for (const auto& [l, text] : r.options) {
    if (l == letter) return letter;
  }
  return make_error(ErrorCode::kParse, "model answer: '" + letter.substr(0, 16) + "' is not one of the option letters");
}

}  // namespace radseek::radiology

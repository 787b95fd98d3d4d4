#include "radiology/sft.h"

#include <algorithm>

#include "radiology/record.h"

namespace radseek::radiology {
namespace {

using Json = nlohmann::json;

std::string record_id(const Json& r) { return r.value("id", std::string("(no id)")); }

// The impression's text: the quote for "No Finding" and for "No acute abnormality", which no
// finding sentence states.
std::string impression(const std::string& text) {
  const size_t at = text.find("IMPRESSION:");
  if (at == std::string::npos) return {};
  std::string s = text.substr(at + 11);
  s.erase(0, s.find_first_not_of(" \n"));
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
  return s;
}

int value_code(LabelValue v) { return v == LabelValue::kPositive ? 1 : v == LabelValue::kUncertain ? -1 : 0; }

// The sentence stating `label` with gold value v: a finding mapped to the label in this set's field.
std::string stated_sentence(const Json& r, const std::string& set_field, const std::string& label, LabelValue v) {
  if (r.contains("findings") && r["findings"].is_array()) {
    for (const Json& f : r["findings"]) {
      if (f.value(set_field, std::string()) == label && f.value("value", 9) == value_code(v))
        return f.value("sentence", std::string());
    }
  }
  return {};
}

std::string quote_clause(const std::string& quote, const std::string& what, const char* verdict) {
  return "The report says \"" + quote + "\", so " + what + " is " + verdict + ".\n";
}

// "A, B and C" (for the absent findings line).
std::string name_list(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) s += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
  return s;
}

}  // namespace

ReportRecord mc_record(const Json& report) {
  ReportRecord r;
  r.id = record_id(report);
  r.text = report.value("text", std::string());
  r.question = report.value("question", std::string());
  if (report.contains("options") && report["options"].is_object())
    for (auto it = report["options"].begin(); it != report["options"].end(); ++it)
      if (it.value().is_string()) r.options.emplace_back(it.key(), it.value().get<std::string>());
  r.gold_answer = report.value("answer", std::string());
  return r;
}

Expected<SftTurn> multilabel_sft_turn(const Json& report, const LabelSet& labels, const std::string& gold_field,
                                      ModelFamily family) {
  const std::string id = record_id(report);
  if (!report.contains("text") || !report["text"].is_string())
    return make_error(ErrorCode::kParse, id + ": text: expected a string");
  if (!report.contains(gold_field) || !report[gold_field].is_object())
    return make_error(ErrorCode::kParse, id + ": " + gold_field + ": expected an object of label values");
  const std::string text = prompt_report_text(report["text"].get<std::string>(), {});
  const std::string set_field = gold_field == "labels_chestxray14" ? "chestxray14" : "chexpert";
  const size_t n = labels.labels.size();
  std::vector<LabelValue> values(n, LabelValue::kBlank);
  std::vector<std::string> quotes(n);
  SftTurn t;
  std::vector<std::string> absent;
  for (size_t i = 0; i < n; ++i) {
    const std::string& name = labels.labels[i].name;
    const Json& g = report[gold_field].contains(name) ? report[gold_field][name] : Json();
    const auto v = label_value_from_json(g);
    if (!v) return make_error(ErrorCode::kParse, id + ": " + gold_field + "." + name + ": not 1, 0, -1 or null");
    values[i] = *v;
    if (*v == LabelValue::kNegative) absent.push_back(name);
    if (*v != LabelValue::kPositive && *v != LabelValue::kUncertain) continue;
    quotes[i] = static_cast<int>(i) == labels.no_finding ? impression(text) : stated_sentence(report, set_field, name, *v);
    if (quotes[i].empty() || text.find(quotes[i]) == std::string::npos)
      return make_error(ErrorCode::kParse, id + ": " + gold_field + "." + name + ": no stated sentence in the report to quote");
    t.reasoning += quote_clause(quotes[i], name, *v == LabelValue::kPositive ? "present" : "uncertain");
  }
  if (t.reasoning.empty()) t.reasoning = "No finding of the list is stated as present or uncertain.\n";
  if (!absent.empty()) t.reasoning += "Stated absent: " + name_list(absent) + ".\n";
  t.reasoning += "Everything else is not mentioned.";
  auto prompt = build_multilabel_prompt(text, labels, family);
  if (!prompt) return prompt.error().with_context(id);
  t.prompt = std::move(*prompt);
  t.answer = render_multilabel_answer(labels, values, quotes);
  return t;
}

Expected<SftTurn> mc_sft_turn(const Json& report, ModelFamily family) {
  const ReportRecord r = mc_record(report);
  const auto gold = std::find_if(r.options.begin(), r.options.end(), [&](const auto& o) { return o.first == r.gold_answer; });
  if (r.options.size() < 2 || gold == r.options.end())
    return make_error(ErrorCode::kParse, r.id + ": options/answer: need two or more options and the answer among them");
  const std::string text = prompt_report_text(r.text, {});
  std::string quote;
  if (report.contains("findings") && report["findings"].is_array())
    for (const Json& f : report["findings"])
      if (quote.empty() && f.value("name", std::string()) == gold->second && f.value("value", 0) != 0)
        quote = f.value("sentence", std::string());
  if (quote.empty()) quote = impression(text);
  if (quote.empty() || quote.size() > static_cast<size_t>(kMaxQuoteBytes) || text.find(quote) == std::string::npos)
    return make_error(ErrorCode::kParse, r.id + ": no sentence of the report supports answer " + r.gold_answer);
  SftTurn t;
  t.prompt = build_mc_prompt(r, text, family);
  t.reasoning = "The report says \"" + quote + "\", which indicates " + gold->second + ".";
  t.answer = "<answer>" + r.gold_answer + "</answer>\nEvidence: \"" + quote + "\"";
  return t;
}

Expected<std::vector<Json>> synth_sft_examples(const Json& report, const SftOptions& opts) {
  std::vector<Json> out;
  auto add = [&](const Expected<SftTurn>& t, const char* task) -> Status {
    if (!t) return t.error();
    Json msgs = Json::array();
    for (const ChatMessage& m : t->prompt) msgs.push_back({{"role", m.role}, {"content", m.content}});
    msgs.push_back({{"role", "assistant"}, {"content", t->assistant()}});
    out.push_back({{"id", record_id(report)}, {"task", task}, {"messages", std::move(msgs)}});
    return {};
  };
  if (opts.chexpert) RADSEEK_TRY(add(multilabel_sft_turn(report, builtin_chexpert14(), "labels_chexpert", opts.family), "chexpert"));
  if (opts.chestxray14)
    RADSEEK_TRY(add(multilabel_sft_turn(report, builtin_chestxray14(), "labels_chestxray14", opts.family), "chestxray14"));
  if (opts.mc) RADSEEK_TRY(add(mc_sft_turn(report, opts.family), "mc"));
  return out;
}

}  // namespace radseek::radiology

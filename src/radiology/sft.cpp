#include "radiology/sft.h"

#include <algorithm>
#include <functional>

#include "radiology/record.h"
#include "radiology/walk.h"

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

// One line of the reasoning's walk through the FINDINGS section.
struct WalkLine {
  std::string sentence;
  const Json* finding = nullptr;  // the synthetic finding the sentence states, or none
};

std::string trimmed(std::string_view s) {
  const size_t b = s.find_first_not_of(" \n");
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(" \n") - b + 1));
}

// The FINDINGS section sentence by sentence, in report order. Why a walk: a small model reads a
// report reliably when each reasoning line copies the next sentence (a copy from a known place)
// and names what that one sentence states; a summary of "the present findings" asks it to search
// the whole report at once, which a 15 M-parameter model did not learn (it invented quotes).
std::vector<WalkLine> findings_walk(const Json& r, const std::string& text) {
  const size_t open = text.find("FINDINGS:");
  if (open == std::string::npos) return {};
  const size_t begin = open + 9;
  const size_t end = std::min(text.find("\nIMPRESSION:", begin), text.size());
  std::vector<std::pair<size_t, const Json*>> at;
  if (r.contains("findings") && r["findings"].is_array()) {
    for (const Json& f : r["findings"]) {
      const size_t pos = text.find(f.value("sentence", std::string()), begin);
      if (pos < end && !f.value("sentence", std::string()).empty()) at.emplace_back(pos, &f);
    }
  }
  std::sort(at.begin(), at.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<WalkLine> walk;
  size_t cursor = begin;
  auto gap = [&](size_t until) {  // text no finding states (e.g. "The trachea is midline.")
    const std::string g = until > cursor ? trimmed(std::string_view(text).substr(cursor, until - cursor)) : "";
    if (!g.empty()) walk.push_back({g, nullptr});
  };
  for (const auto& [pos, f] : at) {
    if (pos < cursor) continue;
    gap(pos);
    walk.push_back({(*f)["sentence"].get<std::string>(), f});
    cursor = pos + walk.back().sentence.size();
  }
  gap(end);
  return walk;
}

const char* verdict_word(int value) { return value == 1 ? "present" : value == -1 ? "uncertain" : "absent"; }

// "\"<sentence>\" <name>: <verdict>" per walked sentence; `name_field` picks the finding's name in
// the label set ("chexpert", "chestxray14") or the plain name ("name", for multiple choice); a name
// `known` does not accept is "nothing on the list", as at inference, where the walk can only name
// the candidates (the label set, or the question's options).
std::string walk_reasoning(const std::vector<WalkLine>& walk, const std::string& name_field,
                           const std::function<bool(const std::string&)>& known) {
  std::string s;
  for (const WalkLine& w : walk) {
    std::string name = w.finding ? w.finding->value(name_field, std::string()) : "";
    if (!name.empty() && !known(name)) name.clear();
    s += walk_line(w.sentence, name.empty() ? std::string(kWalkNothing) : name + ": " + verdict_word(w.finding->value("value", 0)));
  }
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
  t.reasoning = walk_reasoning(findings_walk(report, text), set_field,
                               [&](const std::string& name) { return labels.index_of(name) >= 0; });
  for (size_t i = 0; i < n; ++i) {
    const std::string& name = labels.labels[i].name;
    const Json& g = report[gold_field].contains(name) ? report[gold_field][name] : Json();
    const auto v = label_value_from_json(g);
    if (!v) return make_error(ErrorCode::kParse, id + ": " + gold_field + "." + name + ": not 1, 0, -1 or null");
    values[i] = *v;
    if (*v != LabelValue::kPositive && *v != LabelValue::kUncertain) continue;
    quotes[i] = static_cast<int>(i) == labels.no_finding ? impression(text) : stated_sentence(report, set_field, name, *v);
    if (quotes[i].empty() || text.find(quotes[i]) == std::string::npos)
      return make_error(ErrorCode::kParse, id + ": " + gold_field + "." + name + ": no stated sentence in the report to quote");
    if (static_cast<int>(i) == labels.no_finding)
      t.reasoning += walk_line(quotes[i], name + ": " + verdict_word(value_code(*v)));
  }
  t.reasoning += kWalkClosing;
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
  auto is_option = [&](const std::string& name) {
    return std::any_of(r.options.begin(), r.options.end(), [&](const auto& o) { return o.second == name; });
  };
  t.reasoning = walk_reasoning(findings_walk(report, text), "name", is_option) + std::string(kMcWalkClosing) +
                mc_walk_choice(r.gold_answer, gold->second);
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

#include "radiology/prompt.h"

#include <algorithm>
#include <cctype>

#include "radiology/rules.h"
#include "radiology/text.h"

namespace radseek::radiology {
namespace {

std::string label_instructions(const LabelSet& labels) {
  std::string s =
      "Read the radiology report below and decide, for each finding in the list, whether the report "
      "states it as present, absent, uncertain, or does not mention it (not mentioned).\n"
      "Think step by step and quote the report phrases that support each present or uncertain finding.\n"
      "Findings:\n";
  for (const LabelDef& d : labels.labels) {
    s += "- " + d.name;
    if (!d.description.empty()) s += ": " + d.description;
    s += "\n";
  }
  s += "After your reasoning, answer in exactly this format, one line per finding in the order listed, "
       "quoting the report's exact words for present and uncertain findings:\n"
       "<answer>\n"
       "Finding name: present \"exact words from the report\"\n"
       "Finding name: absent\n"
       "Finding name: uncertain \"exact words from the report\"\n"
       "Finding name: not mentioned\n"
       "</answer>\n";
  return s;
}

std::string mc_instructions(const ReportRecord& r) {
  std::string s = r.question.empty() ? "Which diagnosis does this radiology report support?" : r.question;
  s += "\nOptions:\n";
  for (const auto& [letter, text] : r.options) s += letter + ". " + text + "\n";
  s += "Think step by step, quoting the report, then answer in exactly this format:\n"
       "<answer>LETTER</answer>\nEvidence: \"exact words from the report\"\n";
  return s;
}

// The compact family's instructions: the answer format is left to the constraint and to training.
std::string compact_label_instructions(const LabelSet& labels) {
  std::string s = "Label each finding as present, absent, uncertain or not mentioned, quoting the report.\nFindings: ";
  for (size_t i = 0; i < labels.labels.size(); ++i) s += (i ? ", " : "") + labels.labels[i].name;
  return s + ".\n";
}

std::string compact_mc_instructions(const ReportRecord& r) {
  std::string s = r.question.empty() ? "Which diagnosis does this report support?" : r.question;
  s += "\n";
  for (const auto& [letter, text] : r.options) s += letter + ". " + text + "\n";
  return s + "Answer with the letter and quote the report.\n";
}

// The worked example of the generic family; its answer comes from the rule labeler, so it fits any
// label set (a user set may well answer "not mentioned" throughout).
constexpr std::string_view kExampleReport =
    "FINDINGS: The heart is mildly enlarged. Small left pleural effusion. No pneumothorax. "
    "Patchy right basilar opacity, atelectasis versus pneumonia.\n"
    "IMPRESSION: Cardiomegaly with a small left effusion. Right basilar opacity, possibly pneumonia.";

Expected<std::string> example_answer(const LabelSet& labels) {
  auto lab = RuleLabeler::create(labels);
  if (!lab) return lab.error();
  const LabelResult r = lab->label(kExampleReport, {});
  std::vector<std::string> quotes(labels.labels.size());
  for (const Evidence& e : r.evidence) {
    if (quotes[e.label].empty())
      quotes[e.label] = std::string(kExampleReport.substr(e.sentence_start, e.sentence_end - e.sentence_start));
  }
  return render_multilabel_answer(labels, r.values, quotes);
}

std::vector<ChatMessage> assemble(const std::string& instructions, const std::string& report, ModelFamily f) {
  if (f == ModelFamily::kR1) return {ChatMessage{"user", instructions + "\nReport:\n" + report}};
  if (f == ModelFamily::kCompact) return {ChatMessage{"user", instructions + "Report:\n" + report}};
  return {ChatMessage{"system", "You are a careful radiologist.\n" + instructions},
          ChatMessage{"user", "Report:\n" + report}};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The <answer> block's body and its offset in `answer`. A missing "</answer>" is tolerated (the
// body runs to the end): endpoint models sometimes stop right after the last line.
Expected<std::pair<std::string_view, size_t>> answer_block(std::string_view answer) {
  const size_t open = answer.rfind("<answer>");
  if (open == std::string_view::npos) return make_error(ErrorCode::kParse, "model answer has no <answer> block");
  const size_t body = open + 8;
  const size_t close = answer.find("</answer>", body);
  return std::make_pair(answer.substr(body, (close == std::string_view::npos ? answer.size() : close) - body), body);
}

int label_index(const LabelSet& labels, std::string_view name) {
  const int exact = labels.index_of(name);
  if (exact >= 0) return exact;
  const std::string want = lower(name);
  for (size_t i = 0; i < labels.labels.size(); ++i)
    if (lower(labels.labels[i].name) == want) return static_cast<int>(i);
  return -1;
}

// "present \"...\"", "Absent", "not mentioned", "1", "null" -> value; quote between the outer quotes.
bool parse_value(std::string_view v, LabelValue* value, std::string* quote) {
  const std::string l = lower(trim(v));
  static constexpr std::array<std::pair<std::string_view, LabelValue>, 6> kAlso = {
      std::pair{"not_mentioned", LabelValue::kBlank}, std::pair{"null", LabelValue::kBlank},
      std::pair{"-1", LabelValue::kUncertain},        std::pair{"1", LabelValue::kPositive},
      std::pair{"0", LabelValue::kNegative},          std::pair{"blank", LabelValue::kBlank}};
  bool found = false;
  size_t used = 0;
  for (size_t i = 0; i < kValueWords.size() && !found; ++i) {
    if (l.starts_with(kValueWords[i])) found = true, *value = kValueOf[i], used = std::string_view(kValueWords[i]).size();
  }
  for (const auto& [w, val] : kAlso) {
    if (!found && l.starts_with(w)) found = true, *value = val, used = w.size();
  }
  if (!found || (used < l.size() && std::isalnum(static_cast<unsigned char>(l[used])))) return false;
  const std::string_view rest = trim(v).substr(used);
  const size_t q1 = rest.find('"');
  const size_t q2 = rest.rfind('"');
  quote->assign(q1 != std::string_view::npos && q2 > q1 ? rest.substr(q1 + 1, q2 - q1 - 1) : std::string_view());
  return true;
}

}  // namespace

Expected<ModelFamily> parse_model_family(const std::string& s) {
  if (s == "r1" || s == "deepseek-r1") return ModelFamily::kR1;
  if (s == "generic" || s == "chat") return ModelFamily::kGeneric;
  if (s == "compact") return ModelFamily::kCompact;
  return make_error(ErrorCode::kInvalidArgument, "--family: '" + s + "' is not one of r1, generic, compact");
}

std::string prompt_report_text(std::string_view text, const std::vector<std::string>& sections) {
  std::string out;
  if (sections.empty()) {
    out = text;
  } else {
    const AnalyzedText t = analyze_text(text);
    for (const Sentence& s : t.sentences) {
      if (!sentence_in_sections(t, s, sections)) continue;
      if (!out.empty()) out += ' ';
      out += text.substr(s.start, s.end - s.start);
    }
  }
  for (const auto& [from, to] : {std::pair<std::string_view, std::string_view>{"｜", "|"}, {"<think>", "< think>"},
                                 {"</think>", "</ think>"}, {"<answer>", "< answer>"}, {"</answer>", "</ answer>"}}) {
    for (size_t at = out.find(from); at != std::string::npos; at = out.find(from, at + to.size()))
      out.replace(at, from.size(), to);
  }
  return out;
}

Expected<std::vector<ChatMessage>> build_multilabel_prompt(const std::string& report, const LabelSet& labels,
                                                           ModelFamily family) {
  if (family == ModelFamily::kCompact) return assemble(compact_label_instructions(labels), report, family);
  std::vector<ChatMessage> m = assemble(label_instructions(labels), report, family);
  if (family == ModelFamily::kGeneric) {
    auto example = example_answer(labels);
    if (!example) return example.error();
    m.insert(m.begin() + 1, {ChatMessage{"user", "Report:\n" + std::string(kExampleReport)},
                             ChatMessage{"assistant", *example}});
  }
  return m;
}

std::vector<ChatMessage> build_mc_prompt(const ReportRecord& r, const std::string& report, ModelFamily family) {
  return assemble(family == ModelFamily::kCompact ? compact_mc_instructions(r) : mc_instructions(r), report, family);
}

engine::LabelLinesArgs multilabel_format(const LabelSet& labels, const std::string& report) {
  engine::LabelLinesArgs a{.values = {kValueWords.begin(), kValueWords.end()},
                           .quoted_values = {kValueWords[0], kValueWords[1]},
                           .quote_source = report,
                           .max_quote_bytes = kMaxQuoteBytes,
                           .prefix = "<answer>\n",
                           .suffix = "</answer>",
                           .leading_whitespace = 3};
  for (const LabelDef& d : labels.labels) a.names.push_back(d.name);
  return a;
}

engine::FormatConstraint mc_constraint(const ReportRecord& r, const std::string& report) {
  using namespace engine::fmt;
  std::vector<engine::FormatNode> letters;
  for (const auto& [letter, text] : r.options) letters.push_back(lit(letter));
  return engine::FormatConstraint(seq({ws(3), lit("<answer>"), alt(std::move(letters)), lit("</answer>\nEvidence: \""),
                                       quote(kMaxQuoteBytes), lit("\"")}),
                                  report);
}

std::string render_multilabel_answer(const LabelSet& labels, const std::vector<LabelValue>& values,
                                     const std::vector<std::string>& quotes) {
  std::string s = "<answer>\n";
  for (size_t i = 0; i < labels.labels.size(); ++i) {
    const size_t w = static_cast<size_t>(std::find(kValueOf.begin(), kValueOf.end(), values[i]) - kValueOf.begin());
    s += labels.labels[i].name + ": " + kValueWords[w];
    if (values[i] == LabelValue::kPositive || values[i] == LabelValue::kUncertain) {
      std::string q = i < quotes.size() ? quotes[i] : std::string();
      std::replace(q.begin(), q.end(), '"', '\'');
      std::replace(q.begin(), q.end(), '\n', ' ');
      s += " \"" + q.substr(0, kMaxQuoteBytes) + "\"";
    }
    s += "\n";
  }
  return s + "</answer>";
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

Expected<LabelAnswer> parse_multilabel_answer(std::string_view answer, const LabelSet& labels) {
  auto block = answer_block(answer);
  if (!block) return block.error();
  const auto [body, body_pos] = *block;
  const size_t n = labels.labels.size();
  LabelAnswer a{.values = std::vector<LabelValue>(n, LabelValue::kBlank), .quotes = std::vector<std::string>(n),
                .value_pos = std::vector<size_t>(n, 0)};
  std::vector<bool> seen(n, false);
  for (size_t at = 0; at <= body.size();) {
    size_t end = body.find('\n', at);
    if (end == std::string_view::npos) end = body.size();
    const std::string_view line = body.substr(at, end - at);
    const size_t colon = line.find(':');
    std::string_view name = trim(line.substr(0, colon == std::string_view::npos ? 0 : colon));
    while (!name.empty() && (name.front() == '-' || name.front() == '*')) name = trim(name.substr(1));
    if (!trim(line).empty()) {
      if (colon == std::string_view::npos) return make_error(ErrorCode::kParse, "model answer: line without ':'");
      const int idx = label_index(labels, name);
      if (idx < 0) return make_error(ErrorCode::kParse, "model answer: unknown label '" + std::string(name.substr(0, 64)) + "'");
      if (!parse_value(line.substr(colon + 1), &a.values[idx], &a.quotes[idx]))
        return make_error(ErrorCode::kParse, "model answer: label '" + labels.labels[idx].name +
                                                 "' has no value among present, absent, uncertain, not mentioned");
      a.value_pos[idx] = body_pos + at + colon + 1;
      seen[idx] = true;
    }
    at = end + 1;
  }
  for (size_t i = 0; i < n; ++i) {
    if (!seen[i]) return make_error(ErrorCode::kParse, "model answer: label '" + labels.labels[i].name + "' missing");
  }
  return a;
}

Expected<McAnswer> parse_mc_answer(std::string_view answer, const ReportRecord& r) {
  auto block = answer_block(answer);
  if (!block) return block.error();
  std::string letter(trim(block->first));
  if (letter.size() > 1 && (letter.back() == '.' || letter.back() == ')')) letter.pop_back();
  McAnswer a;
  const size_t lead = block->first.find_first_not_of(" \t\r\n");
  a.letter_pos = block->second + (lead == std::string_view::npos ? 0 : lead);
  const size_t ev = answer.find("Evidence:", block->second);
  if (ev != std::string_view::npos) {
    const size_t q1 = answer.find('"', ev);
    const size_t nl = answer.find('\n', ev);
    const size_t q2 = q1 == std::string_view::npos ? q1 : answer.find('"', q1 + 1);
    if (q2 != std::string_view::npos && (nl == std::string_view::npos || q2 < nl))
      a.quote = answer.substr(q1 + 1, q2 - q1 - 1);
  }
  for (const auto& [l, text] : r.options) {
    if (l == letter) {
      a.letter = letter;
      return a;
    }
  }
  return make_error(ErrorCode::kParse, "model answer: '" + letter.substr(0, 16) + "' is not one of the option letters");
}

}  // namespace radseek::radiology

#include "radiology/labels.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "base/mapped_file.h"
#include "radiology/pattern.h"

namespace radseek::radiology {

int LabelSet::index_of(std::string_view label_name) const {
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i].name == label_name) return static_cast<int>(i);
  }
  return -1;
}

const char* label_value_name(LabelValue v) {
  switch (v) {
    case LabelValue::kPositive: return "positive";
    case LabelValue::kNegative: return "negative";
    case LabelValue::kUncertain: return "uncertain";
    case LabelValue::kBlank: return "blank";
  }
  return "blank";
}

std::string synonym_to_pattern(std::string_view synonym) {
  std::string out;
  out.reserve(synonym.size());
  for (char c : synonym) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '|' || c == '*' || c == '~' || c == '\'') {
      out.push_back(static_cast<char>(std::tolower(u)));
    } else {
      out.push_back(' ');
    }
  }
  return out;
}

Expected<LabelSet> resolve_label_set(const std::string& spec) {
  if (spec == "chexpert" || spec == "chexpert14") return builtin_chexpert14();
  if (spec == "chexpert13") return builtin_chexpert13();
  if (spec == "chestxray14" || spec == "cxr14" || spec == "nih14") return builtin_chestxray14();
  return load_label_set_file(spec);
}

Expected<LabelSet> load_label_set_file(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) {
    return make_error(ErrorCode::kNotFound,
                      "label set '" + path +
                          "' is neither chexpert, chexpert13, chestxray14 nor a readable file (" +
                          text.error().message + ")");
  }
  return parse_label_set_json(*text, path);
}

namespace {

Expected<std::vector<std::string>> string_list(const nlohmann::json& j, const std::string& where) {
  std::vector<std::string> out;
  if (j.is_null()) return out;
  if (!j.is_array()) return make_error(ErrorCode::kParse, where + ": expected an array of strings");
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_string()) {
      return make_error(ErrorCode::kParse, where + "[" + std::to_string(i) + "]: expected a string");
    }
    const std::string p = synonym_to_pattern(j[i].get<std::string>());
    auto compiled = compile_pattern(p);
    if (!compiled) return compiled.error().with_context(where + "[" + std::to_string(i) + "]");
    out.push_back(p);
  }
  return out;
}

Expected<LabelDef> parse_label(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string() ||
      j["name"].get<std::string>().empty()) {
    return make_error(ErrorCode::kParse, where + ".name: missing or not a non-empty string");
  }
  LabelDef d;
  d.name = j["name"].get<std::string>();
  if (j.contains("description") && j["description"].is_string()) {
    d.description = j["description"].get<std::string>();
  }
  auto syn = string_list(j.value("synonyms", nlohmann::json()), where + ".synonyms");
  if (!syn) return syn.error();
  auto excl = string_list(j.value("exclude", nlohmann::json()), where + ".exclude");
  if (!excl) return excl.error();
  d.mentions.push_back(synonym_to_pattern(d.name));
  d.mentions.insert(d.mentions.end(), syn->begin(), syn->end());
  d.exclusions = std::move(*excl);
  auto hedges = string_list(j.value("hedge", nlohmann::json()), where + ".hedge");
  if (!hedges) return hedges.error();
  d.hedges = std::move(*hedges);
  return d;
}

}  // namespace

Expected<LabelSet> parse_label_set_json(std::string_view json_text, const std::string& origin) {
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(ErrorCode::kParse, origin + ": not valid JSON");
  if (!j.is_object() || !j.contains("labels") || !j["labels"].is_array() || j["labels"].empty()) {
    return make_error(ErrorCode::kParse, origin + ": field 'labels' must be a non-empty array");
  }
  LabelSet s;
  s.name = j.value("name", std::string("custom"));
  for (size_t i = 0; i < j["labels"].size(); ++i) {
    auto d = parse_label(j["labels"][i], origin + ": labels[" + std::to_string(i) + "]");
    if (!d) return d.error();
    if (s.index_of(d->name) >= 0) {
      return make_error(ErrorCode::kParse, origin + ": labels[" + std::to_string(i) +
                                               "].name: duplicate label '" + d->name + "'");
    }
    s.labels.push_back(std::move(*d));
  }
  if (j.contains("no_finding") && j["no_finding"].is_string()) {
    LabelDef nf;
    nf.name = j["no_finding"].get<std::string>();
    nf.description = "No other label is positive or uncertain";
    s.labels.insert(s.labels.begin(), std::move(nf));
    s.no_finding = 0;
  }
  return s;
}

}  // namespace radseek::radiology

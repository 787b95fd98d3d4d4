// Label sets as data: the built-in CheXpert-14, CheXpert-13 and ChestX-ray14 sets (names exactly as
// in shared/spec/radiology-task.md §2) and user-defined sets loaded from a JSON file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace radseek::radiology {

// The CheXpert convention: 1 present, 0 absent (negated), -1 uncertain, blank not mentioned.
enum class LabelValue : int8_t { kNegative = 0, kPositive = 1, kUncertain = -1, kBlank = 2 };

struct LabelDef {
  std::string name;
  std::string description;
  std::vector<std::string> mentions;    // patterns (see pattern.h) that mention the finding
  std::vector<std::string> exclusions;  // patterns that, overlapping a mention, cancel it
  // Patterns that, overlapping a positive mention, make it uncertain: wording that describes the
  // finding without asserting it ("enlarged cardiac silhouette" may be pericardial fluid).
  std::vector<std::string> hedges = {};
};

struct LabelSet {
  std::string name;  // "chexpert", "chexpert13", "chestxray14" or the user file's name
  std::vector<LabelDef> labels;
  // CheXpert aggregation: No Finding = 1 only when no other label except these is 1 or -1.
  int no_finding = -1;                  // index of the No Finding label, -1 when the set has none
  std::vector<int> no_finding_ignores;  // e.g. Support Devices
  // CheXpert: a mention of heart failure adds an uncertain Cardiomegaly.
  int heart_failure_target = -1;
  std::vector<std::string> heart_failure_mentions;

  int index_of(std::string_view label_name) const;
};

// "chexpert" (14), "chexpert13" (No Finding omitted), "chestxray14"; anything else is a file path.
Expected<LabelSet> resolve_label_set(const std::string& spec);
LabelSet builtin_chexpert14();
LabelSet builtin_chexpert13();
LabelSet builtin_chestxray14();

// User label set file (JSON):
//   {"name": "my-set",
//    "no_finding": "Normal",                       (optional: a label computed by the No Finding rule)
//    "labels": [{"name": "Pulmonary Embolism",
//                "synonyms": ["pulmonary embolism", "pulmonary embol*", "filling defect ~3 pulmonary"],
//                "exclude": ["chronic pulmonary embolism"],   (optional)
//                "hedge": ["filling defect"],                   (optional: positive -> uncertain)
//                "description": "..."}]}                       (optional)
// Synonyms use the pattern syntax of pattern.h; other punctuation is read as a word break, so a
// plain phrase ("ground-glass opacity") works as written. The label's own name is a mention too.
Expected<LabelSet> load_label_set_file(const std::string& path);
Expected<LabelSet> parse_label_set_json(std::string_view json_text, const std::string& origin);

// Lower-cases and turns characters outside the pattern syntax into spaces.
std::string synonym_to_pattern(std::string_view synonym);

const char* label_value_name(LabelValue v);  // "positive", "negative", "uncertain", "blank"

}  // namespace radseek::radiology

// Seeded synthetic radiology reports with gold labels (CheXpert-14 and ChestX-ray14), a
// multiple-choice question and a short reasoning text quoting the evidence. Same seed, same output.
// Chest radiographs mostly, plus CT chest and MRI brain cases (MRI: multiple choice only).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace radseek::radiology {

struct SynthOptions {
  uint64_t seed = 1;
  int count = 100;
  double normal_fraction = 0.3;      // reports with no positive or uncertain finding
  double uncertain_fraction = 0.25;  // share of abnormal findings stated with hedging
  double ct_mri_fraction = 0.1;
  std::string labels = "chexpert";   // which set goes into "labels": chexpert or chestxray14
};

// One report: {"id", "modality", "text", "labels", "labels_chexpert", "labels_chestxray14",
// "question", "options", "answer", "reasoning", "findings"}; "findings" lists the stated findings as
// {"name", "chexpert", "chestxray14", "value" (1, -1, 0), "sentence" (exact text in "text")}.
nlohmann::json synth_report(const SynthOptions& opts, int index);

}  // namespace radseek::radiology

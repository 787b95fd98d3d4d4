// Result writers: JSONL (default), CSV in the CheXpert 1/0/-1/blank convention, FHIR (NDJSON of
// DiagnosticReport with conclusionCode and contained Observations). Every record is appended and
// flushed as soon as it is written, so an interrupted run loses nothing and --resume can skip ids.
#pragma once

#include <memory>
#include <string>
#include <unordered_set>

#include "base/status.h"
#include "radiology/record.h"

namespace radseek::radiology {

enum class OutputFormat { kJsonl, kCsv, kFhir };
// "jsonl", "csv", "fhir"; "auto" picks from the extension (.csv, .ndjson/.fhir.jsonl -> fhir).
Expected<OutputFormat> parse_output_format(const std::string& s, const std::string& path);

struct WriterOptions {
  std::string path;  // "-" writes standard output
  OutputFormat format = OutputFormat::kJsonl;
  const LabelSet* labels = nullptr;  // null for multiple choice
  bool multiple_choice = false;
};

class ResultWriter {
 public:
  virtual ~ResultWriter() = default;
  // `text` is the report text the result refers to (for evidence snippets in JSONL).
  virtual Status write(const ResultRecord& r, const std::string& text) = 0;
};

Expected<std::unique_ptr<ResultWriter>> open_writer(const WriterOptions& opts);

// Ids already present in an output file (for --resume). A torn last line (no trailing newline,
// left by a crash mid-write) is cut off first. A missing file yields an empty set.
Expected<std::unordered_set<std::string>> completed_ids(const std::string& path, OutputFormat format);

// FHIR DiagnosticReport for one result (exposed for tests).
nlohmann::json result_to_fhir(const ResultRecord& r, const LabelSet* set);

std::string csv_escape(const std::string& s);

}  // namespace radseek::radiology

// Report readers: plain text, JSONL, CSV (with header, or the CheXpert labeler's headerless
// one-column file), HL7 v2 ORU^R01 and FHIR R4 DiagnosticReport / Bundle. A malformed record
// becomes a ReportRecord with `error` set (naming file, line and field) and reading goes on.
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "radiology/record.h"

namespace radseek::radiology {

enum class InputFormat { kAuto, kText, kJsonl, kCsv, kHl7, kFhir };
Expected<InputFormat> parse_input_format(const std::string& s);

struct ReaderOptions {
  std::string path;               // "-" reads standard input
  InputFormat format = InputFormat::kAuto;
  bool multiple_choice = false;   // JSONL with report/options/question
};

class ReportReader {
 public:
  virtual ~ReportReader() = default;
  // Fills `out` with the next record; false at the end of the input.
  virtual bool next(ReportRecord& out) = 0;
  // Fraction of the input consumed, in [0, 1], or a negative value when unknown (stdin).
  virtual double progress() const = 0;
};

// Opens the input; the format is guessed from the extension or the first bytes when kAuto.
Expected<std::unique_ptr<ReportReader>> open_reader(const ReaderOptions& opts);

// Whole-document parsers, also used by the readers (exposed for tests).
std::vector<ReportRecord> parse_hl7(std::string_view message_text, const std::string& origin);
std::vector<ReportRecord> parse_fhir(std::string_view json_text, const std::string& origin);
// A FHIR resource already parsed (one line of an NDJSON file, or one Bundle entry).
void fhir_resource_to_records(const nlohmann::json& res, const std::string& where,
                              std::vector<ReportRecord>& out);

// Decodes HL7 v2 escape sequences (\F\ \S\ \T\ \R\ \E\ \.br\ \X..\) with the message's delimiters.
struct Hl7Delimiters {
  char field = '|';
  char component = '^';
  char repetition = '~';
  char escape = '\\';
  char subcomponent = '&';
};
std::string hl7_unescape(std::string_view s, const Hl7Delimiters& d);

// Reads one CSV record (RFC 4180: quotes, doubled quotes, newlines inside quotes). Returns false
// at end of input; sets *error for an unterminated quote. `lines` counts the physical lines read.
bool read_csv_record(std::istream& in, std::vector<std::string>& fields, int* lines, std::string* error);

// Base64 (standard alphabet, padding optional, whitespace ignored); nullopt when invalid.
std::optional<std::string> base64_decode(std::string_view s);

// Text of an XHTML narrative: tags removed, <br>/<p>/<div>/<li> as line breaks, entities decoded.
std::string strip_xhtml(std::string_view html);

}  // namespace radseek::radiology

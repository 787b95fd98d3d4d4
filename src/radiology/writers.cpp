#include "radiology/writers.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "radiology/readers.h"

namespace radseek::radiology {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Appends lines to a file (or stdout) and flushes after each one.
class LineSink {
 public:
  Status open(const std::string& path) {
    if (path == "-") {
      f_ = stdout;
      return {};
    }
    f_ = std::fopen(path.c_str(), "ab");
    if (f_ == nullptr) return make_error(ErrorCode::kIo, path + ": cannot open for appending");
    path_ = path;
    return {};
  }
  ~LineSink() {
    if (f_ != nullptr && f_ != stdout) std::fclose(f_);
  }
  bool empty_file() const {
    std::error_code ec;
    return path_.empty() || std::filesystem::file_size(path_, ec) == 0 || ec;
  }
  Status put(const std::string& line) {
    if (std::fwrite(line.data(), 1, line.size(), f_) != line.size() || std::fputc('\n', f_) == EOF ||
        std::fflush(f_) != 0) {
      return make_error(ErrorCode::kIo, (path_.empty() ? "<stdout>" : path_) + ": write failed");
    }
    return {};
  }

 private:
  FILE* f_ = nullptr;
  std::string path_;
};

class JsonlWriter final : public ResultWriter {
 public:
  JsonlWriter(const WriterOptions& o) : labels_(o.labels) {}
  Status open(const std::string& path) { return sink_.open(path); }
  Status write(const ResultRecord& r, const std::string& text) override {
    return sink_.put(result_to_json(r, labels_, text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

 private:
  const LabelSet* labels_;
  LineSink sink_;
};

class CsvWriter final : public ResultWriter {
 public:
  explicit CsvWriter(const WriterOptions& o) : labels_(o.labels), mc_(o.multiple_choice) {}
  Status open(const std::string& path) {
    RADSEEK_TRY(sink_.open(path));
    if (!sink_.empty_file()) return {};
    std::string header = "id";
    if (mc_) {
      header += ",answer";
    } else {
      for (const auto& d : labels_->labels) header += "," + csv_escape(d.name);
    }
    return sink_.put(header + ",error");
  }
  Status write(const ResultRecord& r, const std::string&) override {
    std::string line = csv_escape(r.id);
    if (mc_) {
      line += "," + (r.mc ? csv_escape(r.mc->answer) : std::string());
    } else {
      for (size_t i = 0; i < labels_->labels.size(); ++i) {
        line += ",";
        if (!r.labels) continue;
        switch (r.labels->values[i]) {
          case LabelValue::kPositive: line += "1"; break;
          case LabelValue::kNegative: line += "0"; break;
          case LabelValue::kUncertain: line += "-1"; break;
          case LabelValue::kBlank: break;
        }
      }
    }
    line += "," + (r.error ? csv_escape(*r.error) : std::string());
    return sink_.put(line);
  }

 private:
  const LabelSet* labels_;
  bool mc_;
  LineSink sink_;
};

class FhirWriter final : public ResultWriter {
 public:
  explicit FhirWriter(const WriterOptions& o) : labels_(o.labels) {}
  Status open(const std::string& path) { return sink_.open(path); }
  Status write(const ResultRecord& r, const std::string&) override {
    return sink_.put(result_to_fhir(r, labels_).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

 private:
  const LabelSet* labels_;
  LineSink sink_;
};

nlohmann::json snomed(const char* code, const char* display) {
  return {{"coding", {{{"system", "http://snomed.info/sct"}, {"code", code}, {"display", display}}}}};
}

}  // namespace

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

Expected<OutputFormat> parse_output_format(const std::string& s, const std::string& path) {
  if (s == "jsonl") return OutputFormat::kJsonl;
  if (s == "csv") return OutputFormat::kCsv;
  if (s == "fhir") return OutputFormat::kFhir;
  if (s != "auto" && !s.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "--output-format: '" + s + "' is not one of auto, jsonl, csv, fhir");
  }
  if (ends_with(path, ".csv")) return OutputFormat::kCsv;
  if (ends_with(path, ".ndjson") || ends_with(path, ".fhir.jsonl") || ends_with(path, ".fhir")) {
    return OutputFormat::kFhir;
  }
  return OutputFormat::kJsonl;
}

nlohmann::json result_to_fhir(const ResultRecord& r, const LabelSet* set) {
  if (r.error) {
    return {{"resourceType", "OperationOutcome"},
            {"id", r.id},
            {"issue", {{{"severity", "error"}, {"code", "processing"}, {"diagnostics", *r.error}}}}};
  }
  nlohmann::json dr = {
      {"resourceType", "DiagnosticReport"},
      {"id", r.id},
      {"status", "final"},
      {"category", {{{"coding", {{{"system", "http://terminology.hl7.org/CodeSystem/v2-0074"}, {"code", "RAD"}}}}}}},
      {"code", {{"text", "Radiology report classification (radseek " + r.engine + ")"}}}};
  nlohmann::json codes = nlohmann::json::array();
  nlohmann::json contained = nlohmann::json::array();
  nlohmann::json results = nlohmann::json::array();
  if (r.labels && set != nullptr) {
    const std::string system = "urn:radseek:label-set:" + set->name;
    for (size_t i = 0; i < set->labels.size(); ++i) {
      const LabelValue v = r.labels->values[i];
      if (v == LabelValue::kBlank) continue;
      const std::string& name = set->labels[i].name;
      if (v == LabelValue::kPositive) {
        codes.push_back({{"coding", {{{"system", system}, {"code", name}, {"display", name}}}}, {"text", name}});
      }
      const std::string obs_id = "obs-" + std::to_string(i);
      contained.push_back({{"resourceType", "Observation"},
                           {"id", obs_id},
                           {"status", "final"},
                           {"code", {{"coding", {{{"system", system}, {"code", name}}}}, {"text", name}}},
                           {"valueCodeableConcept", v == LabelValue::kPositive   ? snomed("52101004", "Present")
                                                    : v == LabelValue::kNegative ? snomed("2667000", "Absent")
                                                                                 : snomed("42425007", "Equivocal")}});
      results.push_back({{"reference", "#" + obs_id}});
    }
  }
  if (r.mc) dr["conclusion"] = "Answer: " + r.mc->answer;
  if (!codes.empty()) dr["conclusionCode"] = std::move(codes);
  if (!contained.empty()) {
    dr["contained"] = std::move(contained);
    dr["result"] = std::move(results);
  }
  return dr;
}

Expected<std::unique_ptr<ResultWriter>> open_writer(const WriterOptions& opts) {
  if (!opts.multiple_choice && opts.labels == nullptr) {
    return make_error(ErrorCode::kInvalidArgument, "writer needs a label set");
  }
  switch (opts.format) {
    case OutputFormat::kCsv: {
      auto w = std::make_unique<CsvWriter>(opts);
      RADSEEK_TRY(w->open(opts.path));
      return std::unique_ptr<ResultWriter>(std::move(w));
    }
    case OutputFormat::kFhir: {
      auto w = std::make_unique<FhirWriter>(opts);
      RADSEEK_TRY(w->open(opts.path));
      return std::unique_ptr<ResultWriter>(std::move(w));
    }
    case OutputFormat::kJsonl: break;
  }
  auto w = std::make_unique<JsonlWriter>(opts);
  RADSEEK_TRY(w->open(opts.path));
  return std::unique_ptr<ResultWriter>(std::move(w));
}

namespace {

// Cuts a torn final line (a write interrupted before its newline).
Status repair_tail(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size == 0) return {};
  std::ifstream in(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.back() == '\n') return {};
  const size_t nl = data.find_last_of('\n');
  std::filesystem::resize_file(path, nl == std::string::npos ? 0 : nl + 1, ec);
  if (ec) return make_error(ErrorCode::kIo, path + ": cannot truncate a torn last line: " + ec.message());
  return {};
}

}  // namespace

Expected<std::unordered_set<std::string>> completed_ids(const std::string& path, OutputFormat format) {
  std::unordered_set<std::string> ids;
  if (path == "-" || !std::filesystem::exists(path)) return ids;
  RADSEEK_TRY(repair_tail(path));
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kIo, path + ": cannot open to resume");
  if (format == OutputFormat::kCsv) {
    std::vector<std::string> fields;
    std::string err;
    int lines = 0;
    bool header = true;
    while (read_csv_record(in, fields, &lines, &err) && err.empty()) {
      if (!header && !fields.empty()) ids.insert(fields[0]);
      header = false;
    }
    return ids;
  }
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("id") && j["id"].is_string()) ids.insert(j["id"].get<std::string>());
  }
  return ids;
}

}  // namespace radseek::radiology

#include "radiology/readers.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>
#include <sstream>

namespace radseek::radiology {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string extension(const std::string& path) {
  const size_t dot = path.find_last_of('.');
  const size_t slash = path.find_last_of('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return {};
  return lower(path.substr(dot + 1));
}

std::string stem(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = base.find_last_of('.');
  return dot == std::string::npos || dot == 0 ? base : base.substr(0, dot);
}

InputFormat sniff(std::string_view head, const std::string& ext) {
  if (ext == "jsonl" || ext == "ndjson") return InputFormat::kJsonl;
  if (ext == "csv" || ext == "tsv") return InputFormat::kCsv;
  if (ext == "hl7" || ext == "er7") return InputFormat::kHl7;
  size_t i = 0;
  while (i < head.size() && std::isspace(static_cast<unsigned char>(head[i]))) ++i;
  head.remove_prefix(i);
  if (head.substr(0, 4) == "MSH|" || head.substr(0, 3) == "MSH") return InputFormat::kHl7;
  if (ext == "json") return InputFormat::kFhir;
  if (!head.empty() && head[0] == '{') {
    // JSONL has one complete object per line; a multi-line JSON document is FHIR.
    std::string_view first = head.substr(0, head.find('\n'));
    while (!first.empty() && std::isspace(static_cast<unsigned char>(first.back()))) first.remove_suffix(1);
    const bool one_line_object = !first.empty() && first.back() == '}';
    const bool long_line = head.find('\n') == std::string_view::npos;  // JSONL copes with FHIR lines
    return one_line_object || long_line ? InputFormat::kJsonl : InputFormat::kFhir;
  }
  return InputFormat::kText;
}

// Records parsed up front (plain text, HL7, FHIR documents).
class VectorReader final : public ReportReader {
 public:
  explicit VectorReader(std::vector<ReportRecord> records) : records_(std::move(records)) {}
  bool next(ReportRecord& out) override {
    if (pos_ >= records_.size()) return false;
    out = std::move(records_[pos_++]);
    return true;
  }
  double progress() const override {
    return records_.empty() ? 1.0 : static_cast<double>(pos_) / static_cast<double>(records_.size());
  }

 private:
  std::vector<ReportRecord> records_;
  size_t pos_ = 0;
};

// Owns either a file stream or standard input, and knows the total size for progress.
class Source {
 public:
  Status open(const std::string& path) {
    path_ = path;
    if (path == "-") return {};
    file_.open(path, std::ios::binary);
    if (!file_) return make_error(ErrorCode::kIo, path + ": cannot open for reading");
    file_.seekg(0, std::ios::end);
    size_ = static_cast<double>(file_.tellg());
    file_.seekg(0);
    return {};
  }
  std::istream& in() { return path_ == "-" ? std::cin : file_; }
  double progress() {
    if (size_ <= 0) return path_ == "-" ? -1.0 : 1.0;
    const auto pos = in().tellg();
    return pos < 0 ? 1.0 : static_cast<double>(pos) / size_;
  }
  const std::string& name() const { return path_ == "-" ? kStdin : path_; }

 private:
  inline static const std::string kStdin = "<stdin>";
  std::string path_;
  std::ifstream file_;
  double size_ = 0;
};

std::string json_scalar_to_string(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_integer()) return std::to_string(j.get<int64_t>());
  if (j.is_number()) return j.dump();
  return {};
}

void read_mc_fields(const nlohmann::json& j, ReportRecord& r) {
  r.question = j.value("question", std::string());
  if (j.contains("answer") && j["answer"].is_string()) r.gold_answer = j["answer"].get<std::string>();
  const nlohmann::json& opts = j.contains("options") ? j["options"] : nlohmann::json();
  if (opts.is_object()) {
    for (auto it = opts.begin(); it != opts.end(); ++it) {
      r.options.emplace_back(it.key(), it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
    }
  } else if (opts.is_array()) {
    for (size_t i = 0; i < opts.size() && i < 26; ++i) {
      r.options.emplace_back(std::string(1, static_cast<char>('A' + i)),
                             opts[i].is_string() ? opts[i].get<std::string>() : opts[i].dump());
    }
  }
  if (r.options.empty()) r.error = r.where + ": field 'options': missing or empty (want {\"A\": \"...\"})";
}

class JsonlReader final : public ReportReader {
 public:
  JsonlReader(std::unique_ptr<Source> src, bool mc) : src_(std::move(src)), mc_(mc) {}
  bool next(ReportRecord& out) override {
    if (!pending_.empty()) {
      out = std::move(pending_.back());
      pending_.pop_back();
      return true;
    }
    std::string line;
    while (std::getline(src_->in(), line)) {
      ++line_no_;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      out = parse_line(line);
      return true;
    }
    return false;
  }
  double progress() const override { return src_->progress(); }

 private:
  ReportRecord parse_line(const std::string& line) {
    ReportRecord r;
    r.where = src_->name() + ":" + std::to_string(line_no_);
    r.id = "line-" + std::to_string(line_no_);
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      r.error = r.where + ": not a JSON object";
      return r;
    }
    if (j.contains("resourceType")) {
      std::vector<ReportRecord> recs;
      fhir_resource_to_records(j, r.where, recs);
      if (recs.empty()) {
        r.error = r.where + ": FHIR resource holds no DiagnosticReport";
        return r;
      }
      std::reverse(recs.begin(), recs.end());
      r = std::move(recs.back());
      recs.pop_back();
      pending_ = std::move(recs);
      return r;
    }
    if (j.contains("id")) r.id = json_scalar_to_string(j["id"]);
    if (r.id.empty()) r.error = r.where + ": field 'id': must be a string or a number";
    const char* text_field = mc_ ? "report" : "text";
    const char* alt_field = mc_ ? "text" : "report";
    const nlohmann::json& t = j.contains(text_field) ? j[text_field] : j.value(alt_field, nlohmann::json());
    if (!t.is_string()) {
      r.error = r.where + ": field '" + text_field + "': missing or not a string";
    } else {
      r.text = t.get<std::string>();
    }
    for (const char* g : {"labels", "gold"}) {
      if (j.contains(g) && j[g].is_object()) r.gold = j[g];
    }
    if (mc_ && !r.error) read_mc_fields(j, r);
    return r;
  }

  std::unique_ptr<Source> src_;
  bool mc_;
  int line_no_ = 0;
  std::vector<ReportRecord> pending_;
};

constexpr std::string_view kTextColumns[] = {"text", "report", "reports", "report_text", "findings_impression"};

class CsvReader final : public ReportReader {
 public:
  explicit CsvReader(std::unique_ptr<Source> src) : src_(std::move(src)) {}

  Status init() {
    std::vector<std::string> first;
    std::string err;
    int lines = 0;
    if (!read_csv_record(src_->in(), first, &lines, &err)) return {};  // empty file: no records
    line_no_ += lines;
    for (size_t i = 0; i < first.size(); ++i) {
      const std::string h = lower(first[i]);
      if (h == "id" || h == "uid" || h == "study_id" || h == "report_id") id_col_ = static_cast<int>(i);
      for (auto name : kTextColumns) {
        if (h == name && text_col_ < 0) text_col_ = static_cast<int>(i);
      }
    }
    if (text_col_ >= 0) {
      header_ = first;
      return {};
    }
    if (first.size() != 1) {
      return make_error(ErrorCode::kParse,
                        src_->name() + ":1: header has no 'text' column (want id,text[,labels...] or "
                                       "a headerless one-column file of reports)");
    }
    text_col_ = 0;  // CheXpert labeler layout: one report per row, no header
    buffered_ = std::move(first);
    has_buffered_ = true;
    return {};
  }

  bool next(ReportRecord& out) override {
    std::vector<std::string> fields;
    const int start_line = line_no_ + 1;
    if (has_buffered_) {
      fields = std::move(buffered_);
      has_buffered_ = false;
    } else {
      std::string err;
      int lines = 0;
      const bool got = read_csv_record(src_->in(), fields, &lines, &err);
      line_no_ += lines;
      if (!err.empty()) {
        out = ReportRecord{};
        out.where = src_->name() + ":" + std::to_string(start_line);
        out.id = "row-" + std::to_string(++row_);
        out.error = out.where + ": " + err;
        return true;
      }
      if (!got) return false;
    }
    out = make_record(fields, start_line);
    return true;
  }
  double progress() const override { return src_->progress(); }

 private:
  ReportRecord make_record(const std::vector<std::string>& f, int line) {
    ReportRecord r;
    ++row_;
    r.where = src_->name() + ":" + std::to_string(line);
    r.id = id_col_ >= 0 && id_col_ < static_cast<int>(f.size()) ? f[id_col_] : std::to_string(row_);
    if (!header_.empty() && f.size() != header_.size()) {
      r.error = r.where + ": row has " + std::to_string(f.size()) + " fields, header has " +
                std::to_string(header_.size());
      return r;
    }
    r.text = f[text_col_];
    r.gold = nlohmann::json::object();
    for (size_t i = 0; i < header_.size(); ++i) {
      if (static_cast<int>(i) == id_col_ || static_cast<int>(i) == text_col_) continue;
      auto v = label_value_from_json(nlohmann::json(f[i]));
      if (v) r.gold[header_[i]] = label_value_json(*v);
    }
    if (r.gold.empty()) r.gold = nlohmann::json();
    return r;
  }

  std::unique_ptr<Source> src_;
  std::vector<std::string> header_;
  std::vector<std::string> buffered_;
  bool has_buffered_ = false;
  int id_col_ = -1;
  int text_col_ = -1;
  int line_no_ = 0;
  int row_ = 0;
};

Expected<std::string> slurp(Source& src) {
  std::ostringstream ss;
  ss << src.in().rdbuf();
  if (src.in().bad()) return make_error(ErrorCode::kIo, src.name() + ": read failed");
  return ss.str();
}

}  // namespace

Expected<InputFormat> parse_input_format(const std::string& s) {
  if (s == "auto" || s.empty()) return InputFormat::kAuto;
  if (s == "text" || s == "txt") return InputFormat::kText;
  if (s == "jsonl" || s == "ndjson") return InputFormat::kJsonl;
  if (s == "csv") return InputFormat::kCsv;
  if (s == "hl7") return InputFormat::kHl7;
  if (s == "fhir" || s == "json") return InputFormat::kFhir;
  return make_error(ErrorCode::kInvalidArgument,
                    "--input-format: '" + s + "' is not one of auto, text, jsonl, csv, hl7, fhir");
}

bool read_csv_record(std::istream& in, std::vector<std::string>& fields, int* lines, std::string* error) {
  fields.clear();
  std::string line;
  if (!std::getline(in, line)) return false;
  *lines = 1;
  std::string cur;
  bool quoted = false;
  for (;;) {
    for (size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (quoted) {
        if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
          cur.push_back('"');
          ++i;
        } else if (c == '"') {
          quoted = false;
        } else {
          cur.push_back(c);
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        fields.push_back(std::move(cur));
        cur.clear();
      } else if (c != '\r' || i + 1 != line.size()) {
        cur.push_back(c);
      }
    }
    if (!quoted) break;
    if (!std::getline(in, line)) {
      *error = "unterminated quoted field";
      return true;
    }
    ++*lines;
    cur.push_back('\n');
  }
  fields.push_back(std::move(cur));
  return true;
}

Expected<std::unique_ptr<ReportReader>> open_reader(const ReaderOptions& opts) {
  auto src = std::make_unique<Source>();
  RADSEEK_TRY(src->open(opts.path));
  InputFormat fmt = opts.format;
  if (fmt == InputFormat::kAuto) {
    const std::string ext = opts.path == "-" ? std::string() : extension(opts.path);
    std::string head(512, '\0');
    src->in().read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<size_t>(src->in().gcount()));
    src->in().clear();
    if (opts.path != "-") {
      src->in().seekg(0);
    } else {
      for (auto it = head.rbegin(); it != head.rend(); ++it) src->in().putback(*it);
    }
    fmt = opts.multiple_choice ? InputFormat::kJsonl : sniff(head, ext);
  }
  const std::string name = src->name();
  switch (fmt) {
    case InputFormat::kJsonl:
      return std::unique_ptr<ReportReader>(new JsonlReader(std::move(src), opts.multiple_choice));
    case InputFormat::kCsv: {
      auto r = std::make_unique<CsvReader>(std::move(src));
      RADSEEK_TRY(r->init());
      return std::unique_ptr<ReportReader>(std::move(r));
    }
    default: break;
  }
  auto text = slurp(*src);
  if (!text) return text.error();
  std::vector<ReportRecord> recs;
  if (fmt == InputFormat::kHl7) {
    recs = parse_hl7(*text, name);
  } else if (fmt == InputFormat::kFhir) {
    recs = parse_fhir(*text, name);
  } else {
    ReportRecord r;
    r.id = opts.path == "-" ? "stdin" : stem(opts.path);
    r.where = name;
    r.text = std::move(*text);
    recs.push_back(std::move(r));
  }
  return std::unique_ptr<ReportReader>(new VectorReader(std::move(recs)));
}

}  // namespace radseek::radiology

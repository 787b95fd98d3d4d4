#include "train/loss_log.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace radseek::train {
namespace {

std::string header(bool with_mtp) { return with_mtp ? "step,loss,mtp_loss,lr,grad_norm" : "step,loss,lr,grad_norm"; }

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) out.push_back(cell);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

// The lines of an existing log worth keeping on resume: its header and rows up to `after`.
Expected<std::vector<std::string>> kept_lines(const std::string& path, const std::string& want_header, int64_t after) {
  std::ifstream in(path);
  std::vector<std::string> kept;
  if (!in) return kept;  // no log yet: the resumed run starts one
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (n == 1) {
      if (line != want_header)
        return make_error(ErrorCode::kInvalidArgument, path + ": header '" + line + "' differs from this run's '" + want_header + "'");
      kept.push_back(line);
      continue;
    }
    if (line.empty()) continue;
    if (std::strtoll(line.c_str(), nullptr, 10) <= after) kept.push_back(line);
  }
  return kept;
}

std::string fmt(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

Expected<LossLog> LossLog::open(const LossLogOpen& o) {
  const std::string head = header(o.with_mtp);
  std::vector<std::string> lines = {head};
  if (o.resume_after) {
    auto kept = kept_lines(o.path, head, *o.resume_after);
    if (!kept) return kept.error();
    if (!kept->empty()) lines = std::move(*kept);
  }
  std::FILE* f = std::fopen(o.path.c_str(), "w");
  if (!f) return make_error(ErrorCode::kIo, o.path + ": cannot write the loss log");
  for (const std::string& l : lines) std::fprintf(f, "%s\n", l.c_str());
  if (std::fflush(f) != 0) {
    std::fclose(f);
    return make_error(ErrorCode::kIo, o.path + ": write failed");
  }
  return LossLog(f, o.path, o.with_mtp);
}

LossLog::LossLog(LossLog&& other) noexcept : f_(other.f_), path_(std::move(other.path_)), with_mtp_(other.with_mtp_) {
  other.f_ = nullptr;
}

LossLog& LossLog::operator=(LossLog&& other) noexcept {
  if (this != &other) {
    if (f_) std::fclose(f_);
    f_ = other.f_;
    path_ = std::move(other.path_);
    with_mtp_ = other.with_mtp_;
    other.f_ = nullptr;
  }
  return *this;
}

LossLog::~LossLog() {
  if (f_) std::fclose(f_);
}

Status LossLog::write(const LossLogRow& r) {
  std::string line = std::to_string(r.step);
  auto cell = [&line](const std::optional<double>& v) {
    line += ',';
    if (v) line += fmt(*v);
  };
  cell(r.loss);
  if (with_mtp_) cell(r.mtp_loss);
  cell(r.lr);
  cell(r.grad_norm);
  line += '\n';
  // One write and a flush per row: a run that dies mid-way leaves whole rows behind.
  if (std::fputs(line.c_str(), f_) < 0 || std::fflush(f_) != 0)
    return make_error(ErrorCode::kIo, path_ + ": write failed");
  return {};
}

Expected<std::vector<double>> CsvTable::column(const std::string& name) const {
  std::string names;
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c] == name) return values[c];
    names += (c ? ", " : "") + columns[c];
  }
  return make_error(ErrorCode::kNotFound, source + ": no column '" + name + "' (columns: " + names + ")");
}

Expected<CsvTable> read_numeric_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorCode::kNotFound, path + ": cannot read");
  CsvTable t;
  t.source = path;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> cells = split(line);
    if (t.columns.empty()) {
      t.columns = std::move(cells);
      t.values.resize(t.columns.size());
      continue;
    }
    if (cells.size() != t.columns.size())
      return make_error(ErrorCode::kParse, path + ":" + std::to_string(n) + ": " + std::to_string(cells.size()) + " fields, the header has " +
                                               std::to_string(t.columns.size()));
    for (size_t c = 0; c < cells.size(); ++c) {
      char* end = nullptr;
      const double v = cells[c].empty() ? NAN : std::strtod(cells[c].c_str(), &end);
      if (!cells[c].empty() && (end == cells[c].c_str() || *end != '\0'))
        return make_error(ErrorCode::kParse, path + ":" + std::to_string(n) + ": column '" + t.columns[c] + "': not a number: '" + cells[c] + "'");
      t.values[c].push_back(v);
    }
  }
  if (t.columns.empty()) return make_error(ErrorCode::kParse, path + ": empty (no header row)");
  return t;
}

}  // namespace radseek::train

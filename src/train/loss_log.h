// The per-step loss log of a training run (`radseek train ... --loss-log FILE.csv`) and the reader
// `radseek plot` uses. CSV with a header: step,loss[,mtp_loss],lr,grad_norm, one row per optimizer
// step, flushed as it is written so a run that dies keeps its log.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace radseek::train {

struct LossLogRow {
  int64_t step = 0;
  double loss = 0.0;
  std::optional<double> mtp_loss = std::nullopt;  // written only by a log opened with_mtp
  double lr = 0.0, grad_norm = 0.0;
};

struct LossLogOpen {
  std::string path = {};
  bool with_mtp = false;  // the mtp_loss column
  // Resuming after this step: rows up to it are kept, later ones (logged by an interrupted run after
  // its last saved state) dropped, and new rows appended. Unset: a fresh file.
  std::optional<int64_t> resume_after = std::nullopt;
};

class LossLog {
 public:
  static Expected<LossLog> open(const LossLogOpen& o);
  LossLog(LossLog&& other) noexcept;
  LossLog& operator=(LossLog&& other) noexcept;
  LossLog(const LossLog&) = delete;
  LossLog& operator=(const LossLog&) = delete;
  ~LossLog();

  Status write(const LossLogRow& row);

 private:
  LossLog(std::FILE* f, std::string path, bool with_mtp) : f_(f), path_(std::move(path)), with_mtp_(with_mtp) {}
  std::FILE* f_ = nullptr;
  std::string path_;
  bool with_mtp_ = false;
};

// A numeric CSV with a header row (a loss log, or any table of numbers).
struct CsvTable {
  std::vector<std::string> columns = {};
  std::vector<std::vector<double>> values = {};  // [column][row]

  // The column named `name`, or an error naming the file's columns.
  Expected<std::vector<double>> column(const std::string& name) const;
  std::string source = {};  // file, for messages
};

Expected<CsvTable> read_numeric_csv(const std::string& path);

}  // namespace radseek::train

#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace radseek::cli {

Progress::Progress(std::string label, std::string unit, bool force)
    : label_(std::move(label)), unit_(std::move(unit)), enabled_(force || ::isatty(STDERR_FILENO)) {}

void Progress::update(double done, double total) {
  if (!enabled_) return;
  const double now = timer_.seconds();
  if (now - last_print_ < 0.2 && done < total) return;  // at most 5 redraws a second
  last_print_ = now;
  const double rate = now > 0 ? done / now : 0.0;
  const double eta = rate > 0 && total > done ? (total - done) / rate : 0.0;
  const int pct = total > 0 ? static_cast<int>(100.0 * done / total) : 0;
  std::fprintf(stderr, "\r%s %3d%% %.0f/%.0f %s  %.1f %s/s  ETA %.0fs   ", label_.c_str(), pct, done, total,
               unit_.c_str(), rate, unit_.c_str(), eta);
  std::fflush(stderr);
}

void Progress::finish() {
  if (enabled_ && last_print_ >= 0) std::fputc('\n', stderr);
}

}  // namespace radseek::cli

// Minimal leveled logging to stderr. Never log report text: callers pass metadata only.
#pragma once

#include <cstdarg>

namespace radseek {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

struct Logger {
  LogLevel level = LogLevel::kWarn;
  void log(LogLevel l, const char* fmt, ...) const __attribute__((format(printf, 3, 4)));
};

}  // namespace radseek

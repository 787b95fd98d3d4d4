#include "base/log.h"

#include <cstdio>

namespace radseek {

void Logger::log(LogLevel l, const char* fmt, ...) const {
  if (static_cast<int>(l) > static_cast<int>(level)) return;
  static constexpr const char* kTags[] = {"error", "warn", "info", "debug"};
  std::fprintf(stderr, "radseek %s: ", kTags[static_cast<int>(l)]);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
}

}  // namespace radseek

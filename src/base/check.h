// Invariant checks: a failed RADSEEK_CHECK is a bug in radseek, never bad user input
// (user input is validated at the edges and reported through Expected).
#pragma once

#include <cstdio>
#include <cstdlib>

namespace radseek::detail {
[[noreturn]] inline void check_failed(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "radseek: internal check failed: %s (%s) at %s:%d\n", expr, msg, file, line);
  std::abort();
}
}  // namespace radseek::detail

#define RADSEEK_CHECK(cond, msg) \
  ((cond) ? (void)0 : ::radseek::detail::check_failed(#cond, __FILE__, __LINE__, msg))

#ifdef NDEBUG
#define RADSEEK_DCHECK(cond, msg) ((void)0)
#else
#define RADSEEK_DCHECK(cond, msg) RADSEEK_CHECK(cond, msg)
#endif

// Error values for everything that reads outside input (files, config, requests, model answers).
// No exception crosses a public header: boundaries return Expected<T>.
#pragma once

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace radseek {

enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kIo,
  kParse,
  kBadShape,
  kBadDType,
  kOutOfRange,
  kUnsupported,
  kInternal,
};

const char* error_code_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // Prefixes context ("file.safetensors: ") so the message names where the problem is.
  Error with_context(const std::string& context) const {
    return Error{code, context + ": " + message};
  }
};

// A value or an Error; a tiny stand-in for C++23 std::expected.
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Expected(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Expected<void>;

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

}  // namespace radseek

// Propagates an error from an Expected-returning expression.
#define RADSEEK_TRY(expr)                              \
  do {                                                 \
    auto&& radseek_try_result_ = (expr);               \
    if (!radseek_try_result_.ok()) return radseek_try_result_.error(); \
  } while (0)

#include "base/status.h"

namespace radseek {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kIo: return "I/O error";
    case ErrorCode::kParse: return "parse error";
    case ErrorCode::kBadShape: return "bad shape";
    case ErrorCode::kBadDType: return "bad dtype";
    case ErrorCode::kOutOfRange: return "out of range";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kInternal: return "internal error";
  }
  return "error";
}

}  // namespace radseek

// Strict JSON parsing for the checkpoint files (safetensors headers, config.json, the shard index).
// Internal to the format layer: errors carry the parser's position, and duplicate object keys are
// rejected because a silently dropped duplicate would hide a corrupt or hand-edited file.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"

namespace radseek::format {

// Parses [begin, end). `what` says which part of `label` this is ("header", "config") in errors,
// e.g. "model.safetensors: header is not valid JSON (line 1, column 17: ...)".
Expected<nlohmann::json> parse_json_text(const char* begin, const char* end, const std::string& label,
                                         const std::string& what);

// A short rendering of a JSON value for error messages ("string \"abc\"", "number 1.5", "array").
std::string describe_json(const nlohmann::json& v);

}  // namespace radseek::format

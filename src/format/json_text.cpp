#include "format/json_text.h"

#include <set>
#include <vector>

namespace radseek::format {
namespace {

using nlohmann::json;

// nlohmann's messages start with "[json.exception.parse_error.101] parse error at ..."; the tag means
// nothing to a user, and "last read: '...'" can quote a whole long token, so both are trimmed.
std::string tidy_parser_message(const std::string& what) {
  std::string m = what;
  if (!m.empty() && m[0] == '[') {
    const size_t close = m.find("] ");
    if (close != std::string::npos) m = m.substr(close + 2);
  }
  constexpr size_t kMaxLen = 200;
  if (m.size() > kMaxLen) m = m.substr(0, kMaxLen) + "...";
  return m;
}

}  // namespace

Expected<json> parse_json_text(const char* begin, const char* end, const std::string& label,
                               const std::string& what) {
  // One key set per open object; a key seen twice in the same object is reported after parsing.
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  auto on_event = [&](int /*depth*/, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (ev == json::parse_event_t::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (ev == json::parse_event_t::key && !open_objects.empty() && duplicate.empty()) {
      const std::string& k = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(k).second) duplicate = k;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(begin, end, on_event, /*allow_exceptions=*/true);
  } catch (const json::exception& e) {
    return make_error(ErrorCode::kParse, label + ": " + what + " is not valid JSON (" +
                                             tidy_parser_message(e.what()) + ")");
  }
  if (!duplicate.empty())
    return make_error(ErrorCode::kParse, label + ": " + what + " has the key '" + duplicate +
                                             "' twice in one object (expected unique keys)");
  return j;
}

std::string describe_json(const json& v) {
  std::string s = v.type_name();
  if (v.is_primitive() && !v.is_null()) {
    std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
    constexpr size_t kMaxLen = 40;
    if (text.size() > kMaxLen) text = text.substr(0, kMaxLen) + "...";
    s += " " + text;
  }
  return s;
}

}  // namespace radseek::format

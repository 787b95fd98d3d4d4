#include "tokenizer/utf8.h"

#include "base/check.h"

namespace radseek::tokenizer {
namespace {

// Shape of a sequence as announced by its lead byte (Unicode Table 3-7, "well-formed byte
// sequences"): how many continuation bytes follow and the allowed range of the first of them.
struct LeadInfo {
  int continuation = -1;  // -1: not a valid lead byte
  uint8_t first_lo = 0x80;
  uint8_t first_hi = 0xBF;
};

LeadInfo lead_info(uint8_t b) {
  if (b < 0x80) return {0, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {1, 0x80, 0xBF};
  if (b == 0xE0) return {2, 0xA0, 0xBF};
  if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) return {2, 0x80, 0xBF};
  if (b == 0xED) return {2, 0x80, 0x9F};  // excludes surrogates
  if (b == 0xF0) return {3, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {3, 0x80, 0xBF};
  if (b == 0xF4) return {3, 0x80, 0x8F};  // caps at U+10FFFF
  return {};
}

// Number of bytes of the sequence at bytes[pos] that are well-formed so far (at least 1), and
// whether the sequence is complete.
struct SeqScan {
  size_t valid_len = 1;
  bool complete = false;
};

SeqScan scan_sequence(std::string_view bytes, size_t pos) {
  const auto lead = static_cast<uint8_t>(bytes[pos]);
  const LeadInfo info = lead_info(lead);
  if (info.continuation < 0) return {1, false};
  if (info.continuation == 0) return {1, true};
  size_t len = 1;
  for (int k = 0; k < info.continuation; ++k) {
    if (pos + len >= bytes.size()) return {len, false};
    const auto c = static_cast<uint8_t>(bytes[pos + len]);
    const uint8_t lo = k == 0 ? info.first_lo : 0x80;
    const uint8_t hi = k == 0 ? info.first_hi : 0xBF;
    if (c < lo || c > hi) return {len, false};
    ++len;
  }
  return {len, true};
}

}  // namespace

std::optional<size_t> find_invalid_utf8(std::string_view bytes) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    const SeqScan s = scan_sequence(bytes, pos);
    if (!s.complete) return pos;
    pos += s.valid_len;
  }
  return std::nullopt;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    const SeqScan s = scan_sequence(bytes, pos);
    if (s.complete) {
      out.append(bytes.substr(pos, s.valid_len));
    } else {
      out.append("\xEF\xBF\xBD");  // U+FFFD for the maximal invalid subpart
    }
    pos += s.valid_len;
  }
  return out;
}

size_t utf8_complete_prefix(std::string_view bytes) {
  const size_t n = bytes.size();
  // A character is at most 4 bytes, so an unfinished one starts within the last 3 bytes.
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const size_t start = n - back;
    const auto b = static_cast<uint8_t>(bytes[start]);
    if (b >= 0x80 && b <= 0xBF) continue;  // continuation byte: keep looking for the lead
    const SeqScan s = scan_sequence(bytes, start);
    // Hold back only a sequence that is well-formed so far and merely cut off by the end.
    if (!s.complete && start + s.valid_len == n && lead_info(b).continuation > 0) return start;
    return n;
  }
  return n;
}

void append_utf8(std::string& out, uint32_t cp) {
  RADSEEK_DCHECK(cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF), "not a Unicode scalar value");
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

uint32_t next_code_point(std::string_view bytes, size_t& pos) {
  const auto b0 = static_cast<uint8_t>(bytes[pos]);
  const int extra = b0 < 0x80 ? 0 : b0 < 0xE0 ? 1 : b0 < 0xF0 ? 2 : 3;
  uint32_t cp = extra == 0 ? b0 : extra == 1 ? (b0 & 0x1F) : extra == 2 ? (b0 & 0x0F) : (b0 & 0x07);
  for (int k = 1; k <= extra; ++k) cp = (cp << 6) | (static_cast<uint8_t>(bytes[pos + k]) & 0x3F);
  pos += 1 + extra;
  return cp;
}

}  // namespace radseek::tokenizer

#include "tokenizer/byte_level.h"

#include "tokenizer/utf8.h"

namespace radseek::tokenizer {
namespace {

constexpr bool maps_to_itself(int b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

constexpr std::array<uint16_t, 256> make_byte_table() {
  std::array<uint16_t, 256> t{};
  uint16_t next = 0x100;
  for (int b = 0; b < 256; ++b) t[b] = maps_to_itself(b) ? static_cast<uint16_t>(b) : next++;
  return t;
}

constexpr std::array<uint16_t, 256> kByteToCodePoint = make_byte_table();

// Reverse table over the code points the alphabet uses (all are below U+0144); -1: not in it.
constexpr std::array<int16_t, 0x144> make_reverse_table() {
  std::array<int16_t, 0x144> r{};
  for (auto& v : r) v = -1;
  for (int b = 0; b < 256; ++b) r[kByteToCodePoint[b]] = static_cast<int16_t>(b);
  return r;
}

constexpr std::array<int16_t, 0x144> kCodePointToByte = make_reverse_table();

}  // namespace

const std::array<uint16_t, 256>& byte_to_code_point() { return kByteToCodePoint; }

std::string bytes_to_byte_level(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) append_utf8(out, kByteToCodePoint[static_cast<uint8_t>(c)]);
  return out;
}

std::optional<std::string> byte_level_to_bytes(std::string_view text) {
  if (find_invalid_utf8(text)) return std::nullopt;
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const uint32_t cp = next_code_point(text, pos);
    if (cp >= kCodePointToByte.size() || kCodePointToByte[cp] < 0) return std::nullopt;
    out.push_back(static_cast<char>(kCodePointToByte[cp]));
  }
  return out;
}

}  // namespace radseek::tokenizer

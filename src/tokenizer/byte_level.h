// GPT-2 byte-level alphabet (spec §4.5): every byte has a printable stand-in code point, so a
// byte-level BPE vocabulary is written in visible characters ("Ġ" for a space, "Ċ" for LF).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace radseek::tokenizer {

// Code point that stands for each byte: bytes 0x21-0x7E, 0xA1-0xAC and 0xAE-0xFF map to themselves,
// the other 68 bytes, in increasing order, to U+0100, U+0101, ...
const std::array<uint16_t, 256>& byte_to_code_point();

// UTF-8 of the stand-in characters of the given raw bytes ("a b" -> "aĠb").
std::string bytes_to_byte_level(std::string_view bytes);

// Inverse mapping; nullopt when a character is not in the byte-level alphabet (such a vocab entry,
// e.g. "<｜begin▁of▁sentence｜>", is a literal token and never produced by merges).
std::optional<std::string> byte_level_to_bytes(std::string_view byte_level_text);

}  // namespace radseek::tokenizer

// UTF-8 helpers shared by the tokenizer: validation, lossy decoding of byte strings and the
// "complete prefix" rule the streaming decoder uses to hold back a character split across tokens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace radseek::tokenizer {

// Offset of the first byte that does not start a well-formed UTF-8 sequence, or nullopt when
// the whole text is valid (overlongs, surrogates and code points past U+10FFFF are invalid).
std::optional<size_t> find_invalid_utf8(std::string_view bytes);

// Replaces each maximal invalid subpart with U+FFFD, the rule shared by WHATWG TextDecoder and
// Rust's String::from_utf8_lossy, so decoded text matches the HF and JS tokenizers byte for byte.
std::string utf8_lossy(std::string_view bytes);

// Length of the longest prefix that can be emitted now: everything except a trailing sequence that
// is a valid but unfinished UTF-8 character (which a later token may complete).
size_t utf8_complete_prefix(std::string_view bytes);

// Appends the UTF-8 encoding of a code point (must be <= U+10FFFF and not a surrogate).
void append_utf8(std::string& out, uint32_t code_point);

// Decodes the code point starting at bytes[pos] of valid UTF-8 and advances pos past it.
uint32_t next_code_point(std::string_view bytes, size_t& pos);

}  // namespace radseek::tokenizer

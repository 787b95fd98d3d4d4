// Unicode Normalization Form C (UAX #15), the `NFC` normalizer of HF tokenizers (Qwen2's tokenizer
// uses it). Canonical data come from nfc_tables.cpp; see gen_nfc_tables.py for the Unicode version.
#pragma once

#include <string>
#include <string_view>

namespace radseek::tokenizer {

// text must be valid UTF-8.
std::string nfc_normalize(std::string_view text);

}  // namespace radseek::tokenizer

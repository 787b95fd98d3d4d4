// Incremental detokenization for streaming output: a multi-byte character (CJK, emoji, accents) is
// often split across tokens, so bytes of an unfinished character are held back until it completes.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "tokenizer/tokenizer.h"

namespace radseek::tokenizer {

class StreamDecoder {
 public:
  // The tokenizer must outlive the decoder.
  explicit StreamDecoder(const Tokenizer& tokenizer, DecodeOptions options = {})
      : tokenizer_(&tokenizer), options_(options) {}

  // Text that is complete after this token (possibly empty); an unknown id is an error.
  Expected<std::string> push(int32_t id);
  // Whatever is still held back, with an unfinished character shown as U+FFFD; resets the decoder.
  std::string finish();

 private:
  const Tokenizer* tokenizer_;
  DecodeOptions options_;
  std::string pending_;  // bytes of an unfinished UTF-8 character (at most 3)
};

}  // namespace radseek::tokenizer

#include "tokenizer/stream_decoder.h"

#include "tokenizer/utf8.h"

namespace radseek::tokenizer {

Expected<std::string> StreamDecoder::push(int32_t id) {
  auto bytes = tokenizer_->token_bytes(id);
  if (!bytes) return make_error(ErrorCode::kOutOfRange, "token id " + std::to_string(id) + " is not in the vocabulary");
  if (options_.skip_special_tokens && tokenizer_->is_special(id)) return std::string();
  pending_.append(*bytes);
  const size_t ready = utf8_complete_prefix(pending_);
  std::string out = utf8_lossy(std::string_view(pending_).substr(0, ready));
  pending_.erase(0, ready);
  return out;
}

std::string StreamDecoder::finish() {
  std::string out = utf8_lossy(pending_);
  pending_.clear();
  return out;
}

}  // namespace radseek::tokenizer

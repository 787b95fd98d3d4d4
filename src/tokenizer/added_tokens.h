// Added and special tokens (HF `added_tokens`): matched in the raw text before normalization and
// pre-tokenization, leftmost-longest, so "<｜User｜>" becomes one id and never goes through BPE.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace radseek::tokenizer {

struct AddedToken {
  int32_t id = 0;
  std::string content = {};
  bool special = false;  // skipped by decode when DecodeOptions::skip_special_tokens
  bool lstrip = false;   // swallows whitespace on its left
  bool rstrip = false;   // swallows whitespace on its right
};

// A run of plain text (added_index < 0) or one matched added token.
struct TextSegment {
  std::string_view text;
  int32_t added_index = -1;  // index into the token list given to the matcher
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(const std::vector<AddedToken>& tokens);

  // Splits text into plain runs and added tokens; empty plain runs are dropped.
  std::vector<TextSegment> split(std::string_view text) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // sorted by byte
    int32_t token = -1;                                  // index of the token ending here
  };
  int32_t child(int32_t node, uint8_t byte) const;
  // Longest token starting at text[pos]: (token index, length) or (-1, 0).
  std::pair<int32_t, size_t> longest_at(std::string_view text, size_t pos) const;

  std::vector<Node> nodes_;
  std::vector<std::pair<bool, bool>> strip_;  // (lstrip, rstrip) per token index
};

}  // namespace radseek::tokenizer

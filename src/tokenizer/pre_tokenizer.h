// Pre-tokenization as data (HF `pre_tokenizer`): a list of Split steps with PCRE2 regexes, then the
// ByteLevel step. Each step is applied to every piece the previous step produced (spec §4.1).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace radseek::tokenizer {

// A compiled PCRE2 pattern with UTF and Unicode properties (\p{L}, \s over Unicode), matching what
// the HF tokenizers' Oniguruma regexes mean. Immutable after compile, so safe to share across threads.
class Regex {
 public:
  struct Options {
    bool literal = false;  // HF `{"String": ...}` patterns match the text literally
  };
  static Expected<Regex> compile(std::string_view pattern, Options options);

  // Appends [begin, end) of every non-empty match in subject, left to right. Subject must be
  // valid UTF-8 (checked once by the caller). Fails only when PCRE2 hits a resource limit.
  Status find_all(std::string_view subject, std::vector<std::pair<size_t, size_t>>& out) const;

 private:
  struct CodeDeleter {
    void operator()(void* code) const;
  };
  std::unique_ptr<void, CodeDeleter> code_;  // pcre2_code_8, kept opaque to keep PCRE2 out of headers
};

// What a Split step does with the matched delimiters (HF SplitDelimiterBehavior).
enum class SplitBehavior { kIsolated, kRemoved, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct SplitStep {
  Regex regex = {};
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;  // split on what does NOT match
};

// HF ByteLevel pre-tokenizer. The byte -> character mapping itself is folded into the BPE model,
// which works on raw bytes, so here only the prefix space and the optional GPT-2 regex remain.
struct ByteLevelStep {
  bool add_prefix_space = false;
  bool use_regex = false;
  std::unique_ptr<Regex> gpt2_regex = nullptr;  // set when use_regex
};

class PreTokenizer {
 public:
  void add_split(SplitStep step) { splits_.push_back(std::move(step)); }
  void set_byte_level(ByteLevelStep step) { byte_level_ = std::move(step); }

  // Pieces (raw UTF-8 byte strings) in text order; none are empty.
  Expected<std::vector<std::string>> split(std::string_view text) const;

  // The GPT-2 pattern the ByteLevel step uses when `use_regex` is true.
  static constexpr std::string_view kGpt2Pattern =
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

 private:
  std::vector<SplitStep> splits_;
  ByteLevelStep byte_level_;
};

}  // namespace radseek::tokenizer

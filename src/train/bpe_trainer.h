// Byte-level BPE training (`radseek train tokenizer`): pre-tokenizes a corpus with the same
// pre-tokenizer the engine uses (DeepSeek-V3's, from tokenizer_files.h), counts the pieces, and
// repeatedly merges the most frequent adjacent pair until the vocabulary is full.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "train/tokenizer_files.h"

namespace radseek::train {

struct BpeTrainOptions {
  int32_t vocab_size = 4096;  // total ids, special tokens and the 256 bytes included
  int64_t min_frequency = 2;  // a pair seen fewer times is never merged
  std::function<void(int32_t merges_done, int32_t merges_wanted)> progress = {};  // optional
};

struct BpeTrainResult {
  std::vector<MergeBytes> merges;  // rank order
  int64_t corpus_pieces = 0;       // pre-tokenized pieces counted
  int64_t distinct_pieces = 0;
};

// Learns merges from the texts. Special-token texts inside them ("<think>") are split out first and
// never merged into other text, exactly as the tokenizer treats them when encoding. Ties between
// equally frequent pairs go to the smaller (left id, right id), so the result is deterministic.
Expected<BpeTrainResult> train_bpe(const std::vector<std::string>& texts, const BpeTrainOptions& options);

// Texts of a corpus file: JSONL (.jsonl/.json: every string value of each line's object, e.g.
// "text", messages' "content") or plain text (one text per line). Errors name the file and line.
Expected<std::vector<std::string>> read_corpus_texts(const std::string& path);

}  // namespace radseek::train

// tokenizer.json / tokenizer_config.json in the Hugging Face format the engine reads (src/tokenizer),
// for tokenizers radseek trains or generates: DeepSeek-V3's pre-tokenizer (spec §4.1), byte-level
// BPE, the special tokens DeepSeek-R1's chat template needs, and R1's forced-thinking template.
//
// Id layout (radseek's own; nothing hard-codes it, the files carry it):
//   0 BOS, 1 EOS, 2 pad, 3 <｜User｜>, 4 <｜Assistant｜>, 5 <think>, 6 </think>,
//   7 .. 262 the 256 byte-level characters in byte order, 263 .. the merged tokens in merge order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace radseek::train {

inline constexpr std::string_view kBosText = "<｜begin▁of▁sentence｜>";
inline constexpr std::string_view kEosText = "<｜end▁of▁sentence｜>";
inline constexpr std::string_view kPadText = "<｜▁pad▁｜>";
inline constexpr std::string_view kUserText = "<｜User｜>";
inline constexpr std::string_view kAssistantText = "<｜Assistant｜>";
inline constexpr std::string_view kThinkOpenText = "<think>";
inline constexpr std::string_view kThinkCloseText = "</think>";

// The special tokens in id order (ids 0 .. kNumSpecialTokens-1).
inline constexpr std::string_view kSpecialTokens[] = {kBosText,       kEosText,       kPadText,        kUserText,
                                                      kAssistantText, kThinkOpenText, kThinkCloseText};
inline constexpr int32_t kNumSpecialTokens = 7;
inline constexpr int32_t kBosId = 0, kEosId = 1, kPadId = 2;
inline constexpr int32_t kFirstByteId = kNumSpecialTokens;      // id of byte 0x00
inline constexpr int32_t kFirstMergeId = kFirstByteId + 256;    // smallest vocabulary a tokenizer can have
inline int32_t byte_token_id(uint8_t b) { return kFirstByteId + b; }

// One merge as raw byte strings; its result is left + right.
struct MergeBytes {
  std::string left;
  std::string right;
};

// tokenizer.json with the layout above and these merges (in rank order). A merge whose result
// already exists (another merge path reached the same bytes) reuses that id, as HF's trainer does.
nlohmann::json tokenizer_json(const std::vector<MergeBytes>& merges);

// tokenizer_config.json: BOS/EOS/pad names, add_bos_token, and DeepSeek-R1's (forced-thinking)
// chat template, which the engine recognises as "deepseek-r1-think".
nlohmann::json tokenizer_config_json(int64_t model_max_length);

// Writes dir/tokenizer.json and dir/tokenizer_config.json (dir is created).
Status write_tokenizer_files(const std::string& dir, const std::vector<MergeBytes>& merges,
                             int64_t model_max_length);

// A plain byte-level tokenizer (no merges: kFirstMergeId ids) for generated test checkpoints.
// Fails when the checkpoint's vocab_size (config.json in dir) is smaller than kFirstMergeId.
Status write_byte_level_tokenizer(const std::string& dir);

}  // namespace radseek::train

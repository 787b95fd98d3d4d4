// Training data from JSONL: pretraining text and chat examples for SFT, tokenized with the model's
// tokenizer; batches in a seeded order that a resumed run replays exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "tokenizer/tokenizer.h"
#include "train/train_model.h"

namespace radseek::train {

struct Example {
  std::vector<int32_t> tokens;     // [n]
  std::vector<uint8_t> predicted;  // [n] 1 where tokens[i] is a target (predicted from tokens[..i))
};

// {"text": ...} lines: BOS + text + EOS of every line, concatenated and cut into windows of
// seq_len + 1 tokens (each window's first token is only context).
Expected<std::vector<Example>> load_pretrain_data(const std::string& path, const tokenizer::Tokenizer& tok,
                                                  int64_t seq_len);

// Chat lines {"messages": [..., {"role": "assistant", "content": "<think>\n…\n</think>\n\nanswer"}]}:
// the earlier messages rendered with the tokenizer's chat template and its generation prompt, then
// the last (assistant) message + EOS. Only the assistant tokens are targets. When the template's
// prompt already opens "<think>\n" (R1), that opener is not repeated from the content.
// Which assistant tokens are targets: all of them, or only the answer after "</think>" (a stage that
// trains the answer on reasoning the model already writes, without spending its steps on the reasoning).
enum class SftTargets { kAssistant, kAnswer };
Expected<std::vector<Example>> load_sft_data(const std::string& path, const tokenizer::Tokenizer& tok,
                                             SftTargets targets = SftTargets::kAssistant);

// Rows `first .. first+B` of the seeded order (epoch e = position / n uses a fresh shuffle seeded by
// seed and e, then sorted by length within windows of 16·B positions), cut to S tokens or padded
// (pad id, no target) to the batch's longest row, whichever is shorter: Batch::S may be below S.
Batch make_batch(const std::vector<Example>& data, uint64_t seed, int64_t first, int64_t B, int64_t S, int32_t pad_id);

}  // namespace radseek::train

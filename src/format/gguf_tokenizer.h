// The tokenizer a GGUF file carries (tokenizer.ggml.*), rewritten as the Hugging Face tokenizer.json
// and tokenizer_config.json it was converted from, so radseek's one data-driven tokenizer (with its
// validation) builds it: tokens → model.vocab (CONTROL/USER_DEFINED types → added_tokens, CONTROL
// ones special), merges, and tokenizer.ggml.pre → the pre-tokenizer of the HF files llama.cpp's
// names stand for (llama.cpp src/llama-vocab.cpp): "llama-bpe"/"llama3" (Llama 3's regex,
// ignore_merges), "qwen2"/"deepseek-r1-qwen" (Qwen2's regex, NFC), "deepseek-v3" (DeepSeek-V3's
// three splits), "deepseek-llm" (DeepSeek LLM / V2 / V2-Lite: six splits, spec §4.2). Only
// tokenizer.ggml.model "gpt2" (byte-level BPE) is supported.
#pragma once

#include <optional>
#include <string>

#include "base/status.h"
#include "format/gguf.h"

namespace radseek::format {

struct TokenizerFiles {
  std::string tokenizer_json;
  std::string tokenizer_config_json;
};

// nullopt when the file has no tokenizer.ggml.model; errors name the file and the key.
Expected<std::optional<TokenizerFiles>> gguf_tokenizer_files(const GgufFile& f);

}  // namespace radseek::format

// Test-only Hugging Face folder → GGUF converter, written to mirror llama.cpp's convert_hf_to_gguf.py
// for the parts radseek reads: metadata keys, tensor names (format/gguf_model.cpp's table, reversed),
// llama's q/k row permutation, rope_freqs for llama3 RoPE, stacked experts, the kv_b split
// (attn_k_b / attn_v_b) of newer deepseek2 files, and the tokenizer. It lets tests and the bench
// produce GGUF files of exactly the weights of a safetensors folder (no model hub is reachable).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "format/gguf_writer.h"
#include "format/safetensors.h"

namespace radseek::testing {

enum class GgufWeights { kF32, kF16, kBF16, kQ8_0, kQ4_0, kQ5_0, kQ4_1, kQ5_1, kQ4_K, kQ5_K, kQ6_K };

struct GgufConvertArgs {
  std::string hf_dir;
  std::string out_path;
  GgufWeights weights = GgufWeights::kF32;
  bool split_kv_b = false;  // deepseek2: attn_k_b / attn_v_b (newer converters) instead of attn_kv_b
  // Optional: tests break the file before it is written. The whole file is then built in memory.
  std::function<void(format::GgufWriteArgs&)> edit = {};
};

// Matrices whose columns are not a multiple of the requested block fall back to Q8_0, then F16 (as
// llama.cpp falls back); 1-D tensors and the MoE router stay F32 (also for F16 and BF16, as llama.cpp's
// --outtype does). Without `edit`, the file is streamed: the tensor table is written first, then one
// tensor (one expert of a stacked projection) is converted at a time, so memory stays about the
// largest tensor, not the file.
Status convert_to_gguf(const GgufConvertArgs& args);

// What the converter stores for a tensor, decoded again: `v` as f32 ([rows, cols] row-major for a
// matrix) after encoding with `w` (or its fallback) and ggml dequantisation. Tests build a folder of
// these values to compare a quantised GGUF with the exact same weights.
std::vector<float> gguf_roundtrip(const std::vector<float>& v, int64_t cols, GgufWeights w, bool matrix);
// A tensor's values as f32 (F32/BF16/F16).
std::vector<float> tensor_values(const format::TensorInfo& t);

}  // namespace radseek::testing

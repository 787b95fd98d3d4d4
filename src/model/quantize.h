// `radseek quantize`: an 8-bit or 4-bit copy of a checkpoint in radseek's group formats (kernels.h
// WeightMatrix: Q8 = I8 codes, Q4 = packed nibbles, one F32 scale per 32 columns in `<name>_scale`;
// config.json quantization_config {"quant_method": "radseek", "bits": 8|4, "group_size": 32}).
//
// What is quantised (choose_tensor_plan):
//   - the projections the forward pass multiplies by (q_a/q_b/q, kv_a_proj_with_mqa, o_proj, MLP and
//     expert gate/up/down, MTP eh_proj): to `bits` — they are nearly all the bytes read per token;
//   - lm_head (and MTP shared_head.head): always Q8 — read every token, so worth shrinking, but the
//     output distribution is the most sensitive place for 4-bit error (llama.cpp keeps it at ≥ 6 bits);
//   - kept float (BF16; FP8 sources dequantised): kv_b_proj (read row-wise by absorbed attention, and
//     small), embed_tokens (one row per token is read, so size does not cost speed), the MoE router
//     (mlp.gate, run in FP32 because expert choice is discrete), norms and biases (copied as stored).
// FP8 sources are dequantised block by block (code × weight_scale_inv) before requantising.
// Tensors are converted one at a time straight into the writer (never the whole model in memory).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "base/status.h"

namespace radseek::model {

struct QuantizeArgs {
  std::string src_dir;
  std::string dst_dir;
  int bits = 8;  // 8 or 4
  size_t max_shard_bytes = size_t{4} << 30;
  std::function<void(size_t done_bytes, size_t total_bytes)> progress = {};  // optional
};

struct QuantizeReport {
  size_t src_bytes = 0;  // weight bytes in and out
  size_t dst_bytes = 0;
  int64_t quantized_tensors = 0;
  int64_t float_tensors = 0;
};

// Writes dst_dir (config.json, safetensors, and every other file of src_dir such as the tokenizer).
Expected<QuantizeReport> quantize_checkpoint(const QuantizeArgs& args);

// The quality figure: logits of the original (ref) and quantised (q) model over the same tokens.
struct LogitComparison {
  double mean_kl = 0.0;         // mean over positions of KL(softmax(ref) ‖ softmax(q)), nats
  double max_kl = 0.0;
  double top1_agreement = 0.0;  // fraction of positions whose argmax agrees
  double ppl_ref = 0.0;         // perplexity of ids[t+1] given the prefix (positions 0..T-2)
  double ppl_q = 0.0;
};
// ref, q: [T, V] logits; ids: [T] the tokens that produced them.
LogitComparison compare_logits(const float* ref, const float* q, int64_t T, int64_t V, std::span<const int32_t> ids);

}  // namespace radseek::model

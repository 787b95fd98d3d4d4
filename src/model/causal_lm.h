// The interface every architecture implements (DeepSeek MLA+MoE in model.h, dense GQA models in
// dense.h): the engine, server, radiology and bench layers see only this.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/status.h"
#include "format/hf_config.h"
#include "format/safetensors.h"
#include "kernels/kernels.h"
#include "model/context.h"
#include "model/kv_cache.h"
#include "model/param_count.h"

namespace radseek::model {

struct Scratch;

// Which logits rows to produce.
enum class LogitsRows { kAll, kLast, kNone };

// One sequence's part of a step: its new tokens go to positions cache->length() onwards.
struct SeqStep {
  std::span<const int32_t> tokens;  // [T_i]
  KvCache* cache = nullptr;
  float* logits = nullptr;  // [T_i or 1, vocab] per `rows`
  LogitsRows rows = LogitsRows::kLast;
  float* hidden_out = nullptr;  // optional [T_i, d]: final-normed hidden states (MTP input)
};

struct ForwardArgs {
  std::span<const int32_t> tokens;  // [T], placed at positions cache->length() ...
  KvCache* cache = nullptr;
  Scratch* scratch = nullptr;
  float* logits = nullptr;  // [T or 1, vocab] per `rows`
  LogitsRows rows = LogitsRows::kAll;
  float* hidden_out = nullptr;  // optional [T, d]
};

// Several sequences advanced in one pass (continuous batching): the projections and experts see all
// rows at once, so each weight is read once per step; attention runs per sequence on its own cache.
struct BatchArgs {
  std::span<const SeqStep> seqs;
  Scratch* scratch = nullptr;
};

class CausalLM {
 public:
  virtual ~CausalLM() = default;
  virtual const format::ModelConfig& config() const = 0;
  virtual const format::Checkpoint& checkpoint() const = 0;
  virtual KvCache make_cache(int64_t capacity) const = 0;
  // The storage type of the caches make_cache returns from now on. Dense GQA models keep f32 (their
  // default no-op); MLA models store bf16 / fp8 rows (KvCache).
  virtual void set_kv_cache_dtype(KvDtype) {}
  // One-time work that needs the kernels and threads, after loading and before the first forward
  // (Model: WeightMatrix::fp8_flags where the kernels read them).
  virtual void prepare(const Context&) {}
  virtual Status forward_batch(const Context& ctx, const BatchArgs& args) const = 0;
  // Weight bytes one decoded token reads at activation precision `p`, and all weights (bench, info).
  virtual TokenBytes weight_bytes(kernels::ActPrecision p) const = 0;
  // A matrix of the kind a prompt spends most of its products on, in the checkpoint's own format (a
  // routed expert's gate_proj, else an MLP's): what bench's matmul-rate probe multiplies.
  virtual const kernels::WeightMatrix& representative_weight() const = 0;

  // One sequence: a batch of one.
  Status forward(const Context& ctx, const ForwardArgs& a) const {
    const SeqStep one{.tokens = a.tokens, .cache = a.cache, .logits = a.logits, .rows = a.rows, .hidden_out = a.hidden_out};
    return forward_batch(ctx, BatchArgs{.seqs = std::span(&one, 1), .scratch = a.scratch});
  }
};

// Shared by the architectures' forward_batch: every sequence fits its cache and every id the vocabulary.
Status validate_steps(std::span<const SeqStep> seqs, int64_t vocab);

struct FinishStepArgs {
  std::span<const SeqStep> seqs;
  const float* normed = nullptr;  // [T, d] final-normed hidden states of the step's rows
  int64_t d = 0;
  const kernels::WeightMatrix* lm_head = nullptr;  // [vocab, d]
  int64_t vocab = 0;
};
// Advances each cache by its tokens and writes hidden states and logits as each SeqStep asks.
void finish_step(const Context& ctx, const FinishStepArgs& a);

// In-place softmax over x [n] in FP32 with max subtraction (attention rows).
void softmax_inplace(float* x, int64_t n);

// Reads config.json and builds the architecture it names (deepseek_v2/v3, llama, qwen2, qwen3); or,
// when `dir` is a GGUF file, the same from its metadata and tensors (format/gguf_model.h).
Expected<std::unique_ptr<CausalLM>> load_causal_lm(const std::string& dir, FileBacking backing = FileBacking::kMapped);

}  // namespace radseek::model

// The engine: a loaded model with its threads and kernels, sessions (one KV cache each), scoring and
// generation. This is what the CLI, radiology, server and train layers use.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "engine/sampler.h"
#include "kernels/kernels.h"
#include "model/causal_lm.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace radseek::engine {

struct EngineOptions {
  std::string model_dir;
  int threads = 0;  // 0: all cores
  kernels::ActPrecision precision = kernels::ActPrecision::kF32;
  model::AttentionMode attention = model::AttentionMode::kAuto;
  model::KvDtype kv_cache = model::KvDtype::kF32;  // MLA cache storage (dense models: always f32)
  std::optional<kernels::Isa> isa = std::nullopt;  // default: the best this CPU supports
  // The weight files' bytes read into huge-page memory (kResident: faster decode, a copy at load) or
  // mapped from the page cache (kMapped: instant, shared); base/mapped_file.h.
  FileBacking weights = FileBacking::kResident;
};

// One sequence: its KV cache, scratch and last logits.
class Session {
 public:
  Session(const model::CausalLM& m, int64_t capacity);
  int64_t length() const { return cache_.length(); }
  int64_t capacity() const { return cache_.capacity(); }
  const float* last_logits() const { return logits_.data(); }
  model::KvCache& cache() { return cache_; }
  model::Scratch& scratch() { return scratch_; }
  std::vector<float>& logits_buffer() { return logits_; }
  void reset() { cache_.set_length(0); }
  // Reuses the first n cached tokens of `src` (a shared prompt prefix computed once).
  Status copy_prefix_from(const Session& src, int64_t n);

 private:
  model::KvCache cache_;
  model::Scratch scratch_;
  std::vector<float> logits_;  // [vocab] of the last position
};

struct TopToken {
  int32_t id = 0;
  double logprob = 0.0;
};

struct PositionScore {
  int64_t pos = 0;
  std::optional<int32_t> next_id;
  double next_logprob = 0.0;
  std::vector<TopToken> top;
};

struct GenerateParams {
  int64_t max_new_tokens = 128;
  SamplingParams sampling = {};
  bool ignore_eos = false;
  std::vector<int32_t> stop_ids = {};  // besides the model's EOS
  // Called after every generated token; return false to stop.
  std::function<bool(int32_t)> on_token = {};
  // Called before each sampling with the ids generated so far and the logits [vocab]; may mask or
  // force tokens (constrained answers, thinking budgets).
  std::function<void(std::span<const int32_t>, float*)> logits_hook = {};
  // kMtp: the model's multi-token-prediction module drafts the token after next, and the main model
  // verifies it in the same step as it computes the next one (DeepSeek-V3 §2.2). The output is the
  // same as without it: every emitted token is sampled from the main model's distribution.
  // kNgram (prompt lookup): the draft is the token that followed the last earlier occurrence of the
  // current token in prompt + output — free, and strong on repetitive text such as report templates.
  enum class Speculation { kNone, kMtp, kNgram } speculation = Speculation::kNone;
};

struct GenerateResult {
  std::vector<int32_t> ids;
  std::string finish_reason;  // "stop" (EOS / stop id / callback) or "length"
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;
  int64_t prompt_tokens = 0;
  int64_t drafted = 0;   // MTP drafts checked
  int64_t accepted = 0;  // drafts the main model agreed with
  int64_t forward_steps = 0;  // decode forward passes of the main model
};

class Engine {
 public:
  static Expected<std::unique_ptr<Engine>> load(const EngineOptions& opts);

  const model::CausalLM& model() const { return *model_; }
  const model::Context& context() const { return ctx_; }
  const kernels::KernelTable& kernel_table() const { return kernels_; }
  int threads() const { return pool_->size(); }

  // The model folder's tokenizer.json, or null when the folder has none (token ids only).
  const tokenizer::Tokenizer* tokenizer() const { return tokenizer_ ? &*tokenizer_ : nullptr; }

  // Feeds tokens to the session (prefill or one decode step); the last position's logits are kept.
  Status feed(Session& s, std::span<const int32_t> ids) const;
  // Advances several sessions in one forward pass (continuous batching); `scratch` belongs to the
  // caller's scheduler thread.
  struct BatchItem {
    Session* session = nullptr;
    std::span<const int32_t> tokens;
    // Optional (speculative verify steps): logits of every fed position [T, V] into `logits`, and
    // the final-normed hidden states [T, d] into `hidden_out`. Default: the last position's logits
    // into the session's buffer.
    model::LogitsRows rows = model::LogitsRows::kLast;
    float* logits = nullptr;
    float* hidden_out = nullptr;
  };
  Status feed_batch(model::Scratch& scratch, std::span<const BatchItem> items) const;
  // Log-softmax over the whole vocabulary at every position of ids (FP32 unless the engine is BF16).
  Expected<std::vector<PositionScore>> score(std::span<const int32_t> ids, int top_k) const;
  Expected<GenerateResult> generate(Session& s, std::span<const int32_t> prompt, const GenerateParams& p) const;
  bool has_mtp() const;
  // Ids that end generation (see collect_eos_ids), fixed at load.
  const std::vector<int32_t>& eos_ids() const { return eos_ids_; }
  // Ids of the logits row the tokenizer has no text for (config.json pads the vocabulary beyond the
  // tokenizer: DeepSeek-V3 129280 vs 128815); text generation must never sample them. Fixed at load.
  const std::vector<int32_t>& textless_ids() const { return textless_ids_; }

 private:
  Engine() = default;
  Status collect_eos_ids(const std::string& model_path);
  Expected<GenerateResult> generate_speculative(Session& s, std::span<const int32_t> prompt, const GenerateParams& p) const;
  std::unique_ptr<model::CausalLM> model_;
  std::unique_ptr<ThreadPool> pool_;
  kernels::KernelTable kernels_;
  model::Context ctx_;
  std::optional<tokenizer::Tokenizer> tokenizer_;
  std::vector<int32_t> eos_ids_;
  std::vector<int32_t> textless_ids_;
};

// Natural-log softmax helper: writes lse and returns it.
double log_sum_exp(const float* x, int64_t n);

// The tokenizer of a model folder (tokenizer.json + tokenizer_config.json) or of a .gguf file (its
// tokenizer.ggml.* keys), for commands that need no weights (tokenize, detokenize).
Expected<tokenizer::Tokenizer> load_model_tokenizer(const std::string& model_path);

}  // namespace radseek::engine

// A loaded DeepSeek-V2/V3 model and its forward pass (spec §3): embed → layers of (RMSNorm, MLA,
// RMSNorm, dense MLP or MoE) → final norm → lm_head.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "format/hf_config.h"
#include "format/safetensors.h"
#include "model/causal_lm.h"
#include "model/context.h"
#include "model/kv_cache.h"
#include "model/linear.h"
#include "model/rope.h"
#include "model/param_count.h"
#include "model/weights.h"

namespace radseek::model {

// Rows [row0, row0+T) of a step belong to a sequence whose cache already holds pos0 tokens.
struct SeqRows {
  int64_t row0 = 0, T = 0, pos0 = 0;
  const float* cache_layer = nullptr;  // decompressed form: [capacity, c+dr] as f32
  const KvCache* cache = nullptr;      // absorbed form: read in its stored dtype
  int64_t layer = 0;
};

// Absorbed attention runs in passes of up to max(kAttnPassVectors, H) query vectors (query rows ×
// heads); each sequence's cache is split into at most kAttnMaxChunks chunks of at least
// kAttnMinChunk rows, which bounds the partial results a pass keeps and gives the threads work.
inline constexpr int64_t kAttnPassVectors = 64;
// The decompressed form works on blocks of this many queries of one head (Scratch::att_p rows).
inline constexpr int64_t kAttnQueryBlock = 32;
inline constexpr int64_t kAttnMaxChunks = 32;
inline constexpr int64_t kAttnMinChunk = 64;
// A pass whose every cache layer holds at most this many bytes skips the chunks: one task per query
// vector reads the whole layer (it stays in L2 while the heads reuse it).
inline constexpr int64_t kFusedMaxBytes = 256 << 10;
// Chunk rows for a cache of L rows: a function of L alone, so results do not depend on threads.
constexpr int64_t attn_chunk_rows(int64_t L) {
  return std::max(kAttnMinChunk, (L + kAttnMaxChunks - 1) / kAttnMaxChunks);
}

// One sequence's query rows within an absorbed-attention pass.
struct AttnPassSeq {
  const SeqRows* seq = nullptr;
  int64_t first_t = 0, rows = 0;  // query rows first_t .. first_t+rows-1 of the sequence
  int64_t vec0 = 0;               // its first query vector in the pass (vector = row · H + head)
  int64_t L = 0, chunk = 0, chunks = 0;  // cache rows its last query sees, chunk rows, chunk count
  int64_t part0 = 0;              // its first partial-result slot (slot = part0 + chunk · rows·H + vector)
};

// MoE steps of at most this many tokens run all their experts' products as two pool batches
// (Model::experts_batched) instead of one product at a time: decode, and prompts up to this length
// (a 512-token prompt had waited on ~190 barriers a layer, 6-8% of its samples in the pool, 1-2%
// batched). The batched form keeps a row per (token, expert) pair: T·k rows of the expert buffers.
inline constexpr int64_t kMoeBatchMaxTokens = 512;

// Reusable activation buffers. They grow to the largest step seen and are then reused, so decode
// steps allocate nothing.
struct Scratch {
  int64_t tokens = 0, context = 0, threads = 0;  // capacities the buffers are sized for
  int64_t tokens_in_step = 0;                      // rows of the current step
  std::vector<float> x, a, tmp;         // [T, d]
  std::vector<float> qa;                // [T, q_lora_rank]
  std::vector<float> q;                 // [T, H·(dn+dr)]
  std::vector<float> kv;                // [T, c+dr]
  std::vector<float> kv_row;            // [c+dr] one cache row before it is stored
  std::vector<float> cache_f32;         // bf16/fp8 caches: [L, c+dr] one layer decoded to f32
  std::vector<float> rope_cs;           // [T, dr]
  std::vector<float> attn_o;            // [T, H·dv]
  std::vector<float> kv_full;           // naive: [L, H·(dn+dv)]
  std::vector<float> att_q;             // absorbed: [pass vectors, c+dr] absorbed queries (× softmax scale)
  std::vector<float> att_sc;            // absorbed, per thread: [pass vectors, chunk rows] scores → weights
  std::vector<float> att_part;          // absorbed: [chunks · pass vectors, c+dr] Σ weight · cache row per chunk
  std::vector<float> att_stat;          // absorbed: [chunks · pass vectors, 2] chunk max score, Σ weights
  std::vector<AttnPassSeq> att_seqs;    // absorbed: the current pass
  std::vector<float> head_lat;          // per thread: [c] latent attention output
  std::vector<float> scores;            // per thread: [L]
  std::vector<float> att_kh;            // naive, per thread: [L, dn+dr] one head's keys
  std::vector<float> att_vt;            // naive, per thread: [dv, L] one head's values, transposed
  std::vector<float> att_p;             // naive, per thread: [kAttnQueryBlock, L] scores → weights
  std::vector<float> ffn_gate, ffn_up;  // [T, max(inter, shared inter)]
  std::vector<float> router;            // [T, E]
  std::vector<float> sel_scores;        // [E] bias-corrected selection scores of one token
  std::vector<int32_t> sel_idx;         // [T, k]
  std::vector<float> sel_w;             // [T, k]
  std::vector<SeqRows> absorbed;        // sequences of the step using the absorbed form
  std::vector<float> mtp_in;            // [T, 2d]: [enorm(emb) | hnorm(hidden)] (MTP input)
  std::vector<int32_t> expert_tokens;   // [T·k] token ids grouped by expert
  std::vector<float> expert_w;          // [T·k]
  std::vector<int32_t> expert_offset;   // [E+1]
  // Gathered expert inputs / outputs: [T, ·] one expert at a time, or [T·k, ·] for experts_batched;
  // ex_x holds the inputs, then the down projections' outputs.
  std::vector<float> ex_x, ex_gate, ex_up;
  std::vector<LinearArgs> moe_jobs;     // experts_batched: [2 + 2·min(E, T·k)] products of one batch
  LinearBatchScratch batch;
};

// DeepSeek-V2/V3 (MLA + MoE).
// One multi-token-prediction step (spec §3.8): row t combines the main model's final-normed hidden
// state at position i with the token at i+1 and predicts the token at i+2.
struct MtpStep {
  const float* hidden = nullptr;      // [T, d] final-normed hidden states of the main model
  std::span<const int32_t> tokens;    // [T] the tokens that follow those positions
  KvCache* cache = nullptr;           // the MTP module's own one-layer cache
  Scratch* scratch = nullptr;
  float* logits = nullptr;            // [1, vocab]: the last row's draft distribution
};

class Model : public CausalLM {
 public:
  static Expected<std::unique_ptr<Model>> load(const std::string& dir, FileBacking backing = FileBacking::kMapped);
  // From a parsed config and its checkpoint (a GGUF file seen as one: format/gguf_model.h).
  static Expected<std::unique_ptr<Model>> load(format::ModelConfig cfg, format::Checkpoint ckpt);

  const format::ModelConfig& config() const override { return cfg_; }
  const ModelWeights& weights() const { return weights_; }
  const format::Checkpoint& checkpoint() const override { return ckpt_; }
  const RopeTables& rope() const { return rope_; }

  KvCache make_cache(int64_t capacity) const override;
  void set_kv_cache_dtype(KvDtype d) override { kv_dtype_ = d; }
  void prepare(const Context& ctx) override;
  // Runs the tokens through every layer, appending them to the cache.
  Status forward_batch(const Context& ctx, const BatchArgs& args) const override;
  TokenBytes weight_bytes(kernels::ActPrecision p) const override;
  const kernels::WeightMatrix& representative_weight() const override;
  // MTP module (depth 1); has_mtp() false when the checkpoint carries none.
  bool has_mtp() const { return !weights_.mtp.empty(); }
  KvCache make_mtp_cache(int64_t capacity) const;
  Status mtp_forward(const Context& ctx, const MtpStep& step) const;

 private:
  void ensure_scratch(Scratch& s, int64_t T, int64_t L, int threads) const;
  void run_layer(const Context& ctx, const LayerWeights& lw, int64_t layer, std::span<const SeqStep> seqs,
                 Scratch& s) const;
  void attention(const Context& ctx, const LayerWeights& lw, int64_t layer, std::span<const SeqStep> seqs,
                 Scratch& s) const;
  void attend_absorbed(const Context& ctx, const MlaWeights& w, std::span<const SeqRows> seqs, Scratch& s) const;
  void absorbed_pass(const Context& ctx, const MlaWeights& w, int64_t vectors, Scratch& s) const;
  void absorbed_query(const Context& ctx, const MlaWeights& w, int64_t v, Scratch& s) const;
  void value_up(const Context& ctx, const MlaWeights& w, const AttnPassSeq& p, int64_t v, const float* o_lat,
                Scratch& s) const;
  void attend_vector(const Context& ctx, const MlaWeights& w, int64_t v, int th, Scratch& s) const;
  void attend_naive(const Context& ctx, const MlaWeights& w, const SeqRows& seq, Scratch& s) const;
  void mlp(const Context& ctx, const MlpWeights& w, const float* x, int64_t m, float* y, Scratch& s) const;
  void moe(const Context& ctx, const MoeWeights& w, int64_t T, Scratch& s) const;
  void experts_batched(const Context& ctx, const MoeWeights& w, int64_t T, Scratch& s) const;
  void route(const MoeWeights& w, int64_t T, Scratch& s) const;

  format::ModelConfig cfg_;
  format::Checkpoint ckpt_;
  ModelWeights weights_;
  RopeTables rope_;
  KvDtype kv_dtype_ = KvDtype::kF32;  // of the main caches; the MTP cache stays f32
  std::vector<uint8_t> fp8_flags_;     // every FP8 matrix's WeightMatrix::fp8_flags, back to back (prepare)
};

}  // namespace radseek::model

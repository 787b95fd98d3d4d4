// The trainable DeepSeek-V3-architecture model (spec §3): forward over a batch of equal-length
// sequences keeping every activation the backward pass needs, then the backward pass into a gradient
// buffer laid out like the parameters. Attention is the naive (decompressed) MLA form with a causal
// softmax; MoE routing is the engine's (model/routing.h) so selection matches inference exactly.
//
// Legend: B sequences of S tokens, N = B·S rows, d hidden, H heads, dn/dr/dv head dims, c kv_lora_rank,
// cq q_lora_rank, E routed experts, K experts per token, V vocab.
#pragma once

#include <cstdint>
#include <vector>

#include "format/hf_config.h"
#include "model/rope.h"
#include "train/ops.h"
#include "train/params.h"

namespace radseek::train {

// A batch: targets < 0 do not count (padding, prompt tokens in SFT).
struct Batch {
  int64_t B = 0, S = 0;
  std::vector<int32_t> tokens;   // [B, S]
  std::vector<int32_t> targets;  // [B, S]
  // [B, S] or empty (all 1): each counted target's cross-entropy is scaled by its weight, so the loss
  // is (1/counted) Σ w·CE. GRPO's per-token policy-gradient coefficients (train/grpo.h); may be < 0.
  std::vector<float> weights = {};
};

template <typename T>
struct MlpActs {
  int64_t m = 0;
  std::vector<T> x;        // [m, d] input rows (gathered rows for experts; empty when the input is f)
  std::vector<T> g, u, h;  // [m, inter]
};

template <typename T>
struct MoeActs {
  std::vector<T> z, s;               // [N, E] router logits, affinities
  std::vector<int32_t> idx;          // [N, K] chosen experts (engine's selection)
  std::vector<T> w;                  // [N, K] routing weights
  std::vector<int32_t> offset;       // [E+1] assignments grouped by expert
  std::vector<int32_t> slot;         // [N·K] assignment -> n·K + j
  std::vector<MlpActs<T>> experts;   // [E]
  std::vector<T> y;                  // [N·K, d] expert outputs in assignment order
  MlpActs<T> shared;
};

template <typename T>
struct LayerActs {
  std::vector<T> x_in, a, a_rstd;        // [N, d], [N, d], [N]
  std::vector<T> qa_raw, qa, qa_rstd;    // [N, cq], [N, cq], [N]
  std::vector<T> q;                      // [N, H·(dn+dr)], rope part rotated
  std::vector<T> kv_lat;                 // [N, c] latent before its norm
  std::vector<T> ckv, ckv_rstd, kpe;     // [N, c], [N], [N, dr] (rotated)
  std::vector<T> kvb;                    // [N, H·(dn+dv)]
  std::vector<T> probs;                  // [B, H, S, S]
  std::vector<T> attn_o;                 // [N, H·dv]
  std::vector<T> x_mid, f, f_rstd;       // [N, d], [N, d], [N]
  MlpActs<T> dense;
  MoeActs<T> moe;
};

// The MTP output head over the rows that have a target, with the cross-entropy's gradient.
template <typename T>
struct HeadActs {
  std::vector<int64_t> rows;       // [M] rows with a target
  std::vector<int32_t> targets;    // [M]
  std::vector<T> in;               // [M, d] their normed hidden states
  std::vector<T> logits, dlogits;  // [M, V]
};

// Multi-token prediction, depth 1 (spec §3.8; V3 report §2.2): row i of a sequence combines the main
// model's final-normed hidden state h_i (what the engine's mtp_forward receives) with the embedding
// of token i+1 and predicts token i+2.
template <typename T>
struct MtpActs {
  std::vector<int32_t> tokens;         // [N] token i+1 (a placeholder at each sequence's last row)
  std::vector<int32_t> targets;        // [N] token i+2 where it counts: the main targets one row on
  std::vector<T> emb, e_rstd, h_rstd;  // [N, d] embedding rows, [N], [N]
  std::vector<T> in;                   // [N, 2d] [enorm(emb) | hnorm(h)]
  LayerActs<T> block;                  // block.x_in [N, d] = in · eh_projᵀ
  std::vector<T> y, yn, y_rstd;        // [N, d] block output, its shared_head.norm, [N]
  HeadActs<T> head;
};

struct TrainModelOptions {
  // λ of the MTP loss (V3 report §2.2: 0.3, then 0.1); the MTP module runs when the layout holds it.
  double mtp_weight = 0.0;
  // False: the layout's MTP module is carried but not run (no loss, no gradient) — GRPO keeps the
  // module it was given for speculative decoding while it trains the main model only.
  bool run_mtp = true;
};

struct ForwardResult {
  double loss = 0.0;          // main next-token CE, mean over counted targets
  int64_t counted = 0;        // targets that count
  double mtp_loss = 0.0;      // MTP CE (token i+2), mean over its counted targets; 0 without MTP
  int64_t mtp_counted = 0;
  double objective = 0.0;     // loss + mtp_weight · mtp_loss: what backward() differentiates
  std::vector<int64_t> expert_load;  // [moe layers · E] tokens routed to each expert this batch (MTP layer last)
};

template <typename T>
class TrainModel {
 public:
  TrainModel(const format::ModelConfig& cfg, const ParamLayout& layout, TrainModelOptions options = {});

  // Runs the batch, keeping activations for backward(). params: [layout.total].
  ForwardResult forward(const Context& ctx, const T* params, const Batch& batch);
  // Accumulates d(loss)/d(params) into grads [layout.total] for the last forward().
  void backward(const Context& ctx, const T* params, T* grads);

  // [rows with a target, V] of the last forward, in row order ([N, V] when every row counts): the
  // output head runs on those rows only (in SFT most rows are prompt, and the head is a large share).
  const std::vector<T>& logits() const { return logits_; }
  // [rows with an MTP target, V]: the MTP module's logits for token i+2, in row order.
  const std::vector<T>& mtp_logits() const { return mtp_.head.logits; }
  bool has_mtp() const { return has_mtp_; }
  const format::ModelConfig& config() const { return cfg_; }
  const std::vector<LayerActs<T>>& layer_acts() const { return acts_; }

 private:
  void attention_forward(const Context& ctx, const LayerView<T>& w, LayerActs<T>& A);
  void attention_backward(const Context& ctx, const LayerView<T>& w, const LayerView<T>& g, LayerActs<T>& A, T* dx);
  void project_q_backward(const Context& ctx, const LayerView<T>& w, const LayerView<T>& g, LayerActs<T>& A,
                          const T* dq, T* da);
  void ffn_forward(const Context& ctx, const LayerView<T>& w, LayerActs<T>& A, T* x_out);
  void ffn_backward(const Context& ctx, const LayerView<T>& w, const LayerView<T>& g, LayerActs<T>& A, T* dx);
  void moe_forward(const Context& ctx, const LayerView<T>& w, LayerActs<T>& A, T* y);
  void moe_backward(const Context& ctx, const LayerView<T>& w, const LayerView<T>& g, LayerActs<T>& A,
                    const T* dy, T* df);
  void route(const LayerView<T>& w, MoeActs<T>& M);
  void mtp_embed(const ModelView<T>& w);
  double mtp_head_loss(const Context& ctx, const T* head, HeadActs<T>& H) const;
  std::vector<T> mtp_head_backward(const Context& ctx, const T* head, T* dhead, const HeadActs<T>& H) const;
  void mtp_forward(const Context& ctx, const ModelView<T>& w, ForwardResult& r);
  void mtp_backward(const Context& ctx, const ModelView<T>& w, const ModelView<T>& g, T* dhn);
  void routing_backward(const MoeActs<T>& M, const T* dw, T* dz) const;

  format::ModelConfig cfg_;
  const ParamLayout* layout_;
  TrainModelOptions opt_;
  bool has_mtp_ = false;
  model::RopeTables rope_;
  int64_t B_ = 0, S_ = 0, N_ = 0;
  std::vector<int32_t> tokens_, targets_;
  std::vector<float> rope_cs_;  // [S, dr]
  std::vector<LayerActs<T>> acts_;
  std::vector<T> x_final_, hn_, h_rstd_, logits_, dlogits_;
  std::vector<int64_t> head_rows_;   // rows with a target
  std::vector<T> head_in_;           // [head rows, d] their normed hidden states
  std::vector<int32_t> head_targets_;
  MtpActs<T> mtp_;
  std::vector<float> head_weights_;  // [head rows] or empty (all 1)
};

// The MLP (dense layer, shared expert, one routed expert): y [m, d] = SwiGLU(x); acts keep g, u, h.
template <typename T>
void mlp_forward(const Context& ctx, const MlpView<T>& w, int64_t d, const T* x, MlpActs<T>& acts, T* y);
// dx [m, d] += ...; weight gradients into gw.
template <typename T>
void mlp_backward(const Context& ctx, const MlpView<T>& w, const MlpView<T>& gw, int64_t d, const T* x,
                  MlpActs<T>& acts, const T* dy, T* dx);

}  // namespace radseek::train

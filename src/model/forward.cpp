#include <algorithm>
#include <cstring>

#include "model/linear.h"
#include "model/model.h"

namespace radseek::model {
namespace {

template <typename T>
void grow(std::vector<T>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
}

}  // namespace

Expected<std::unique_ptr<Model>> Model::load(const std::string& dir, FileBacking backing) {
  auto cfg = format::load_model_config(dir);
  if (!cfg) return cfg.error();
  auto ckpt = format::Checkpoint::open(dir, backing);
  if (!ckpt) return ckpt.error();
  return load(std::move(*cfg), std::move(*ckpt));
}

Expected<std::unique_ptr<Model>> Model::load(format::ModelConfig cfg, format::Checkpoint ckpt) {
  auto m = std::unique_ptr<Model>(new Model());
  m->cfg_ = std::move(cfg);
  m->ckpt_ = std::move(ckpt);
  auto w = load_weights(m->ckpt_, m->cfg_);
  if (!w) return w.error();
  m->weights_ = std::move(*w);
  m->rope_ = make_rope_tables(m->cfg_);
  return m;
}

KvCache Model::make_cache(int64_t capacity) const {
  return KvCache(KvCacheShape{.n_layers = cfg_.num_hidden_layers, .capacity = capacity,
                              .row_size = cfg_.kv_lora_rank + cfg_.qk_rope_head_dim},
                 kv_dtype_);
}

void Model::ensure_scratch(Scratch& s, int64_t T, int64_t L, int threads) const {
  if (T <= s.tokens && L <= s.context && threads <= s.threads) return;
  T = std::max(T, s.tokens);
  L = std::max(L, s.context);
  threads = std::max<int>(threads, static_cast<int>(s.threads));
  const auto& c = cfg_;
  const int64_t d = c.hidden_size, H = c.num_attention_heads, C = c.kv_lora_rank, dr = c.qk_rope_head_dim;
  const int64_t k = std::max<int64_t>(c.num_experts_per_tok, 1);
  const int64_t inter = std::max({c.intermediate_size, c.n_shared_experts * c.moe_intermediate_size,
                                  c.moe_intermediate_size});
  grow(s.x, T * d);
  grow(s.a, T * d);
  grow(s.tmp, T * d);
  grow(s.qa, T * c.q_lora_rank.value_or(0));
  grow(s.q, T * H * c.qk_head_dim());
  grow(s.kv, T * (C + dr));
  grow(s.kv_row, C + dr);
  grow(s.rope_cs, T * dr);
  grow(s.attn_o, T * H * c.v_head_dim);
  grow(s.kv_full, L * H * (c.qk_nope_head_dim + c.v_head_dim));
  const int64_t pass_vectors = std::max(kAttnPassVectors, H);
  grow(s.att_q, pass_vectors * (C + dr));
  grow(s.att_sc, threads * pass_vectors * attn_chunk_rows(L));
  grow(s.att_part, kAttnMaxChunks * pass_vectors * (C + dr));
  grow(s.att_stat, kAttnMaxChunks * pass_vectors * 2);
  if (s.att_seqs.capacity() < static_cast<size_t>(pass_vectors)) s.att_seqs.reserve(static_cast<size_t>(pass_vectors));
  grow(s.head_lat, threads * C);
  grow(s.scores, threads * L);
  grow(s.att_kh, threads * L * c.qk_head_dim());
  grow(s.att_vt, threads * L * c.v_head_dim);
  grow(s.att_p, threads * L * kAttnQueryBlock);
  grow(s.ffn_gate, T * inter);
  grow(s.ffn_up, T * inter);
  grow(s.router, T * std::max<int64_t>(c.n_routed_experts, 1));
  grow(s.sel_scores, std::max<int64_t>(c.n_routed_experts, 1));
  grow(s.sel_idx, T * k);
  grow(s.sel_w, T * k);
  grow(s.expert_tokens, T * k);
  grow(s.expert_w, T * k);
  grow(s.expert_offset, c.n_routed_experts + 1);
  const int64_t ex_rows = T <= kMoeBatchMaxTokens ? T * k : T;  // experts_batched: a row per (token, expert)
  grow(s.ex_x, ex_rows * d);
  grow(s.ex_gate, ex_rows * c.moe_intermediate_size);
  grow(s.ex_up, ex_rows * c.moe_intermediate_size);
  const int64_t max_jobs = 2 + 2 * std::min(c.n_routed_experts, ex_rows);
  if (s.moe_jobs.capacity() < static_cast<size_t>(max_jobs)) s.moe_jobs.reserve(static_cast<size_t>(max_jobs));
  if (s.batch.first_task.capacity() < static_cast<size_t>(max_jobs + 1)) {
    s.batch.first_task.reserve(static_cast<size_t>(max_jobs + 1));
    s.batch.chunk.reserve(static_cast<size_t>(max_jobs));
    s.batch.xq_offset.reserve(static_cast<size_t>(max_jobs));
    s.batch.quantize_here.reserve(static_cast<size_t>(max_jobs));
  }
  grow(s.mtp_in, T * 2 * d);
  s.tokens = T;
  s.context = L;
  s.threads = threads;
}


// A load-time pass over the FP8 weights, which also pages them in: V2-Lite-8L's 4.3 GB of FP8
// matrices took 0.53 CPU-seconds of scanning (perf, 2 threads) on top of the page faults the first
// tokens would take anyway. Tasks of whole flag bytes (kFp8FlagRows rows) so no two threads write one.
void Model::prepare(const Context& ctx) {
  const kernels::KernelTable& kt = *ctx.kernels;
  if (!kt.gemm_reads_fp8_flags || kt.fp8_flags == nullptr || !fp8_flags_.empty()) return;
  std::vector<kernels::WeightMatrix*> fp8;
  for_each_matrix(weights_, [&](kernels::WeightMatrix& w) {
    if (w.dtype == DType::kF8E4M3 && !kernels::is_ggml(w) && w.block_scale != nullptr && w.fp8_flags == nullptr) fp8.push_back(&w);
  });
  std::vector<int64_t> offset{0};
  for (const kernels::WeightMatrix* w : fp8) offset.push_back(offset.back() + kernels::fp8_flags_bytes(*w));
  fp8_flags_.resize(static_cast<size_t>(offset.back()));
  constexpr int64_t kTaskRows = 32 * kernels::kFp8FlagRows;
  struct Task { size_t matrix; int64_t row0; };
  std::vector<Task> tasks;
  for (size_t i = 0; i < fp8.size(); ++i)
    for (int64_t r = 0; r < fp8[i]->rows; r += kTaskRows) tasks.push_back({i, r});
  ctx.pool->parallel_for(static_cast<int64_t>(tasks.size()), [&](int64_t t, int) {
    const Task& task = tasks[static_cast<size_t>(t)];
    const kernels::WeightMatrix& w = *fp8[task.matrix];
    kt.fp8_flags(kernels::Fp8FlagsArgs{.w = &w, .row_begin = task.row0, .row_end = std::min(w.rows, task.row0 + kTaskRows),
                                       .flags = fp8_flags_.data() + offset[task.matrix]});
  });
  for (size_t i = 0; i < fp8.size(); ++i) fp8[i]->fp8_flags = fp8_flags_.data() + offset[i];
}

TokenBytes Model::weight_bytes(kernels::ActPrecision p) const { return weight_bytes_per_token(weights_, cfg_, p); }

const kernels::WeightMatrix& Model::representative_weight() const {
  const LayerWeights& last = weights_.layers.back();  // past first_k_dense_replace when there are MoE layers
  if (last.moe && !last.moe->experts.empty()) return last.moe->experts.front().gate_proj;
  if (last.mlp) return last.mlp->gate_proj;
  return weights_.lm_head;
}

// One pre-norm block on s.x [T, d]: x += MLA(norm(x)); x += FFN(norm(x)). `layer` indexes the caches.
void Model::run_layer(const Context& ctx, const LayerWeights& lw, int64_t layer, std::span<const SeqStep> seqs,
                      Scratch& s) const {
  const int64_t T = s.tokens_in_step, d = cfg_.hidden_size;
  const kernels::KernelTable& kt = *ctx.kernels;
  const float eps = static_cast<float>(cfg_.rms_norm_eps);
  for (int64_t t = 0; t < T; ++t)
    kt.rmsnorm_f32(s.x.data() + t * d, lw.input_layernorm.w.data(), eps, s.a.data() + t * d, d);
  attention(ctx, lw, layer, seqs, s);  // s.tmp = MLA(a)
  for (int64_t i = 0; i < T * d; ++i) s.x[i] += s.tmp[i];
  for (int64_t t = 0; t < T; ++t)
    kt.rmsnorm_f32(s.x.data() + t * d, lw.post_attention_layernorm.w.data(), eps, s.a.data() + t * d, d);
  if (lw.moe) moe(ctx, *lw.moe, T, s);  // s.tmp = MoE(a)
  else mlp(ctx, *lw.mlp, s.a.data(), T, s.tmp.data(), s);
  for (int64_t i = 0; i < T * d; ++i) s.x[i] += s.tmp[i];
}

Status Model::forward_batch(const Context& ctx, const BatchArgs& args) const {
  RADSEEK_TRY(validate_steps(args.seqs, cfg_.vocab_size));
  int64_t T = 0, L = 0;
  for (const SeqStep& q : args.seqs) {
    T += static_cast<int64_t>(q.tokens.size());
    L = std::max(L, q.cache->capacity());
  }
  if (T == 0) return {};
  const int64_t d = cfg_.hidden_size, V = cfg_.vocab_size, dr = cfg_.qk_rope_head_dim;
  Scratch& s = *args.scratch;
  ensure_scratch(s, T, L, ctx.pool->size());
  s.tokens_in_step = T;
  s.absorbed.reserve(args.seqs.size());
  const kernels::KernelTable& kt = *ctx.kernels;
  int64_t r = 0;
  for (const SeqStep& q : args.seqs)
    for (size_t t = 0; t < q.tokens.size(); ++t, ++r) {
      dequant_rows(weights_.embed_tokens, q.tokens[t], 1, s.x.data() + r * d);
      rope_cos_sin(rope_, q.cache->length() + static_cast<int64_t>(t), s.rope_cs.data() + r * dr);
    }
  const float eps = static_cast<float>(cfg_.rms_norm_eps);
  for (int64_t l = 0; l < cfg_.num_hidden_layers; ++l) run_layer(ctx, weights_.layers[l], l, args.seqs, s);
  for (int64_t t = 0; t < T; ++t)
    kt.rmsnorm_f32(s.x.data() + t * d, weights_.norm.w.data(), eps, s.a.data() + t * d, d);
  finish_step(ctx, {.seqs = args.seqs, .normed = s.a.data(), .d = d, .lm_head = &weights_.lm_head, .vocab = V});
  return {};
}

}  // namespace radseek::model

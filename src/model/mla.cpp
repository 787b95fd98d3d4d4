// Multi-head Latent Attention (spec §3.5). Legend: T new tokens at positions pos0..pos0+T-1,
// L = pos0+T cached tokens, H heads, dn/dr/dv head dims, c = kv_lora_rank.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "model/linear.h"
#include "model/model.h"

namespace radseek::model {
namespace {

// Prompts at least this long use the decompressed (naive) form: decompressing K/V once costs
// L·H·(dn+dv)·c, less than absorbing every query when many queries share the cache.
constexpr int64_t kNaiveMinTokens = 16;

// Rows per task when a bf16/fp8 cache layer is decoded to f32 (for the decompressed form).
constexpr int64_t kDecodeChunk = 64;

// The first L rows of one cache layer as f32 [L, c+dr] for the decompressed form: the cache itself
// when it is f32, else decoded once per layer and step into s.cache_f32.
const float* f32_rows(const Context& ctx, const KvCache& cache, int64_t layer, int64_t L, Scratch& s) {
  if (cache.dtype() == KvDtype::kF32) return cache.layer(layer);
  const int64_t R = cache.row_size();
  if (static_cast<int64_t>(s.cache_f32.size()) < L * R)
    s.cache_f32.resize(static_cast<size_t>(std::max(L, s.context) * R));  // grows once, like the rest of Scratch
  float* out = s.cache_f32.data();
  ctx.pool->parallel_for((L + kDecodeChunk - 1) / kDecodeChunk, [&](int64_t i, int) {
    const int64_t j0 = i * kDecodeChunk;
    cache.decode_rows(layer, j0, std::min(kDecodeChunk, L - j0), out + j0 * R);
  });
  return out;
}

}  // namespace

void Model::attention(const Context& ctx, const LayerWeights& lw, int64_t layer, std::span<const SeqStep> seqs,
                      Scratch& s) const {
  const auto& c = cfg_;
  const MlaWeights& w = lw.attn;
  const int64_t d = c.hidden_size, H = c.num_attention_heads, C = c.kv_lora_rank, dr = c.qk_rope_head_dim;
  const int64_t dn = c.qk_nope_head_dim, dq = c.qk_head_dim();
  const int64_t T = s.tokens_in_step;
  const kernels::KernelTable& kt = *ctx.kernels;
  const float eps = static_cast<float>(c.rms_norm_eps);
  // Queries q [T, H, dn+dr] (through q_a [T, cq] with q-LoRA) and the compressed KV kv [T, c+dr] =
  // [latent | rope key] (the cache keeps norm(latent) and rope(key)) read the same input: one pool
  // call for both products, so a thread done with one takes rows of the other.
  const int64_t cq = w.q_a_proj ? *c.q_lora_rank : 0;
  const std::array<LinearArgs, 2> first{
      w.q_a_proj ? LinearArgs{.x = s.a.data(), .m = T, .ldx = d, .w = &*w.q_a_proj, .y = s.qa.data(), .ldy = cq}
                 : LinearArgs{.x = s.a.data(), .m = T, .ldx = d, .w = &*w.q_proj, .y = s.q.data(), .ldy = H * dq},
      LinearArgs{.x = s.a.data(), .m = T, .ldx = d, .w = &w.kv_a_proj_with_mqa, .y = s.kv.data(), .ldy = C + dr}};
  linear_batch(ctx, first, s.batch);
  if (w.q_a_proj) {
    for (int64_t t = 0; t < T; ++t)
      kt.rmsnorm_f32(s.qa.data() + t * cq, w.q_a_layernorm.w.data(), eps, s.qa.data() + t * cq, cq);
    linear(ctx, LinearArgs{.x = s.qa.data(), .m = T, .ldx = cq, .w = &*w.q_b_proj, .y = s.q.data(), .ldy = H * dq});
  }
  s.absorbed.clear();
  int64_t r = 0;
  for (const SeqStep& q : seqs) {
    KvCache& cache = *q.cache;
    const int64_t T = static_cast<int64_t>(q.tokens.size()), pos0 = cache.length();
    float* row = s.kv_row.data();  // [c+dr], stored in the cache's dtype
    for (int64_t t = r; t < r + T; ++t) {
      const float* src = s.kv.data() + t * (C + dr);
      const float* cs = s.rope_cs.data() + t * dr;
      kt.rmsnorm_f32(src, w.kv_a_layernorm.w.data(), eps, row, C);
      std::copy(src + C, src + C + dr, row + C);
      apply_rope_interleaved(cs, dr, row + C);
      cache.write_row(layer, pos0 + t - r, row);
      for (int64_t h = 0; h < H; ++h) apply_rope_interleaved(cs, dr, s.q.data() + t * H * dq + h * dq + dn);
    }
    const bool naive = ctx.attention == AttentionMode::kNaive ||
                       (ctx.attention == AttentionMode::kAuto && T >= kNaiveMinTokens);
    // A decoded bf16/fp8 layer lives in s.cache_f32 only until the next sequence's: attend at once.
    if (naive) attend_naive(ctx, w, {.row0 = r, .T = T, .pos0 = pos0, .cache_layer = f32_rows(ctx, cache, layer, pos0 + T, s)}, s);
    else s.absorbed.push_back({.row0 = r, .T = T, .pos0 = pos0, .cache = &cache, .layer = layer});
    r += T;
  }
  if (!s.absorbed.empty()) attend_absorbed(ctx, w, s.absorbed, s);
  linear(ctx, LinearArgs{.x = s.attn_o.data(), .m = T, .ldx = H * c.v_head_dim, .w = &w.o_proj, .y = s.tmp.data(), .ldy = d});
}

// Decompressed form: k_nope and v for every cached token from kv_b_proj, then ordinary attention.
void Model::attend_naive(const Context& ctx, const MlaWeights& w, const SeqRows& q, Scratch& s) const {
  const auto& c = cfg_;
  const int64_t H = c.num_attention_heads, C = c.kv_lora_rank, dr = c.qk_rope_head_dim;
  const int64_t dn = c.qk_nope_head_dim, dv = c.v_head_dim, dq = c.qk_head_dim(), R = C + dr;
  const int64_t Lall = q.pos0 + q.T, KV = H * (dn + dv);
  const kernels::KernelTable& kt = *ctx.kernels;
  const float scale = static_cast<float>(rope_.softmax_scale);
  const float* cl = q.cache_layer;
  // A GGUF file's kv_b_proj is held as an exact f32 copy (load_mla); f32 weights run f32 arithmetic at
  // either precision, so its product keeps exact activations at no cost (bf16-rounded latents moved a
  // sharp random-weight softmax by up to 0.5 in logprob where the file's int8 path had moved 0.075).
  linear_with(ctx, LinearArgs{.x = cl, .m = Lall, .ldx = R, .w = &w.kv_b_proj, .y = s.kv_full.data(), .ldy = KV},
              w.kv_b_storage ? kernels::ActPrecision::kF32 : ctx.precision);
  // Per (head, block of kAttnQueryBlock queries) two f32 products instead of one dot product per query
  // and key: scores [tq, Lb] = q · Kₕᵀ, then out [tq, dv] = softmax(scores) · Vₕ, with Kₕ [Lb, dn+dr]
  // and Vₕᵀ [dv, Lb] gathered per task (Lb = the block's causal length). Why: per-key calls read
  // each key's 1 KiB from a 16 KiB-strided kv_full once per query and head — ~20% of a 512-token
  // prefill; gathered once per 32 queries the keys stay in L2 and the products run the f32 panels.
  // Blocks are handed out last first, since a later block attends to more keys.
  const int64_t nblk = (q.T + kAttnQueryBlock - 1) / kAttnQueryBlock;
  ctx.pool->parallel_for(H * nblk, [&](int64_t task, int th) {
    const int64_t h = task % H, b = nblk - 1 - task / H;
    const int64_t t0 = b * kAttnQueryBlock, tq = std::min(kAttnQueryBlock, q.T - t0), Lb = q.pos0 + t0 + tq;
    float* kh = s.att_kh.data() + th * s.context * dq;  // [Lb, dq]
    float* vt = s.att_vt.data() + th * s.context * dv;  // [dv, Lb]
    float* p = s.att_p.data() + th * kAttnQueryBlock * s.context;  // [tq, Lb]
    const float* kv_h = s.kv_full.data() + h * (dn + dv);
    for (int64_t j = 0; j < Lb; ++j) {
      std::copy(kv_h + j * KV, kv_h + j * KV + dn, kh + j * dq);
      std::copy(cl + j * R + C, cl + j * R + C + dr, kh + j * dq + dn);
    }
    kt.transpose_f32({.a = kv_h + dn, .lda = KV, .rows = Lb, .cols = dv, .out = vt, .ldo = Lb});
    const kernels::WeightMatrix kw{.dtype = DType::kF32, .data = kh, .rows = Lb, .cols = dq};
    const kernels::WeightMatrix vw{.dtype = DType::kF32, .data = vt, .rows = dv, .cols = Lb};
    kt.gemm({.x = s.q.data() + (q.row0 + t0) * H * dq + h * dq, .m = tq, .ldx = H * dq, .w = &kw, .y = p, .ldy = Lb,
             .n_begin = 0, .n_end = Lb, .precision = kernels::ActPrecision::kF32});
    for (int64_t i = 0; i < tq; ++i) {
      float* row = p + i * Lb;
      const int64_t L = q.pos0 + t0 + i + 1;  // causal: keys 0 .. L-1
      for (int64_t j = 0; j < L; ++j) row[j] *= scale;
      softmax_inplace(row, L);
      std::fill(row + L, row + Lb, 0.0f);
    }
    kt.gemm({.x = p, .m = tq, .ldx = Lb, .w = &vw, .y = s.attn_o.data() + (q.row0 + t0) * H * dv + h * dv,
             .ldy = H * dv, .n_begin = 0, .n_end = dv, .precision = kernels::ActPrecision::kF32});
  });
}

}  // namespace radseek::model

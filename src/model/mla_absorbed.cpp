// Weight-absorbed MLA for decode (spec §3.5), split over the cache as in flash-decoding. Every head
// of a token scores the same latent rows, so the heads go together through the kernels' gemm against
// a chunk of cache rows, read in their stored dtype (f32, bf16, or fp8 with a scale per row): a chunk
// is read once from memory for all heads instead of once per head, and never decoded to an f32 copy.
//   1. per query vector (query row × head): qa = [W_UKᵀ·q_nope | q_pe] · softmax scale      [c+dr]
//   2. per (sequence, chunk): scores [vectors, n] = qa · chunkᵀ; per vector the chunk's max m,
//      weights p = exp(score - m), l = Σ p and part = Σ p · row                         [c+dr]
//   3. per query vector: o_lat = Σ_chunks e^(m_k - M) · part_k / Σ_chunks e^(m_k - M) · l_k, then
//      o = W_UV · o_lat.
// Chunks depend on the cache length alone and partial results are merged in chunk order, so the
// output does not depend on the number of threads or on which thread took a chunk.
// Legend: H heads, c = kv_lora_rank, dr rope dims, R = c + dr, n rows in a chunk.
#include <algorithm>
#include <cmath>
#include <limits>

#include "model/model.h"

namespace radseek::model {
namespace {

// The pass's sequence holding query vector v (passes hold few sequences: a linear scan).
const AttnPassSeq& seq_of_vector(const std::vector<AttnPassSeq>& seqs, int64_t v, int64_t H) {
  for (const AttnPassSeq& p : seqs)
    if (v < p.vec0 + p.rows * H) return p;
  return seqs.back();
}

// The pass's (sequence, chunk) for a flattened chunk task.
std::pair<const AttnPassSeq*, int64_t> chunk_task(const std::vector<AttnPassSeq>& seqs, int64_t task) {
  for (const AttnPassSeq& p : seqs) {
    if (task < p.chunks) return {&p, task};
    task -= p.chunks;
  }
  return {&seqs.back(), 0};
}

// A split GGUF file's attn_k_b / attn_v_b as stored, where decode reads them: at kBF16 precision (int8
// activations, as llama.cpp multiplies them); FP32 activations read the exact f32 copy in kv_b_proj.
const kernels::WeightMatrix* stored_kv_b(const Context& ctx, const std::optional<kernels::WeightMatrix>& w) {
  return w && ctx.precision == kernels::ActPrecision::kBF16 ? &*w : nullptr;
}

}  // namespace

// Query vector v of the pass as [W_UKᵀ·q_nope | q_pe] · softmax scale → s.att_q row v [c+dr].
void Model::absorbed_query(const Context& ctx, const MlaWeights& w, int64_t v, Scratch& s) const {
  const auto& c = cfg_;
  const int64_t H = c.num_attention_heads, C = c.kv_lora_rank, R = C + c.qk_rope_head_dim;
  const int64_t dn = c.qk_nope_head_dim, dv = c.v_head_dim, dq = c.qk_head_dim();
  const kernels::KernelTable& kt = *ctx.kernels;
  const AttnPassSeq& p = seq_of_vector(s.att_seqs, v, H);
  const int64_t t = p.first_t + (v - p.vec0) / H, h = v % H;
  const float* qr = s.q.data() + (p.seq->row0 + t) * H * dq + h * dq;  // [dn+dr]
  float* qa = s.att_q.data() + v * R;
  if (const kernels::WeightMatrix* kb = stored_kv_b(ctx, w.k_b_proj)) {  // rows h·c .. h·c + c of [H·c, dn]
    kernels::select_gemm(kt, *kb)(kernels::GemmArgs{.x = qr, .m = 1, .ldx = dn, .w = kb, .y = qa, .ldy = C,
                                                    .n_begin = h * C, .n_end = (h + 1) * C,
                                                    .precision = ctx.precision, .y_col_offset = h * C});
  } else {
    std::fill(qa, qa + C, 0.0f);
    kt.gemv_t(kernels::GemvTArgs{.x = qr, .w = &w.kv_b_proj, .row0 = h * (dn + dv), .rows = dn, .y = qa});
  }
  std::copy(qr + dn, qr + dq, qa + C);
  const float scale = static_cast<float>(rope_.softmax_scale);
  for (int64_t i = 0; i < R; ++i) qa[i] *= scale;
}

// o = W_UV · o_lat [c] for query vector v of the pass, into its row of s.attn_o [dv].
void Model::value_up(const Context& ctx, const MlaWeights& w, const AttnPassSeq& p, int64_t v, const float* o_lat,
                     Scratch& s) const {
  const auto& c = cfg_;
  const int64_t H = c.num_attention_heads, C = c.kv_lora_rank, dn = c.qk_nope_head_dim, dv = c.v_head_dim;
  const int64_t t = p.first_t + (v - p.vec0) / H, h = v % H;
  float* out = s.attn_o.data() + (p.seq->row0 + t) * H * dv + h * dv;
  if (const kernels::WeightMatrix* vb = stored_kv_b(ctx, w.v_b_proj)) {  // rows h·dv .. h·dv + dv of [H·dv, c]
    kernels::select_gemm(*ctx.kernels, *vb)(kernels::GemmArgs{.x = o_lat, .m = 1, .ldx = C, .w = vb, .y = out, .ldy = dv,
                                                              .n_begin = h * dv, .n_end = (h + 1) * dv,
                                                              .precision = ctx.precision, .y_col_offset = h * dv});
    return;
  }
  const WeightMatrix& uv = w.kv_b_proj;
  const int64_t uv0 = h * (dn + dv) + dn;  // first W_UV row of the head (after its W_UK rows)
  // FP32 activations on float weights: the absorbed form must agree with the naive one (model tests).
  kernels::select_gemm(*ctx.kernels, uv)(kernels::GemmArgs{.x = o_lat, .m = 1, .ldx = C, .w = &uv, .y = out, .ldy = dv,
                                                           .n_begin = uv0, .n_end = uv0 + dv,
                                                           .precision = kernels::ActPrecision::kF32, .y_col_offset = uv0});
}

// A small cache (see kFusedMaxBytes) whole for one query vector: its rows stay in cache while every
// head reads them, so one task per vector and no merge beat the chunked passes' three barriers.
void Model::attend_vector(const Context& ctx, const MlaWeights& w, int64_t v, int th, Scratch& s) const {
  const auto& c = cfg_;
  const int64_t H = c.num_attention_heads, C = c.kv_lora_rank, R = C + c.qk_rope_head_dim;
  const kernels::KernelTable& kt = *ctx.kernels;
  absorbed_query(ctx, w, v, s);
  const AttnPassSeq& p = seq_of_vector(s.att_seqs, v, H);
  const int64_t L = p.seq->pos0 + p.first_t + (v - p.vec0) / H + 1;  // causal
  const kernels::WeightMatrix rows = p.seq->cache->layer_rows(p.seq->layer, 0, L);  // [L, R]
  float* sc = s.scores.data() + th * s.context;  // [L]
  kernels::select_gemm(kt, rows)(kernels::GemmArgs{.x = s.att_q.data() + v * R, .m = 1, .ldx = R, .w = &rows, .y = sc,
                                                   .ldy = L, .n_begin = 0, .n_end = L,
                                                   .precision = kernels::ActPrecision::kF32});
  softmax_inplace(sc, L);
  float* o = s.att_part.data() + th * R;  // [R]; the rope columns are computed and ignored
  std::fill(o, o + R, 0.0f);
  kt.gemv_t(kernels::GemvTArgs{.x = sc, .w = &rows, .row0 = 0, .rows = L, .y = o});
  value_up(ctx, w, p, v, o, s);
}

void Model::attend_absorbed(const Context& ctx, const MlaWeights& w, std::span<const SeqRows> seqs, Scratch& s) const {
  const int64_t H = cfg_.num_attention_heads;
  const int64_t max_rows = std::max<int64_t>(1, std::max(kAttnPassVectors, H) / H);
  s.att_seqs.clear();
  int64_t rows = 0, parts = 0;
  for (const SeqRows& q : seqs) {
    for (int64_t t = 0; t < q.T;) {
      if (rows == max_rows) {
        absorbed_pass(ctx, w, rows * H, s);
        s.att_seqs.clear();
        rows = parts = 0;
      }
      const int64_t n = std::min(q.T - t, max_rows - rows);
      const int64_t L = q.pos0 + t + n, chunk = attn_chunk_rows(L), chunks = (L + chunk - 1) / chunk;
      s.att_seqs.push_back({.seq = &q, .first_t = t, .rows = n, .vec0 = rows * H, .L = L, .chunk = chunk,
                            .chunks = chunks, .part0 = parts});
      parts += chunks * n * H;
      rows += n;
      t += n;
    }
  }
  if (rows > 0) absorbed_pass(ctx, w, rows * H, s);
}

void Model::absorbed_pass(const Context& ctx, const MlaWeights& w, int64_t vectors, Scratch& s) const {
  const int64_t H = cfg_.num_attention_heads, C = cfg_.kv_lora_rank, R = C + cfg_.qk_rope_head_dim;
  const kernels::KernelTable& kt = *ctx.kernels;
  const int64_t sc_stride = std::max(kAttnPassVectors, H) * attn_chunk_rows(s.context);
  bool fused = true;
  for (const AttnPassSeq& p : s.att_seqs)
    fused = fused && p.L * kernels::row_bytes(p.seq->cache->layer_rows(0, 0, 1)) <= kFusedMaxBytes;
  // 1. Absorbed queries; a small cache goes through whole, one task per query vector.
  if (fused) {
    ctx.pool->parallel_for(vectors, [&](int64_t v, int th) { attend_vector(ctx, w, v, th, s); });
    return;
  }
  ctx.pool->parallel_for(vectors, [&](int64_t v, int) { absorbed_query(ctx, w, v, s); });
  // 2. Chunks: scores, local softmax statistics, weighted row sums.
  int64_t tasks = 0;
  for (const AttnPassSeq& p : s.att_seqs) tasks += p.chunks;
  ctx.pool->parallel_for(tasks, [&](int64_t task, int th) {
    const auto [p, k] = chunk_task(s.att_seqs, task);
    const int64_t j0 = k * p->chunk, n = std::min(p->chunk, p->L - j0), m = p->rows * H;
    const kernels::WeightMatrix rows = p->seq->cache->layer_rows(p->seq->layer, j0, n);  // [n, R]
    float* sc = s.att_sc.data() + th * sc_stride;                                       // [m, n]
    kernels::select_gemm(kt, rows)(kernels::GemmArgs{.x = s.att_q.data() + p->vec0 * R, .m = m, .ldx = R, .w = &rows,
                                                     .y = sc, .ldy = n, .n_begin = 0, .n_end = n,
                                                     .precision = kernels::ActPrecision::kF32});
    // Causal: query row t sees cache rows below pos0 + t + 1.
    const auto seen_by = [&](int64_t i) { return std::clamp<int64_t>(p->seq->pos0 + p->first_t + i / H + 1 - j0, 0, n); };
    for (int64_t i = 0; i < m; ++i) {
      const int64_t slot = p->part0 + k * m + i, seen = seen_by(i);
      float* stat = s.att_stat.data() + 2 * slot;
      stat[0] = -std::numeric_limits<float>::infinity();
      stat[1] = 0.0f;
      if (seen == 0) continue;
      float* pr = sc + i * n;
      const float mx = *std::max_element(pr, pr + seen);
      float l = 0.0f;
      for (int64_t j = 0; j < seen; ++j) l += (pr[j] = std::exp(pr[j] - mx));
      std::fill_n(s.att_part.data() + slot * R, R, 0.0f);
      stat[0] = mx;
      stat[1] = l;
    }
    // Σ p · row, the H heads of a query row together: they weigh the same rows, read once per 8 heads.
    for (int64_t i = 0; i < m; i += H) {
      if (seen_by(i) == 0) continue;
      kt.gemv_t(kernels::GemvTArgs{.x = sc + i * n, .w = &rows, .row0 = 0, .rows = seen_by(i),
                                   .y = s.att_part.data() + (p->part0 + k * m + i) * R, .m = H, .ldx = n, .ldy = R});
    }
  });
  // 3. Merge the chunks in order, then W_UV.
  ctx.pool->parallel_for(vectors, [&](int64_t v, int th) {
    const AttnPassSeq& p = seq_of_vector(s.att_seqs, v, H);
    const int64_t i = v - p.vec0, m = p.rows * H;
    float top = -std::numeric_limits<float>::infinity();
    for (int64_t k = 0; k < p.chunks; ++k) top = std::max(top, s.att_stat[2 * (p.part0 + k * m + i)]);
    double denom = 0.0;
    for (int64_t k = 0; k < p.chunks; ++k) {
      const float* stat = s.att_stat.data() + 2 * (p.part0 + k * m + i);
      if (stat[1] > 0.0f) denom += std::exp(static_cast<double>(stat[0] - top)) * stat[1];
    }
    float* o = s.head_lat.data() + th * C;  // [c]
    std::fill(o, o + C, 0.0f);
    for (int64_t k = 0; k < p.chunks; ++k) {
      const int64_t slot = p.part0 + k * m + i;
      const float* stat = s.att_stat.data() + 2 * slot;
      if (stat[1] > 0.0f)
        kt.axpy_f32(static_cast<float>(std::exp(static_cast<double>(stat[0] - top)) / denom), s.att_part.data() + slot * R, o, C);
    }
    value_up(ctx, w, p, v, o, s);
  });
}

}  // namespace radseek::model

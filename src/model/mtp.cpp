// Multi-token prediction module (spec §3.8), used for speculative decoding.
#include <cstring>

#include "model/linear.h"
#include "model/model.h"

namespace radseek::model {

KvCache Model::make_mtp_cache(int64_t capacity) const {
  return KvCache(KvCacheShape{.n_layers = 1, .capacity = capacity, .row_size = cfg_.kv_lora_rank + cfg_.qk_rope_head_dim});
}

Status Model::mtp_forward(const Context& ctx, const MtpStep& a) const {
  if (!has_mtp()) return make_error(ErrorCode::kUnsupported, ckpt_.dir() + ": the checkpoint has no MTP module");
  const int64_t T = static_cast<int64_t>(a.tokens.size()), d = cfg_.hidden_size, V = cfg_.vocab_size;
  const int64_t dr = cfg_.qk_rope_head_dim;
  if (T == 0) return {};
  KvCache& cache = *a.cache;
  if (cache.length() + T > cache.capacity())
    return make_error(ErrorCode::kOutOfRange, "MTP cache capacity " + std::to_string(cache.capacity()) + " exceeded");
  for (int32_t id : a.tokens)
    if (id < 0 || id >= V) return make_error(ErrorCode::kOutOfRange, "token id " + std::to_string(id) + " outside the vocabulary");
  const MtpWeights& m = weights_.mtp[0];
  Scratch& s = *a.scratch;
  ensure_scratch(s, T, cache.capacity(), ctx.pool->size());
  s.tokens_in_step = T;
  const kernels::KernelTable& kt = *ctx.kernels;
  const float eps = static_cast<float>(cfg_.rms_norm_eps);
  // x = eh_proj · [enorm(emb(token)) ; hnorm(hidden)]: embedding first, as vLLM/SGLang and the weights have it.
  const WeightMatrix& emb = m.embed_tokens ? *m.embed_tokens : weights_.embed_tokens;
  for (int64_t t = 0; t < T; ++t) {
    float* in = s.mtp_in.data() + t * 2 * d;
    dequant_rows(emb, a.tokens[t], 1, s.tmp.data());
    kt.rmsnorm_f32(s.tmp.data(), m.enorm.w.data(), eps, in, d);
    kt.rmsnorm_f32(a.hidden + t * d, m.hnorm.w.data(), eps, in + d, d);
    rope_cos_sin(rope_, cache.length() + t, s.rope_cs.data() + t * dr);
  }
  linear(ctx, LinearArgs{.x = s.mtp_in.data(), .m = T, .ldx = 2 * d, .w = &m.eh_proj, .y = s.x.data(), .ldy = d});
  // The MTP block attends over its own cache; RoPE positions are offset by one from the main
  // sequence, which leaves every relative position, and so every score, unchanged.
  const SeqStep step{.tokens = a.tokens, .cache = &cache, .rows = LogitsRows::kLast};
  run_layer(ctx, m.layer, 0, std::span(&step, 1), s);
  cache.set_length(cache.length() + T);
  kt.rmsnorm_f32(s.x.data() + (T - 1) * d, m.shared_head_norm.w.data(), eps, s.a.data(), d);
  const WeightMatrix& head = m.shared_head ? *m.shared_head : weights_.lm_head;
  linear(ctx, LinearArgs{.x = s.a.data(), .m = 1, .ldx = d, .w = &head, .y = a.logits, .ldy = V});
  return {};
}

}  // namespace radseek::model

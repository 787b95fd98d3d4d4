// The one place where Hugging Face tensor names are mapped onto ModelWeights.
#include "model/weights.h"

#include <set>

#include "base/numeric.h"
#include "model/linear.h"
#include "model/tensor_loader.h"

namespace radseek::model {
namespace {

using format::Checkpoint;
using format::ModelConfig;
using format::TensorInfo;

using Loader = TensorLoader;

// The split form (attn_k_b [H·c, dn] = W_UKᵀ per head, attn_v_b [H·dv, c]) is joined once, exactly,
// into an f32 kv_b_proj: prefill decompresses the cache through it (without it, a prompt paid a
// 512-wide absorbed dot product per head and position: half the prefill on V2-Lite-8L), and decode's
// per-head products at FP32 activations read it with the f32 kernels (the ggml kernels take FP32
// activations through the scalar dequantiser). At kBF16, decode reads the stored ggml tensors instead
// (MlaWeights::k_b_proj). The copy a merged GGUF kv_b_proj gets anyway (H·(dn+dv)·c values a layer).
void join_kv_b(const ModelConfig& c, const WeightMatrix& k_b, const WeightMatrix& v_b, MlaWeights& a) {
  const int64_t H = c.num_attention_heads, C = c.kv_lora_rank, dn = c.qk_nope_head_dim, dv = c.v_head_dim;
  auto f32 = std::make_shared<std::vector<float>>(static_cast<size_t>(H * (dn + dv) * C));
  std::vector<float> kb(static_cast<size_t>(C * dn));  // [c, dn]: W_UKᵀ of one head
  for (int64_t h = 0; h < H; ++h) {
    float* head = f32->data() + h * (dn + dv) * C;  // [dn + dv, c]
    dequant_rows(k_b, h * C, C, kb.data());
    for (int64_t i = 0; i < C; ++i)
      for (int64_t j = 0; j < dn; ++j) head[j * C + i] = kb[i * dn + j];
    dequant_rows(v_b, h * dv, dv, head + dn * C);
  }
  a.kv_b_proj = WeightMatrix{.dtype = DType::kF32, .data = f32->data(), .rows = H * (dn + dv), .cols = C};
  a.kv_b_storage = std::move(f32);
}

Expected<MlaWeights> load_mla(Loader& ld, const ModelConfig& c, const std::string& p) {
  MlaWeights a;
  const int64_t d = c.hidden_size, H = c.num_attention_heads, dq = c.qk_head_dim();
  if (c.q_lora_rank) {
    auto qa = ld.matrix(p + "q_a_proj.weight", *c.q_lora_rank, d);
    if (!qa) return qa.error();
    a.q_a_proj = *qa;
    auto qn = ld.norm(p + "q_a_layernorm.weight", *c.q_lora_rank);
    if (!qn) return qn.error();
    a.q_a_layernorm = std::move(*qn);
    auto qb = ld.matrix(p + "q_b_proj.weight", H * dq, *c.q_lora_rank);
    if (!qb) return qb.error();
    a.q_b_proj = *qb;
  } else {
    auto q = ld.matrix(p + "q_proj.weight", H * dq, d);
    if (!q) return q.error();
    a.q_proj = *q;
  }
  auto kva = ld.matrix(p + "kv_a_proj_with_mqa.weight", c.kv_lora_rank + c.qk_rope_head_dim, d);
  if (!kva) return kva.error();
  a.kv_a_proj_with_mqa = *kva;
  auto kvn = ld.norm(p + "kv_a_layernorm.weight", c.kv_lora_rank);
  if (!kvn) return kvn.error();
  a.kv_a_layernorm = std::move(*kvn);
  if (ld.has(p + "k_b_proj.weight")) {  // GGUF split form
    auto kb = ld.matrix(p + "k_b_proj.weight", H * c.kv_lora_rank, c.qk_nope_head_dim);
    if (!kb) return kb.error();
    auto vb = ld.matrix(p + "v_b_proj.weight", H * c.v_head_dim, c.kv_lora_rank);
    if (!vb) return vb.error();
    join_kv_b(c, *kb, *vb, a);
    if (kernels::is_ggml(*kb) && kernels::is_ggml(*vb)) {
      a.k_b_proj = *kb;
      a.v_b_proj = *vb;
    }
  } else {
    auto kvb = ld.matrix(p + "kv_b_proj.weight", H * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank);
    if (!kvb) return kvb.error();
    a.kv_b_proj = *kvb;
    // Absorbed attention reads kv_b_proj one head slice at a time and transposed (W_UKᵀ·q), which the
    // kernels have no integer path for: ggml blocks went through the scalar dequantiser every token
    // (22% of a V2-Lite-8L Q4_K decode on one thread). The tensor is small (H·(dn+dv)·c, 2 M values a
    // V2-Lite layer), so it is dequantised once, exactly, to f32.
    if (kernels::is_ggml(a.kv_b_proj)) {
      const WeightMatrix& q = a.kv_b_proj;
      auto f32 = std::make_shared<std::vector<float>>(static_cast<size_t>(q.rows * q.cols));
      dequant_rows(q, 0, q.rows, f32->data());
      a.kv_b_proj = WeightMatrix{.dtype = DType::kF32, .data = f32->data(), .rows = q.rows, .cols = q.cols};
      a.kv_b_storage = std::move(f32);
    }
  }
  auto o = ld.matrix(p + "o_proj.weight", d, H * c.v_head_dim);
  if (!o) return o.error();
  a.o_proj = *o;
  return a;
}

Expected<MoeWeights> load_moe(Loader& ld, const ModelConfig& c, const std::string& p) {
  MoeWeights m;
  auto g = ld.matrix(p + "gate.weight", c.n_routed_experts, c.hidden_size);
  if (!g) return g.error();
  m.gate = *g;
  if (c.topk_method == format::TopkMethod::kNoauxTc) {
    auto b = ld.f32_vector(p + "gate.e_score_correction_bias", c.n_routed_experts);
    if (!b) return b.error();
    m.e_score_correction_bias = std::move(*b);
  }
  for (int64_t e = 0; e < c.n_routed_experts; ++e) {
    auto x = load_mlp(ld, p + "experts." + std::to_string(e) + ".", c.hidden_size, c.moe_intermediate_size);
    if (!x) return x.error();
    m.experts.push_back(*x);
  }
  if (c.n_shared_experts > 0) {
    auto s = load_mlp(ld, p + "shared_experts.", c.hidden_size, c.n_shared_experts * c.moe_intermediate_size);
    if (!s) return s.error();
    m.shared_experts = *s;
  }
  return m;
}

Expected<LayerWeights> load_layer(Loader& ld, const ModelConfig& c, int64_t l) {
  const std::string p = "model.layers." + std::to_string(l) + ".";
  LayerWeights L;
  auto in = ld.norm(p + "input_layernorm.weight", c.hidden_size);
  if (!in) return in.error();
  L.input_layernorm = std::move(*in);
  auto post = ld.norm(p + "post_attention_layernorm.weight", c.hidden_size);
  if (!post) return post.error();
  L.post_attention_layernorm = std::move(*post);
  auto a = load_mla(ld, c, p + "self_attn.");
  if (!a) return a.error();
  L.attn = std::move(*a);
  if (c.is_moe_layer(l)) {
    auto m = load_moe(ld, c, p + "mlp.");
    if (!m) return m.error();
    L.moe = std::move(*m);
  } else {
    auto m = load_mlp(ld, p + "mlp.", c.hidden_size, c.intermediate_size);
    if (!m) return m.error();
    L.mlp = *m;
  }
  return L;
}

Expected<MtpWeights> load_mtp(Loader& ld, const ModelConfig& c, int64_t l) {
  const std::string p = "model.layers." + std::to_string(l) + ".";
  MtpWeights m;
  auto en = ld.norm(p + "enorm.weight", c.hidden_size);
  if (!en) return en.error();
  m.enorm = std::move(*en);
  auto hn = ld.norm(p + "hnorm.weight", c.hidden_size);
  if (!hn) return hn.error();
  m.hnorm = std::move(*hn);
  auto eh = ld.matrix(p + "eh_proj.weight", c.hidden_size, 2 * c.hidden_size);
  if (!eh) return eh.error();
  m.eh_proj = *eh;
  auto sn = ld.norm(p + "shared_head.norm.weight", c.hidden_size);
  if (!sn) return sn.error();
  m.shared_head_norm = std::move(*sn);
  if (ld.has(p + "shared_head.head.weight")) {
    auto h = ld.matrix(p + "shared_head.head.weight", c.vocab_size, c.hidden_size);
    if (!h) return h.error();
    m.shared_head = *h;
  }
  if (ld.has(p + "embed_tokens.weight")) {
    auto e = ld.matrix(p + "embed_tokens.weight", c.vocab_size, c.hidden_size);
    if (!e) return e.error();
    m.embed_tokens = *e;
  }
  auto layer = load_layer(ld, c, l);
  if (!layer) return layer.error();
  m.layer = std::move(*layer);
  return m;
}

}  // namespace

Expected<ModelWeights> load_weights(const Checkpoint& ckpt, const ModelConfig& cfg) {
  Loader ld(ckpt, cfg);
  ModelWeights w;
  auto emb = ld.matrix("model.embed_tokens.weight", cfg.vocab_size, cfg.hidden_size);
  if (!emb) return emb.error();
  w.embed_tokens = *emb;
  auto norm = ld.norm("model.norm.weight", cfg.hidden_size);
  if (!norm) return norm.error();
  w.norm = std::move(*norm);
  if (ld.has("lm_head.weight") || !cfg.tie_word_embeddings) {
    auto head = ld.matrix("lm_head.weight", cfg.vocab_size, cfg.hidden_size);
    if (!head) return head.error();
    w.lm_head = *head;
  } else {
    w.lm_head = w.embed_tokens;
  }
  for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) {
    auto layer = load_layer(ld, cfg, l);
    if (!layer) return layer.error();
    w.layers.push_back(std::move(*layer));
  }
  for (int64_t k = 0; k < cfg.num_nextn_predict_layers; ++k) {
    auto m = load_mtp(ld, cfg, cfg.num_hidden_layers + k);
    if (!m) return m.error();
    w.mtp.push_back(std::move(*m));
  }
  RADSEEK_TRY(check_no_extra(ld, ckpt));
  w.total_bytes = ld.bytes();
  return w;
}

namespace {
void for_each_in_layer(LayerWeights& l, const std::function<void(WeightMatrix&)>& f) {
  MlaWeights& a = l.attn;
  for (std::optional<WeightMatrix>* m : {&a.q_a_proj, &a.q_b_proj, &a.q_proj})
    if (*m) f(**m);
  f(a.kv_a_proj_with_mqa);
  f(a.kv_b_proj);
  f(a.o_proj);
  const auto mlp = [&](MlpWeights& m) {
    f(m.gate_proj);
    f(m.up_proj);
    f(m.down_proj);
  };
  if (l.mlp) mlp(*l.mlp);
  if (!l.moe) return;
  f(l.moe->gate);
  for (MlpWeights& e : l.moe->experts) mlp(e);
  if (l.moe->shared_experts) mlp(*l.moe->shared_experts);
}
}  // namespace

void for_each_matrix(ModelWeights& w, const std::function<void(WeightMatrix&)>& f) {
  f(w.embed_tokens);
  f(w.lm_head);
  for (LayerWeights& l : w.layers) for_each_in_layer(l, f);
  for (MtpWeights& m : w.mtp) {
    f(m.eh_proj);
    if (m.shared_head) f(*m.shared_head);
    if (m.embed_tokens) f(*m.embed_tokens);
    for_each_in_layer(m.layer, f);
  }
}

}  // namespace radseek::model

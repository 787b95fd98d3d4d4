// The one place where Hugging Face tensor names are mapped onto ModelWeights.
#include "model/weights.h"

#include <set>

#include "base/numeric.h"

namespace radseek::model {
namespace {

using format::Checkpoint;
using format::ModelConfig;
using format::TensorInfo;

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

class Loader {
 public:
  Loader(const Checkpoint& ckpt, const ModelConfig& cfg) : ckpt_(ckpt), cfg_(cfg) {}

  Expected<const TensorInfo*> tensor(const std::string& name, const std::vector<int64_t>& shape) {
    const TensorInfo* t = ckpt_.find(name);
    if (!t) return make_error(ErrorCode::kNotFound, ckpt_.dir() + ": missing tensor '" + name + "' (expected shape " + shape_str(shape) + ")");
    if (t->shape != shape)
      return make_error(ErrorCode::kBadShape, t->file + ": tensor '" + name + "' has shape " + t->shape_str() + ", expected " + shape_str(shape));
    used_.insert(name);
    return t;
  }

  Expected<NormWeight> norm(const std::string& name, int64_t n) {
    auto t = tensor(name, {n});
    if (!t) return t.error();
    NormWeight out;
    out.w.resize(n);
    const TensorInfo& ti = **t;
    for (int64_t i = 0; i < n; ++i) {
      switch (ti.dtype) {
        case DType::kF32: out.w[i] = reinterpret_cast<const float*>(ti.data)[i]; break;
        case DType::kBF16: out.w[i] = bf16_to_f32(reinterpret_cast<const uint16_t*>(ti.data)[i]); break;
        case DType::kF16: out.w[i] = fp16_to_f32(reinterpret_cast<const uint16_t*>(ti.data)[i]); break;
        default:
          return make_error(ErrorCode::kBadDType, ti.file + ": tensor '" + name + "' has dtype " +
                                                      std::string(dtype_name(ti.dtype)) + ", expected F32, BF16 or F16");
      }
    }
    return out;
  }

  // A projection matrix [rows, cols]: BF16/F16/F32, or F8_E4M3 with a sibling weight_scale_inv, or
  // (quant_method "radseek") Q8 = I8 [rows, cols] / Q4 = U8 [rows, ceil(cols/32)·16] with a sibling
  // F32 `<name>_scale` [rows, ceil(cols/32)] (layouts in kernels.h WeightMatrix).
  Expected<WeightMatrix> matrix(const std::string& name, int64_t rows, int64_t cols) {
    const TensorInfo* found = ckpt_.find(name);
    const bool q4 = radseek_quant() && found && found->dtype == DType::kU8;
    WeightMatrix w{.dtype = q4 ? DType::kU8 : DType::kF32, .rows = rows, .cols = cols};
    auto t = tensor(name, {rows, q4 ? kernels::row_bytes(w) : cols});
    if (!t) return t.error();
    const TensorInfo& ti = **t;
    w.dtype = ti.dtype;
    w.data = ti.data;
    if (ti.dtype == DType::kF8E4M3) return with_scales(name, ti, w);
    if (radseek_quant() && kernels::is_group_quant(ti.dtype)) return with_group_scales(name, ti, w);
    if (ti.dtype != DType::kBF16 && ti.dtype != DType::kF16 && ti.dtype != DType::kF32)
      return make_error(ErrorCode::kBadDType, ti.file + ": tensor '" + name + "' has dtype " +
                                                  std::string(dtype_name(ti.dtype)) + ", expected BF16, F16, F32 or F8_E4M3" +
                                                  (radseek_quant() ? ", I8 or U8" : ""));
    bytes_ += ti.nbytes;
    return w;
  }

  Expected<std::vector<float>> f32_vector(const std::string& name, int64_t n) {
    auto t = tensor(name, {n});
    if (!t) return t.error();
    if ((*t)->dtype != DType::kF32 && (*t)->dtype != DType::kBF16)
      return make_error(ErrorCode::kBadDType, (*t)->file + ": tensor '" + name + "' must be F32 or BF16");
    auto nw = norm(name, n);
    if (!nw) return nw.error();
    return std::move(nw->w);
  }

  bool has(const std::string& name) const { return ckpt_.find(name) != nullptr; }
  const std::set<std::string>& used() const { return used_; }
  size_t bytes() const { return bytes_; }

 private:
  bool radseek_quant() const { return cfg_.quantization && cfg_.quantization->quant_method == "radseek"; }

  Expected<WeightMatrix> with_group_scales(const std::string& name, const TensorInfo& ti, WeightMatrix w) {
    const std::string sname = name + "_scale";
    auto s = tensor(sname, {w.rows, (w.cols + kernels::kQuantGroup - 1) / kernels::kQuantGroup});
    if (!s) return s.error();
    if ((*s)->dtype != DType::kF32)
      return make_error(ErrorCode::kBadDType, (*s)->file + ": tensor '" + sname + "' must be F32");
    w.group_scale = reinterpret_cast<const float*>((*s)->data);
    bytes_ += ti.nbytes + (*s)->nbytes;
    return w;
  }

  Expected<WeightMatrix> with_scales(const std::string& name, const TensorInfo& ti, WeightMatrix w) {
    const int64_t br = cfg_.quantization ? cfg_.quantization->block_rows : kernels::kFp8Block;
    const int64_t bc = cfg_.quantization ? cfg_.quantization->block_cols : kernels::kFp8Block;
    const std::string sname = name + "_scale_inv";
    const int64_t sr = (w.rows + br - 1) / br, sc = (w.cols + bc - 1) / bc;  // ceil: partial edge blocks
    auto s = tensor(sname, {sr, sc});
    if (!s) return s.error();
    if ((*s)->dtype != DType::kF32)
      return make_error(ErrorCode::kBadDType, (*s)->file + ": tensor '" + sname + "' must be F32");
    w.block_scale = reinterpret_cast<const float*>((*s)->data);
    w.block_rows = br;
    w.block_cols = bc;
    bytes_ += ti.nbytes + (*s)->nbytes;
    return w;
  }

  const Checkpoint& ckpt_;
  const ModelConfig& cfg_;
  std::set<std::string> used_;
  size_t bytes_ = 0;
};

Expected<MlpWeights> load_mlp(Loader& ld, const std::string& p, int64_t hidden, int64_t inter) {
  MlpWeights m;
  auto g = ld.matrix(p + "gate_proj.weight", inter, hidden);
  if (!g) return g.error();
  auto u = ld.matrix(p + "up_proj.weight", inter, hidden);
  if (!u) return u.error();
  auto d = ld.matrix(p + "down_proj.weight", hidden, inter);
  if (!d) return d.error();
  m.gate_proj = *g;
  m.up_proj = *u;
  m.down_proj = *d;
  return m;
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
  auto kvb = ld.matrix(p + "kv_b_proj.weight", H * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank);
  if (!kvb) return kvb.error();
  a.kv_b_proj = *kvb;
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

Status check_no_extra(const Loader& ld, const Checkpoint& ckpt) {
  std::string extra;
  int n = 0;
  for (const auto& [name, t] : ckpt.tensors()) {
    if (ld.used().count(name)) continue;
    if (n++ < 5) extra += (extra.empty() ? "" : ", ") + ("'" + name + "'");
  }
  if (n == 0) return {};
  return make_error(ErrorCode::kParse, ckpt.dir() + ": " + std::to_string(n) +
                                           " tensor(s) not part of the configured architecture: " + extra +
                                           (n > 5 ? ", ..." : "") + " (does config.json match the weights?)");
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

}  // namespace radseek::model

#include "train/params.h"

#include <cmath>
#include <numbers>

namespace radseek::train {
namespace {

// splitmix64 per tensor (seeded by name position), so values do not depend on other tensors.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform01() { return (static_cast<double>(next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
  double normal() {  // Box-Muller
    return std::sqrt(-2.0 * std::log(uniform01())) * std::cos(2.0 * std::numbers::pi * uniform01());
  }
};

template <typename T>
MlpView<T> mlp_view(const ParamLayout& l, T* base, const std::string& p) {
  const ParamSlot& g = l.at(p + "gate_proj.weight");
  return {.gate = base + g.offset, .up = base + l.at(p + "up_proj.weight").offset,
          .down = base + l.at(p + "down_proj.weight").offset, .inter = g.entry.shape[0]};
}

template <typename T>
T* maybe(const ParamLayout& l, T* base, const std::string& name) {
  auto it = l.by_name.find(name);
  return it == l.by_name.end() ? nullptr : base + l.slots[it->second].offset;
}

template <typename T>
LayerView<T> layer_view(const format::ModelConfig& cfg, const ParamLayout& l, T* base, int64_t i) {
  const std::string p = "model.layers." + std::to_string(i) + ".", a = p + "self_attn.";
  LayerView<T> w;
  w.input_norm = maybe(l, base, p + "input_layernorm.weight");
  w.q_a = maybe(l, base, a + "q_a_proj.weight");
  w.q_a_norm = maybe(l, base, a + "q_a_layernorm.weight");
  w.q_b = maybe(l, base, a + "q_b_proj.weight");
  w.q = maybe(l, base, a + "q_proj.weight");
  w.kv_a = maybe(l, base, a + "kv_a_proj_with_mqa.weight");
  w.kv_norm = maybe(l, base, a + "kv_a_layernorm.weight");
  w.kv_b = maybe(l, base, a + "kv_b_proj.weight");
  w.o = maybe(l, base, a + "o_proj.weight");
  w.post_norm = maybe(l, base, p + "post_attention_layernorm.weight");
  w.moe = cfg.is_moe_layer(i);
  if (!w.moe) {
    w.mlp = mlp_view(l, base, p + "mlp.");
  } else {
    w.router = maybe(l, base, p + "mlp.gate.weight");
    w.router_bias = maybe(l, base, p + "mlp.gate.e_score_correction_bias");
    for (int64_t e = 0; e < cfg.n_routed_experts; ++e)
      w.experts.push_back(mlp_view(l, base, p + "mlp.experts." + std::to_string(e) + "."));
    if (cfg.n_shared_experts > 0) w.shared = mlp_view(l, base, p + "mlp.shared_experts.");
  }
  return w;
}

void add_slot(ParamLayout& l, model::ManifestEntry e) {
  int64_t n = 1;
  for (int64_t s : e.shape) n *= s;
  l.by_name[e.name] = l.slots.size();
  l.slots.push_back({.entry = std::move(e), .offset = l.total, .numel = n});
  l.total += n;
}

}  // namespace

ParamLayout make_param_layout(const format::ModelConfig& cfg, bool include_mtp) {
  ParamLayout l;
  for (model::ManifestEntry& e : model::tensor_manifest(cfg, false)) add_slot(l, std::move(e));
  if (include_mtp)
    for (model::ManifestEntry& e : model::tensor_manifest(cfg, true))
      if (!l.by_name.contains(e.name)) add_slot(l, std::move(e));
  return l;
}

std::string mtp_prefix(const format::ModelConfig& cfg) {
  return "model.layers." + std::to_string(cfg.num_hidden_layers) + ".";
}

bool layout_has_mtp(const format::ModelConfig& cfg, const ParamLayout& layout) {
  return cfg.num_nextn_predict_layers > 0 && layout.by_name.contains(mtp_prefix(cfg) + "enorm.weight");
}

template <typename T>
ModelView<T> bind_view(const format::ModelConfig& cfg, const ParamLayout& l, T* base) {
  ModelView<T> v;
  v.embed = base + l.at("model.embed_tokens.weight").offset;
  v.norm = base + l.at("model.norm.weight").offset;
  v.lm_head = cfg.tie_word_embeddings ? v.embed : base + l.at("lm_head.weight").offset;
  for (int64_t i = 0; i < cfg.num_hidden_layers; ++i) v.layers.push_back(layer_view(cfg, l, base, i));
  if (layout_has_mtp(cfg, l)) {
    const std::string p = mtp_prefix(cfg);
    v.mtp = MtpView<T>{.enorm = base + l.at(p + "enorm.weight").offset, .hnorm = base + l.at(p + "hnorm.weight").offset,
                       .eh_proj = base + l.at(p + "eh_proj.weight").offset,
                       .head_norm = base + l.at(p + "shared_head.norm.weight").offset,
                       .layer = layer_view(cfg, l, base, cfg.num_hidden_layers)};
  }
  return v;
}

std::vector<float> init_params(const ParamLayout& layout, int64_t num_layers, uint64_t seed, double init_std) {
  std::vector<float> p(static_cast<size_t>(layout.total));
  for (size_t i = 0; i < layout.slots.size(); ++i) {
    const ParamSlot& s = layout.slots[i];
    float* x = p.data() + s.offset;
    if (s.entry.kind == model::TensorKind::kNorm) {
      std::fill(x, x + s.numel, 1.0f);
      continue;
    }
    if (s.entry.kind == model::TensorKind::kRouterBias) {
      std::fill(x, x + s.numel, 0.0f);
      continue;
    }
    const bool out_proj = s.entry.name.ends_with("o_proj.weight") || s.entry.name.ends_with("down_proj.weight");
    const double sd = out_proj ? init_std / std::sqrt(2.0 * static_cast<double>(std::max<int64_t>(num_layers, 1))) : init_std;
    Rng rng{seed * 0x100000001b3ull + i};
    for (int64_t j = 0; j < s.numel; ++j) x[j] = static_cast<float>(sd * rng.normal());
  }
  return p;
}

template ModelView<float> bind_view<float>(const format::ModelConfig&, const ParamLayout&, float*);
template ModelView<double> bind_view<double>(const format::ModelConfig&, const ParamLayout&, double*);

}  // namespace radseek::train

// GGUF metadata → config.json, GGUF tensor names → Hugging Face names (see gguf_model.h).
#include "format/gguf_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <optional>

namespace radseek::format {
namespace {

using nlohmann::json;

// The one mapping table. Per-layer names are relative to "blk.N." / "model.layers.N."; '*' is the
// expert index of stacked expert tensors.
struct NamePair {
  const char* gguf;
  const char* hf;
};
constexpr NamePair kGlobalNames[] = {
    {"token_embd.weight", "model.embed_tokens.weight"},
    {"output_norm.weight", "model.norm.weight"},
    {"output.weight", "lm_head.weight"},
};
constexpr NamePair kLayerNames[] = {
    {"attn_norm.weight", "input_layernorm.weight"},
    {"ffn_norm.weight", "post_attention_layernorm.weight"},
    {"attn_q.weight", "self_attn.q_proj.weight"},
    {"attn_k.weight", "self_attn.k_proj.weight"},
    {"attn_v.weight", "self_attn.v_proj.weight"},
    {"attn_output.weight", "self_attn.o_proj.weight"},
    {"attn_q.bias", "self_attn.q_proj.bias"},
    {"attn_k.bias", "self_attn.k_proj.bias"},
    {"attn_v.bias", "self_attn.v_proj.bias"},
    {"attn_q_norm.weight", "self_attn.q_norm.weight"},
    {"attn_k_norm.weight", "self_attn.k_norm.weight"},
    {"ffn_gate.weight", "mlp.gate_proj.weight"},
    {"ffn_up.weight", "mlp.up_proj.weight"},
    {"ffn_down.weight", "mlp.down_proj.weight"},
    {"attn_q_a.weight", "self_attn.q_a_proj.weight"},
    {"attn_q_a_norm.weight", "self_attn.q_a_layernorm.weight"},
    {"attn_q_b.weight", "self_attn.q_b_proj.weight"},
    {"attn_kv_a_mqa.weight", "self_attn.kv_a_proj_with_mqa.weight"},
    {"attn_kv_a_norm.weight", "self_attn.kv_a_layernorm.weight"},
    {"attn_kv_b.weight", "self_attn.kv_b_proj.weight"},
    {"attn_k_b.weight", "self_attn.k_b_proj.weight"},
    {"attn_v_b.weight", "self_attn.v_b_proj.weight"},
    {"ffn_gate_inp.weight", "mlp.gate.weight"},
    {"exp_probs_b.bias", "mlp.gate.e_score_correction_bias"},
    {"ffn_gate_shexp.weight", "mlp.shared_experts.gate_proj.weight"},
    {"ffn_up_shexp.weight", "mlp.shared_experts.up_proj.weight"},
    {"ffn_down_shexp.weight", "mlp.shared_experts.down_proj.weight"},
    {"ffn_gate_exps.weight", "mlp.experts.*.gate_proj.weight"},
    {"ffn_up_exps.weight", "mlp.experts.*.up_proj.weight"},
    {"ffn_down_exps.weight", "mlp.experts.*.down_proj.weight"},
};

// "blk.N.rest" → (N, rest); nullopt for other names.
std::optional<std::pair<int64_t, std::string>> split_layer(const std::string& name, const std::string& prefix) {
  if (name.rfind(prefix, 0) != 0) return std::nullopt;
  const size_t dot = name.find('.', prefix.size());
  if (dot == std::string::npos || dot == prefix.size() || dot - prefix.size() > 9) return std::nullopt;
  int64_t n = 0;
  for (size_t i = prefix.size(); i < dot; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    n = n * 10 + (name[i] - '0');
  }
  return std::make_pair(n, name.substr(dot + 1));
}

const NamePair* layer_pair_by_gguf(const std::string& rest) {
  for (const NamePair& p : kLayerNames)
    if (rest == p.gguf) return &p;
  return nullptr;
}

// Metadata lookups under the architecture's prefix ("llama.", "deepseek2.", ...).
struct Meta {
  const GgufFile& f;
  std::string arch;

  std::string key(const std::string& k) const { return arch + "." + k; }
  bool has(const std::string& k) const { return f.find(key(k)) != nullptr; }
  Expected<uint64_t> u(const std::string& k) const { return f.get_uint(key(k)); }
  Expected<double> num(const std::string& k) const { return f.get_float(key(k)); }
  Expected<uint64_t> u_or(const std::string& k, uint64_t def) const { return has(k) ? u(k) : def; }
  Expected<double> num_or(const std::string& k, double def) const { return has(k) ? num(k) : def; }
};

#define RADSEEK_SET(j, field, expr) \
  do {                              \
    auto v_ = (expr);               \
    if (!v_) return v_.error();     \
    (j)[field] = *v_;               \
  } while (0)

// llama.cpp ends generation at any of eos, eot (end of turn: Llama 3's <|eot_id|>, Qwen's
// <|im_end|> where a converter wrote it) and eom (Llama 3.1's <|eom_id|>); config.json's list holds
// them all.
Status eos_ids(const Meta& m, json& j) {
  json ids = json::array();
  for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
    if (!m.f.find(key)) continue;
    auto id = m.f.get_uint(key);
    if (!id) return id.error();
    if (std::find(ids.begin(), ids.end(), json(*id)) == ids.end()) ids.push_back(*id);
  }
  if (!ids.empty()) j["eos_token_id"] = ids;
  return {};
}

Status common_fields(const Meta& m, json& j) {
  const GgufTensorInfo* emb = m.f.find_tensor("token_embd.weight");
  if (!emb || emb->shape.size() != 2)
    return make_error(ErrorCode::kNotFound, m.f.path() + ": tensor 'token_embd.weight' is missing or not 2-D (its rows give the vocabulary size)");
  j["vocab_size"] = emb->shape[0];
  RADSEEK_SET(j, "hidden_size", m.u("embedding_length"));
  RADSEEK_SET(j, "intermediate_size", m.u("feed_forward_length"));
  RADSEEK_SET(j, "num_hidden_layers", m.u("block_count"));
  RADSEEK_SET(j, "num_attention_heads", m.u("attention.head_count"));
  RADSEEK_SET(j, "rms_norm_eps", m.num("attention.layer_norm_rms_epsilon"));
  RADSEEK_SET(j, "rope_theta", m.num_or("rope.freq_base", 10000.0));
  if (m.has("context_length")) RADSEEK_SET(j, "max_position_embeddings", m.u("context_length"));
  j["tie_word_embeddings"] = m.f.find_tensor("output.weight") == nullptr;
  if (m.f.find("tokenizer.ggml.bos_token_id")) RADSEEK_SET(j, "bos_token_id", m.f.get_uint("tokenizer.ggml.bos_token_id"));
  return eos_ids(m, j);
}

// llama.cpp stores Llama 3.1's RoPE scaling as per-frequency divisors (tensor rope_freqs.weight) and
// not as parameters. radseek's dense model takes the llama3 parameters, so recover them (factor =
// the largest divisor; low/high 1/4 and the original context as Meta's releases, or the file's
// rope.scaling keys) and accept them only if they reproduce every stored divisor.
Status llama3_rope_from_freqs(const Meta& m, json& j) {
  const GgufTensorInfo* t = m.f.find_tensor("rope_freqs.weight");
  if (!t) return {};
  const std::string where = m.f.path() + ": tensor 'rope_freqs.weight'";
  if (t->type != GgmlType::kF32 || t->shape.size() != 1) return make_error(ErrorCode::kBadShape, where + " must be a 1-D F32 vector");
  const int64_t n = t->shape[0], hd = 2 * n;
  std::vector<float> div(static_cast<size_t>(n));
  std::memcpy(div.data(), t->data, sizeof(float) * static_cast<size_t>(n));
  double factor = 1.0;
  for (float d : div) factor = std::max(factor, static_cast<double>(d));
  auto L0 = m.u_or("rope.scaling.original_context_length", 8192);
  if (!L0) return L0.error();
  const double low = 1.0, high = 4.0, base = j["rope_theta"].get<double>();
  for (int64_t i = 0; i < n; ++i) {
    const double inv = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(hd));
    const double wl = 2.0 * std::numbers::pi / inv, lo_wl = static_cast<double>(*L0) / low, hi_wl = static_cast<double>(*L0) / high;
    double want = 1.0;
    if (wl > lo_wl) want = factor;
    else if (wl >= hi_wl) {
      const double sm = (static_cast<double>(*L0) / wl - low) / (high - low);
      want = 1.0 / ((1.0 - sm) / factor + sm);
    }
    if (std::fabs(want - div[i]) > 1e-4 * want)
      return make_error(ErrorCode::kUnsupported, where + "[" + std::to_string(i) + "] = " + std::to_string(div[i]) +
                                                     " does not follow the llama3 rule (factor " + std::to_string(factor) +
                                                     ", low 1, high 4, original context " + std::to_string(*L0) +
                                                     "; expected " + std::to_string(want) + ")");
  }
  if (factor > 1.0)
    j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", factor}, {"low_freq_factor", low},
                         {"high_freq_factor", high}, {"original_max_position_embeddings", *L0}};
  return {};
}

Status dense_fields(const Meta& m, json& j) {
  RADSEEK_TRY(common_fields(m, j));
  if (m.has("attention.head_count_kv")) RADSEEK_SET(j, "num_key_value_heads", m.u("attention.head_count_kv"));
  if (m.has("attention.key_length")) RADSEEK_SET(j, "head_dim", m.u("attention.key_length"));
  if (m.arch == "llama") RADSEEK_TRY(llama3_rope_from_freqs(m, j));
  return {};
}

// deepseek2 keys (spec §2.6). Newer converters write the MQA view (head_count_kv 1, key_length c+dr,
// value_length c) plus key_length_mla / value_length_mla; older ones write the per-head lengths.
Status deepseek_fields(const Meta& m, json& j) {
  RADSEEK_TRY(common_fields(m, j));
  auto nextn = m.u_or("nextn_predict_layers", 0);
  if (!nextn) return nextn.error();
  j["num_hidden_layers"] = j["num_hidden_layers"].get<int64_t>() - static_cast<int64_t>(*nextn);
  auto q_lora = m.u_or("attention.q_lora_rank", 0);
  if (!q_lora) return q_lora.error();
  j["q_lora_rank"] = *q_lora > 0 ? json(*q_lora) : json(nullptr);
  RADSEEK_SET(j, "kv_lora_rank", m.u("attention.kv_lora_rank"));
  auto dr = m.u("rope.dimension_count");
  if (!dr) return dr.error();
  const bool mla = m.has("attention.key_length_mla");
  auto dk = m.u(mla ? "attention.key_length_mla" : "attention.key_length");
  if (!dk) return dk.error();
  auto dv = m.u(mla ? "attention.value_length_mla" : "attention.value_length");
  if (!dv) return dv.error();
  if (*dk <= *dr) return make_error(ErrorCode::kParse, m.f.path() + ": key length " + std::to_string(*dk) + " must exceed rope.dimension_count " + std::to_string(*dr));
  j["qk_rope_head_dim"] = *dr;
  j["qk_nope_head_dim"] = *dk - *dr;
  j["v_head_dim"] = *dv;
  RADSEEK_SET(j, "n_routed_experts", m.u_or("expert_count", 0));
  RADSEEK_SET(j, "n_shared_experts", m.u_or("expert_shared_count", 0));
  RADSEEK_SET(j, "num_experts_per_tok", m.u_or("expert_used_count", 0));
  if (j["n_routed_experts"].get<int64_t>() > 0) RADSEEK_SET(j, "moe_intermediate_size", m.u("expert_feed_forward_length"));
  RADSEEK_SET(j, "first_k_dense_replace", m.u_or("leading_dense_block_count", 0));
  RADSEEK_SET(j, "routed_scaling_factor", m.num_or("expert_weights_scale", 1.0));
  if (m.has("expert_weights_norm")) RADSEEK_SET(j, "norm_topk_prob", m.f.get_bool(m.key("expert_weights_norm")));
  auto gating = m.u_or("expert_gating_func", 1);
  if (!gating) return gating.error();
  if (*gating != 1 && *gating != 2)
    return make_error(ErrorCode::kUnsupported, m.f.path() + ": metadata key '" + m.key("expert_gating_func") + "' is " +
                                                   std::to_string(*gating) + " (known: 1 = softmax, 2 = sigmoid)");
  j["model_type"] = *gating == 2 ? "deepseek_v3" : "deepseek_v2";
  j["scoring_func"] = *gating == 2 ? "sigmoid" : "softmax";
  RADSEEK_SET(j, "n_group", m.u_or("expert_group_count", 1));
  RADSEEK_SET(j, "topk_group", m.u_or("expert_group_used_count", 1));
  const std::string bias = "blk." + std::to_string(j["first_k_dense_replace"].get<int64_t>()) + ".exp_probs_b.bias";
  j["topk_method"] = m.f.find_tensor(bias) ? "noaux_tc" : j["n_group"].get<int64_t>() > 1 ? "group_limited_greedy" : "greedy";
  auto rtype = m.has("rope.scaling.type") ? m.f.get_string(m.key("rope.scaling.type")) : Expected<std::string>(std::string());
  if (!rtype) return rtype.error();
  if (*rtype == "yarn") {
    json rs = {{"type", "yarn"}};
    RADSEEK_SET(rs, "factor", m.num("rope.scaling.factor"));
    RADSEEK_SET(rs, "original_max_position_embeddings", m.u("rope.scaling.original_context_length"));
    // yarn_log_multiplier = 0.1·mscale_all_dim; released configs have mscale == mscale_all_dim.
    auto mult = m.num_or("rope.scaling.yarn_log_multiplier", 0.0);
    if (!mult) return mult.error();
    rs["mscale"] = rs["mscale_all_dim"] = *mult / 0.1;
    RADSEEK_SET(rs, "beta_fast", m.num_or("rope.scaling.yarn_beta_fast", 32.0));
    RADSEEK_SET(rs, "beta_slow", m.num_or("rope.scaling.yarn_beta_slow", 1.0));
    j["rope_scaling"] = rs;
  } else if (!rtype->empty() && *rtype != "none") {
    return make_error(ErrorCode::kUnsupported, m.f.path() + ": rope.scaling.type '" + *rtype + "' is not supported for deepseek2");
  }
  return {};
}

Expected<TensorInfo> tensor_view(const GgufTensorInfo& g, const std::string& path) {
  TensorInfo t;
  t.shape = g.shape;
  t.data = g.data;
  t.nbytes = g.nbytes;
  t.file = path + " (GGUF tensor '" + g.name + "')";
  switch (g.type) {
    case GgmlType::kF32: t.dtype = DType::kF32; return t;
    case GgmlType::kF16: t.dtype = DType::kF16; return t;
    case GgmlType::kBF16: t.dtype = DType::kBF16; return t;
    case GgmlType::kQ8_0:
    case GgmlType::kQ4_0:
    case GgmlType::kQ5_0:
    case GgmlType::kQ4_1:
    case GgmlType::kQ5_1:
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
    case GgmlType::kQ6_K:
      t.dtype = DType::kU8;
      t.ggml_type = static_cast<int32_t>(g.type);
      return t;
    default:
      return make_error(ErrorCode::kUnsupported, path + ": tensor '" + g.name + "' has ggml type " + ggml_type_name(g.type) +
                                                     ", which radseek does not read (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K)");
  }
}

// Keeps the mapped file and any row-permuted copies alive for the checkpoint's views.
struct GgufOwner {
  GgufFile file;
  std::deque<std::vector<uint8_t>> copies;
};

// llama q/k rows back to HF order (see gguf_model.h); n_head of that projection.
Status unpermute_rows(TensorInfo& t, int64_t n_head, GgufOwner& owner) {
  const int64_t rows = t.shape[0];
  if (n_head <= 0 || rows % n_head != 0 || (rows / n_head) % 2 != 0)
    return make_error(ErrorCode::kBadShape, t.file + ": " + std::to_string(rows) + " rows do not split into " + std::to_string(n_head) + " heads of even width");
  const int64_t hd = rows / n_head, half = hd / 2;
  const size_t rb = t.nbytes / static_cast<size_t>(rows);
  std::vector<uint8_t>& dst = owner.copies.emplace_back(t.nbytes);
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t j = 0; j < 2; ++j)
      for (int64_t i = 0; i < half; ++i)
        std::memcpy(dst.data() + (h * hd + j * half + i) * rb, t.data + (h * hd + 2 * i + j) * rb, rb);
  t.data = dst.data();
  return {};
}

struct MapArgs {
  const ModelConfig* cfg;
  std::string arch;
  GgufOwner* owner;
  std::map<std::string, TensorInfo>* out;
};

Status add_layer_tensor(const MapArgs& a, const GgufTensorInfo& g, int64_t layer, const NamePair& p) {
  auto t = tensor_view(g, a.owner->file.path());
  if (!t) return t.error();
  const std::string pre = "model.layers." + std::to_string(layer) + ".", hf = p.hf;
  const size_t star = hf.find('*');
  if (star != std::string::npos) {  // stacked experts [E, rows, cols] → E views
    if (t->shape.size() != 3 || t->shape[0] < 1)
      return make_error(ErrorCode::kBadShape, t->file + ": expected 3-D [experts, rows, cols], got " + g.shape_str());
    const int64_t E = t->shape[0];
    const size_t per = t->nbytes / static_cast<size_t>(E);
    for (int64_t e = 0; e < E; ++e) {
      TensorInfo x = *t;
      x.shape = {t->shape[1], t->shape[2]};
      x.data = t->data + per * static_cast<size_t>(e);
      x.nbytes = per;
      x.name = pre + hf.substr(0, star) + std::to_string(e) + hf.substr(star + 1);
      (*a.out)[x.name] = x;
    }
    return {};
  }
  if (t->shape.size() == 3) t->shape = {t->shape[0] * t->shape[1], t->shape[2]};  // attn_k_b / attn_v_b per head
  const std::string rest = p.gguf;
  if (a.arch == "llama" && (rest.rfind("attn_q.", 0) == 0 || rest.rfind("attn_k.", 0) == 0))
    RADSEEK_TRY(unpermute_rows(*t, rest[5] == 'q' ? a.cfg->num_attention_heads : a.cfg->num_key_value_heads, *a.owner));
  t->name = pre + hf;
  (*a.out)[t->name] = *t;
  return {};
}

Status map_tensors(const MapArgs& a) {
  for (const GgufTensorInfo& g : a.owner->file.tensors()) {
    if (g.name == "rope_freqs.weight" && a.arch == "llama") continue;  // folded into rope_scaling
    const NamePair* global = nullptr;
    for (const NamePair& p : kGlobalNames)
      if (g.name == p.gguf) global = &p;
    if (global) {
      auto t = tensor_view(g, a.owner->file.path());
      if (!t) return t.error();
      t->name = global->hf;
      (*a.out)[t->name] = *t;
      continue;
    }
    const auto layer = split_layer(g.name, "blk.");
    const NamePair* p = layer ? layer_pair_by_gguf(layer->second) : nullptr;
    if (layer && layer->first >= a.cfg->num_hidden_layers && a.cfg->is_deepseek()) continue;  // MTP (nextn) layers: unused
    if (!p) {  // unknown: kept under its own name so the model loader reports it as extra
      auto t = tensor_view(g, a.owner->file.path());
      if (!t) return t.error();
      t->name = g.name;
      (*a.out)[g.name] = *t;
      continue;
    }
    RADSEEK_TRY(add_layer_tensor(a, g, layer->first, *p));
  }
  return {};
}

}  // namespace

bool is_gguf_file(const std::string& path) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (std::filesystem::exists(st)) return !std::filesystem::is_directory(st);
  return path.ends_with(".gguf");
}

Expected<json> gguf_config_json(const GgufFile& f) {
  auto arch = f.get_string("general.architecture");
  if (!arch) return arch.error();
  const Meta m{f, *arch};
  json j = json::object();
  if (*arch == "llama" || *arch == "qwen2" || *arch == "qwen3") {
    j["model_type"] = *arch;
    RADSEEK_TRY(dense_fields(m, j));
  } else if (*arch == "deepseek2") {
    RADSEEK_TRY(deepseek_fields(m, j));
  } else {
    return make_error(ErrorCode::kUnsupported, f.path() + ": general.architecture '" + *arch +
                                                   "' is not supported (expected llama, qwen2, qwen3 or deepseek2)");
  }
  return j;
}

Expected<GgufModel> open_gguf_model(const std::string& path, FileBacking backing) {
  auto file = GgufFile::open(path, backing);
  if (!file) return file.error();
  auto j = gguf_config_json(*file);
  if (!j) return j.error();
  auto cfg = parse_model_config(j->dump(), path + " (metadata as config.json)");
  if (!cfg) return cfg.error();
  auto owner = std::make_shared<GgufOwner>(GgufOwner{.file = std::move(*file), .copies = {}});
  std::map<std::string, TensorInfo> tensors;
  auto arch = owner->file.get_string("general.architecture");
  RADSEEK_TRY(map_tensors(MapArgs{.cfg = &*cfg, .arch = *arch, .owner = owner.get(), .out = &tensors}));
  GgufModel m{.config = std::move(*cfg), .checkpoint = Checkpoint::from_tensors(path, std::move(tensors), owner)};
  return m;
}

std::string gguf_tensor_for(const std::string& hf_name) {
  for (const NamePair& p : kGlobalNames)
    if (hf_name == p.hf) return p.gguf;
  const auto layer = split_layer(hf_name, "model.layers.");
  if (!layer) return "";
  const std::string pre = "blk." + std::to_string(layer->first) + ".";
  for (const NamePair& p : kLayerNames) {
    const std::string hf = p.hf;
    const size_t star = hf.find('*');
    if (star == std::string::npos) {
      if (layer->second == hf) return pre + p.gguf;
      continue;
    }
    const std::string head = hf.substr(0, star), tail = hf.substr(star + 1);
    const std::string& r = layer->second;
    if (r.size() > head.size() + tail.size() && r.rfind(head, 0) == 0 && r.compare(r.size() - tail.size(), tail.size(), tail) == 0)
      return pre + p.gguf;
  }
  return "";
}

}  // namespace radseek::format

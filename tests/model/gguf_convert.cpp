#include "gguf_convert.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numbers>

#include <nlohmann/json.hpp>

#include "base/mapped_file.h"
#include "base/numeric.h"
#include "format/gguf_model.h"
#include "format/gguf_writer.h"
#include "format/hf_config.h"
#include "format/safetensors.h"
#include "kernels/ref/ggml_quants.h"

namespace radseek::testing {
namespace {

using format::GgmlType;
using format::GgufType;
using format::GgufValue;
using nlohmann::json;

std::vector<float> values(const format::TensorInfo& t) { return tensor_values(t); }

}  // namespace

std::vector<float> tensor_values(const format::TensorInfo& t) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) {
    const auto* h = reinterpret_cast<const uint16_t*>(t.data);
    v[i] = t.dtype == DType::kF32 ? reinterpret_cast<const float*>(t.data)[i]
         : t.dtype == DType::kBF16 ? bf16_to_f32(h[i]) : fp16_to_f32(h[i]);
  }
  return v;
}

namespace {

struct Encoded {
  GgmlType type;
  std::vector<uint8_t> bytes;
};

// Row-wise encoding of a [rows, cols] matrix (1-D: one row) in the requested type or its fallback.
Encoded encode(const std::vector<float>& v, int64_t cols, GgufWeights want, bool matrix) {
  if (!matrix || want == GgufWeights::kF32) return {GgmlType::kF32, format::encode_f32(v)};
  using QuantFn = void (*)(const float*, uint8_t*, int64_t);
  struct Choice { GgmlType type; int64_t block; size_t bytes; QuantFn fn; };
  const Choice q8{GgmlType::kQ8_0, 32, kernels::ref::kBlockBytesQ8_0, kernels::ref::quantize_row_q8_0};
  Choice c = q8;
  if (want == GgufWeights::kQ4_0) c = {GgmlType::kQ4_0, 32, kernels::ref::kBlockBytesQ4_0, kernels::ref::quantize_row_q4_0};
  if (want == GgufWeights::kQ4_K) c = {GgmlType::kQ4_K, 256, kernels::ref::kBlockBytesQ4_K, kernels::ref::quantize_row_q4_k};
  if (want == GgufWeights::kQ5_K) c = {GgmlType::kQ5_K, 256, kernels::ref::kBlockBytesQ5_K, kernels::ref::quantize_row_q5_k};
  if (want == GgufWeights::kQ6_K) c = {GgmlType::kQ6_K, 256, kernels::ref::kBlockBytesQ6_K, kernels::ref::quantize_row_q6_k};
  if (want == GgufWeights::kF16 || cols % c.block != 0) c = q8;
  if (want == GgufWeights::kF16 || cols % c.block != 0) return {GgmlType::kF16, format::encode_f16(v)};
  const int64_t rows = static_cast<int64_t>(v.size()) / cols;
  Encoded e{c.type, std::vector<uint8_t>(static_cast<size_t>(rows * (cols / c.block)) * c.bytes)};
  for (int64_t r = 0; r < rows; ++r) c.fn(v.data() + r * cols, e.bytes.data() + r * (cols / c.block) * c.bytes, cols);
  return e;
}

// llama.cpp's LlamaModel.permute: HF row h·hd + j·hd/2 + i goes to row h·hd + 2i + j.
std::vector<float> permute_rows(const std::vector<float>& v, int64_t rows, int64_t n_head) {
  const int64_t cols = static_cast<int64_t>(v.size()) / rows, hd = rows / n_head, half = hd / 2;
  std::vector<float> out(v.size());
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t j = 0; j < 2; ++j)
      for (int64_t i = 0; i < half; ++i)
        std::copy_n(v.begin() + (h * hd + j * half + i) * cols, cols, out.begin() + (h * hd + 2 * i + j) * cols);
  return out;
}

using Meta = std::vector<std::pair<std::string, GgufValue>>;

void put_u32(Meta& m, const std::string& k, int64_t v) { m.emplace_back(k, GgufValue::of_int(GgufType::kU32, v)); }
void put_f32(Meta& m, const std::string& k, double v) { m.emplace_back(k, GgufValue::of_float(GgufType::kF32, v)); }

void dense_meta(const format::ModelConfig& c, const std::string& a, Meta& m) {
  put_u32(m, a + ".block_count", c.num_hidden_layers);
  put_u32(m, a + ".context_length", c.max_position_embeddings);
  put_u32(m, a + ".embedding_length", c.hidden_size);
  put_u32(m, a + ".feed_forward_length", c.intermediate_size);
  put_u32(m, a + ".attention.head_count", c.num_attention_heads);
  put_u32(m, a + ".attention.head_count_kv", c.num_key_value_heads);
  put_u32(m, a + ".attention.key_length", c.head_dim);
  put_u32(m, a + ".attention.value_length", c.head_dim);
  put_f32(m, a + ".rope.freq_base", c.rope_theta);
  put_f32(m, a + ".attention.layer_norm_rms_epsilon", c.rms_norm_eps);
  // llama.cpp writes no key for Llama 3.1's original context (it assumes 8192); radseek reads this
  // one when present, which the tiny test models (original context 64) need.
  if (c.rope_scaling.type == "llama3") put_u32(m, a + ".rope.scaling.original_context_length", c.rope_scaling.original_max_position_embeddings);
}

void deepseek_meta(const format::ModelConfig& c, bool split, Meta& m) {
  const std::string a = "deepseek2";
  put_u32(m, a + ".block_count", c.num_hidden_layers);
  put_u32(m, a + ".context_length", c.max_position_embeddings);
  put_u32(m, a + ".embedding_length", c.hidden_size);
  put_u32(m, a + ".feed_forward_length", c.intermediate_size);
  put_u32(m, a + ".attention.head_count", c.num_attention_heads);
  put_u32(m, a + ".attention.head_count_kv", split ? 1 : c.num_attention_heads);
  put_f32(m, a + ".rope.freq_base", c.rope_theta);
  put_f32(m, a + ".attention.layer_norm_rms_epsilon", c.rms_norm_eps);
  put_u32(m, a + ".expert_used_count", c.num_experts_per_tok);
  put_u32(m, a + ".leading_dense_block_count", c.first_k_dense_replace);
  // 0 = no q-LoRA. llama.cpp requires the key unless its layer-count test takes the model for
  // V2-Lite (26/27 layers), so an 8-layer V2-Lite-shaped file without it does not load there.
  put_u32(m, a + ".attention.q_lora_rank", c.q_lora_rank.value_or(0));
  put_u32(m, a + ".attention.kv_lora_rank", c.kv_lora_rank);
  if (split) {  // the MQA view of newer converters
    put_u32(m, a + ".attention.key_length", c.kv_lora_rank + c.qk_rope_head_dim);
    put_u32(m, a + ".attention.value_length", c.kv_lora_rank);
    put_u32(m, a + ".attention.key_length_mla", c.qk_head_dim());
    put_u32(m, a + ".attention.value_length_mla", c.v_head_dim);
  } else {
    put_u32(m, a + ".attention.key_length", c.qk_head_dim());
    put_u32(m, a + ".attention.value_length", c.v_head_dim);
  }
  put_u32(m, a + ".expert_feed_forward_length", c.moe_intermediate_size);
  put_u32(m, a + ".expert_count", c.n_routed_experts);
  put_u32(m, a + ".expert_shared_count", c.n_shared_experts);
  put_f32(m, a + ".expert_weights_scale", c.routed_scaling_factor);
  m.emplace_back(a + ".expert_weights_norm", GgufValue::of_int(GgufType::kBool, c.norm_topk_prob));
  put_u32(m, a + ".expert_gating_func", c.scoring_func == format::ScoringFunc::kSigmoid ? 2 : 1);
  put_u32(m, a + ".expert_group_count", c.n_group);
  put_u32(m, a + ".expert_group_used_count", c.topk_group);
  put_u32(m, a + ".rope.dimension_count", c.qk_rope_head_dim);
  if (c.rope_scaling.type == "yarn") {
    m.emplace_back(a + ".rope.scaling.type", GgufValue::of_string("yarn"));
    put_f32(m, a + ".rope.scaling.factor", c.rope_scaling.factor);
    put_u32(m, a + ".rope.scaling.original_context_length", c.rope_scaling.original_max_position_embeddings);
    put_f32(m, a + ".rope.scaling.yarn_log_multiplier", 0.1 * c.rope_scaling.mscale_all_dim);
  }
}

// llama.cpp's rope_freqs for Llama 3.1: per-frequency divisors of the llama3 rule.
format::GgufTensorData rope_freqs(const format::ModelConfig& c) {
  const auto& rs = c.rope_scaling;
  std::vector<float> f;
  for (int64_t i = 0; i < c.head_dim / 2; ++i) {
    const double freq = std::pow(c.rope_theta, -2.0 * static_cast<double>(i) / static_cast<double>(c.head_dim));
    const double wl = 2.0 * std::numbers::pi / freq, L0 = static_cast<double>(rs.original_max_position_embeddings);
    if (wl < L0 / rs.high_freq_factor) f.push_back(1.0f);
    else if (wl > L0 / rs.low_freq_factor) f.push_back(static_cast<float>(rs.factor));
    else {
      const double sm = (L0 / wl - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
      f.push_back(static_cast<float>(1.0 / ((1.0 - sm) / rs.factor + sm)));
    }
  }
  return {.name = "rope_freqs.weight", .type = GgmlType::kF32, .shape = {c.head_dim / 2}, .bytes = format::encode_f32(f)};
}

Status tokenizer_meta(const std::string& dir, const format::ModelConfig& c, Meta& m) {
  const std::string path = dir + "/tokenizer.json";
  if (!std::filesystem::exists(path)) return {};
  auto text = read_text_file(path);
  if (!text) return text.error();
  const json j = json::parse(*text);
  std::vector<std::string> tokens;
  std::vector<int64_t> types;
  auto put = [&](int64_t id, const std::string& s, int64_t type) {
    if (static_cast<int64_t>(tokens.size()) <= id) tokens.resize(id + 1, ""), types.resize(id + 1, 5);  // gaps: UNUSED
    tokens[id] = s;
    types[id] = type;
  };
  for (const auto& [tok, id] : j["model"]["vocab"].items()) put(id.get<int64_t>(), tok, 1);
  for (const auto& t : j["added_tokens"]) put(t["id"].get<int64_t>(), t["content"].get<std::string>(), t["special"].get<bool>() ? 3 : 4);
  for (size_t id = 0; id < tokens.size(); ++id)
    if (types[id] == 5) tokens[id] = "[PAD" + std::to_string(id) + "]";
  std::vector<std::string> merges;
  for (const auto& mg : j["model"]["merges"])
    merges.push_back(mg.is_string() ? mg.get<std::string>() : mg[0].get<std::string>() + " " + mg[1].get<std::string>());
  const std::string pre = c.is_deepseek() ? "deepseek-v3" : c.model_type == format::ModelType::kLlama ? "llama-bpe" : "qwen2";
  m.emplace_back("tokenizer.ggml.model", GgufValue::of_string("gpt2"));
  m.emplace_back("tokenizer.ggml.pre", GgufValue::of_string(pre));
  m.emplace_back("tokenizer.ggml.tokens", GgufValue::of_strings(tokens));
  m.emplace_back("tokenizer.ggml.token_type", GgufValue::of_ints(GgufType::kI32, types));
  m.emplace_back("tokenizer.ggml.merges", GgufValue::of_strings(merges));
  if (c.bos_token_id >= 0) put_u32(m, "tokenizer.ggml.bos_token_id", c.bos_token_id);
  // llama.cpp copies add_bos_token and the chat template from tokenizer_config.json.
  if (std::filesystem::exists(dir + "/tokenizer_config.json")) {
    auto tc = read_text_file(dir + "/tokenizer_config.json");
    if (!tc) return tc.error();
    const json t = json::parse(*tc);
    if (t.contains("add_bos_token") && t["add_bos_token"].is_boolean())
      m.emplace_back("tokenizer.ggml.add_bos_token", GgufValue::of_int(GgufType::kBool, t["add_bos_token"].get<bool>()));
    if (t.contains("chat_template") && t["chat_template"].is_string())
      m.emplace_back("tokenizer.chat_template", GgufValue::of_string(t["chat_template"].get<std::string>()));
  }
  if (!c.eos_token_ids.empty()) put_u32(m, "tokenizer.ggml.eos_token_id", c.eos_token_ids[0]);
  return {};
}

struct TensorCtx {
  const format::ModelConfig* c;
  GgufConvertArgs args;
  std::vector<format::GgufTensorData>* out;
};

void add(const TensorCtx& x, const std::string& name, std::vector<int64_t> shape, const std::vector<float>& v, bool matrix) {
  Encoded e = encode(v, shape.back(), x.args.weights, matrix);
  x.out->push_back({.name = name, .type = e.type, .shape = std::move(shape), .bytes = std::move(e.bytes)});
}

// kv_b_proj [H·(dn+dv), c] → attn_k_b [H, c, dn] (W_UKᵀ per head) and attn_v_b [H, dv, c].
void split_kv_b(const TensorCtx& x, const std::string& blk, const std::vector<float>& v) {
  const auto& c = *x.c;
  const int64_t H = c.num_attention_heads, dn = c.qk_nope_head_dim, dv = c.v_head_dim, C = c.kv_lora_rank;
  std::vector<float> kb(static_cast<size_t>(H * C * dn)), vb(static_cast<size_t>(H * dv * C));
  for (int64_t h = 0; h < H; ++h) {
    const float* head = v.data() + h * (dn + dv) * C;
    for (int64_t i = 0; i < dn; ++i)
      for (int64_t j = 0; j < C; ++j) kb[(h * C + j) * dn + i] = head[i * C + j];
    std::copy_n(head + dn * C, dv * C, vb.begin() + h * dv * C);
  }
  add(x, blk + "attn_k_b.weight", {H, C, dn}, kb, true);
  add(x, blk + "attn_v_b.weight", {H, dv, C}, vb, true);
}

// GGUF stacks a layer's experts into one [n_expert, rows, cols] tensor.
void flush_experts(const TensorCtx& x, const std::string& g, const std::vector<std::vector<float>>& list,
                   const std::vector<int64_t>& shape) {
  std::vector<float> all;
  for (const auto& e : list) all.insert(all.end(), e.begin(), e.end());
  add(x, g, {static_cast<int64_t>(list.size()), shape[0], shape[1]}, all, true);
}

Status add_tensors(const TensorCtx& x, const format::Checkpoint& ck) {
  const auto& c = *x.c;
  std::map<std::string, std::vector<std::vector<float>>> experts;  // GGUF name → per-expert values
  std::map<std::string, std::vector<int64_t>> expert_shape;
  for (const auto& [name, t] : ck.tensors()) {
    const std::string layers = "model.layers.";
    if (name.rfind(layers, 0) == 0 && std::stoll(name.substr(layers.size())) >= c.num_hidden_layers) continue;  // MTP: skipped, as llama.cpp does
    const std::string g = format::gguf_tensor_for(name);
    if (g.empty()) return make_error(ErrorCode::kNotFound, "no GGUF name for '" + name + "'");
    std::vector<float> v = values(t);
    const bool matrix = t.shape.size() == 2 && g.find("ffn_gate_inp") == std::string::npos;
    if (c.model_type == format::ModelType::kLlama && (g.ends_with("attn_q.weight") || g.ends_with("attn_k.weight")))
      v = permute_rows(v, t.shape[0], g.ends_with("attn_q.weight") ? c.num_attention_heads : c.num_key_value_heads);
    if (g.ends_with("_exps.weight")) {
      const size_t e = std::stoul(name.substr(name.find("experts.") + 8));
      auto& list = experts[g];
      if (list.size() <= e) list.resize(e + 1);
      list[e] = std::move(v);
      expert_shape[g] = t.shape;
      // A layer's projection is written once its experts are all in, so at most one stacked tensor
      // is held as floats (an 8-layer V2-Lite would otherwise hold ~15 GB of them).
      if (std::ssize(list) == c.n_routed_experts && std::ranges::none_of(list, [](const auto& l) { return l.empty(); })) {
        flush_experts(x, g, list, t.shape);
        experts.erase(g);
      }
      continue;
    }
    if (x.args.split_kv_b && g.ends_with("attn_kv_b.weight")) {
      split_kv_b(x, g.substr(0, g.size() - std::string("attn_kv_b.weight").size()), v);
      continue;
    }
    add(x, g, t.shape, v, matrix);
  }
  for (auto& [g, list] : experts) flush_experts(x, g, list, expert_shape[g]);  // incomplete sets as they are
  return {};
}

}  // namespace

std::vector<float> gguf_roundtrip(const std::vector<float>& v, int64_t cols, GgufWeights w, bool matrix) {
  const Encoded e = encode(v, cols, w, matrix);
  std::vector<float> out(v.size());
  const auto* info = format::ggml_type_info(static_cast<uint32_t>(e.type));
  const int64_t rows = static_cast<int64_t>(v.size()) / cols;
  const size_t rb = format::ggml_row_bytes(e.type, cols);
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* src = e.bytes.data() + r * rb;
    float* dst = out.data() + r * cols;
    switch (e.type) {
      case GgmlType::kF32: kernels::ref::dequantize_row_f32(src, dst, cols); break;
      case GgmlType::kF16: kernels::ref::dequantize_row_f16(src, dst, cols); break;
      case GgmlType::kQ8_0: kernels::ref::dequantize_row_q8_0(src, dst, cols); break;
      case GgmlType::kQ4_0: kernels::ref::dequantize_row_q4_0(src, dst, cols); break;
      case GgmlType::kQ4_K: kernels::ref::dequantize_row_q4_k(src, dst, cols); break;
      case GgmlType::kQ5_K: kernels::ref::dequantize_row_q5_k(src, dst, cols); break;
      case GgmlType::kQ6_K: kernels::ref::dequantize_row_q6_k(src, dst, cols); break;
      default: (void)info; std::fill(dst, dst + cols, NAN);
    }
  }
  return out;
}

Status convert_to_gguf(const GgufConvertArgs& args) {
  auto cfg = format::load_model_config(args.hf_dir);
  if (!cfg) return cfg.error();
  auto ck = format::Checkpoint::open(args.hf_dir);
  if (!ck) return ck.error();
  format::GgufWriteArgs w;
  const std::string arch = cfg->is_deepseek() ? "deepseek2" : cfg->model_type_name;
  w.metadata.emplace_back("general.architecture", GgufValue::of_string(arch));
  if (cfg->is_deepseek()) deepseek_meta(*cfg, args.split_kv_b, w.metadata);
  else dense_meta(*cfg, arch, w.metadata);
  RADSEEK_TRY(tokenizer_meta(args.hf_dir, *cfg, w.metadata));
  if (cfg->rope_scaling.type == "llama3") w.tensors.push_back(rope_freqs(*cfg));
  RADSEEK_TRY(add_tensors(TensorCtx{.c = &*cfg, .args = args, .out = &w.tensors}, *ck));
  if (args.edit) args.edit(w);
  return format::write_gguf(args.out_path, w);
}

}  // namespace radseek::testing

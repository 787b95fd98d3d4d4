#include "gguf_convert.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numbers>
#include <span>

#include <sys/mman.h>
#include <unistd.h>

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

using QuantFn = void (*)(const float*, uint8_t*, int64_t);
struct Choice {
  GgmlType type;
  int64_t block = 1;
  size_t block_bytes = 0;
  QuantFn fn = nullptr;  // null: a plain float type
};

// The stored type of a [rows, cols] matrix (1-D: one row): the requested one or its fallback. It
// depends on the shape alone, so the tensor table can be written before any data is converted.
Choice choose(int64_t cols, GgufWeights want, bool matrix) {
  namespace q = kernels::ref;
  if (!matrix || want == GgufWeights::kF32) return {.type = GgmlType::kF32};
  if (want == GgufWeights::kBF16) return {.type = GgmlType::kBF16};
  const Choice q8{GgmlType::kQ8_0, 32, q::kBlockBytesQ8_0, q::quantize_row_q8_0};
  Choice c = q8;
  const Choice q5{GgmlType::kQ5_0, 32, q::kBlockBytesQ5_0, q::quantize_row_q5_0};
  if (want == GgufWeights::kQ4_0) c = {GgmlType::kQ4_0, 32, q::kBlockBytesQ4_0, q::quantize_row_q4_0};
  const Choice q5_1{GgmlType::kQ5_1, 32, q::kBlockBytesQ5_1, q::quantize_row_q5_1};
  if (want == GgufWeights::kQ5_0) c = q5;
  if (want == GgufWeights::kQ4_1) c = {GgmlType::kQ4_1, 32, q::kBlockBytesQ4_1, q::quantize_row_q4_1};
  if (want == GgufWeights::kQ5_1) c = q5_1;
  if (want == GgufWeights::kQ4_K) c = {GgmlType::kQ4_K, 256, q::kBlockBytesQ4_K, q::quantize_row_q4_k};
  if (want == GgufWeights::kQ5_K) c = {GgmlType::kQ5_K, 256, q::kBlockBytesQ5_K, q::quantize_row_q5_k};
  if (want == GgufWeights::kQ6_K) c = {GgmlType::kQ6_K, 256, q::kBlockBytesQ6_K, q::quantize_row_q6_k};
  // Rows too short for a k-quant fall back as llama-quantize does: Q4_K to Q5_0, Q5_K to Q5_1, Q6_K
  // to Q8_0 (V2-Lite's 1408-wide expert down projections and 128-wide attn_k_b in a Q4_K_M file are Q5_0).
  if (want == GgufWeights::kF16 || cols % c.block != 0)
    c = want == GgufWeights::kQ4_K ? q5 : want == GgufWeights::kQ5_K ? q5_1 : q8;
  if (want == GgufWeights::kF16 || cols % c.block != 0) return {.type = GgmlType::kF16};
  return c;
}

// Row-wise encoding, so the rows of a matrix may be encoded in several pieces with the same bytes.
Encoded encode(const std::vector<float>& v, int64_t cols, GgufWeights want, bool matrix) {
  const Choice c = choose(cols, want, matrix);
  if (c.type == GgmlType::kF32) return {c.type, format::encode_f32(v)};
  if (c.type == GgmlType::kF16) return {c.type, format::encode_f16(v)};
  if (c.type == GgmlType::kBF16) return {c.type, format::encode_bf16(v)};
  const int64_t rows = static_cast<int64_t>(v.size()) / cols;
  Encoded e{c.type, std::vector<uint8_t>(static_cast<size_t>(rows * (cols / c.block)) * c.block_bytes)};
  for (int64_t r = 0; r < rows; ++r) c.fn(v.data() + r * cols, e.bytes.data() + r * (cols / c.block) * c.block_bytes, cols);
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

// llama.cpp's rope_freqs for Llama 3.1: per-frequency divisors of the llama3 rule, as F32 bytes.
std::vector<uint8_t> rope_freqs(const format::ModelConfig& c) {
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
  return format::encode_f32(f);
}

Expected<json> optional_json(const std::string& path) {
  if (!std::filesystem::exists(path)) return json::object();
  auto text = read_text_file(path);
  if (!text) return text.error();
  return json::parse(*text);
}

// llama.cpp's SpecialVocab: the added token whose text is tokenizer_config.json's `<typ>_token`,
// else config.json's id; ids outside the vocabulary are skipped (-1: no key). A generated byte-level
// tokenizer beside V2-Lite's config.json (bos 100000, 263 tokens) then gets bos 0, not an id the
// GGUF loader rejects.
int64_t special_id(const json& tc, const json& added, const std::string& typ, int64_t config_id, size_t n_vocab) {
  const auto in_vocab = [&](int64_t id) { return id >= 0 && static_cast<size_t>(id) < n_vocab; };
  const json e = tc.value(typ + "_token", json());
  const json text = e.is_object() ? e.value("content", json()) : e;
  if (text.is_string())
    for (const auto& t : added)
      if (t["content"] == text) {
        if (in_vocab(t["id"].get<int64_t>())) return t["id"].get<int64_t>();
        break;  // llama.cpp takes the first match only
      }
  return in_vocab(config_id) ? config_id : -1;
}

Status tokenizer_meta(const std::string& dir, const format::ModelConfig& c, Meta& m) {
  if (!std::filesystem::exists(dir + "/tokenizer.json")) return {};
  auto j = optional_json(dir + "/tokenizer.json");
  if (!j) return j.error();
  auto tc = optional_json(dir + "/tokenizer_config.json");
  if (!tc) return tc.error();
  std::vector<std::string> tokens;
  std::vector<int64_t> types;
  auto put = [&](int64_t id, const std::string& s, int64_t type) {
    if (static_cast<int64_t>(tokens.size()) <= id) tokens.resize(id + 1, ""), types.resize(id + 1, 5);  // gaps: UNUSED
    tokens[id] = s;
    types[id] = type;
  };
  for (const auto& [tok, id] : (*j)["model"]["vocab"].items()) put(id.get<int64_t>(), tok, 1);
  for (const auto& t : (*j)["added_tokens"]) put(t["id"].get<int64_t>(), t["content"].get<std::string>(), t["special"].get<bool>() ? 3 : 4);
  for (size_t id = 0; id < tokens.size(); ++id)
    if (types[id] == 5) tokens[id] = "[PAD" + std::to_string(id) + "]";
  std::vector<std::string> merges;
  for (const auto& mg : (*j)["model"]["merges"])
    merges.push_back(mg.is_string() ? mg.get<std::string>() : mg[0].get<std::string>() + " " + mg[1].get<std::string>());
  const std::string pre = c.is_deepseek() ? "deepseek-v3" : c.model_type == format::ModelType::kLlama ? "llama-bpe" : "qwen2";
  m.emplace_back("tokenizer.ggml.model", GgufValue::of_string("gpt2"));
  m.emplace_back("tokenizer.ggml.pre", GgufValue::of_string(pre));
  m.emplace_back("tokenizer.ggml.tokens", GgufValue::of_strings(tokens));
  m.emplace_back("tokenizer.ggml.token_type", GgufValue::of_ints(GgufType::kI32, types));
  m.emplace_back("tokenizer.ggml.merges", GgufValue::of_strings(merges));
  const json& added = (*j)["added_tokens"];
  if (int64_t bos = special_id(*tc, added, "bos", c.bos_token_id, tokens.size()); bos >= 0) put_u32(m, "tokenizer.ggml.bos_token_id", bos);
  // llama.cpp copies add_bos_token and the chat template from tokenizer_config.json.
  if (tc->contains("add_bos_token") && (*tc)["add_bos_token"].is_boolean())
    m.emplace_back("tokenizer.ggml.add_bos_token", GgufValue::of_int(GgufType::kBool, (*tc)["add_bos_token"].get<bool>()));
  if (tc->contains("chat_template") && (*tc)["chat_template"].is_string())
    m.emplace_back("tokenizer.chat_template", GgufValue::of_string((*tc)["chat_template"].get<std::string>()));
  const int64_t config_eos = c.eos_token_ids.empty() ? -1 : c.eos_token_ids[0];
  if (int64_t eos = special_id(*tc, added, "eos", config_eos, tokens.size()); eos >= 0) put_u32(m, "tokenizer.ggml.eos_token_id", eos);
  return {};
}

struct TensorCtx {
  const format::ModelConfig* c;
  const GgufConvertArgs* args;
};

// Where an output tensor's values come from.
enum class Source {
  kBytes,    // already encoded (rope_freqs)
  kPlain,    // one checkpoint tensor, llama q/k rows permuted when permute_heads > 0
  kKB,       // kv_b_proj's W_UK part, transposed per head (attn_k_b)
  kVB,       // kv_b_proj's W_UV part (attn_v_b)
  kExperts,  // one projection of a layer's experts, stacked in expert order
};

// One output tensor: its table entry and how to make its bytes.
struct Planned {
  format::GgufTensorSpec spec;
  Source source = Source::kPlain;
  std::vector<const format::TensorInfo*> src = {};
  int64_t permute_heads = 0;
  bool matrix = true;
  std::vector<uint8_t> bytes = {};
};

Planned planned(const TensorCtx& x, std::string name, std::vector<int64_t> shape, Source source,
                std::vector<const format::TensorInfo*> src, bool matrix) {
  const GgmlType type = choose(shape.back(), x.args->weights, matrix).type;
  return {.spec = {.name = std::move(name), .type = type, .shape = std::move(shape)}, .source = source, .src = std::move(src),
          .matrix = matrix};
}

// GGUF stacks a layer's experts into one [n_expert, rows, cols] tensor; a gap (a missing expert)
// cannot be stacked.
Status plan_experts(const TensorCtx& x, const std::string& g, const std::vector<const format::TensorInfo*>& list,
                    std::vector<Planned>& out) {
  for (size_t e = 0; e < list.size(); ++e)
    if (!list[e]) return make_error(ErrorCode::kNotFound, "'" + g + "': expert " + std::to_string(e) + " is missing");
  const auto& shape = list.back()->shape;
  out.push_back(planned(x, g, {std::ssize(list), shape[0], shape[1]}, Source::kExperts, list, true));
  return {};
}

// The output tensors in file order, without reading any weights. The order is what converting
// tensor by tensor in checkpoint order gives: a layer's stacked projection comes when its last
// expert is reached, incomplete sets at the end.
Status plan_tensors(const TensorCtx& x, const format::Checkpoint& ck, std::vector<Planned>& out) {
  const auto& c = *x.c;
  std::map<std::string, std::vector<const format::TensorInfo*>> experts;  // GGUF name → per expert
  for (const auto& [name, t] : ck.tensors()) {
    const std::string layers = "model.layers.";
    if (name.rfind(layers, 0) == 0 && std::stoll(name.substr(layers.size())) >= c.num_hidden_layers) continue;  // MTP: skipped, as llama.cpp does
    const std::string g = format::gguf_tensor_for(name);
    if (g.empty()) return make_error(ErrorCode::kNotFound, "no GGUF name for '" + name + "'");
    if (g.ends_with("_exps.weight")) {
      const size_t e = std::stoul(name.substr(name.find("experts.") + 8));
      auto& list = experts[g];
      if (list.size() <= e) list.resize(e + 1);
      list[e] = &t;
      if (std::ssize(list) == c.n_routed_experts && std::ranges::none_of(list, [](const auto* l) { return l == nullptr; })) {
        RADSEEK_TRY(plan_experts(x, g, list, out));
        experts.erase(g);
      }
      continue;
    }
    const std::string kv_b = "attn_kv_b.weight";
    if (x.args->split_kv_b && g.ends_with(kv_b)) {  // [H·(dn+dv), C] → attn_k_b [H, C, dn] and attn_v_b [H, dv, C]
      const std::string blk = g.substr(0, g.size() - kv_b.size());
      const int64_t H = c.num_attention_heads, C = c.kv_lora_rank;
      out.push_back(planned(x, blk + "attn_k_b.weight", {H, C, c.qk_nope_head_dim}, Source::kKB, {&t}, true));
      out.push_back(planned(x, blk + "attn_v_b.weight", {H, c.v_head_dim, C}, Source::kVB, {&t}, true));
      continue;
    }
    const bool matrix = t.shape.size() == 2 && g.find("ffn_gate_inp") == std::string::npos;
    Planned p = planned(x, g, t.shape, Source::kPlain, {&t}, matrix);
    if (c.model_type == format::ModelType::kLlama && (g.ends_with("attn_q.weight") || g.ends_with("attn_k.weight")))
      p.permute_heads = g.ends_with("attn_q.weight") ? c.num_attention_heads : c.num_key_value_heads;
    out.push_back(std::move(p));
  }
  for (auto& [g, list] : experts) RADSEEK_TRY(plan_experts(x, g, list, out));
  return {};
}

// kv_b_proj [H·(dn+dv), C] → attn_k_b [H, C, dn] (W_UKᵀ per head) or attn_v_b [H, dv, C].
std::vector<float> split_kv_b(const format::ModelConfig& c, const std::vector<float>& v, bool k) {
  const int64_t H = c.num_attention_heads, dn = c.qk_nope_head_dim, dv = c.v_head_dim, C = c.kv_lora_rank;
  std::vector<float> out(static_cast<size_t>(H * C * (k ? dn : dv)));
  for (int64_t h = 0; h < H; ++h) {
    const float* head = v.data() + h * (dn + dv) * C;
    if (!k) {
      std::copy_n(head + dn * C, dv * C, out.begin() + h * dv * C);
      continue;
    }
    for (int64_t i = 0; i < dn; ++i)
      for (int64_t j = 0; j < C; ++j) out[(h * C + j) * dn + i] = head[i * C + j];
  }
  return out;
}

// Drops a converted tensor's pages of the mapped checkpoint from this process: they are clean file
// pages, so without this the whole checkpoint (9 GB for an 8-layer V2-Lite) would count as resident.
void release(const format::TensorInfo& t) {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(t.data) / page * page;
  const auto end = reinterpret_cast<uintptr_t>(t.data) + t.nbytes;
  ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);  // advice only: failure is harmless
}

using Sink = std::function<Status(std::span<const uint8_t>)>;

// A planned tensor's bytes, handed to `sink` in one piece, or one per expert: encoding is row-wise,
// so a stacked projection never needs all its experts as floats at once.
Status produce(const TensorCtx& x, const Planned& p, const Sink& sink) {
  const int64_t cols = p.spec.shape.back();
  const GgufWeights w = x.args->weights;
  if (p.source == Source::kBytes) return sink(p.bytes);
  for (const format::TensorInfo* t : p.src) {
    std::vector<float> v = values(*t);
    if (p.source == Source::kKB || p.source == Source::kVB) v = split_kv_b(*x.c, v, p.source == Source::kKB);
    if (p.permute_heads > 0) v = permute_rows(v, t->shape[0], p.permute_heads);
    RADSEEK_TRY(sink(encode(v, cols, w, p.matrix).bytes));
    release(*t);
  }
  return {};
}

// `edit` needs every tensor's bytes at once: the in-memory form, for the tiny test checkpoints only.
Status write_edited(const TensorCtx& x, const std::vector<Planned>& plan, format::GgufStreamArgs s) {
  format::GgufWriteArgs w{.metadata = std::move(s.metadata), .tensors = {}, .alignment = s.alignment, .version = s.version};
  for (const Planned& p : plan) {
    auto& t = w.tensors.emplace_back(format::GgufTensorData{.name = p.spec.name, .type = p.spec.type, .shape = p.spec.shape, .bytes = {}});
    RADSEEK_TRY(produce(x, p, [&t](std::span<const uint8_t> b) {
      t.bytes.insert(t.bytes.end(), b.begin(), b.end());
      return Status{};
    }));
  }
  x.args->edit(w);
  return format::write_gguf(x.args->out_path, w);
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
      case GgmlType::kBF16: kernels::ref::dequantize_row_bf16(src, dst, cols); break;
      case GgmlType::kQ8_0: kernels::ref::dequantize_row_q8_0(src, dst, cols); break;
      case GgmlType::kQ4_0: kernels::ref::dequantize_row_q4_0(src, dst, cols); break;
      case GgmlType::kQ5_0: kernels::ref::dequantize_row_q5_0(src, dst, cols); break;
      case GgmlType::kQ4_1: kernels::ref::dequantize_row_q4_1(src, dst, cols); break;
      case GgmlType::kQ5_1: kernels::ref::dequantize_row_q5_1(src, dst, cols); break;
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
  format::GgufStreamArgs s;
  const std::string arch = cfg->is_deepseek() ? "deepseek2" : cfg->model_type_name;
  s.metadata.emplace_back("general.architecture", GgufValue::of_string(arch));
  if (cfg->is_deepseek()) deepseek_meta(*cfg, args.split_kv_b, s.metadata);
  else dense_meta(*cfg, arch, s.metadata);
  RADSEEK_TRY(tokenizer_meta(args.hf_dir, *cfg, s.metadata));
  std::vector<Planned> plan;
  if (cfg->rope_scaling.type == "llama3")
    plan.push_back({.spec = {.name = "rope_freqs.weight", .type = GgmlType::kF32, .shape = {cfg->head_dim / 2}},
                    .source = Source::kBytes, .matrix = false, .bytes = rope_freqs(*cfg)});
  const TensorCtx x{.c = &*cfg, .args = &args};
  RADSEEK_TRY(plan_tensors(x, *ck, plan));
  for (const Planned& p : plan) s.tensors.push_back(p.spec);
  if (args.edit) return write_edited(x, plan, std::move(s));
  // The table first, then one tensor's data at a time: memory is the largest tensor, not the file.
  auto w = format::GgufStreamWriter::open(args.out_path, s);
  if (!w) return w.error();
  for (const Planned& p : plan) RADSEEK_TRY(produce(x, p, [&](std::span<const uint8_t> b) { return w->append(b); }));
  return w->finish();
}

}  // namespace radseek::testing

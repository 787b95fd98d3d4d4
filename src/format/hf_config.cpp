#include "format/hf_config.h"

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/mapped_file.h"
#include "format/json_text.h"

namespace radseek::format {
namespace {

using nlohmann::json;

// Upper bound for sizes and counts: far above any released model (vocab 152k, hidden 8192, 256
// experts), low enough that products such as vocab_size * hidden_size cannot overflow int64.
constexpr int64_t kMaxDim = int64_t{1} << 24;
// Context lengths reach 10M tokens in current models; still small enough for int64 products.
constexpr int64_t kMaxPositions = int64_t{1} << 31;

// Reads fields with type checks; every error names the file and the field.
class Reader {
 public:
  Reader(const json& j, std::string label) : j_(j), label_(std::move(label)) {}

  Error error(const std::string& field, const std::string& what) const {
    return make_error(ErrorCode::kParse, label_ + ": field '" + field + "' " + what);
  }
  bool has(const char* f) const { return j_.contains(f) && !j_.at(f).is_null(); }

  // Integers in [min_value, max_value]; unsigned values above INT64_MAX are out of range too.
  Status int_field(const char* f, int64_t& out, bool required, int64_t min_value = 0,
                   int64_t max_value = kMaxDim) const {
    if (!has(f)) return required ? Status(error(f, "is required (an integer)")) : Status();
    const json& v = j_.at(f);
    if (!v.is_number_integer()) return error(f, "must be an integer, got " + describe_json(v));
    const bool too_big = v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(max_value);
    if (too_big || v.get<int64_t>() < min_value || v.get<int64_t>() > max_value)
      return error(f, "must be in [" + std::to_string(min_value) + ", " + std::to_string(max_value) + "], got " +
                          describe_json(v));
    out = v.get<int64_t>();
    return {};
  }
  // Finite numbers; `positive` excludes zero and negatives (scales, epsilons, frequencies).
  Status num_field(const char* f, double& out, bool required, bool positive = false) const {
    if (!has(f)) return required ? Status(error(f, "is required (a number)")) : Status();
    const json& v = j_.at(f);
    if (!v.is_number()) return error(f, "must be a number, got " + describe_json(v));
    const double x = v.get<double>();
    if (!std::isfinite(x)) return error(f, "must be finite, got " + describe_json(v));
    if (positive && !(x > 0.0)) return error(f, "must be > 0, got " + describe_json(v));
    out = x;
    return {};
  }
  Status bool_field(const char* f, bool& out) const {
    if (!has(f)) return {};
    if (!j_.at(f).is_boolean()) return error(f, "must be true or false, got " + describe_json(j_.at(f)));
    out = j_.at(f).get<bool>();
    return {};
  }
  Status str_field(const char* f, std::string& out, bool required) const {
    if (!has(f)) return required ? Status(error(f, "is required (a string)")) : Status();
    if (!j_.at(f).is_string()) return error(f, "must be a string, got " + describe_json(j_.at(f)));
    out = j_.at(f).get<std::string>();
    return {};
  }

 private:
  const json& j_;
  std::string label_;
};

Status parse_rope_scaling(const json& j, const std::string& label, RopeScaling& rs) {
  if (!j.contains("rope_scaling") || j["rope_scaling"].is_null()) return {};
  const json& r = j["rope_scaling"];
  if (!r.is_object())
    return make_error(ErrorCode::kParse, label + ": field 'rope_scaling' must be an object or null, got " + describe_json(r));
  Reader rr(r, label + ": rope_scaling");
  std::string type;
  // Older configs spell it "type", newer transformers "rope_type"; either is accepted.
  if (!rr.has("type") && !rr.has("rope_type"))
    return rr.error("type", "is required (a string, e.g. \"yarn\"; also accepted as 'rope_type')");
  if (rr.has("type")) RADSEEK_TRY(rr.str_field("type", type, true));
  else RADSEEK_TRY(rr.str_field("rope_type", type, true));
  rs.type = type;
  if (type == "default") {
    rs.type.clear();
    return {};
  }
  if (type == "llama3") {
    RADSEEK_TRY(rr.num_field("factor", rs.factor, true, /*positive=*/true));
    RADSEEK_TRY(rr.int_field("original_max_position_embeddings", rs.original_max_position_embeddings, true, 1,
                             kMaxPositions));
    RADSEEK_TRY(rr.num_field("low_freq_factor", rs.low_freq_factor, true, /*positive=*/true));
    RADSEEK_TRY(rr.num_field("high_freq_factor", rs.high_freq_factor, true, /*positive=*/true));
    if (rs.high_freq_factor <= rs.low_freq_factor)
      return make_error(ErrorCode::kParse, label + ": rope_scaling high_freq_factor must exceed low_freq_factor");
    return {};
  }
  if (type != "yarn")
    return make_error(ErrorCode::kUnsupported, label + ": rope_scaling type '" + type + "' is not supported (expected 'yarn' or 'llama3')");
  RADSEEK_TRY(rr.num_field("factor", rs.factor, true, /*positive=*/true));
  RADSEEK_TRY(rr.int_field("original_max_position_embeddings", rs.original_max_position_embeddings, true, 1,
                           kMaxPositions));
  RADSEEK_TRY(rr.num_field("beta_fast", rs.beta_fast, false, /*positive=*/true));
  RADSEEK_TRY(rr.num_field("beta_slow", rs.beta_slow, false, /*positive=*/true));
  RADSEEK_TRY(rr.num_field("mscale", rs.mscale, false));
  RADSEEK_TRY(rr.num_field("mscale_all_dim", rs.mscale_all_dim, false));
  return {};
}

// radseek's integer formats (kernels.h WeightMatrix): bits 8 or 4, groups of 32 columns — the only
// group size the kernels implement, so any other is refused rather than misread.
Status parse_radseek_quantization(const Reader& r, const std::string& label, QuantizationConfig& qc,
                                  std::optional<QuantizationConfig>& out) {
  RADSEEK_TRY(r.int_field("bits", qc.bits, true, 4, 8));
  if (qc.bits != 8 && qc.bits != 4)
    return make_error(ErrorCode::kUnsupported, label + ": quantization_config.bits " + std::to_string(qc.bits) + " is not supported (expected 8 or 4)");
  RADSEEK_TRY(r.int_field("group_size", qc.group_size, true, 1));
  if (qc.group_size != 32)
    return make_error(ErrorCode::kUnsupported, label + ": quantization_config.group_size " + std::to_string(qc.group_size) +
                                                   " is not supported (expected 32)");
  out = qc;
  return {};
}

Status parse_quantization(const json& j, const std::string& label, std::optional<QuantizationConfig>& out) {
  if (!j.contains("quantization_config") || j["quantization_config"].is_null()) return {};
  const json& q = j["quantization_config"];
  if (!q.is_object())
    return make_error(ErrorCode::kParse, label + ": field 'quantization_config' must be an object or null, got " +
                                             describe_json(q));
  Reader r(q, label + ": quantization_config");
  QuantizationConfig qc;
  RADSEEK_TRY(r.str_field("quant_method", qc.quant_method, true));
  if (qc.quant_method == "radseek") return parse_radseek_quantization(r, label, qc, out);
  if (qc.quant_method != "fp8")
    return make_error(ErrorCode::kUnsupported, label + ": quantization_config.quant_method '" + qc.quant_method + "' is not supported (expected 'fp8' or 'radseek')");
  RADSEEK_TRY(r.str_field("fmt", qc.fmt, false));
  if (!qc.fmt.empty() && qc.fmt != "e4m3")
    return make_error(ErrorCode::kUnsupported, label + ": quantization_config.fmt '" + qc.fmt + "' is not supported (expected 'e4m3')");
  RADSEEK_TRY(r.str_field("scale_fmt", qc.scale_fmt, false));
  if (q.contains("weight_block_size")) {
    const json& b = q["weight_block_size"];
    auto in_range = [](const json& v) {
      return v.is_number_integer() && v.get<int64_t>() > 0 && v.get<int64_t>() <= kMaxDim &&
             !(v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(kMaxDim));
    };
    if (!b.is_array() || b.size() != 2 || !in_range(b[0]) || !in_range(b[1]))
      return make_error(ErrorCode::kParse, label + ": quantization_config.weight_block_size must be [rows, cols] of "
                                                   "integers in [1, " + std::to_string(kMaxDim) + "], got " +
                                                   describe_json(b));
    qc.block_rows = b[0].get<int64_t>();
    qc.block_cols = b[1].get<int64_t>();
  }
  out = qc;
  return {};
}

Status parse_routing(const Reader& r, const json& j, ModelConfig& c) {
  std::string s;
  RADSEEK_TRY(r.str_field("scoring_func", s, false));
  if (s.empty() || s == "softmax") c.scoring_func = ScoringFunc::kSoftmax;
  else if (s == "sigmoid") c.scoring_func = ScoringFunc::kSigmoid;
  else return r.error("scoring_func", "must be 'softmax' or 'sigmoid', got '" + s + "'");
  s.clear();
  RADSEEK_TRY(r.str_field("topk_method", s, false));
  if (s.empty() || s == "greedy") c.topk_method = TopkMethod::kGreedy;
  else if (s == "group_limited_greedy") c.topk_method = TopkMethod::kGroupLimitedGreedy;
  else if (s == "noaux_tc") c.topk_method = TopkMethod::kNoauxTc;
  else return r.error("topk_method", "must be greedy, group_limited_greedy or noaux_tc, got '" + s + "'");
  RADSEEK_TRY(r.int_field("n_group", c.n_group, false, 1));
  RADSEEK_TRY(r.int_field("topk_group", c.topk_group, false, 1));
  RADSEEK_TRY(r.bool_field("norm_topk_prob", c.norm_topk_prob));
  RADSEEK_TRY(r.num_field("routed_scaling_factor", c.routed_scaling_factor, false, /*positive=*/true));
  (void)j;
  if (c.n_routed_experts > 0) {
    if (c.n_routed_experts % c.n_group != 0)
      return r.error("n_group", "must divide n_routed_experts (" + std::to_string(c.n_routed_experts) + ")");
    if (c.topk_group > c.n_group) return r.error("topk_group", "must be <= n_group");
    if (c.n_group > 256) return r.error("n_group", "must be <= 256");
    if (c.num_experts_per_tok < 1 || c.num_experts_per_tok > c.n_routed_experts)
      return r.error("num_experts_per_tok", "must be in [1, n_routed_experts]");
    if (c.num_experts_per_tok > c.topk_group * (c.n_routed_experts / c.n_group))
      return r.error("num_experts_per_tok", "exceeds the experts in topk_group groups");
  }
  return {};
}

Status parse_eos(const json& j, const Reader& r, ModelConfig& c) {
  if (!j.contains("eos_token_id") || j["eos_token_id"].is_null()) return {};
  const json& e = j["eos_token_id"];
  if (e.is_number_integer()) {
    c.eos_token_ids = {e.get<int64_t>()};
  } else if (e.is_array()) {
    for (const auto& v : e) {
      if (!v.is_number_integer())
        return r.error("eos_token_id", "must be an integer or a list of integers, got " + describe_json(v));
      c.eos_token_ids.push_back(v.get<int64_t>());
    }
  } else {
    return r.error("eos_token_id", "must be an integer or a list of integers, got " + describe_json(e));
  }
  // Ids index the logits, so each must be a token of the vocabulary.
  for (const json& v : e.is_array() ? e : json::array({e}))
    if (v.is_number_unsigned() ? v.get<uint64_t>() >= static_cast<uint64_t>(c.vocab_size)
                               : (v.get<int64_t>() < 0 || v.get<int64_t>() >= c.vocab_size))
      return r.error("eos_token_id", "must be in [0, vocab_size = " + std::to_string(c.vocab_size) + "), got " +
                                         describe_json(v));
  return {};
}

Status parse_shapes(const Reader& r, ModelConfig& c) {
  RADSEEK_TRY(r.int_field("vocab_size", c.vocab_size, true, 1));
  RADSEEK_TRY(r.int_field("hidden_size", c.hidden_size, true, 1));
  RADSEEK_TRY(r.int_field("intermediate_size", c.intermediate_size, true, 1));
  RADSEEK_TRY(r.int_field("num_hidden_layers", c.num_hidden_layers, true, 1));
  RADSEEK_TRY(r.int_field("num_attention_heads", c.num_attention_heads, true, 1));
  if (r.has("q_lora_rank")) {
    int64_t q = 0;
    RADSEEK_TRY(r.int_field("q_lora_rank", q, true, 1));
    c.q_lora_rank = q;
  }
  RADSEEK_TRY(r.int_field("kv_lora_rank", c.kv_lora_rank, true, 1));
  RADSEEK_TRY(r.int_field("qk_nope_head_dim", c.qk_nope_head_dim, true, 0));
  RADSEEK_TRY(r.int_field("qk_rope_head_dim", c.qk_rope_head_dim, true, 2));
  if (c.qk_rope_head_dim % 2 != 0) return r.error("qk_rope_head_dim", "must be even (RoPE rotates pairs)");
  RADSEEK_TRY(r.int_field("v_head_dim", c.v_head_dim, true, 1));
  RADSEEK_TRY(r.int_field("n_routed_experts", c.n_routed_experts, false, 0));
  RADSEEK_TRY(r.int_field("n_shared_experts", c.n_shared_experts, false, 0));
  RADSEEK_TRY(r.int_field("num_experts_per_tok", c.num_experts_per_tok, false, 0));
  if (c.n_routed_experts > 0) RADSEEK_TRY(r.int_field("moe_intermediate_size", c.moe_intermediate_size, true, 1));
  RADSEEK_TRY(r.int_field("first_k_dense_replace", c.first_k_dense_replace, false, 0));
  RADSEEK_TRY(r.int_field("moe_layer_freq", c.moe_layer_freq, false, 1));
  RADSEEK_TRY(r.int_field("num_nextn_predict_layers", c.num_nextn_predict_layers, false, 0));
  RADSEEK_TRY(r.num_field("rms_norm_eps", c.rms_norm_eps, false, /*positive=*/true));
  RADSEEK_TRY(r.num_field("rope_theta", c.rope_theta, false, /*positive=*/true));
  RADSEEK_TRY(r.int_field("max_position_embeddings", c.max_position_embeddings, false, 0, kMaxPositions));
  RADSEEK_TRY(r.bool_field("tie_word_embeddings", c.tie_word_embeddings));
  RADSEEK_TRY(r.int_field("bos_token_id", c.bos_token_id, false, 0, c.vocab_size - 1));
  return {};
}

// Llama 3 / Qwen2 / Qwen3: GQA attention, SwiGLU MLP, plain or llama3-scaled RoPE (spec §6).
Status parse_dense(const Reader& r, ModelConfig& c) {
  RADSEEK_TRY(r.int_field("vocab_size", c.vocab_size, true, 1));
  RADSEEK_TRY(r.int_field("hidden_size", c.hidden_size, true, 1));
  RADSEEK_TRY(r.int_field("intermediate_size", c.intermediate_size, true, 1));
  RADSEEK_TRY(r.int_field("num_hidden_layers", c.num_hidden_layers, true, 1));
  RADSEEK_TRY(r.int_field("num_attention_heads", c.num_attention_heads, true, 1));
  c.num_key_value_heads = c.num_attention_heads;
  RADSEEK_TRY(r.int_field("num_key_value_heads", c.num_key_value_heads, false, 1));
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    return r.error("num_key_value_heads", "must divide num_attention_heads (" + std::to_string(c.num_attention_heads) + ")");
  c.head_dim = c.hidden_size / c.num_attention_heads;
  RADSEEK_TRY(r.int_field("head_dim", c.head_dim, false, 2));
  if (c.head_dim % 2 != 0) return r.error("head_dim", "must be even (RoPE rotates pairs)");
  RADSEEK_TRY(r.num_field("rms_norm_eps", c.rms_norm_eps, false, /*positive=*/true));
  RADSEEK_TRY(r.num_field("rope_theta", c.rope_theta, false, /*positive=*/true));
  RADSEEK_TRY(r.int_field("max_position_embeddings", c.max_position_embeddings, false, 0, kMaxPositions));
  RADSEEK_TRY(r.bool_field("tie_word_embeddings", c.tie_word_embeddings));
  RADSEEK_TRY(r.int_field("bos_token_id", c.bos_token_id, false, 0, c.vocab_size - 1));
  RADSEEK_TRY(r.bool_field("attention_bias", c.attention_bias));
  if (c.model_type == ModelType::kQwen2) c.attention_bias = true;  // Qwen2 always has q/k/v biases
  c.qk_norm = c.model_type == ModelType::kQwen3;
  // The dense MLA-free models reuse the rope fields: the whole head rotates.
  c.qk_rope_head_dim = c.head_dim;
  return {};
}

}  // namespace

Expected<ModelConfig> parse_model_config(const std::string& text, const std::string& label) {
  auto parsed = parse_json_text(text.data(), text.data() + text.size(), label, "config");
  if (!parsed) return parsed.error();
  const json& j = *parsed;
  if (!j.is_object()) return make_error(ErrorCode::kParse, label + ": expected a JSON object, got " + describe_json(j));
  Reader r(j, label);
  ModelConfig c;
  RADSEEK_TRY(r.str_field("model_type", c.model_type_name, true));
  if (c.model_type_name == "deepseek_v3") c.model_type = ModelType::kDeepseekV3;
  else if (c.model_type_name == "deepseek_v2") c.model_type = ModelType::kDeepseekV2;
  else if (c.model_type_name == "llama") c.model_type = ModelType::kLlama;
  else if (c.model_type_name == "qwen2") c.model_type = ModelType::kQwen2;
  else if (c.model_type_name == "qwen3") c.model_type = ModelType::kQwen3;
  else
    return make_error(ErrorCode::kUnsupported, label + ": model_type '" + c.model_type_name +
                                                   "' is not supported (expected deepseek_v3, deepseek_v2, llama, qwen2 or qwen3)");
  if (!c.is_deepseek()) {
    RADSEEK_TRY(parse_dense(r, c));
    RADSEEK_TRY(parse_eos(j, r, c));
    RADSEEK_TRY(parse_rope_scaling(j, label, c.rope_scaling));
    if (c.rope_scaling.type == "yarn")
      return make_error(ErrorCode::kUnsupported, label + ": rope_scaling 'yarn' is not supported for " + c.model_type_name);
    RADSEEK_TRY(parse_quantization(j, label, c.quantization));  // `radseek quantize` copies of dense models
    return c;
  }
  RADSEEK_TRY(parse_shapes(r, c));
  RADSEEK_TRY(parse_routing(r, j, c));
  RADSEEK_TRY(parse_eos(j, r, c));
  RADSEEK_TRY(parse_rope_scaling(j, label, c.rope_scaling));
  RADSEEK_TRY(parse_quantization(j, label, c.quantization));
  return c;
}

Expected<ModelConfig> load_model_config(const std::string& model_dir) {
  const std::string path = (std::filesystem::path(model_dir) / "config.json").string();
  auto text = read_text_file(path);
  if (!text) return text.error();
  return parse_model_config(*text, path);
}

Expected<std::vector<int64_t>> load_generation_eos_ids(const std::string& model_dir, int64_t vocab_size) {
  const std::string path = (std::filesystem::path(model_dir) / "generation_config.json").string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::vector<int64_t>();
  auto text = read_text_file(path);
  if (!text) return text.error();
  auto parsed = parse_json_text(text->data(), text->data() + text->size(), path, "generation config");
  if (!parsed) return parsed.error();
  if (!parsed->is_object()) return make_error(ErrorCode::kParse, path + ": expected a JSON object, got " + describe_json(*parsed));
  ModelConfig c;
  c.vocab_size = vocab_size;
  RADSEEK_TRY(parse_eos(*parsed, Reader(*parsed, path), c));
  return c.eos_token_ids;
}

}  // namespace radseek::format

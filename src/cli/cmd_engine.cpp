// radseek info / score / generate.
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/timer.h"
#include "cli/bundled_model.h"
#include "cli/commands.h"
#include "cli/engine_options.h"
#include "format/gguf_model.h"
#include "format/hf_config.h"
#include "model/param_count.h"

namespace radseek::cli {
namespace {

using nlohmann::json;

std::string human(double n) {
  char buf[64];
  if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.2f B", n / 1e9);
  else if (n >= 1e6) std::snprintf(buf, sizeof buf, "%.2f M", n / 1e6);
  else std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

// dtype -> (tensor count, bytes) from the checkpoint, when the weights are present.
json dtype_summary(const std::string& dir) {
  auto ck = format::Checkpoint::open(dir);
  if (!ck && ck.error().code == ErrorCode::kNotFound) return json("no weights in the folder (config only)");
  if (!ck) return json{{"error", ck.error().message}};
  std::map<std::string, std::pair<int64_t, int64_t>> m;
  for (const auto& [name, t] : ck->tensors()) {
    auto& e = m[std::string(dtype_name(t.dtype))];
    e.first++;
    e.second += static_cast<int64_t>(t.nbytes);
  }
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = {{"tensors", v.first}, {"bytes", v.second}};
  return j;
}

// A GGUF file: ggml type -> (tensor count, bytes), as stored.
json gguf_type_summary(const std::string& path) {
  auto f = format::GgufFile::open(path);
  if (!f) return json{{"error", f.error().message}};
  std::map<std::string, std::pair<int64_t, int64_t>> m;
  for (const auto& t : f->tensors()) {
    auto& e = m[format::ggml_type_name(t.type)];
    e.first++;
    e.second += static_cast<int64_t>(t.nbytes);
  }
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = {{"tensors", v.first}, {"bytes", v.second}};
  return j;
}

Expected<format::ModelConfig> info_config(const std::string& dir) {
  if (!format::is_gguf_file(dir)) return format::load_model_config(dir);
  auto g = format::open_gguf_model(dir);
  if (!g) return g.error();
  return std::move(g->config);
}

// --kv-cache fp8: e4m3 values plus one f32 scale per row (token and layer).
int64_t mla_fp8_bytes_per_token(const format::ModelConfig& c) {
  return c.num_hidden_layers * model::kv_row_bytes(model::KvDtype::kFP8, c.kv_lora_rank + c.qk_rope_head_dim);
}

// The architecture part of `info --json`: MLA + MoE for DeepSeek; GQA (no MoE key) for dense models.
void architecture_json(const format::ModelConfig& c, json& j) {
  if (!c.is_deepseek()) {
    j["attention"] = {{"kind", "GQA"}, {"heads", c.num_attention_heads}, {"kv_heads", c.num_key_value_heads},
                      {"head_dim", c.head_dim}, {"qkv_bias", c.attention_bias}, {"qk_norm", c.qk_norm}};
    j["mlp"] = {{"kind", "dense SwiGLU"}, {"intermediate_size", c.intermediate_size}};
    j["kv_cache_bytes_per_token"] = {{"kv_bf16", model::gqa_cache_bytes_per_token(c, 2)},
                                     {"kv_f32", model::gqa_cache_bytes_per_token(c, 4)},
                                     {"full_mha_bf16", model::mha_cache_bytes_per_token(c, 2)}};
    return;
  }
  j["attention"] = {{"kind", "MLA"}, {"heads", c.num_attention_heads}, {"q_lora_rank", c.q_lora_rank ? json(*c.q_lora_rank) : json(nullptr)},
                    {"kv_lora_rank", c.kv_lora_rank}, {"qk_nope_head_dim", c.qk_nope_head_dim},
                    {"qk_rope_head_dim", c.qk_rope_head_dim}, {"v_head_dim", c.v_head_dim}};
  j["moe"] = {{"routed_experts", c.n_routed_experts}, {"shared_experts", c.n_shared_experts},
              {"experts_per_token", c.num_experts_per_tok}, {"first_k_dense_replace", c.first_k_dense_replace}};
  j["kv_cache_bytes_per_token"] = {{"mla_bf16", model::mla_cache_bytes_per_token(c, 2)},
                                   {"mla_f32", model::mla_cache_bytes_per_token(c, 4)},
                                   {"mla_fp8", mla_fp8_bytes_per_token(c)},
                                   {"full_mha_bf16", model::mha_cache_bytes_per_token(c, 2)}};
}

void print_dense_architecture(const format::ModelConfig& c) {
  std::string extras;
  if (c.attention_bias) extras += ", q/k/v biases";
  if (c.qk_norm) extras += ", per-head q/k RMSNorm";
  std::printf("architecture      %lld layers, hidden %lld, GQA %lld query heads / %lld KV heads (head_dim %lld%s)\n",
              (long long)c.num_hidden_layers, (long long)c.hidden_size, (long long)c.num_attention_heads,
              (long long)c.num_key_value_heads, (long long)c.head_dim, extras.c_str());
  std::printf("MLP               dense SwiGLU, intermediate %lld (every layer)\n", (long long)c.intermediate_size);
}

void print_kv_cache(const format::ModelConfig& c) {
  const int64_t mha = model::mha_cache_bytes_per_token(c, 2);
  if (!c.is_deepseek()) {
    const int64_t kv = model::gqa_cache_bytes_per_token(c, 2);
    std::printf("KV cache / token  %lld bytes (full K/V of %lld KV heads, BF16; radseek keeps F32: %lld); without GQA %lld bytes (%.1fx)\n",
                (long long)kv, (long long)c.num_key_value_heads, (long long)model::gqa_cache_bytes_per_token(c, 4),
                (long long)mha, static_cast<double>(mha) / kv);
    return;
  }
  const int64_t mla = model::mla_cache_bytes_per_token(c, 2);
  std::printf("KV cache / token  %lld bytes (MLA latent, BF16; --kv-cache f32 %lld, fp8 %lld); full multi-head K/V would need %lld bytes (%.1fx)\n",
              (long long)mla, (long long)model::mla_cache_bytes_per_token(c, 4), (long long)mla_fp8_bytes_per_token(c),
              (long long)mha, static_cast<double>(mha) / mla);
}

int run_info(const std::string& dir, bool as_json) {
  const bool gguf = format::is_gguf_file(dir);
  auto cfg = info_config(dir);
  if (!cfg) {
    std::fprintf(stderr, "radseek: %s\n", cfg.error().message.c_str());
    return 1;
  }
  const auto& c = *cfg;
  const auto p = model::count_params(c);
  json j;
  j["model_type"] = c.model_type_name;
  j["layers"] = c.num_hidden_layers;
  j["hidden_size"] = c.hidden_size;
  architecture_json(c, j);
  j["parameters"] = {{"total", p.total}, {"active_per_token", p.active_per_token}, {"mtp", p.mtp},
                     {"embedding", p.embedding}, {"lm_head", p.lm_head}, {"routed_experts", p.routed_experts}};
  j["format"] = gguf ? "gguf" : "safetensors";
  j["dtypes"] = gguf ? gguf_type_summary(dir) : dtype_summary(dir);
  if (as_json) {
    std::cout << j.dump() << "\n";
    return 0;
  }
  std::printf("model_type        %s\n", c.model_type_name.c_str());
  if (c.is_deepseek()) {
    std::printf("architecture      %lld layers, hidden %lld, MLA %lld heads (kv_lora_rank %lld, q_lora_rank %s)\n",
                (long long)c.num_hidden_layers, (long long)c.hidden_size, (long long)c.num_attention_heads,
                (long long)c.kv_lora_rank, c.q_lora_rank ? std::to_string(*c.q_lora_rank).c_str() : "none");
    std::printf("MoE               %lld routed (top-%lld) + %lld shared experts; first %lld layer(s) dense\n",
                (long long)c.n_routed_experts, (long long)c.num_experts_per_tok, (long long)c.n_shared_experts,
                (long long)c.first_k_dense_replace);
    std::printf("parameters        %s total, %s active per token, %s in MTP module(s)\n", human(p.total).c_str(),
                human(p.active_per_token).c_str(), human(p.mtp).c_str());
  } else {
    print_dense_architecture(c);
    std::printf("parameters        %s (all active per token)\n", human(p.total).c_str());
  }
  print_kv_cache(c);
  std::printf("dtypes            %s\n", j["dtypes"].dump().c_str());
  return 0;
}

}  // namespace

void register_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Show a model's architecture, parameter counts, dtypes and KV-cache size");
  auto dir = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  cmd->add_option("-m,--model", *dir,
                  "Model folder (config.json is enough; weights add the dtype summary) or GGUF file (default: the "
                  "bundled model, or $RADSEEK_MODEL)");
  cmd->parse_complete_callback([dir] {
    auto resolved = resolve_model_dir(*dir);
    if (!resolved) throw CLI::ValidationError("-m,--model", resolved.error().message);
    *dir = *resolved;
  });
  cmd->add_flag("--json", *as_json, "Print one JSON object");
  cmd->footer("Example: radseek info -m models/radseek-mini");
  cmd->callback([dir, as_json] { std::exit(run_info(*dir, *as_json)); });
}

}  // namespace radseek::cli

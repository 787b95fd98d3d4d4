#include "model/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/numeric.h"
#include "format/hf_config.h"
#include "format/safetensors.h"
#include "format/safetensors_writer.h"
#include "kernels/ref/group_quant.h"
#include "model/linear.h"

namespace radseek::model {
namespace {

namespace fs = std::filesystem;
using kernels::kQuantGroup;

enum class Role { kCopy, kToBf16, kQuantCodes, kQuantScales };

struct Item {
  format::TensorSpec spec;
  const format::TensorInfo* src = nullptr;
  Role role = Role::kCopy;
  int bits = 0;  // kQuantCodes / kQuantScales
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Bits for a 2-D weight (0: keep float). The reasons are in quantize.h.
int bits_for(const std::string& name, int bits) {
  if (!ends_with(name, ".weight")) return 0;
  if (name.find("kv_b_proj") != std::string::npos || name.find("embed_tokens") != std::string::npos) return 0;
  if (name == "lm_head.weight" || ends_with(name, "shared_head.head.weight")) return 8;
  if (ends_with(name, "mlp.gate.weight")) return 0;
  return ends_with(name, "_proj.weight") ? bits : 0;
}

std::vector<Item> make_plan(const format::Checkpoint& ckpt, int bits) {
  std::vector<Item> plan;
  for (const auto& [name, t] : ckpt.tensors()) {
    if (ends_with(name, "_scale_inv")) continue;  // FP8 scales: consumed with their weight
    const int b = t.shape.size() == 2 ? bits_for(name, bits) : 0;
    if (b == 0) {
      const bool fp8 = t.dtype == DType::kF8E4M3;
      plan.push_back({.spec = {name, fp8 ? DType::kBF16 : t.dtype, t.shape}, .src = &t, .role = fp8 ? Role::kToBf16 : Role::kCopy});
      continue;
    }
    const int64_t rows = t.shape[0], cols = t.shape[1], groups = (cols + kQuantGroup - 1) / kQuantGroup;
    const std::vector<int64_t> code_shape = {rows, b == 8 ? cols : groups * kernels::kQ4GroupBytes};
    plan.push_back({.spec = {name, b == 8 ? DType::kI8 : DType::kU8, code_shape}, .src = &t, .role = Role::kQuantCodes, .bits = b});
    plan.push_back({.spec = {name + "_scale", DType::kF32, {rows, groups}}, .src = &t, .role = Role::kQuantScales, .bits = b});
  }
  return plan;
}

// Reads source matrices row by row as f32 (FP8 with its block scales), and remembers the scales of
// the last quantised tensor so its `_scale` spec, written right after, needs no second pass.
class Converter {
 public:
  Converter(const format::Checkpoint& ckpt, const format::ModelConfig& cfg) : ckpt_(ckpt), cfg_(cfg) {}

  void produce(const Item& it, std::vector<uint8_t>& out) {
    switch (it.role) {
      case Role::kCopy: std::memcpy(out.data(), it.src->data, out.size()); break;
      case Role::kToBf16: to_bf16(it, out); break;
      case Role::kQuantCodes: quantize(it, out); break;
      case Role::kQuantScales: std::memcpy(out.data(), scales_.data(), out.size()); break;
    }
  }

 private:
  kernels::WeightMatrix source(const format::TensorInfo& t) const {
    kernels::WeightMatrix w{.dtype = t.dtype, .data = t.data, .rows = t.shape[0], .cols = t.shape[1]};
    if (t.dtype == DType::kF8E4M3) {
      const format::TensorInfo* s = ckpt_.find(t.name + "_scale_inv");
      w.block_scale = reinterpret_cast<const float*>(s->data);  // presence checked in quantize_checkpoint
      w.block_rows = cfg_.quantization ? cfg_.quantization->block_rows : kernels::kFp8Block;
      w.block_cols = cfg_.quantization ? cfg_.quantization->block_cols : kernels::kFp8Block;
    }
    return w;
  }

  void to_bf16(const Item& it, std::vector<uint8_t>& out) {
    const kernels::WeightMatrix w = source(*it.src);
    row_.resize(static_cast<size_t>(w.cols));
    auto* o = reinterpret_cast<uint16_t*>(out.data());
    for (int64_t r = 0; r < w.rows; ++r) {
      dequant_rows(w, r, 1, row_.data());
      for (int64_t c = 0; c < w.cols; ++c) o[r * w.cols + c] = f32_to_bf16(row_[c]);
    }
  }

  void quantize(const Item& it, std::vector<uint8_t>& out) {
    const kernels::WeightMatrix w = source(*it.src);
    const int64_t groups = (w.cols + kQuantGroup - 1) / kQuantGroup;
    const int64_t out_row = static_cast<int64_t>(out.size()) / w.rows;
    row_.resize(static_cast<size_t>(w.cols));
    scales_.resize(static_cast<size_t>(w.rows * groups));
    for (int64_t r = 0; r < w.rows; ++r) {
      dequant_rows(w, r, 1, row_.data());
      uint8_t* dst = out.data() + r * out_row;
      float* sc = scales_.data() + r * groups;
      if (it.bits == 8) kernels::ref::quantize_row_q8(row_.data(), w.cols, reinterpret_cast<int8_t*>(dst), sc);
      else kernels::ref::quantize_row_q4(row_.data(), w.cols, dst, sc);
    }
  }

  const format::Checkpoint& ckpt_;
  const format::ModelConfig& cfg_;
  std::vector<float> row_;     // [cols] one dequantised source row
  std::vector<float> scales_;  // [rows, groups] of the last quantised tensor
};

Status write_config(const std::string& src, const std::string& dst, int bits) {
  std::ifstream in(src + "/config.json");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) return make_error(ErrorCode::kParse, src + "/config.json: not valid JSON");
  j["quantization_config"] = {{"quant_method", "radseek"}, {"bits", bits}, {"group_size", kQuantGroup}};
  std::ofstream out(dst + "/config.json");
  out << j.dump(2) << "\n";
  if (!out) return make_error(ErrorCode::kIo, dst + "/config.json: write failed");
  return {};
}

// Everything but the weights and config.json: tokenizer files, generation_config.json, README...
Status copy_side_files(const std::string& src, const std::string& dst) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(src, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name == "config.json" || ends_with(name, ".safetensors") ||
        name == "model.safetensors.index.json")
      continue;
    fs::copy_file(e.path(), fs::path(dst) / name, fs::copy_options::overwrite_existing, ec);
    if (ec) return make_error(ErrorCode::kIo, e.path().string() + ": copy failed: " + ec.message());
  }
  if (ec) return make_error(ErrorCode::kIo, src + ": cannot list: " + ec.message());
  return {};
}

Status check_source(const format::Checkpoint& ckpt, const format::ModelConfig& cfg, const std::vector<Item>& plan) {
  if (cfg.quantization && cfg.quantization->quant_method == "radseek")
    return make_error(ErrorCode::kUnsupported, ckpt.dir() + ": already quantised by radseek; quantise the original");
  for (const Item& it : plan) {
    const DType d = it.src->dtype;
    const bool is_float = d == DType::kF32 || d == DType::kBF16 || d == DType::kF16 || d == DType::kF8E4M3;
    if (it.role != Role::kCopy && !is_float)
      return make_error(ErrorCode::kBadDType, it.src->file + ": tensor '" + it.src->name + "' has dtype " +
                                                  std::string(dtype_name(d)) + ", expected a float type");
    if (d == DType::kF8E4M3 && !ckpt.find(it.src->name + "_scale_inv"))
      return make_error(ErrorCode::kNotFound, ckpt.dir() + ": FP8 tensor '" + it.src->name + "' has no '_scale_inv'");
  }
  return {};
}

}  // namespace

Expected<QuantizeReport> quantize_checkpoint(const QuantizeArgs& a) {
  if (a.bits != 8 && a.bits != 4)
    return make_error(ErrorCode::kInvalidArgument, "--bits must be 8 or 4, got " + std::to_string(a.bits));
  auto cfg = format::load_model_config(a.src_dir);
  if (!cfg) return cfg.error();
  auto ckpt = format::Checkpoint::open(a.src_dir);
  if (!ckpt) return ckpt.error();
  const std::vector<Item> plan = make_plan(*ckpt, a.bits);
  RADSEEK_TRY(check_source(*ckpt, *cfg, plan));
  std::error_code ec;
  fs::create_directories(a.dst_dir, ec);
  if (ec) return make_error(ErrorCode::kIo, a.dst_dir + ": cannot create: " + ec.message());
  RADSEEK_TRY(write_config(a.src_dir, a.dst_dir, a.bits));
  RADSEEK_TRY(copy_side_files(a.src_dir, a.dst_dir));
  QuantizeReport rep;
  rep.src_bytes = ckpt->total_bytes();
  std::vector<format::TensorSpec> specs;
  for (const Item& it : plan) {
    specs.push_back(it.spec);
    rep.dst_bytes += it.spec.nbytes();
    if (it.role == Role::kQuantCodes) ++rep.quantized_tensors;
    else if (it.role != Role::kQuantScales) ++rep.float_tensors;
  }
  Converter conv(*ckpt, *cfg);
  size_t done = 0;
  auto produce = [&](size_t i, std::vector<uint8_t>& out) {
    conv.produce(plan[i], out);
    done += out.size();
    if (a.progress) a.progress(done, rep.dst_bytes);
  };
  RADSEEK_TRY(format::write_checkpoint(
      format::CheckpointWriteArgs{.dir = a.dst_dir, .specs = specs, .max_shard_bytes = a.max_shard_bytes, .produce = produce}));
  return rep;
}

LogitComparison compare_logits(const float* ref, const float* q, int64_t T, int64_t V, std::span<const int32_t> ids) {
  LogitComparison c;
  double nll_ref = 0.0, nll_q = 0.0;
  int64_t agree = 0;
  for (int64_t t = 0; t < T; ++t) {
    const float* a = ref + t * V;
    const float* b = q + t * V;
    // log-softmax of both in double: KL = Σ p (log p − log q).
    const double ma = *std::max_element(a, a + V), mb = *std::max_element(b, b + V);
    double za = 0.0, zb = 0.0;
    for (int64_t v = 0; v < V; ++v) za += std::exp(a[v] - ma), zb += std::exp(b[v] - mb);
    const double la = ma + std::log(za), lb = mb + std::log(zb);
    double kl = 0.0;
    for (int64_t v = 0; v < V; ++v) {
      const double lpa = a[v] - la, lpb = b[v] - lb;
      kl += std::exp(lpa) * (lpa - lpb);
    }
    c.mean_kl += kl / static_cast<double>(T);
    c.max_kl = std::max(c.max_kl, kl);
    agree += (std::max_element(a, a + V) - a) == (std::max_element(b, b + V) - b);
    if (t + 1 < T) nll_ref -= a[ids[t + 1]] - la, nll_q -= b[ids[t + 1]] - lb;
  }
  c.top1_agreement = static_cast<double>(agree) / static_cast<double>(std::max<int64_t>(T, 1));
  const double n = static_cast<double>(std::max<int64_t>(T - 1, 1));
  c.ppl_ref = std::exp(nll_ref / n);
  c.ppl_q = std::exp(nll_q / n);
  return c;
}

}  // namespace radseek::model

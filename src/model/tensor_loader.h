// Reads named tensors from a checkpoint with the shape and dtype checks every architecture needs,
// remembering which were used so leftovers can be reported. Header-only: used by weights.cpp
// (DeepSeek) and dense.cpp (Llama / Qwen).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "base/numeric.h"
#include "base/status.h"
#include "format/hf_config.h"
#include "format/safetensors.h"
#include "model/weights.h"

namespace radseek::model {

using format::Checkpoint;
using format::ModelConfig;
using format::TensorInfo;

inline std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

class TensorLoader {
 public:
  TensorLoader(const Checkpoint& ckpt, const ModelConfig& cfg) : ckpt_(ckpt), cfg_(cfg) {}

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
    if (found && found->ggml_type >= 0) return ggml_matrix(name, rows, cols);
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
  // A GGUF tensor of a ggml block type, read in place (kernels.h WeightMatrix::ggml).
  Expected<WeightMatrix> ggml_matrix(const std::string& name, int64_t rows, int64_t cols) {
    auto t = tensor(name, {rows, cols});
    if (!t) return t.error();
    kernels::GgmlQuant q = kernels::GgmlQuant::kNone;
    switch ((*t)->ggml_type) {  // ids of format::GgmlType
      case 8: q = kernels::GgmlQuant::kQ8_0; break;
      case 2: q = kernels::GgmlQuant::kQ4_0; break;
      case 6: q = kernels::GgmlQuant::kQ5_0; break;
      case 3: q = kernels::GgmlQuant::kQ4_1; break;
      case 7: q = kernels::GgmlQuant::kQ5_1; break;
      case 12: q = kernels::GgmlQuant::kQ4_K; break;
      case 13: q = kernels::GgmlQuant::kQ5_K; break;
      case 14: q = kernels::GgmlQuant::kQ6_K; break;
      default:
        return make_error(ErrorCode::kBadDType, (*t)->file + ": tensor '" + name + "' has an unsupported ggml type " +
                                                    std::to_string((*t)->ggml_type));
    }
    bytes_ += (*t)->nbytes;
    return WeightMatrix{.dtype = DType::kU8, .data = (*t)->data, .rows = rows, .cols = cols, .ggml = q};
  }

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

inline Expected<MlpWeights> load_mlp(TensorLoader& ld, const std::string& p, int64_t hidden, int64_t inter) {
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

// Every tensor of the checkpoint must have been consumed: leftovers mean config and weights disagree.
inline Status check_no_extra(const TensorLoader& ld, const Checkpoint& ckpt) {
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

}  // namespace radseek::model

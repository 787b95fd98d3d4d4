#include "model/checkpoint_gen.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/numeric.h"
#include "format/safetensors_writer.h"
#include "model/manifest.h"

namespace radseek::model {
namespace {

using nlohmann::json;

// splitmix64: fast, seedable per tensor so each tensor's values do not depend on the order written.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f; }  // [-1, 1)
};

// Values with a fixed spread per kind: matrices scaled by 1/sqrt(fan_in) so activations stay O(1).
void fill_values(const ManifestEntry& e, uint64_t seed, std::vector<float>& v) {
  Rng rng{seed};
  const int64_t n = e.shape.size() == 2 ? e.shape[0] * e.shape[1] : e.shape[0];
  v.resize(static_cast<size_t>(n));
  float amp = 0.0f, base = 0.0f;
  switch (e.kind) {
    case TensorKind::kNorm: base = 1.0f; amp = 0.2f; break;
    case TensorKind::kRouterBias: amp = 0.05f; break;
    case TensorKind::kBias: amp = 0.1f; break;
    case TensorKind::kEmbedding: amp = e.name.find("embed_tokens") != std::string::npos ? 1.0f : std::sqrt(3.0f / e.shape[1]); break;
    default: amp = std::sqrt(3.0f / static_cast<float>(e.shape[1])); break;
  }
  for (auto& x : v) x = base + amp * rng.uniform();
}

// FP8 e4m3 with one f32 scale per block: scale = amax/448 (DeepSeek's weight_scale_inv convention).
void quantize_fp8(const std::vector<float>& v, int64_t rows, int64_t cols, std::vector<uint8_t>& q, std::vector<float>& scales) {
  const int64_t B = 128, sr = (rows + B - 1) / B, sc = (cols + B - 1) / B;
  scales.assign(static_cast<size_t>(sr * sc), 1.0f);
  q.resize(static_cast<size_t>(rows * cols));
  for (int64_t bi = 0; bi < sr; ++bi)
    for (int64_t bj = 0; bj < sc; ++bj) {
      float amax = 0.0f;
      for (int64_t i = bi * B; i < std::min(rows, (bi + 1) * B); ++i)
        for (int64_t j = bj * B; j < std::min(cols, (bj + 1) * B); ++j) amax = std::max(amax, std::fabs(v[i * cols + j]));
      const float s = amax > 0.0f ? amax / 448.0f : 1.0f;
      scales[bi * sc + bj] = s;
      for (int64_t i = bi * B; i < std::min(rows, (bi + 1) * B); ++i)
        for (int64_t j = bj * B; j < std::min(cols, (bj + 1) * B); ++j) q[i * cols + j] = f32_to_fp8_e4m3(v[i * cols + j] / s);
    }
}

struct Plan {
  std::vector<format::TensorSpec> specs;
  std::vector<size_t> entry;  // manifest index per spec
  std::vector<bool> is_scale;
};

Plan make_plan(const std::vector<ManifestEntry>& m, WeightFormat f) {
  Plan p;
  for (size_t i = 0; i < m.size(); ++i) {
    const auto& e = m[i];
    DType dt = f == WeightFormat::kF32 ? DType::kF32 : DType::kBF16;
    if (e.kind == TensorKind::kRouterBias) dt = DType::kF32;
    const bool fp8 = f == WeightFormat::kFP8 && e.kind == TensorKind::kMatrix;
    if (fp8) dt = DType::kF8E4M3;
    p.specs.push_back({e.name, dt, e.shape});
    p.entry.push_back(i);
    p.is_scale.push_back(false);
    if (fp8) {
      p.specs.push_back({e.name + "_scale_inv", DType::kF32, {(e.shape[0] + 127) / 128, (e.shape[1] + 127) / 128}});
      p.entry.push_back(i);
      p.is_scale.push_back(true);
    }
  }
  return p;
}

}  // namespace

Status write_checkpoint_values(const CheckpointValuesArgs& a) {
  json cfgj = a.config;
  if (a.format == WeightFormat::kFP8)
    cfgj["quantization_config"] = {{"activation_scheme", "dynamic"}, {"fmt", "e4m3"}, {"quant_method", "fp8"}, {"weight_block_size", {128, 128}}};
  cfgj["torch_dtype"] = a.format == WeightFormat::kF32 ? "float32" : "bfloat16";
  auto cfg = format::parse_model_config(cfgj.dump(), "generated config");
  if (!cfg) return cfg.error();
  const auto manifest = tensor_manifest(*cfg, a.include_mtp);
  const Plan plan = make_plan(manifest, a.format);
  std::error_code ec;
  std::filesystem::create_directories(a.dir, ec);
  {
    std::ofstream f(a.dir + "/config.json");
    f << cfgj.dump(2) << "\n";
    if (!f) return make_error(ErrorCode::kIo, a.dir + "/config.json: write failed");
  }
  size_t total = 0, done = 0;
  for (const auto& s : plan.specs) total += s.nbytes();
  std::vector<float> vals, scales;
  std::vector<uint8_t> q;
  auto values = [&](size_t entry) {
    const ManifestEntry& e = manifest[entry];
    vals.resize(static_cast<size_t>(e.shape.size() == 2 ? e.shape[0] * e.shape[1] : e.shape[0]));
    a.values(entry, e, vals);
  };
  size_t quantized_entry = SIZE_MAX;  // the scale spec follows its weight: quantise once for both
  auto produce = [&](size_t i, std::vector<uint8_t>& out) {
    const ManifestEntry& e = manifest[plan.entry[i]];
    const DType dt = plan.specs[i].dtype;
    if (plan.is_scale[i] || dt == DType::kF8E4M3) {
      if (quantized_entry != plan.entry[i]) {
        values(plan.entry[i]);
        quantize_fp8(vals, e.shape[0], e.shape[1], q, scales);
        quantized_entry = plan.entry[i];
      }
      if (plan.is_scale[i]) std::memcpy(out.data(), scales.data(), out.size());
      else std::memcpy(out.data(), q.data(), out.size());
    } else if (dt == DType::kF32) {
      values(plan.entry[i]);
      std::memcpy(out.data(), vals.data(), out.size());
    } else {
      values(plan.entry[i]);
      auto* o = reinterpret_cast<uint16_t*>(out.data());
      for (size_t k = 0; k < vals.size(); ++k) o[k] = f32_to_bf16(vals[k]);
    }
    done += out.size();
    if (a.progress) a.progress(done, total);
  };
  return format::write_checkpoint(format::CheckpointWriteArgs{.dir = a.dir, .specs = plan.specs,
                                                              .max_shard_bytes = a.max_shard_bytes, .produce = produce});
}

Status write_random_checkpoint(const RandomCheckpointArgs& a) {
  return write_checkpoint_values(CheckpointValuesArgs{
      .dir = a.dir, .config = a.config, .format = a.format, .include_mtp = a.include_mtp,
      .max_shard_bytes = a.max_shard_bytes,
      .values = [&](size_t index, const ManifestEntry& e, std::vector<float>& out) {
        fill_values(e, a.seed * 1000003ull + index, out);
      },
      .progress = a.progress});
}

}  // namespace radseek::model

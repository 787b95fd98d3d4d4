#include "train/checkpoint_io.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/mapped_file.h"
#include "format/safetensors.h"
#include "format/safetensors_writer.h"
#include "model/linear.h"

namespace radseek::train {
namespace {

constexpr const char* kStateFile = "trainer_state.safetensors";
constexpr const char* kStateJson = "trainer_state.json";

// One tensor of `t` as f32 (through the engine's dequantisation, so FP8 blocks read exactly).
Status read_tensor(const format::Checkpoint& ck, const format::TensorInfo& t, const ParamSlot& s, float* out) {
  kernels::WeightMatrix w{.dtype = t.dtype, .data = t.data, .rows = t.shape.size() == 2 ? t.shape[0] : 1,
                          .cols = t.shape.size() == 2 ? t.shape[1] : t.shape[0]};
  if (t.dtype == DType::kF8E4M3) {
    const format::TensorInfo* sc = ck.find(t.name + "_scale_inv");
    if (!sc) return make_error(ErrorCode::kNotFound, t.file + ": " + t.name + ": FP8 tensor without weight_scale_inv");
    w.block_scale = reinterpret_cast<const float*>(sc->data);
  } else if (t.dtype != DType::kF32 && t.dtype != DType::kBF16) {
    return make_error(ErrorCode::kBadDType, t.file + ": " + t.name + ": dtype not readable for training");
  }
  if (w.rows * w.cols != s.numel) return make_error(ErrorCode::kBadShape, t.file + ": " + t.name + ": shape " + t.shape_str());
  model::dequant_rows(w, 0, w.rows, out);
  return {};
}

std::vector<uint8_t> bytes_of(const float* p, int64_t n) {
  std::vector<uint8_t> b(static_cast<size_t>(n) * sizeof(float));
  std::memcpy(b.data(), p, b.size());
  return b;
}

}  // namespace

Status export_hf_checkpoint(const ExportArgs& a) {
  const ParamLayout& l = *a.layout;
  // The config decides what is written (MTP modules included when num_nextn_predict_layers says so);
  // every tensor it implies must be in the layout.
  auto cfg = format::parse_model_config(a.config.dump(), a.dir + "/config.json");
  if (!cfg) return cfg.error();
  for (const model::ManifestEntry& e : model::tensor_manifest(*cfg, true))
    if (!l.by_name.contains(e.name))
      return make_error(ErrorCode::kInvalidArgument, a.dir + ": tensor " + e.name + " of config.json (num_nextn_predict_layers " +
                                                         std::to_string(cfg->num_nextn_predict_layers) + ") is not trained");
  return model::write_checkpoint_values(model::CheckpointValuesArgs{
      .dir = a.dir, .config = a.config, .format = a.format, .include_mtp = true, .max_shard_bytes = size_t{4} << 30,
      .values = [&](size_t, const model::ManifestEntry& e, std::vector<float>& out) {
        const ParamSlot& s = l.at(e.name);
        std::copy_n(a.params + s.offset, s.numel, out.data());
      },
      .progress = {}});
}

Expected<std::vector<float>> load_hf_params(const std::string& dir, const ParamLayout& layout) {
  auto ck = format::Checkpoint::open(dir);
  if (!ck) return ck.error();
  std::vector<float> p(static_cast<size_t>(layout.total));
  for (const ParamSlot& s : layout.slots) {
    const format::TensorInfo* t = ck->find(s.entry.name);
    if (!t) return make_error(ErrorCode::kNotFound, dir + ": tensor " + s.entry.name + " missing");
    RADSEEK_TRY(read_tensor(*ck, *t, s, p.data() + s.offset));
  }
  return p;
}

Status save_trainer_state(const std::string& dir, const ParamLayout& layout, const TrainerState& st) {
  std::vector<format::TensorData> tensors;
  for (const ParamSlot& s : layout.slots) {
    const std::vector<int64_t>& shape = s.entry.shape;
    tensors.push_back({{s.entry.name, DType::kF32, shape}, bytes_of(st.params.data() + s.offset, s.numel)});
    tensors.push_back({{"exp_avg." + s.entry.name, DType::kF32, shape}, bytes_of(st.exp_avg.data() + s.offset, s.numel)});
    tensors.push_back({{"exp_avg_sq." + s.entry.name, DType::kF32, shape}, bytes_of(st.exp_avg_sq.data() + s.offset, s.numel)});
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string path = dir + "/" + kStateFile;
  RADSEEK_TRY(format::write_safetensors(path + ".tmp", tensors));
  std::filesystem::rename(path + ".tmp", path, ec);
  if (ec) return make_error(ErrorCode::kIo, path + ": rename failed: " + ec.message());
  nlohmann::json j = {{"step", st.step}, {"examples_seen", st.examples_seen}, {"meta", st.meta}};
  std::ofstream f(dir + "/" + kStateJson + std::string(".tmp"));
  f << j.dump(2) << "\n";
  f.close();
  if (!f) return make_error(ErrorCode::kIo, dir + "/" + kStateJson + ": write failed");
  std::filesystem::rename(dir + "/" + kStateJson + ".tmp", dir + "/" + kStateJson, ec);
  if (ec) return make_error(ErrorCode::kIo, dir + "/" + kStateJson + ": rename failed: " + ec.message());
  return {};
}

Expected<TrainerState> load_trainer_state(const std::string& dir, const ParamLayout& layout) {
  auto text = read_text_file(dir + "/" + kStateJson);
  if (!text) return text.error();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.contains("step") || !j["step"].is_number_integer() || !j.contains("examples_seen"))
    return make_error(ErrorCode::kParse, dir + "/" + kStateJson + ": expected {\"step\", \"examples_seen\", ...}");
  auto file = format::SafetensorsFile::open(dir + "/" + kStateFile);
  if (!file) return file.error();
  std::unordered_map<std::string, const format::TensorInfo*> by_name;
  for (const auto& t : file->tensors()) by_name[t.name] = &t;
  TrainerState st{.step = j["step"].get<int64_t>(), .examples_seen = j["examples_seen"].get<int64_t>(),
                  .params = std::vector<float>(layout.total), .exp_avg = std::vector<float>(layout.total),
                  .exp_avg_sq = std::vector<float>(layout.total), .meta = j.value("meta", nlohmann::json::object())};
  for (const ParamSlot& s : layout.slots) {
    const std::pair<std::string, float*> parts[] = {{s.entry.name, st.params.data()},
                                                    {"exp_avg." + s.entry.name, st.exp_avg.data()},
                                                    {"exp_avg_sq." + s.entry.name, st.exp_avg_sq.data()}};
    for (const auto& [name, base] : parts) {
      auto it = by_name.find(name);
      if (it == by_name.end() || it->second->dtype != DType::kF32 || it->second->numel() != s.numel)
        return make_error(ErrorCode::kBadShape, dir + "/" + kStateFile + ": " + name + " missing or not F32 of " +
                                                    std::to_string(s.numel) + " values");
      std::memcpy(base + s.offset, it->second->data, static_cast<size_t>(s.numel) * sizeof(float));
    }
  }
  return st;
}

}  // namespace radseek::train

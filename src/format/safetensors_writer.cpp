#include "format/safetensors_writer.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace radseek::format {
namespace {

std::string header_json(const std::vector<const TensorSpec*>& specs) {
  nlohmann::ordered_json h;
  h["__metadata__"] = {{"format", "pt"}};
  uint64_t off = 0;
  for (const TensorSpec* t : specs) {
    const uint64_t n = t->nbytes();
    h[t->name] = {{"dtype", std::string(dtype_name(t->dtype))}, {"shape", t->shape},
                  {"data_offsets", nlohmann::ordered_json::array({off, off + n})}};
    off += n;
  }
  std::string hs = h.dump();
  while (hs.size() % 8 != 0) hs.push_back(' ');  // keeps the data section 8-byte aligned
  return hs;
}

void put_u64(std::string& s, uint64_t n) {
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>(n >> (8 * i)));
}

Status write_file(const std::string& path, const std::vector<const TensorSpec*>& specs,
                  const std::vector<size_t>& indices, const TensorProducer& produce) {
  const std::string tmp = path + ".tmp";
  std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
  if (!f) return make_error(ErrorCode::kIo, tmp + ": cannot create");
  const std::string hs = header_json(specs);
  std::string len;
  put_u64(len, hs.size());
  f.write(len.data(), 8);
  f.write(hs.data(), static_cast<std::streamsize>(hs.size()));
  std::vector<uint8_t> buf;
  for (size_t k = 0; k < specs.size(); ++k) {
    buf.assign(specs[k]->nbytes(), 0);
    produce(indices[k], buf);
    f.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
  }
  f.close();
  if (!f) return make_error(ErrorCode::kIo, tmp + ": write failed (disk full?)");
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return make_error(ErrorCode::kIo, path + ": " + ec.message());
  return {};
}

}  // namespace

size_t TensorSpec::nbytes() const {
  size_t n = dtype_size(dtype);
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

Status write_checkpoint(const CheckpointWriteArgs& a) {
  std::error_code ec;
  std::filesystem::create_directories(a.dir, ec);
  if (ec) return make_error(ErrorCode::kIo, a.dir + ": " + ec.message());
  std::vector<std::vector<size_t>> shards(1);
  size_t cur = 0;
  for (size_t i = 0; i < a.specs.size(); ++i) {
    const size_t n = a.specs[i].nbytes();
    if (cur > 0 && cur + n > a.max_shard_bytes) {
      shards.emplace_back();
      cur = 0;
    }
    shards.back().push_back(i);
    cur += n;
  }
  nlohmann::ordered_json index;
  size_t total = 0;
  for (size_t s = 0; s < shards.size(); ++s) {
    char name[64];
    if (shards.size() == 1) std::snprintf(name, sizeof name, "model.safetensors");
    else std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
    std::vector<const TensorSpec*> specs;
    for (size_t i : shards[s]) {
      specs.push_back(&a.specs[i]);
      index["weight_map"][a.specs[i].name] = name;
      total += a.specs[i].nbytes();
    }
    RADSEEK_TRY(write_file(a.dir + "/" + name, specs, shards[s], a.produce));
  }
  if (shards.size() == 1) return {};
  index["metadata"] = {{"total_size", total}};
  std::ofstream f(a.dir + "/model.safetensors.index.json");
  f << index.dump(2) << "\n";
  if (!f) return make_error(ErrorCode::kIo, a.dir + "/model.safetensors.index.json: write failed");
  return {};
}

Status write_safetensors(const std::string& path, const std::vector<TensorData>& tensors) {
  std::vector<const TensorSpec*> specs;
  std::vector<size_t> idx;
  for (size_t i = 0; i < tensors.size(); ++i) {
    specs.push_back(&tensors[i].spec);
    idx.push_back(i);
  }
  return write_file(path, specs, idx, [&](size_t i, std::vector<uint8_t>& out) { out = tensors[i].bytes; });
}

std::vector<uint8_t> serialize_safetensors(const std::vector<TensorData>& tensors) {
  std::vector<const TensorSpec*> specs;
  for (const auto& t : tensors) specs.push_back(&t.spec);
  const std::string hs = header_json(specs);
  std::string img;
  put_u64(img, hs.size());
  img += hs;
  std::vector<uint8_t> out(img.begin(), img.end());
  for (const auto& t : tensors) out.insert(out.end(), t.bytes.begin(), t.bytes.end());
  return out;
}

}  // namespace radseek::format

// safetensors reading: an 8-byte little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the raw data.
// Everything in the header is validated against the file size before any tensor is touched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "base/mapped_file.h"
#include "base/status.h"

namespace radseek::format {

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;  // outermost first
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  std::string file;  // the shard it came from, for error messages
  // GGUF tensors of a ggml block type (Q8_0, Q4_K, ...): its ggml id (format::GgmlType); dtype is
  // then kU8, `shape` the logical element shape and nbytes the block bytes. -1 otherwise.
  int32_t ggml_type = -1;

  int64_t numel() const;
  std::string shape_str() const;  // "[a, b]"
};

// Parses a complete safetensors image held in memory (`label` names it in errors).
// Data pointers in the result point into `bytes`.
Expected<std::vector<TensorInfo>> parse_safetensors(const uint8_t* bytes, size_t size,
                                                    const std::string& label);

// One mapped safetensors file.
class SafetensorsFile {
 public:
  static Expected<SafetensorsFile> open(const std::string& path, FileBacking backing = FileBacking::kMapped);
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::string& path() const { return file_.path(); }

 private:
  MappedFile file_;
  std::vector<TensorInfo> tensors_;
};

// A Hugging Face model folder: model.safetensors, or shards listed in model.safetensors.index.json.
class Checkpoint {
 public:
  static Expected<Checkpoint> open(const std::string& dir, FileBacking backing = FileBacking::kMapped);
  // Tensors that live elsewhere (a GGUF file under HF names, format/gguf_model.h); `owner` keeps
  // their bytes alive for as long as any copy of the checkpoint exists. `dir` names it in errors.
  static Checkpoint from_tensors(std::string dir, std::map<std::string, TensorInfo> tensors,
                                 std::shared_ptr<const void> owner);

  const TensorInfo* find(const std::string& name) const;
  const std::map<std::string, TensorInfo>& tensors() const { return by_name_; }
  const std::string& dir() const { return dir_; }
  size_t total_bytes() const;

 private:
  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, TensorInfo> by_name_;
  std::shared_ptr<const void> owner_;
};

}  // namespace radseek::format

// Writes safetensors files (and sharded folders with model.safetensors.index.json) in the official
// Hugging Face layout: used by the checkpoint generators, `radseek quantize` and training.
// Tensors are produced one at a time, so multi-GB checkpoints never sit in memory whole.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "base/status.h"

namespace radseek::format {

struct TensorSpec {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  size_t nbytes() const;
};

struct TensorData {
  TensorSpec spec;
  std::vector<uint8_t> bytes;  // row-major, little-endian; size == spec.nbytes()
};

// Fills `out` (already sized to spec.nbytes()) with tensor i's bytes.
using TensorProducer = std::function<void(size_t i, std::vector<uint8_t>& out)>;

struct CheckpointWriteArgs {
  std::string dir;
  std::vector<TensorSpec> specs;
  size_t max_shard_bytes = size_t{4} << 30;
  TensorProducer produce;
};

// One file (model.safetensors) or shards model-0000i-of-0000n.safetensors + the index JSON. Each file
// is written to a temporary name and renamed, so a crash never leaves a half-written checkpoint file.
Status write_checkpoint(const CheckpointWriteArgs& args);

// Convenience for small, in-memory tensor lists (tests, fixtures).
Status write_safetensors(const std::string& path, const std::vector<TensorData>& tensors);
// The complete file image (for parser tests and fuzz seeds).
std::vector<uint8_t> serialize_safetensors(const std::vector<TensorData>& tensors);

}  // namespace radseek::format

// GGUF writing, for tests, fuzz seeds and conversions: metadata of every value type and tensors whose
// bytes are already encoded in their ggml type (kernels/ref/ggml_quants.h quantises floats to Q4_0 and
// Q8_0). The output is what llama.cpp's gguf writer produces: version 3, tensor data aligned.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "format/gguf.h"

namespace radseek::format {

struct GgufTensorData {
  std::string name;
  GgmlType type = GgmlType::kF32;
  std::vector<int64_t> shape;  // outermost first; stored reversed as ne
  std::vector<uint8_t> bytes;  // ggml_row_bytes(type, numel) bytes
};

struct GgufWriteArgs {
  std::vector<std::pair<std::string, GgufValue>> metadata;  // written in this order
  std::vector<GgufTensorData> tensors;                      // written in this order
  uint32_t alignment = 32;  // a power of two; also written as general.alignment when not 32
  uint32_t version = 3;
};

// The complete file image; errors name the tensor whose bytes or shape do not fit its type.
Expected<std::vector<uint8_t>> serialize_gguf(const GgufWriteArgs& args);
Status write_gguf(const std::string& path, const GgufWriteArgs& args);

// Little-endian encodings of float data for F32/F16/BF16 tensors.
std::vector<uint8_t> encode_f32(const std::vector<float>& v);
std::vector<uint8_t> encode_f16(const std::vector<float>& v);
std::vector<uint8_t> encode_bf16(const std::vector<float>& v);

}  // namespace radseek::format

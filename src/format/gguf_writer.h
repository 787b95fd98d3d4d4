// GGUF writing, for tests, fuzz seeds and conversions: metadata of every value type and tensors whose
// bytes are already encoded in their ggml type (kernels/ref/ggml_quants.h quantises floats to Q4_0 and
// Q8_0). The output is what llama.cpp's gguf writer produces: version 3, tensor data aligned.
// serialize_gguf builds the whole image in memory; GgufStreamWriter writes the same bytes with only the
// header and one piece of tensor data in memory at a time (conversions of multi-GB checkpoints).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
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

// A tensor's table entry without its bytes: its size follows from type and shape.
struct GgufTensorSpec {
  std::string name;
  GgmlType type = GgmlType::kF32;
  std::vector<int64_t> shape;  // outermost first
};

struct GgufStreamArgs {
  std::vector<std::pair<std::string, GgufValue>> metadata;  // written in this order
  std::vector<GgufTensorSpec> tensors;                      // written in this order
  uint32_t alignment = 32;
  uint32_t version = 3;
};

// Writes header, metadata and tensor table on open, then each tensor's bytes in table order through
// append (a tensor may come in several pieces; its padding follows its last one), and finish renames
// the temporary file to `path`. The bytes equal serialize_gguf's for the same tensors. Dropped before
// finish, it removes the temporary file, so a failed conversion leaves nothing under `path`.
class GgufStreamWriter {
 public:
  static Expected<GgufStreamWriter> open(const std::string& path, const GgufStreamArgs& args);
  GgufStreamWriter(GgufStreamWriter&&) noexcept;
  GgufStreamWriter& operator=(GgufStreamWriter&&) noexcept;
  ~GgufStreamWriter();

  // The next bytes of the current tensor; errors when they overrun it or every tensor is complete.
  Status append(std::span<const uint8_t> bytes);
  // Errors (naming the tensor) when some tensor is not complete, or when the disk write failed.
  Status finish();

 private:
  struct State;
  explicit GgufStreamWriter(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;  // null once moved from or finished
};

// The complete file image; errors name the tensor whose bytes or shape do not fit its type.
Expected<std::vector<uint8_t>> serialize_gguf(const GgufWriteArgs& args);
// Streams through GgufStreamWriter: the file's bytes are not copied into one image first.
Status write_gguf(const std::string& path, const GgufWriteArgs& args);

// Little-endian encodings of float data for F32/F16/BF16 tensors.
std::vector<uint8_t> encode_f32(const std::vector<float>& v);
std::vector<uint8_t> encode_f16(const std::vector<float>& v);
std::vector<uint8_t> encode_bf16(const std::vector<float>& v);

}  // namespace radseek::format

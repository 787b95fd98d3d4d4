// GGUF (llama.cpp's model file) reading, versions 3 and 2. Layout, all little-endian:
//   "GGUF" | u32 version | u64 tensor_count | u64 kv_count
//   kv_count × (string key | u32 value_type | value)          string = u64 length + bytes (no NUL)
//   tensor_count × (string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset)
//   padding to `general.alignment` (default 32) | data section (tensor offsets are relative to it)
// ne[0] is the contiguous (innermost) dimension: the reverse of the row-major shapes used by
// safetensors and torch. Every count, length and offset is checked against the file size before it
// is used, so a malformed file gets an error naming the file and the field, never a read out of bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/mapped_file.h"
#include "base/status.h"

namespace radseek::format {

// ggml_type ids as stored in GGUF tensor infos (ggml.h).
enum class GgmlType : uint32_t {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ8_1 = 9,
  kQ2_K = 10, kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kQ8_K = 15,
  kIQ2_XXS = 16, kIQ2_XS = 17, kIQ3_XXS = 18, kIQ1_S = 19, kIQ4_NL = 20, kIQ3_S = 21, kIQ2_S = 22, kIQ4_XS = 23,
  kI8 = 24, kI16 = 25, kI32 = 26, kI64 = 27, kF64 = 28, kIQ1_M = 29, kBF16 = 30, kTQ1_0 = 34, kTQ2_0 = 35,
  kMXFP4 = 39,
};

struct GgmlTypeInfo {
  GgmlType type;
  const char* name;    // ggml's spelling: "f32", "q4_K", ...
  int64_t block_elems; // elements per block (1 for plain types)
  size_t block_bytes;  // bytes per block
};

// nullptr for ids ggml does not define (or that were removed, e.g. 4, 5, 31-33).
const GgmlTypeInfo* ggml_type_info(uint32_t id);
const char* ggml_type_name(GgmlType t);
// Bytes of `n` elements of type t (n must be a multiple of the block size).
size_t ggml_row_bytes(GgmlType t, int64_t n);

// GGUF metadata value types (gguf.h).
enum class GgufType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8, kArray = 9,
  kU64 = 10, kI64 = 11, kF64 = 12,
};
const char* gguf_type_name(GgufType t);

// One metadata value. Scalars: integers and bools in `i` (U64 values also exactly in `u`), floats in
// `f`, strings in `s`. Arrays (type kArray, element type elem_type; no arrays of arrays): integer and
// bool elements in `ints` (U64 elements above INT64_MAX keep their bit pattern), float elements in
// `floats`, strings in `strings`.
struct GgufValue {
  GgufType type = GgufType::kU32;
  GgufType elem_type = GgufType::kU32;
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0.0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;

  static GgufValue of_int(GgufType t, int64_t v);  // any integer type or kBool
  static GgufValue of_u64(uint64_t v);
  static GgufValue of_float(GgufType t, double v);  // kF32 or kF64
  static GgufValue of_string(std::string v);
  static GgufValue of_ints(GgufType elem, std::vector<int64_t> v);
  static GgufValue of_floats(GgufType elem, std::vector<double> v);
  static GgufValue of_strings(std::vector<std::string> v);
  size_t array_size() const;
};

struct GgufTensorInfo {
  std::string name;
  GgmlType type = GgmlType::kF32;
  std::vector<int64_t> ne;     // as stored: ne[0] innermost (contiguous)
  std::vector<int64_t> shape;  // outermost first (ne reversed), comparable with safetensors shapes
  uint64_t offset = 0;         // from the start of the data section
  const uint8_t* data = nullptr;
  size_t nbytes = 0;

  int64_t numel() const;
  std::string shape_str() const;  // "[a, b]", outermost first
};

struct GgufContents {
  uint32_t version = 3;
  uint32_t alignment = 32;
  std::vector<std::pair<std::string, GgufValue>> metadata;  // file order
  std::vector<GgufTensorInfo> tensors;                      // file order
  size_t data_offset = 0;                                   // where the data section starts
};

// Parses a whole GGUF image in memory (`label` names it in errors); tensor data points into `bytes`.
Expected<GgufContents> parse_gguf(const uint8_t* bytes, size_t size, const std::string& label);

// A memory-mapped GGUF file with typed metadata lookups whose errors name the file and the key.
class GgufFile {
 public:
  static Expected<GgufFile> open(const std::string& path, FileBacking backing = FileBacking::kMapped);

  const std::string& path() const { return file_.path(); }
  uint32_t version() const { return c_.version; }
  uint32_t alignment() const { return c_.alignment; }
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return c_.metadata; }
  const std::vector<GgufTensorInfo>& tensors() const { return c_.tensors; }

  const GgufValue* find(const std::string& key) const;
  const GgufTensorInfo* find_tensor(const std::string& name) const;
  // Integer of any integer type whose value fits the result; floats of kF32/kF64; errors say what
  // was found instead.
  Expected<uint64_t> get_uint(const std::string& key) const;
  Expected<int64_t> get_int(const std::string& key) const;
  Expected<double> get_float(const std::string& key) const;
  Expected<bool> get_bool(const std::string& key) const;
  Expected<std::string> get_string(const std::string& key) const;
  Expected<const std::vector<std::string>*> get_string_array(const std::string& key) const;
  Expected<const std::vector<int64_t>*> get_int_array(const std::string& key) const;
  Expected<const std::vector<double>*> get_float_array(const std::string& key) const;

 private:
  Expected<const GgufValue*> typed(const std::string& key, bool (*accept)(const GgufValue&),
                                   const char* expected) const;

  MappedFile file_;
  GgufContents c_;
  std::map<std::string, size_t> key_index_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace radseek::format

#include "format/gguf_writer.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/numeric.h"

namespace radseek::format {
namespace {

class Out {
 public:
  template <typename T>
  void put(T v) {
    const size_t at = b_.size();
    b_.resize(at + sizeof(T));
    std::memcpy(b_.data() + at, &v, sizeof(T));
  }
  void str(const std::string& s) {
    put<uint64_t>(s.size());
    b_.insert(b_.end(), s.begin(), s.end());
  }
  void pad_to(uint32_t alignment) { b_.resize((b_.size() + alignment - 1) / alignment * alignment, 0); }
  std::vector<uint8_t>& bytes() { return b_; }

 private:
  std::vector<uint8_t> b_;
};

void put_number(Out& o, GgufType t, int64_t i, double f) {
  switch (t) {
    case GgufType::kU8: case GgufType::kBool: o.put(static_cast<uint8_t>(i)); break;
    case GgufType::kI8: o.put(static_cast<int8_t>(i)); break;
    case GgufType::kU16: o.put(static_cast<uint16_t>(i)); break;
    case GgufType::kI16: o.put(static_cast<int16_t>(i)); break;
    case GgufType::kU32: o.put(static_cast<uint32_t>(i)); break;
    case GgufType::kI32: o.put(static_cast<int32_t>(i)); break;
    case GgufType::kU64: o.put(static_cast<uint64_t>(i)); break;
    case GgufType::kI64: o.put(i); break;
    case GgufType::kF32: o.put(static_cast<float>(f)); break;
    case GgufType::kF64: o.put(f); break;
    default: break;
  }
}

Status put_value(Out& o, const std::string& key, const GgufValue& v) {
  o.put(static_cast<uint32_t>(v.type));
  if (v.type == GgufType::kString) {
    o.str(v.s);
  } else if (v.type == GgufType::kArray) {
    if (v.elem_type == GgufType::kArray)
      return make_error(ErrorCode::kInvalidArgument, "metadata '" + key + "': arrays of arrays are not supported");
    o.put(static_cast<uint32_t>(v.elem_type));
    o.put<uint64_t>(v.array_size());
    if (v.elem_type == GgufType::kString)
      for (const auto& s : v.strings) o.str(s);
    else if (v.elem_type == GgufType::kF32 || v.elem_type == GgufType::kF64)
      for (double f : v.floats) put_number(o, v.elem_type, 0, f);
    else
      for (int64_t i : v.ints) put_number(o, v.elem_type, i, 0.0);
  } else {
    put_number(o, v.type, v.type == GgufType::kU64 ? static_cast<int64_t>(v.u) : v.i, v.f);
  }
  return {};
}

Status check_tensor(const GgufTensorData& t) {
  const GgmlTypeInfo* info = ggml_type_info(static_cast<uint32_t>(t.type));
  if (!info) return make_error(ErrorCode::kInvalidArgument, "tensor '" + t.name + "': unknown ggml type");
  if (t.shape.empty() || t.shape.size() > 4)
    return make_error(ErrorCode::kInvalidArgument, "tensor '" + t.name + "': GGUF tensors have 1 to 4 dimensions");
  int64_t n = 1;
  for (int64_t d : t.shape) n *= d;
  if (t.shape.back() % info->block_elems != 0)
    return make_error(ErrorCode::kBadShape, "tensor '" + t.name + "': innermost dimension " + std::to_string(t.shape.back()) +
                                                " is not a multiple of " + info->name + "'s block of " +
                                                std::to_string(info->block_elems));
  if (t.bytes.size() != ggml_row_bytes(t.type, n))
    return make_error(ErrorCode::kBadShape, "tensor '" + t.name + "': " + std::to_string(t.bytes.size()) + " bytes, expected " +
                                                std::to_string(ggml_row_bytes(t.type, n)));
  return {};
}

}  // namespace

Expected<std::vector<uint8_t>> serialize_gguf(const GgufWriteArgs& a) {
  if (a.alignment == 0 || (a.alignment & (a.alignment - 1)) != 0)
    return make_error(ErrorCode::kInvalidArgument, "GGUF alignment " + std::to_string(a.alignment) + " is not a power of two");
  Out o;
  o.put<uint32_t>(0x46554747u);  // "GGUF"
  o.put(a.version);
  o.put<uint64_t>(a.tensors.size());
  const bool write_alignment = a.alignment != 32;
  o.put<uint64_t>(a.metadata.size() + (write_alignment ? 1 : 0));
  if (write_alignment) {
    o.str("general.alignment");
    RADSEEK_TRY(put_value(o, "general.alignment", GgufValue::of_int(GgufType::kU32, a.alignment)));
  }
  for (const auto& [key, v] : a.metadata) {
    o.str(key);
    RADSEEK_TRY(put_value(o, key, v));
  }
  uint64_t offset = 0;
  for (const auto& t : a.tensors) {
    RADSEEK_TRY(check_tensor(t));
    o.str(t.name);
    o.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) o.put<uint64_t>(static_cast<uint64_t>(*it));
    o.put(static_cast<uint32_t>(t.type));
    o.put(offset);
    offset += (t.bytes.size() + a.alignment - 1) / a.alignment * a.alignment;
  }
  o.pad_to(a.alignment);
  for (const auto& t : a.tensors) {
    o.bytes().insert(o.bytes().end(), t.bytes.begin(), t.bytes.end());
    o.pad_to(a.alignment);
  }
  return std::move(o.bytes());
}

Status write_gguf(const std::string& path, const GgufWriteArgs& args) {
  auto img = serialize_gguf(args);
  if (!img) return img.error().with_context(path);
  const std::string tmp = path + ".tmp";
  std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
  if (!f) return make_error(ErrorCode::kIo, tmp + ": cannot create");
  f.write(reinterpret_cast<const char*>(img->data()), static_cast<std::streamsize>(img->size()));
  f.close();
  if (!f) return make_error(ErrorCode::kIo, tmp + ": write failed (disk full?)");
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);  // never leaves a half-written file under the real name
  if (ec) return make_error(ErrorCode::kIo, path + ": " + ec.message());
  return {};
}

std::vector<uint8_t> encode_f32(const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * 4);
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

std::vector<uint8_t> encode_f16(const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * 2);
  for (size_t i = 0; i < v.size(); ++i) {
    const uint16_t h = f32_to_fp16(v[i]);
    std::memcpy(out.data() + 2 * i, &h, 2);
  }
  return out;
}

std::vector<uint8_t> encode_bf16(const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * 2);
  for (size_t i = 0; i < v.size(); ++i) {
    const uint16_t h = f32_to_bf16(v[i]);
    std::memcpy(out.data() + 2 * i, &h, 2);
  }
  return out;
}

}  // namespace radseek::format
